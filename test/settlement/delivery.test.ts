// Properties of delivery settlement: value conserved, nobody pays for undelivered energy, exact full delivery, bounded imbalance, determinism.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  allocateLargestRemainder, settleDeliverySlot, SettlementInputError,
  type DeliverySettlementInput, type SettlementTrade, type SlotMetering,
} from '../../server/src/settlement/index.ts';

const PEOPLE = ['0x' + '1'.repeat(40), '0x' + '2'.repeat(40), '0x' + 'a'.repeat(40), '0x' + 'b'.repeat(40), '0x' + 'c'.repeat(40)];
const RETAIL = 400_000n;
const FEE_ACCOUNT = '0x' + 'f'.repeat(40);

const tradeArb = fc.record({
  buyer: fc.integer({ min: 0, max: PEOPLE.length - 1 }),
  sellerOffset: fc.integer({ min: 1, max: PEOPLE.length - 1 }),
  // Any price, also off the tick grid and above retail, so rounding is really exercised.
  price: fc.bigInt({ min: 0n, max: 600_000n }),
  quantityWh: fc.integer({ min: 1, max: 20_000 }),
});

const inputArb = fc.record({
  trades: fc.array(tradeArb, { minLength: 0, maxLength: 25 }),
  metering: fc.array(fc.option(fc.record({ exportWh: fc.integer({ min: 0, max: 60_000 }), importWh: fc.integer({ min: 0, max: 60_000 }) }), { nil: undefined }), {
    minLength: PEOPLE.length, maxLength: PEOPLE.length,
  }),
  gridFee: fc.bigInt({ min: 0n, max: 50_000n }),
  escrow: fc.option(fc.array(fc.bigInt({ min: 0n, max: 5_000_000n }), { minLength: PEOPLE.length, maxLength: PEOPLE.length }), { nil: undefined }),
}).map(({ trades, metering, gridFee, escrow }): DeliverySettlementInput => ({
  slot: 1_700_000_000_000,
  trades: trades.map((t, i): SettlementTrade => ({
    seq: i + 1,
    buyer: PEOPLE[t.buyer],
    seller: PEOPLE[(t.buyer + t.sellerOffset) % PEOPLE.length],
    price: t.price,
    quantityWh: t.quantityWh,
  })),
  metering: new Map(PEOPLE.flatMap((p, i) => {
    const m = metering[i];
    return m ? [[p, { metered: true, importWh: m.importWh, exportWh: m.exportWh, flags: [] } satisfies SlotMetering] as const] : [];
  })),
  retailPrice: RETAIL,
  gridFee,
  gridFeeAccount: FEE_ACCOUNT,
  ...(escrow ? { escrow: new Map(PEOPLE.map((p, i) => [p, escrow[i]])) } : {}),
}));

