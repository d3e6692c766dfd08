// Store contract for the market tables (journal, nonces, orders, trades, slots): SQLite always, MongoDB when MONGODB_URI is set.
import assert from 'node:assert/strict';
import type { Address, Hex } from '@gridmesh/contracts-abi';
import { STORE_TARGETS, type StoreTarget as Target } from './targets.ts';
import type { MarketCommit, OrderRecord, SlotRecord, Store, TradeRecord } from '../../server/src/store/index.ts';


const P = (n: number) => ('0x' + n.toString(16).padStart(40, '0')) as Address;
const SIG = ('0x' + '1'.repeat(130)) as Hex;
const S0 = 1_900_000_020_000 - (1_900_000_020_000 % 60_000);

const order = (participant: Address, nonce: number, slot: number, over: Partial<OrderRecord> = {}): OrderRecord => ({
  id: `${participant}-${nonce}`, market: 'demo', slot, participant, side: 'ask', price: '150000', quantityWh: 100, filledWh: 0, remainingWh: 100,
  timeInForce: 'gtc', status: 'open', nonce, expiry: slot, signature: SIG, signer: participant, source: 'manual', createdAt: S0 + nonce, updatedAt: S0 + nonce, ...over,
});
const trade = (slot: number, seq: number, buyer: Address, seller: Address): TradeRecord => ({
  id: `demo-${slot}-${seq}`, market: 'demo', slot, seq, buyOrder: `${buyer}-1`, sellOrder: `${seller}-1`, buyer, seller, price: '150000', quantityWh: 10 * seq, time: slot - 30_000 + seq,
});
const slotRec = (slot: number, over: Partial<SlotRecord> = {}): SlotRecord => ({
  market: 'demo', slot, state: 'open', stateSince: slot - 600_000, tradeCount: 0, volumeWh: 0, turnover: '0', clearingPrice: null, settlement: null, ...over,
});
const commit = (slot: number, command: string, over: Partial<MarketCommit> = {}): MarketCommit => ({
  entry: { market: 'demo', slot, command, time: slot - 40_000 }, orders: [], trades: [], slots: [], ...over,
});

