// The rule runner through the real order service and store: forecasts from stored readings, orders signed by the delegate.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { DelegationTypes, gridmeshDomain, type Address, type Hex } from '@gridmesh/contracts-abi';
import { openSqliteStore } from '../../server/src/store/sqlite.ts';
import type { Store, StoredReading } from '../../server/src/store/index.ts';
import { DEMO_MARKET } from '../../server/src/orders/market-settings.ts';
import { MarketRuntime } from '../../server/src/orders/market-runtime.ts';
import { OrderService } from '../../server/src/orders/order-service.ts';
import { ManualClock } from '../../server/src/slots/clock.ts';
import { DelegationService } from '../../server/src/rules/delegation.ts';
import { RuleRunner } from '../../server/src/rules/rule-runner.ts';

const CHAIN = 31337;
const DAY = 86_400_000;

describe('rule runner (real order service, SQLite store)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: Store;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gridmesh-rules-'));
    store = openSqliteStore(join(dir, 'store.db'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('places asks for the forecast surplus in every open slot, signed by the delegated key; a rerun changes nothing; disabling cancels', async () => {
    const settings = { ...DEMO_MARKET };
    const now = Date.UTC(2026, 5, 10, 12, 0, 30);
    const owner = Wallet.createRandom();
    const participant = owner.address.toLowerCase() as Address;
    const meter = Wallet.createRandom().address.toLowerCase() as Address;
    // Eight days of a home exporting a steady 150 Wh per 1-minute slot, read at every slot boundary.
    const readings: StoredReading[] = [];
    const start = Math.floor((now - 8 * DAY) / settings.slotMs) * settings.slotMs;
    for (let t = start, seq = 0; t <= now; t += settings.slotMs, seq++) {
      readings.push({ meter, seq, timestamp: t, importWh: 1000, exportWh: 500 + seq * 150, powerW: -9000, flags: 0, signature: ('0x' + '1'.repeat(130)) as Hex, phases: null, receivedAt: t });
    }
    for (let i = 0; i < readings.length; i += 5000) await store.readings.insertMany(readings.slice(i, i + 5000));

    const clock = new ManualClock(now);
    const runtime = new MarketRuntime(settings, store, { escrowBalance: () => 10n ** 12n, exportCapacityW: () => 100_000 });
    await runtime.load();
    const orders = new OrderService(new Map([[settings.id, runtime]]), CHAIN, clock);
    const delegations = new DelegationService(store, CHAIN, 'rule-runner-test-secret');
    await delegations.load();
    orders.setDelegateCheck((p, s, t) => delegations.isAuthorisedSigner(p, s, t));

    const { delegate, typedData } = await delegations.createSessionKey(participant, now + DAY, now);
    await delegations.authorise({ ...typedData.message, signature: await owner.signTypedData(typedData.domain, DelegationTypes, typedData.message) }, now);
    await store.rules.upsertRule({ participant, meter, market: settings.id, minSellPrice: '150000', maxBuyPrice: null, enabled: true, updatedAt: now });

    const port = {
      submit: (body: unknown) => orders.submit(body, { kind: 'rule' }),
      amend: (id: string, body: unknown) => orders.amend(id, body, { kind: 'rule' }),
      cancel: (id: string) => orders.cancel(id, { kind: 'rule' }),
    };
    const market = { name: settings.id, slotMs: settings.slotMs, horizonMs: settings.horizonMs, gateMs: settings.gateMs, tick: settings.tick, floor: settings.floor, cap: settings.cap };
    const runner = new RuleRunner(store, market, delegations, port, {}, () => 100_000);
    const first = await runner.run(now);
    assert.deepEqual(first.failed, []);
    assert.ok(first.placed >= 9, `placed ${first.placed}`);
    const open = await store.market.orders({ participant, market: settings.id, status: 'open' });
    assert.equal(open.length, first.placed);
    for (const o of open) {
      assert.equal(o.side, 'ask');
      assert.equal(o.price, '150000');
      assert.equal(o.quantityWh, 150);
      assert.equal(o.source, 'rule');
      assert.equal(o.signer, delegate);
    }
    assert.deepEqual(await runner.run(now), { placed: 0, amended: 0, cancelled: 0, failed: [], noDelegation: [] });

    await store.rules.upsertRule({ participant, meter, market: settings.id, minSellPrice: '150000', maxBuyPrice: null, enabled: false, updatedAt: now });
    const off = await runner.run(now);
    assert.equal(off.cancelled, first.placed);
    assert.equal((await store.market.orders({ participant, market: settings.id, status: 'open' })).length, 0);
  });

  it('places nothing for a participant without an authorised session key and says so', async () => {
    const participant = Wallet.createRandom().address.toLowerCase() as Address;
    const meter = Wallet.createRandom().address.toLowerCase() as Address;
    const now = Date.UTC(2026, 5, 10, 12, 0, 30);
    const base = Math.floor((now - DAY) / 60_000) * 60_000 - 120_000;
    await store.readings.insertMany([...Array(20).keys()].map((k) => ({
      meter, seq: k, timestamp: base + k * 60_000, importWh: 0, exportWh: k * 100, powerW: 0, flags: 0, signature: ('0x' + '1'.repeat(130)) as Hex, phases: null, receivedAt: 0,
    })));
    await store.rules.upsertRule({ participant, meter, market: 'demo', minSellPrice: '100000', maxBuyPrice: null, enabled: true, updatedAt: now });
    const delegations = new DelegationService(store, CHAIN, 'rule-runner-test-secret');
    await delegations.load();
    const calls: string[] = [];
    const runner = new RuleRunner(store, { name: 'demo', slotMs: 60_000, horizonMs: 600_000, gateMs: 10_000, tick: 100n, floor: 0n, cap: 320_000n }, delegations, {
      submit: async () => calls.push('submit'), amend: async () => calls.push('amend'), cancel: async () => calls.push('cancel'),
    });
    const report = await runner.run(now);
    assert.deepEqual(calls, []);
    assert.deepEqual(report.noDelegation, [participant]);
  });
});
