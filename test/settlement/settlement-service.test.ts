// Settlement at the store edge: trades + stored readings → per-participant rows, rewards and the chain batch, once per slot.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { unpackNetting, type Address, type Hex } from '@gridmesh/contracts-abi';
import Database from 'better-sqlite3';
import { openSqliteStore } from '../../server/src/store/sqlite.ts';
import type { Store, StoredReading, TradeRecord } from '../../server/src/store/index.ts';
import { SettlementService } from '../../server/src/settlement/index.ts';
import { buildSettlementBatch } from '../../server/src/chain/settlement-batch.ts';

const A = ('0x' + 'a1'.repeat(20)) as Address; // seller, delivers in full
const B = ('0x' + 'b2'.repeat(20)) as Address; // seller, under-delivers
const C = ('0x' + 'c3'.repeat(20)) as Address; // buyer
const meterOf = (p: Address) => ('0x' + p.slice(2, 4) + 'ee'.repeat(19)) as Address;
const SLOT = 1_700_000_040_000 - (1_700_000_040_000 % 60_000);
const market = { id: 'demo', slotMs: 60_000, graceMs: 15_000, retailPrice: 320_000n, gridFee: 0n };

describe('settlement service (SQLite store)', () => {
  let dir: string;
  let store: Store;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gridmesh-settle-'));
    store = openSqliteStore(join(dir, 'store.db'));
    for (const p of [A, B, C]) {
      await store.meters.bind({ meter: meterOf(p), owner: p, role: 'grid', capacityW: 10_000, label: null, nonce: 0, bindingSignature: ('0x' + '0'.repeat(130)) as Hex, createdAt: 0 });
    }
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Readings every 10 s from 20 s before to 20 s after the slot, exporting `exportWhPerSlot` evenly. */
  const meterReadings = (p: Address, exportWhPerSlot: number, skipAfterEnd = false): StoredReading[] => {
    const out: StoredReading[] = [];
    for (let t = SLOT - 20_000, seq = 0; t <= SLOT + 80_000; t += 10_000, seq++) {
      if (skipAfterEnd && t >= SLOT + 60_000) break;
      out.push({ meter: meterOf(p), seq, timestamp: t, importWh: 100, exportWh: 1000 + Math.floor(((t - SLOT + 20_000) * exportWhPerSlot) / 60_000), powerW: 0, flags: 0, signature: ('0x' + '1'.repeat(130)) as Hex, phases: null, receivedAt: t });
    }
    return out;
  };
  const trade = (seq: number, buyer: Address, seller: Address, price: bigint, quantityWh: number): TradeRecord => ({
    id: `demo-${SLOT}-${seq}`, market: 'demo', slot: SLOT, seq, buyOrder: `b${seq}`, sellOrder: `s${seq}`, buyer, seller, price: price.toString(), quantityWh, time: SLOT - 30_000,
  });

  it('settles from metered delivery, stores rows and rewards once, and yields a batch the chain module accepts', async () => {
    await store.readings.insertMany(meterReadings(A, 600));
    await store.readings.insertMany(meterReadings(B, 120));
    await store.readings.insertMany(meterReadings(C, 0));
    // A home that does not trade still counts in the neighbourhood's metering.
    const D = ('0x' + 'd4'.repeat(20)) as Address;
    await store.meters.bind({ meter: meterOf(D), owner: D, role: 'grid', capacityW: 10_000, label: null, nonce: 0, bindingSignature: ('0x' + '0'.repeat(130)) as Hex, createdAt: 0 });
    await store.readings.insertMany(meterReadings(D, 50));
    const trades = [trade(1, C, A, 200_000n, 500), trade(2, C, B, 210_000n, 300)];
    const svc = new SettlementService(store, { rewards: { deliveryPerKWh: 10n ** 18n, uptimePerSlot: 10n ** 17n, readingIntervalMs: 10_000 } });
    const out = await svc.settleSlot(market, SLOT, trades, SLOT + 80_000);
    assert.equal(out.created, true);
    const row = (p: Address) => out.participants.find((r) => r.participant === p.toLowerCase())!;
    assert.equal(row(A).deliveredWh, 500);
    assert.equal(row(A).received, '100000');
    assert.equal(row(B).meteredExportWh, 120);
    assert.equal(row(B).deliveredWh, 120);
    assert.equal(row(B).undeliveredWh, 180);
    assert.equal(row(B).received, String((210_000n * 120n) / 1000n));
    assert.equal(row(B).imbalancePaid, String(((320_000n - 210_000n) * 180n) / 1000n));
    assert.equal(row(C).paid, String(100_000n + (210_000n * 120n) / 1000n));
    assert.equal(out.participants.reduce((a, r) => a + BigInt(r.netDelta), 0n), 0n);
    assert.equal(out.participants.length, 3, 'only traders get settlement rows');
    assert.deepEqual(out.slot.community, { homes: 4, meteredHomes: 4, importWh: 0, exportWh: 600 + 120 + 50 });
    assert.deepEqual((await store.settlements.get('demo', SLOT))?.community, out.slot.community);

    const batch = buildSettlementBatch(SLOT, trades.map((t) => ({ id: t.id, slot: t.slot, seq: t.seq, buyer: t.buyer, seller: t.seller, price: t.price, quantityWh: t.quantityWh })), out.nettedDeltas);
    const unpacked = unpackNetting(batch.accounts, batch.deltas);
    assert.deepEqual(unpacked.map((d) => [d.account.toLowerCase(), d.delta]), out.nettedDeltas.map((d) => [d.account, d.delta]));

    const rewards = await store.settlements.rewards(A);
    assert.deepEqual(rewards.map((r) => [r.kind, r.amount]), [['delivery', String(5n * 10n ** 17n)], ['uptime', String(10n ** 17n)]]);

    const again = await svc.settleSlot(market, SLOT, trades.slice(0, 1), SLOT + 99_000);
    assert.equal(again.created, false);
    assert.deepEqual(again.slot, out.slot);
    assert.deepEqual(again.nettedDeltas, out.nettedDeltas);

    const epoch = (await svc.rewardEpoch())!;
    assert.ok(epoch.proof(A)!.length > 0);
    assert.equal(epoch.entitlements.find((e) => e.account === A.toLowerCase())!.cumulative, 6n * 10n ** 17n);
  });

  it('a seller whose readings stop before the slot end is not metered: delivers 0, pays the imbalance on all it sold', async () => {
    await store.readings.insertMany(meterReadings(B, 600, true));
    const svc = new SettlementService(store, { rewards: { deliveryPerKWh: 10n ** 18n, uptimePerSlot: 0n, readingIntervalMs: 10_000 } });
    const out = await svc.settleSlot(market, SLOT, [trade(1, C, B, 200_000n, 400)], SLOT + 80_000);
    const b = out.participants.find((r) => r.participant === B.toLowerCase())!;
    assert.equal(b.metered, false);
    assert.deepEqual(b.meteringFlags, ['no-reading-after-end']);
    assert.equal(b.deliveredWh, 0);
    assert.equal(b.received, '0');
    assert.equal(b.imbalancePaid, String((120_000n * 400n) / 1000n));
    assert.deepEqual(await store.settlements.rewards(B), []);
  });
});