describe('delivery settlement (properties)', function () {
  this.timeout(120_000);

  it('conserves value: Σ deltas = 0, the batch is strictly ascending and equals the non-zero net deltas', () => {
    fc.assert(fc.property(inputArb, (input) => {
      const r = settleDeliverySlot(input);
      assert.equal(r.participants.reduce((a, p) => a + p.netDelta, 0n), 0n);
      assert.equal(r.batch.deltas.reduce((a, d) => a + d, 0n), 0n);
      for (let i = 1; i < r.batch.accounts.length; i++) assert.ok(r.batch.accounts[i - 1] < r.batch.accounts[i]);
      for (const [i, a] of r.batch.accounts.entries()) assert.equal(r.participants.find((p) => p.participant === a)!.netDelta, r.batch.deltas[i]);
      // Every transfer leaves one account and arrives at another: totals match side by side.
      const sum = (f: (p: (typeof r.participants)[number]) => bigint) => r.participants.reduce((a, p) => a + f(p), 0n);
      assert.equal(sum((p) => p.paid), sum((p) => p.received));
      assert.equal(sum((p) => p.imbalancePaid), sum((p) => p.imbalanceReceived));
      assert.equal(sum((p) => p.gridFeePaid), sum((p) => p.gridFeeReceived));
    }), { numRuns: 400 });
  });

  it('nobody pays for undelivered energy: payments and fees follow delivered Wh only, and delivered = min(sold, metered export)', () => {
    fc.assert(fc.property(inputArb, (input) => {
      const r = settleDeliverySlot(input);
      for (const t of r.trades) {
        assert.ok(t.deliveredWh >= 0 && t.deliveredWh <= t.quantityWh);
        assert.ok(t.payment * 1000n <= t.price * BigInt(t.deliveredWh));
        assert.ok(t.payment * 1000n > t.price * BigInt(t.deliveredWh) - 1000n);
        if (t.deliveredWh === 0) assert.equal(t.payment, 0n);
      }
      for (const p of r.participants) {
        const m = (input.metering as Map<string, SlotMetering>).get(p.participant);
        const exported = m?.metered ? m.exportWh : 0;
        assert.equal(p.deliveredWh, Math.min(p.soldWh, exported));
        assert.equal(p.deliveredWh + p.undeliveredWh, p.soldWh);
        const mine = r.trades.filter((t) => t.seller === p.participant);
        assert.equal(mine.reduce((a, t) => a + t.deliveredWh, 0), p.deliveredWh);
      }
    }), { numRuns: 400 });
  });

  it('a fully delivering seller receives price × qty exactly (prices on the 1000-unit tick grid)', () => {
    fc.assert(fc.property(inputArb, fc.integer({ min: 0, max: PEOPLE.length - 1 }), (input, who) => {
      const seller = PEOPLE[who];
      const trades = input.trades.map((t) => ({ ...t, price: (t.price / 1000n) * 1000n }));
      const sold = trades.filter((t) => t.seller === seller).reduce((a, t) => a + t.quantityWh, 0);
      const metering = new Map(input.metering as Map<string, SlotMetering>);
      metering.set(seller, { metered: true, importWh: 0, exportWh: sold + 7, flags: [] });
      const r = settleDeliverySlot({ ...input, trades, metering, escrow: undefined });
      const row = r.participants.find((p) => p.participant === seller);
      const expected = trades.filter((t) => t.seller === seller).reduce((a, t) => a + (t.price * BigInt(t.quantityWh)) / 1000n, 0n);
      assert.equal(row?.received ?? 0n, expected);
      assert.equal(row?.imbalancePaid ?? 0n, 0n);
      for (const t of trades.filter((x) => x.seller === seller)) assert.equal((t.price * BigInt(t.quantityWh)) % 1000n, 0n);
    }), { numRuns: 300 });
  });

  it('imbalance ≤ (retail − price) × shortfall per trade and per seller, pro rata over its trades', () => {
    fc.assert(fc.property(inputArb, (input) => {
      const r = settleDeliverySlot(input);
      for (const t of r.trades) {
        const spread = RETAIL > t.price ? RETAIL - t.price : 0n;
        assert.ok(t.imbalance * 1000n <= spread * BigInt(t.undeliveredWh));
        if (!input.escrow) assert.equal(t.imbalance, (spread * BigInt(t.undeliveredWh)) / 1000n);
      }
      for (const p of r.participants) {
        const bound = r.trades.filter((t) => t.seller === p.participant)
          .reduce((a, t) => a + (RETAIL > t.price ? RETAIL - t.price : 0n) * BigInt(t.undeliveredWh), 0n);
        assert.ok(p.imbalancePaid * 1000n <= bound);
        if (input.escrow) {
          // Capped imbalance never makes the on-chain balance negative.
          assert.ok(input.escrow.get(p.participant) === undefined || input.escrow.get(p.participant)! + p.netDelta >= 0n || p.imbalancePaid === 0n);
        }
      }
    }), { numRuns: 400 });
  });

  it('is deterministic and independent of the order trades arrive in', () => {
    fc.assert(fc.property(inputArb, fc.integer(), (input, seed) => {
      const a = settleDeliverySlot(input);
      const shuffled = [...input.trades].sort((x, y) => ((x.seq * 7919 + seed) % 101) - ((y.seq * 7919 + seed) % 101));
      const b = settleDeliverySlot({ ...input, trades: shuffled });
      assert.deepEqual(b, a);
    }), { numRuns: 200 });
  });

  it('largest remainder: parts sum to the total and each part is within one unit of its exact share', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.array(fc.bigInt({ min: 0n, max: 10n ** 9n }), { minLength: 1, maxLength: 30 }), (total, weights) => {
      const W = weights.reduce((a, w) => a + w, 0n);
      fc.pre(W > 0n);
      const parts = allocateLargestRemainder(total, weights);
      assert.equal(parts.reduce((a, p) => a + p, 0n), total);
      parts.forEach((p, i) => {
        assert.ok(p * W > total * weights[i] - W);
        assert.ok(p * W < total * weights[i] + W);
      });
    }));
  });
});