function marketContract(name: string, target: () => Target | null, skipReason: string) {
  describe(`store contract (${name}): market journal, nonces, orders, trades, slots`, function () {
    let t: Target;
    let store: Store;
    before(function () {
      const made = target();
      if (!made) {
        console.log(`      skipped: market store contract (${name}) — ${skipReason}`);
        this.skip();
      }
      t = made!;
    });
    beforeEach(async () => { store = await t.open(); });
    afterEach(async () => { await store?.close(); });
    after(async () => { await t?.destroy(); });

    it('commits a command with its nonce, orders, trades and slot totals together; the journal replays per slot in order', async () => {
      const a = P(1);
      const b = P(2);
      const first = await store.market.commit(commit(S0, '{"type":"submit","id":"a1"}', { nonce: { participant: a, nonce: 1 }, orders: [order(a, 1, S0)], slots: [slotRec(S0)] }));
      const second = await store.market.commit(commit(S0 + 60_000, '{"type":"submit","id":"b1"}', { nonce: { participant: b, nonce: 1 }, orders: [order(b, 1, S0 + 60_000, { side: 'bid' })] }));
      const third = await store.market.commit(commit(S0, '{"type":"submit","id":"b2"}', {
        nonce: { participant: b, nonce: 2 },
        orders: [order(a, 1, S0, { filledWh: 40, remainingWh: 60 }), order(b, 2, S0, { side: 'bid', status: 'filled', filledWh: 40, remainingWh: 0, quantityWh: 40 })],
        trades: [trade(S0, 1, b, a)],
        slots: [slotRec(S0, { tradeCount: 1, volumeWh: 40, turnover: '6000000' })],
      }));
      assert.ok(first.seq < second.seq && second.seq < third.seq, 'journal seqs increase');
      assert.deepEqual((await store.market.journal('demo', [S0])).map((e) => e.command), ['{"type":"submit","id":"a1"}', '{"type":"submit","id":"b2"}']);
      assert.equal((await store.market.journal('demo', [S0, S0 + 60_000])).length, 3);
      assert.deepEqual(await store.market.journal('demo', []), []);
      assert.equal(await store.market.nonceUsed(b, 2), true);
      assert.equal(await store.market.nonceUsed(b, 3), false);
      assert.equal((await store.market.order(`${a}-1`))?.remainingWh, 60);
      assert.equal((await store.market.slot('demo', S0))?.volumeWh, 40);
      assert.deepEqual(await store.market.trades({ market: 'demo', from: S0, to: S0 + 1 }), [trade(S0, 1, b, a)]);
    });

    it('a commit that fails (nonce already used) leaves no journal row, order or trade behind', async () => {
      const a = P(3);
      await store.market.commit(commit(S0, '{"n":1}', { nonce: { participant: a, nonce: 7 }, orders: [order(a, 7, S0)] }));
      const before = (await store.market.journal('demo', [S0])).length;
      await assert.rejects(store.market.commit(commit(S0, '{"n":2}', { nonce: { participant: a, nonce: 7 }, orders: [order(a, 8, S0)], trades: [trade(S0, 99, P(4), a)] })));
      assert.equal((await store.market.journal('demo', [S0])).length, before);
      assert.equal(await store.market.order(`${a}-8`), null);
      assert.equal((await store.market.trades({ participant: P(4) })).length, 0);
    });

    it('a nonce is used once whether a submission or an amendment used it, also within one group; noncesOf lists both kinds', async () => {
      const a = P(7);
      const journalBefore = (await store.market.journal('demo', [S0])).length;
      // Submission of nonce 1, then an amendment of that order signed with nonce 2 (the order row keeps id a-1).
      await store.market.commit(commit(S0, '{"s":1}', { nonce: { participant: a, nonce: 1 }, orders: [order(a, 1, S0)] }));
      await store.market.commit(commit(S0, '{"m":2}', { nonce: { participant: a, nonce: 2 }, orders: [order(a, 1, S0, { nonce: 2, price: '150100' })] }));
      // A submission reusing the amendment's nonce, and an amendment reusing the submission's nonce: both refused whole.
      await assert.rejects(store.market.commit(commit(S0, '{"s":2}', { nonce: { participant: a, nonce: 2 }, orders: [order(a, 2, S0)] })));
      await assert.rejects(store.market.commit(commit(S0, '{"m":1}', { nonce: { participant: a, nonce: 1 }, orders: [order(a, 1, S0, { price: '150200' })] })));
      assert.equal(await store.market.order(`${a}-2`), null);
      assert.equal((await store.market.order(`${a}-1`))?.price, '150100');
      // One group that submits nonce 3 and amends it with nonce 4: the order is written once, in its amended state.
      await store.market.commitMany!([
        commit(S0, '{"s":3}', { nonce: { participant: a, nonce: 3 }, orders: [order(a, 3, S0)] }),
        commit(S0, '{"m":4}', { nonce: { participant: a, nonce: 4 }, orders: [order(a, 3, S0, { nonce: 4, price: '150300' })] }),
      ]);
      assert.equal((await store.market.order(`${a}-3`))?.price, '150300');
      // The same submission twice in one group is refused whole.
      await assert.rejects(store.market.commitMany!([
        commit(S0, '{"s":5}', { nonce: { participant: a, nonce: 5 }, orders: [order(a, 5, S0)] }),
        commit(S0, '{"s":5b}', { nonce: { participant: a, nonce: 5 }, orders: [order(a, 5, S0)] }),
      ]));
      assert.deepEqual([...(await store.market.noncesOf(a))].sort((x, y) => x - y), [1, 2, 3, 4]);
      for (const n of [1, 2, 3, 4]) assert.equal(await store.market.nonceUsed(a, n), true, `nonce ${n} is used`);
      assert.equal(await store.market.nonceUsed(a, 5), false);
      assert.equal((await store.market.journal('demo', [S0])).length, journalBefore + 4, 'refused commits left no journal rows');
    });

    it('queries orders newest first by participant, status, slot and slots from one on; trades by participant and slot range; slots by range and state', async () => {
      const c = P(5);
      for (let n = 1; n <= 4; n++) {
        await store.market.commit(commit(S0 + (n % 2) * 60_000, `{"c":${n}}`, { nonce: { participant: c, nonce: n }, orders: [order(c, n, S0 + (n % 2) * 60_000, { status: n === 4 ? 'cancelled' : 'open' })] }));
      }
      assert.deepEqual((await store.market.orders({ participant: c })).map((o) => o.nonce), [4, 3, 2, 1]);
      assert.deepEqual((await store.market.orders({ participant: c, status: 'open' })).map((o) => o.nonce), [3, 2, 1]);
      assert.deepEqual((await store.market.orders({ participant: c, slot: S0 })).map((o) => o.nonce), [4, 2]);
      assert.deepEqual((await store.market.orders({ participant: c, fromSlot: S0 + 60_000 })).map((o) => o.nonce), [3, 1]);
      assert.deepEqual((await store.market.orders({ participant: c, fromSlot: S0 })).map((o) => o.nonce), [4, 3, 2, 1]);
      assert.deepEqual((await store.market.orders({ participant: c, limit: 1 })).map((o) => o.nonce), [4]);
      await store.market.commit(commit(S0 + 120_000, '{"t":1}', { trades: [trade(S0 + 120_000, 1, c, P(6)), trade(S0 + 120_000, 2, P(6), c)] }));
      assert.deepEqual((await store.market.trades({ participant: c })).map((x) => x.seq), [1, 2]);
      assert.deepEqual((await store.market.trades({ participant: c, from: S0 + 180_000 })).length, 0);
      await store.market.upsertSlot(slotRec(S0 + 600_000));
      await store.market.upsertSlot(slotRec(S0 + 660_000, { state: 'metering' }));
      await store.market.upsertSlot(slotRec(S0 + 600_000, { state: 'settling', settlement: { status: 'sent', txHash: '0xab', tradesRoot: '0xcd', attempts: 2 } }));
      assert.deepEqual((await store.market.slots('demo', S0 + 600_000, S0 + 720_000)).map((s) => [s.slot, s.state]), [[S0 + 600_000, 'settling'], [S0 + 660_000, 'metering']]);
      assert.deepEqual((await store.market.slotsInState('demo', ['metering'])).map((s) => s.slot), [S0 + 660_000]);
      assert.deepEqual((await store.market.slot('demo', S0 + 600_000))?.settlement, { status: 'sent', txHash: '0xab', tradesRoot: '0xcd', attempts: 2 });
      assert.equal(await store.market.slot('other', S0), null);
    });

    it("finds a participant's trades through its orders: fills across commits and groups, a trade between its own orders once", async () => {
      const e = P(8);
      const f = P(9);
      const slot = S0 + 240_000;
      const fill = (seq: number, buyOrder: string, sellOrder: string): TradeRecord => ({
        id: `demo-${slot}-${seq}`, market: 'demo', slot, seq, buyOrder, sellOrder, buyer: buyOrder.split('-')[0] as Address, seller: sellOrder.split('-')[0] as Address,
        price: '150000', quantityWh: 10, time: slot - 30_000 + seq,
      });
      await store.market.commit(commit(slot, '{"e":1}', { nonce: { participant: e, nonce: 1 }, orders: [order(e, 1, slot)] }));
      await store.market.commit(commit(slot, '{"f":1}', {
        nonce: { participant: f, nonce: 1 },
        orders: [order(e, 1, slot, { filledWh: 10, remainingWh: 90 }), order(f, 1, slot, { side: 'bid', quantityWh: 10, filledWh: 10, remainingWh: 0, status: 'filled' })],
        trades: [fill(1, `${f}-1`, `${e}-1`)],
      }));
      // A group: f fills e's ask again, then e's own bid crosses its ask (a trade both of its orders list).
      const group = [
        commit(slot, '{"f":2}', {
          nonce: { participant: f, nonce: 2 },
          orders: [order(e, 1, slot, { filledWh: 20, remainingWh: 80 }), order(f, 2, slot, { side: 'bid', quantityWh: 10, filledWh: 10, remainingWh: 0, status: 'filled' })],
          trades: [fill(2, `${f}-2`, `${e}-1`)],
        }),
        commit(slot, '{"e":2}', {
          nonce: { participant: e, nonce: 2 },
          orders: [order(e, 1, slot, { filledWh: 30, remainingWh: 70 }), order(e, 2, slot, { side: 'bid', quantityWh: 10, filledWh: 10, remainingWh: 0, status: 'filled' })],
          trades: [fill(3, `${e}-2`, `${e}-1`)],
        }),
      ];
      if (store.market.commitMany) await store.market.commitMany(group);
      else for (const c of group) await store.market.commit(c);
      assert.deepEqual((await store.market.trades({ participant: e })).map((x) => x.seq), [1, 2, 3]);
      assert.deepEqual((await store.market.trades({ participant: f })).map((x) => x.seq), [1, 2]);
      assert.deepEqual(await store.market.trades({ participant: f }), [fill(1, `${f}-1`, `${e}-1`), fill(2, `${f}-2`, `${e}-1`)]);
      assert.deepEqual((await store.market.trades({ participant: e, from: slot, to: slot + 1 })).map((x) => x.seq), [1, 2, 3]);
      assert.deepEqual((await store.market.trades({ participant: e, from: slot + 1 })).length, 0);
      assert.deepEqual((await store.market.trades({ participant: e, market: 'other' })).length, 0);
      assert.deepEqual((await store.market.trades({ participant: e, limit: 2 })).map((x) => x.seq), [1, 2]);
      assert.equal((await store.market.order(`${e}-1`))?.filledWh, 30);
      assert.deepEqual((await store.market.orders({ participant: e })).map((o) => o.nonce), [2, 1]);
    });

    it('keeps the journal, orders and slots across a reopen', async () => {
      await store.close();
      store = await t.open();
      assert.ok((await store.market.journal('demo', [S0])).length >= 2);
      assert.equal((await store.market.order(`${P(1)}-1`))?.filledWh, 40);
      assert.equal((await store.market.slot('demo', S0 + 660_000))?.state, 'metering');
    });
  });
}


for (const kind of STORE_TARGETS) marketContract(kind.name, () => kind.make('market-store'), kind.skipReason);