describe('settlement store (SQLite) made before community metering was recorded', () => {
  it('gains the column on open and keeps the old rows readable', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gridmesh-settle-old-'));
    try {
      const file = join(dir, 'store.db');
      const old = new Database(file);
      old.exec(`CREATE TABLE slot_settlements (market TEXT NOT NULL, slot INTEGER NOT NULL, computed_at INTEGER NOT NULL, accounts TEXT NOT NULL,
        deltas TEXT NOT NULL, trades TEXT NOT NULL, PRIMARY KEY (market, slot)) WITHOUT ROWID`);
      old.prepare('INSERT INTO slot_settlements VALUES (?,?,?,?,?,?)').run('demo', SLOT, SLOT + 1, '[]', '[]', '[]');
      old.close();
      const store = openSqliteStore(file);
      try {
        assert.deepEqual(await store.settlements.get('demo', SLOT), { market: 'demo', slot: SLOT, computedAt: SLOT + 1, accounts: [], deltas: [], trades: [] });
        await store.settlements.save({ market: 'demo', slot: SLOT + 60_000, computedAt: 1, accounts: [], deltas: [], trades: [], community: { homes: 1, meteredHomes: 1, importWh: 5, exportWh: 0 } }, [], []);
        assert.deepEqual((await store.settlements.get('demo', SLOT + 60_000))?.community, { homes: 1, meteredHomes: 1, importWh: 5, exportWh: 0 });
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
