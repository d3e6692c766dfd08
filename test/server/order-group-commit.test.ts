// Group commit of orders: commands applied in one event-loop turn share one transaction, ack after commit, replay rebuilds.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet, type HDNodeWallet } from 'ethers';
import { ErrorCode, OrderTypes, gridmeshDomain, type Address, type OrderSubmission } from '@gridmesh/contracts-abi';
import { openSqliteStore } from '../../server/src/store/sqlite.ts';
import type { MarketCommit, Store } from '../../server/src/store/index.ts';
import { DEMO_MARKET } from '../../server/src/orders/market-settings.ts';
import { MarketRuntime } from '../../server/src/orders/market-runtime.ts';
import { OrderError, OrderService } from '../../server/src/orders/order-service.ts';
import { orderTypedMessage } from '../../server/src/orders/order-signature.ts';
import { ManualClock } from '../../server/src/slots/clock.ts';
import { CHAIN_ID, T0 } from './helpers.ts';

const settings = { ...DEMO_MARKET };
const SLOT = T0 + 2 * settings.slotMs;
const sources = { escrowBalance: () => 10n ** 15n, exportCapacityW: () => 1_000_000 };

async function sign(wallet: HDNodeWallet, side: 'bid' | 'ask', price: string, quantityWh: number, nonce: number): Promise<OrderSubmission> {
  const fields = {
    participant: wallet.address.toLowerCase() as Address, market: settings.id, slot: SLOT, side, price, quantityWh, timeInForce: 'gtc', nonce, expiry: SLOT,
  } as const;
  const signature = await wallet.signTypedData(gridmeshDomain(CHAIN_ID), OrderTypes, orderTypedMessage(fields));
  return { ...fields, signature: signature as `0x${string}` };
}

/** What a book holds: open orders by id with their remaining energy, as the engine sees them. */
const everyone: HDNodeWallet[] = [];
const bookOf = (rt: MarketRuntime) =>
  everyone.flatMap((w) => rt.market.openOrders(w.address.toLowerCase())).map((o) => `${o.id}:${o.side}:${o.price}:${o.remainingWh}`).sort();
const wallet = () => { const w = Wallet.createRandom(); everyone.push(w); return w; };

describe('orders: group commit', function () {
  this.timeout(60_000);
  let dir: string;
  let store: Store;
  const groups: number[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gridmesh-group-'));
    store = openSqliteStore(join(dir, 'store.db'));
    groups.length = 0;
    const repo = store.market;
    const commitMany = repo.commitMany!.bind(repo);
    repo.commitMany = (changes: MarketCommit[]) => { groups.push(changes.length); return commitMany(changes); };
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('commits orders submitted in one turn together, refuses a repeated nonce in the same turn, and replay rebuilds the same book', async () => {
    const clock = new ManualClock(T0 + 30_000);
    const rt = new MarketRuntime(settings, store, sources);
    await rt.load();
    const orders = new OrderService(new Map([[settings.id, rt]]), CHAIN_ID, clock);
    const sellers = Array.from({ length: 8 }, () => wallet());
    const buyers = Array.from({ length: 8 }, () => wallet());
    const subs: OrderSubmission[] = [];
    for (const [i, w] of sellers.entries()) subs.push(await sign(w, 'ask', String(100_000 + i * 1_000), 100 + i, 1));
    for (const [i, w] of buyers.entries()) subs.push(await sign(w, 'bid', String(104_000 + i * 500), 150, 1));
    const repeat = await sign(sellers[0], 'ask', '120000', 50, 1);
    const changes: number[] = [];
    orders.onChange((c) => changes.push(c.orders.length));

    const settled = await Promise.allSettled([...subs, repeat].map((s) => orders.submit(s, { kind: 'session', address: s.participant })));
    const refused = settled.filter((r) => r.status === 'rejected');
    assert.equal(refused.length, 1, 'exactly the repeated nonce is refused');
    const err = (refused[0] as PromiseRejectedResult).reason;
    assert.ok(err instanceof OrderError);
    assert.equal(err.status, 409);
    assert.equal(err.body.code, ErrorCode.CONFLICT);
    assert.equal(changes.length, subs.length, 'one broadcast per accepted order, after its commit');
    assert.ok(groups.some((n) => n > 1), `some transaction held several orders (groups ${groups.join(',')})`);
    assert.equal(groups.reduce((a, b) => a + b, 0), subs.length, 'every accepted order committed exactly once');

    const journal = await store.market.journal(settings.id, [SLOT]);
    assert.equal(journal.length, subs.length);
    const trades = await store.market.trades({ market: settings.id });
    assert.ok(trades.length > 0, 'crossing orders matched');

    const rebuilt = new MarketRuntime(settings, store, sources);
    await rebuilt.load();
    assert.deepEqual(bookOf(rebuilt), bookOf(rt));
    assert.ok(bookOf(rt).length > 0);
  });

  it('a failed group commit refuses every order in it, frees their nonces, and rebuilds memory from the journal', async () => {
    const clock = new ManualClock(T0 + 30_000);
    const rt = new MarketRuntime(settings, store, sources);
    await rt.load();
    const orders = new OrderService(new Map([[settings.id, rt]]), CHAIN_ID, clock);
    const first = wallet();
    const kept = await orders.submit(await sign(first, 'ask', '150000', 100, 1), { kind: 'rule' });
    assert.equal(kept.order.status, 'open');

    const repo = store.market;
    const working = repo.commitMany!;
    let failures = 0;
    repo.commitMany = async (c) => { failures += 1; throw new Error(`disk full (${c.length})`); };
    const wallets = Array.from({ length: 4 }, () => wallet());
    const subs = await Promise.all(wallets.map((w, i) => sign(w, 'bid', String(90_000 + i * 100), 40, 7)));
    const settled = await Promise.allSettled(subs.map((s) => orders.submit(s, { kind: 'rule' })));
    assert.ok(settled.every((r) => r.status === 'rejected'), 'no order of the failed group is acknowledged');
    assert.equal(failures, 1);
    repo.commitMany = working;

    // The rebuild runs behind the refused commands; once it is done memory equals the journal again.
    await rt.serial(async () => undefined);
    const rebuilt = new MarketRuntime(settings, store, sources);
    await rebuilt.load();
    assert.deepEqual(bookOf(rt), bookOf(rebuilt));
    assert.deepEqual(bookOf(rt).map((s) => s.split(':')[0]), [kept.order.id]);

    // Nothing of the failed group is durable, so the same signed orders (same nonces) are accepted now.
    const retried = await Promise.all(subs.map((s) => orders.submit(s, { kind: 'rule' })));
    assert.ok(retried.every((r) => r.order.status === 'open'));
  });
});