describe('delivery settlement (examples)', () => {
  const [alice, bob, carol] = PEOPLE;
  const metered = (exportWh: number): SlotMetering => ({ metered: true, importWh: 0, exportWh, flags: [] });

  it('a seller who under-delivers pays the imbalance to its buyers pro rata', () => {
    // Alice sells 1 kWh to Bob and 3 kWh to Carol at 0.20 (200000/kWh) but exports only 2 kWh; retail is 0.40.
    const r = settleDeliverySlot({
      slot: 0, retailPrice: RETAIL,
      trades: [
        { seq: 1, buyer: bob, seller: alice, price: 200_000n, quantityWh: 1000 },
        { seq: 2, buyer: carol, seller: alice, price: 200_000n, quantityWh: 3000 },
      ],
      metering: new Map([[alice, metered(2000)]]),
    });
    assert.deepEqual(r.trades.map((t) => t.deliveredWh), [500, 1500]);
    assert.deepEqual(r.trades.map((t) => t.payment), [100_000n, 300_000n]);
    assert.deepEqual(r.trades.map((t) => t.imbalance), [100_000n, 300_000n]);
    const a = r.participants.find((p) => p.participant === alice)!;
    assert.equal(a.received, 400_000n);
    assert.equal(a.imbalancePaid, 400_000n);
    assert.equal(a.netDelta, 0n);
    const c = r.participants.find((p) => p.participant === carol)!;
    assert.equal(c.netDelta, -300_000n + 300_000n);
    assert.equal(c.boughtDeliveredWh, 1500);
  });

  it('a seller without metering delivers nothing and is paid nothing', () => {
    const r = settleDeliverySlot({
      slot: 0, retailPrice: RETAIL, trades: [{ seq: 1, buyer: bob, seller: alice, price: 250_000n, quantityWh: 2000 }], metering: new Map(),
    });
    const a = r.participants.find((p) => p.participant === alice)!;
    assert.equal(a.metered, false);
    assert.equal(a.deliveredWh, 0);
    assert.equal(a.received, 0n);
    assert.equal(a.imbalancePaid, 300_000n);
    assert.deepEqual(r.batch, { slot: 0, accounts: [alice, bob], deltas: [-300_000n, 300_000n] });
  });

  it('grid fee goes to the fee account and needs one', () => {
    const trades = [{ seq: 1, buyer: bob, seller: alice, price: 200_000n, quantityWh: 1000 }];
    assert.throws(() => settleDeliverySlot({ slot: 0, retailPrice: RETAIL, trades, metering: new Map(), gridFee: 10n }), SettlementInputError);
    const r = settleDeliverySlot({ slot: 0, retailPrice: RETAIL, trades, metering: new Map([[alice, metered(5000)]]), gridFee: 30_000n, gridFeeAccount: FEE_ACCOUNT });
    assert.deepEqual(r.batch.accounts, [alice, bob, FEE_ACCOUNT]);
    assert.deepEqual(r.batch.deltas, [200_000n, -230_000n, 30_000n]);
  });

  it('refuses self-trades and duplicate seqs with the field named', () => {
    assert.throws(() => settleDeliverySlot({ slot: 0, retailPrice: RETAIL, trades: [{ seq: 1, buyer: alice, seller: alice, price: 1n, quantityWh: 1 }], metering: new Map() }), /trades\/0/);
    assert.throws(() => settleDeliverySlot({
      slot: 0, retailPrice: RETAIL, metering: new Map(),
      trades: [{ seq: 1, buyer: alice, seller: bob, price: 1n, quantityWh: 1 }, { seq: 1, buyer: bob, seller: alice, price: 1n, quantityWh: 1 }],
    }), /trades\/1\/seq/);
  });
});
