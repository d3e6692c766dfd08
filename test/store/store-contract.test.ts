// One contract suite for the store port, run against SQLite always and against MongoDB when MONGODB_URI is set.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Address, Hex } from '@gridmesh/contracts-abi';
import { STORE_TARGETS, type StoreTarget as Target } from './targets.ts';
import type { ParticipantSettlementRecord, RewardAccrualRecord, SlotSettlementRecord, Store, StoredReading } from '../../server/src/store/index.ts';


const addr = (n: number) => ('0x' + n.toString(16).padStart(40, '0')) as Address;
const sig = (n: number) => ('0x' + n.toString(16).padStart(130, '0')) as Hex;
const reading = (meter: Address, seq: number, over: Partial<StoredReading> = {}): StoredReading => ({
  meter, seq, timestamp: 1_700_000_000_000 + seq * 1000, importWh: seq * 10, exportWh: seq * 3, powerW: seq % 2 ? -250 : 400,
  flags: 0, signature: sig(seq + 1), phases: null, receivedAt: 1_700_000_000_000 + seq * 1000 + 5, ...over,
});

function storeContract(name: string, target: () => Target | null, skipReason: string) {
  describe(`store contract (${name})`, function () {
    let t: Target;
    let store: Store;

    before(function () {
      const made = target();
      if (!made) {
        console.log(`      skipped: store contract (${name}) — ${skipReason}`);
        this.skip();
      }
      t = made!;
    });
    beforeEach(async () => {
      store = await t.open();
    });
    afterEach(async () => {
      await store?.close();
    });
    after(async () => {
      await t?.destroy();
    });

    it('upserts participants by address (case-insensitive) and renames them', async () => {
      const a = '0xAbCdEf0000000000000000000000000000000001' as Address;
      await store.participants.upsert({ address: a, name: 'Home 1', createdAt: 1 });
      await store.participants.upsert({ address: a.toLowerCase() as Address, name: 'Home One', createdAt: 2 });
      const got = await store.participants.get(a);
      assert.equal(got?.name, 'Home One');
      assert.equal(got?.address, a.toLowerCase());
      assert.equal(got?.createdAt, 1, 'createdAt is kept from the first registration');
      assert.equal((await store.participants.list()).filter((p) => p.address === a.toLowerCase()).length, 1);
    });

    it('binds a meter to one owner; another owner is a conflict; the same owner may rebind', async () => {
      const meter = addr(0x5001);
      const first = await store.meters.bind({ meter, owner: addr(1), role: 'grid', capacityW: 5000, label: null, nonce: 1, bindingSignature: sig(1), createdAt: 10 });
      assert.equal(first.created, true);
      const other = await store.meters.bind({ meter, owner: addr(2), role: 'grid', capacityW: 5000, label: null, nonce: 2, bindingSignature: sig(2), createdAt: 11 });
      assert.equal(other.conflict, true);
      assert.equal(other.record.owner, addr(1));
      const again = await store.meters.bind({ meter, owner: addr(1), role: 'pv', capacityW: 6000, label: 'roof', nonce: 3, bindingSignature: sig(3), createdAt: 12 });
      assert.deepEqual([again.created, again.conflict, again.record.role, again.record.capacityW, again.record.label], [false, false, 'pv', 6000, 'roof']);
      assert.equal((await store.meters.get(meter.toUpperCase().replace('0X', '0x') as Address))?.nonce, 3);
    });

    it('stores readings idempotently on (meter, seq): a resend changes nothing', async () => {
      const meter = addr(0x6001);
      const batch = [1, 2, 3].map((s) => reading(meter, s));
      assert.deepEqual(await store.readings.insertMany(batch), { inserted: 3, existing: 0 });
      const changed = batch.map((r) => ({ ...r, powerW: 9999, signature: sig(99) }));
      assert.deepEqual(await store.readings.insertMany([...changed, reading(meter, 4)]), { inserted: 1, existing: 3 });
      assert.equal(await store.readings.count(meter), 4);
      const [two] = await store.readings.getBySeq(meter, [2]);
      assert.equal(two.powerW, batch[1].powerW, 'the first stored version wins');
      assert.equal((await store.readings.latest(meter))?.seq, 4);
    });

    it('answers time ranges oldest first, with from inclusive and to exclusive, and limits', async () => {
      const meter = addr(0x7001);
      await store.readings.insertMany([5, 1, 3, 2, 4].map((s) => reading(meter, s, { phases: [{ voltageV: 230.1 }] })));
      const all = await store.readings.range(meter, {});
      assert.deepEqual(all.map((r) => r.seq), [1, 2, 3, 4, 5]);
      assert.deepEqual(all[0].phases, [{ voltageV: 230.1 }]);
      const mid = await store.readings.range(meter, { from: reading(meter, 2).timestamp, to: reading(meter, 4).timestamp });
      assert.deepEqual(mid.map((r) => r.seq), [2, 3]);
      assert.equal((await store.readings.range(meter, { limit: 2 })).length, 2);
    });

    it('keeps what was committed across a reopen', async () => {
      const meter = addr(0x8001);
      await store.readings.insertMany([reading(meter, 1)]);
      await store.close();
      store = await t.open();
      assert.equal((await store.readings.latest(meter))?.signature, sig(2));
    });

    it('property: after any sequence of batches with resends, each (meter, seq) is stored exactly once', async () => {
      let round = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.array(fc.nat({ max: 30 }), { minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 6 }), async (batches) => {
          const meter = addr(0x9000 + ++round);
          const seen = new Set<number>();
          for (const seqs of batches) {
            const unique = [...new Set(seqs)];
            const before = seen.size;
            const res = await store.readings.insertMany(unique.map((s) => reading(meter, s)));
            unique.forEach((s) => seen.add(s));
            assert.equal(res.inserted, seen.size - before);
            assert.equal(res.inserted + res.existing, unique.length);
          }
          assert.equal(await store.readings.count(meter), seen.size);
        }),
        { numRuns: 25 },
      );
    });
  });

  describe(`store contract (${name}): settlements, rewards, trade rules, delegations`, function () {
    let t: Target;
    let store: Store;
    const P = (n: number) => addr(0x7000 + n);
    const row = (market: string, slot: number, participant: Address, netDelta: string): ParticipantSettlementRecord => ({
      market, slot, participant, metered: true, meteringFlags: [], meteredImportWh: 10, meteredExportWh: 900, boughtWh: 0, soldWh: 1000,
      deliveredWh: 900, undeliveredWh: 100, boughtDeliveredWh: 0, paid: '0', received: '180000', imbalancePaid: '20000', imbalanceReceived: '0',
      imbalanceUnpaid: '0', gridFeePaid: '0', gridFeeReceived: '0', netDelta,
    });
    const slotRecord = (market: string, slot: number): SlotSettlementRecord => ({
      market, slot, computedAt: slot + 1, accounts: [P(1), P(2)], deltas: ['160000', '-160000'], community: { homes: 3, meteredHomes: 2, importWh: 40, exportWh: 900 },
      trades: [{ seq: 1, buyer: P(2), seller: P(1), price: '200000', quantityWh: 1000, deliveredWh: 900, undeliveredWh: 100, payment: '180000', imbalance: '20000', gridFee: '0' }],
    });
    const accrual = (market: string, slot: number, account: Address, kind: 'delivery' | 'uptime', amount: string): RewardAccrualRecord => ({
      market, slot, account, kind, meter: kind === 'uptime' ? P(9) : null, basis: 1, amount,
    });

    before(function () {
      const made = target();
      if (!made) this.skip();
      t = made!;
    });
    beforeEach(async () => {
      store = await t.open();
    });
    afterEach(async () => {
      await store?.close();
    });
    after(async () => {
      await t?.destroy();
    });

    it('saves a slot settlement once: a second save changes nothing; rows and rewards are queryable and survive a reopen', async () => {
      const first = await store.settlements.save(slotRecord('m1', 60_000), [row('m1', 60_000, P(1), '160000'), row('m1', 60_000, P(2), '-160000')],
        [accrual('m1', 60_000, P(1), 'delivery', '900000000000000000'), accrual('m1', 60_000, P(1), 'uptime', '5')]);
      assert.deepEqual(first, { created: true });
      const again = await store.settlements.save({ ...slotRecord('m1', 60_000), deltas: ['1', '-1'] }, [row('m1', 60_000, P(1), '1')], [accrual('m1', 60_000, P(1), 'delivery', '7')]);
      assert.deepEqual(again, { created: false });
      await store.close();
      store = await t.open();
      assert.deepEqual(await store.settlements.get('m1', 60_000), { ...slotRecord('m1', 60_000), accounts: [P(1), P(2)].map((a) => a.toLowerCase()) });
      assert.equal(await store.settlements.get('m1', 120_000), null);
      assert.deepEqual((await store.settlements.participantsOf('m1', 60_000)).map((r) => [r.participant, r.netDelta]), [[P(1), '160000'], [P(2), '-160000']]);
      assert.deepEqual(await store.settlements.forParticipant(P(1)), [row('m1', 60_000, P(1), '160000')]);
      assert.deepEqual((await store.settlements.rewards(P(1))).map((a) => [a.kind, a.amount, a.meter]), [['delivery', '900000000000000000', null], ['uptime', '5', P(9)]]);
    });

    it('lists a participant newest slot first within a range and market, and sums cumulative rewards before a slot', async () => {
      for (const slot of [60_000, 120_000, 180_000]) {
        await store.settlements.save(slotRecord('m2', slot), [row('m2', slot, P(3), String(slot))], [accrual('m2', slot, P(3), 'delivery', '1000000000000000000000'), accrual('m2', slot, P(4), 'uptime', String(slot))]);
      }
      await store.settlements.save(slotRecord('other', 120_000), [row('other', 120_000, P(3), '1')], []);
      assert.deepEqual((await store.settlements.forParticipant(P(3), { market: 'm2' })).map((r) => r.slot), [180_000, 120_000, 60_000]);
      assert.deepEqual((await store.settlements.forParticipant(P(3), { from: 120_000, to: 180_000 })).map((r) => [r.market, r.slot]), [['m2', 120_000], ['other', 120_000]]);
      assert.deepEqual((await store.settlements.forParticipant(P(3), { limit: 1 })).map((r) => r.slot), [180_000]);
      const totals = await store.settlements.rewardTotals(180_000);
      const mine = totals.filter((e) => e.account === P(3).toLowerCase() || e.account === P(4).toLowerCase());
      assert.deepEqual(mine, [{ account: P(3).toLowerCase(), cumulative: '2000000000000000000000' }, { account: P(4).toLowerCase(), cumulative: '180000' }]);
    });

    it('stores a reward epoch once with its leaves; lists epochs newest first, with or without the leaves', async () => {
      const leaves = [{ account: P(10), cumulative: '1000000000000000000' }, { account: P(11), cumulative: '7' }];
      const epoch = (n: number, root: string) => ({ epoch: n, toSlot: n * 3_600_000, root, entitlements: leaves, createdAt: n });
      assert.deepEqual(await store.settlements.saveRewardEpoch(epoch(1, '0x' + '11'.repeat(32))), { created: true });
      assert.deepEqual(await store.settlements.saveRewardEpoch({ ...epoch(1, '0x' + '99'.repeat(32)), entitlements: [] }), { created: false });
      await store.settlements.saveRewardEpoch(epoch(2, '0x' + '22'.repeat(32)));
      await store.close();
      store = await t.open();
      const lower = leaves.map((l) => ({ ...l, account: l.account.toLowerCase() }));
      assert.deepEqual(await store.settlements.rewardEpoch(1), { ...epoch(1, '0x' + '11'.repeat(32)), entitlements: lower });
      assert.equal(await store.settlements.rewardEpoch(3), null);
      assert.deepEqual((await store.settlements.rewardEpochs({ limit: 2 })).map((e) => [e.epoch, e.entitlements.length]), [[2, 2], [1, 2]]);
      assert.deepEqual((await store.settlements.rewardEpochs({ withEntitlements: false })).map((e) => [e.epoch, e.toSlot, e.entitlements.length]), [[2, 7_200_000, 0], [1, 3_600_000, 0]]);
    });

    it('upserts one trade rule per (participant, meter), lists and removes them', async () => {
      const rule = { participant: P(5), meter: P(6), market: 'm1', minSellPrice: '150000', maxBuyPrice: null, enabled: true, updatedAt: 1 };
      await store.rules.upsertRule(rule);
      await store.rules.upsertRule({ ...rule, meter: P(7), maxBuyPrice: '350000' });
      const changed = await store.rules.upsertRule({ ...rule, participant: P(5).toUpperCase().replace('0X', '0x') as Address, minSellPrice: '160000', enabled: false, updatedAt: 2 });
      assert.deepEqual(changed, { ...rule, participant: P(5).toLowerCase(), meter: P(6).toLowerCase(), minSellPrice: '160000', enabled: false, updatedAt: 2 });
      assert.deepEqual((await store.rules.rules(P(5))).map((r) => [r.meter, r.minSellPrice, r.maxBuyPrice, r.enabled]), [[P(6), '160000', null, false], [P(7), '150000', '350000', true]]);
      assert.ok((await store.rules.rules()).length >= 2);
      assert.equal(await store.rules.removeRule(P(5), P(6)), true);
      assert.equal(await store.rules.removeRule(P(5), P(6)), false);
      assert.equal(await store.rules.rule(P(5), P(6)), null);
    });

    it('insertGroups (when the adapter has it) commits several batches at once with counts per batch, idempotently', async () => {
      if (!store.readings.insertGroups) return;
      const a = addr(0x7101);
      const b = addr(0x7102);
      await store.readings.insertMany([reading(a, 1)]);
      const counts = await store.readings.insertGroups([[reading(a, 1), reading(a, 2)], [reading(b, 1), reading(b, 2), reading(b, 3)], []]);
      assert.deepEqual(counts, [{ inserted: 1, existing: 1 }, { inserted: 3, existing: 0 }, { inserted: 0, existing: 0 }]);
      assert.deepEqual(await store.readings.insertGroups([[reading(b, 3)]]), [{ inserted: 0, existing: 1 }]);
      assert.equal(await store.readings.count(a), 2);
      assert.equal(await store.readings.count(b), 3);
    });

    it('keeps delegations per (participant, delegate) with expiry, encrypted key and revocation', async () => {
      const d = { participant: P(8), delegate: P(10), expiry: 5_000, signature: null, encryptedKey: 'c2VjcmV0', createdAt: 100, revokedAt: null };
      await store.rules.putDelegation(d);
      const signed = await store.rules.putDelegation({ ...d, signature: sig(77), createdAt: 200 });
      assert.deepEqual(signed, { ...d, participant: P(8).toLowerCase(), delegate: P(10).toLowerCase(), signature: sig(77), createdAt: 100 });
      await store.rules.putDelegation({ ...d, delegate: P(11), encryptedKey: null, createdAt: 300 });
      assert.deepEqual((await store.rules.delegations(P(8))).map((x) => x.delegate), [P(10), P(11)]);
      assert.equal(await store.rules.revokeDelegation(P(8), P(10), 400), true);
      assert.equal(await store.rules.revokeDelegation(P(8), P(10), 500), false);
      await store.close();
      store = await t.open();
      assert.equal((await store.rules.delegation(P(8), P(10)))?.revokedAt, 400);
      assert.equal(await store.rules.delegation(P(8), P(12)), null);
    });
  });
}


for (const kind of STORE_TARGETS) storeContract(kind.name, () => kind.make('store'), kind.skipReason);
