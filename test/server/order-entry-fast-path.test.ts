// Order entry's fast path keeps its guarantees: nonces stored before a restart are refused from memory loaded once per
// participant, signer recovery in the worker thread refuses what inline recovery refuses, and group commits from the
// writer thread are visible once answered and all-or-nothing.
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
import { RecoverPool } from '../../server/src/orders/recover-pool.ts';
import { ManualClock } from '../../server/src/slots/clock.ts';
import { SessionTokens } from '../../server/src/auth/session-tokens.ts';
import { CHAIN_ID, T0 } from './helpers.ts';

const settings = { ...DEMO_MARKET };
const SLOT = T0 + 2 * settings.slotMs;
const sources = { escrowBalance: () => 10n ** 15n, exportCapacityW: () => 1_000_000 };

async function sign(wallet: HDNodeWallet, price: string, nonce: number, chainId = CHAIN_ID): Promise<OrderSubmission> {
  const fields = {
    participant: wallet.address.toLowerCase() as Address, market: settings.id, slot: SLOT, side: 'ask', price, quantityWh: 10, timeInForce: 'gtc', nonce, expiry: SLOT,
  } as const;
  const signature = await wallet.signTypedData(gridmeshDomain(chainId), OrderTypes, orderTypedMessage(fields));
  return { ...fields, signature: signature as `0x${string}` };
}

const refusedWith = async (p: Promise<unknown>, status: number, code: string) => {
  await assert.rejects(p, (err: unknown) => err instanceof OrderError && err.status === status && err.body.code === code);
};

describe('orders: entry fast path (nonces in memory, recovery in a worker)', function () {
  this.timeout(60_000);
  let dir: string;
  let store: Store;
  const service = async () => {
    const rt = new MarketRuntime(settings, store, sources);
    await rt.load();
    return new OrderService(new Map([[settings.id, rt]]), CHAIN_ID, new ManualClock(T0 + 30_000));
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gridmesh-entry-'));
    store = openSqliteStore(join(dir, 'store.db'));
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses after a restart a nonce committed before it, also when the first orders of a participant arrive together', async () => {
    const w = Wallet.createRandom();
    const before = await service();
    await before.submit(await sign(w, '150000', 1), { kind: 'rule' });
    await before.submit(await sign(w, '151000', 2), { kind: 'rule' });

    // A fresh process: its memory knows nothing until the participant's nonces are loaded once.
    const after = await service();
    const [a, b, c] = await Promise.allSettled([
      after.submit(await sign(w, '152000', 1), { kind: 'rule' }),
      after.submit(await sign(w, '153000', 3), { kind: 'rule' }),
      after.submit(await sign(w, '154000', 3), { kind: 'rule' }),
    ]);
    assert.equal(a.status, 'rejected');
    assert.ok((a as PromiseRejectedResult).reason instanceof OrderError && (a as PromiseRejectedResult).reason.status === 409);
    assert.deepEqual([b.status, c.status].sort(), ['fulfilled', 'rejected'], 'one of two equal new nonces is accepted');
    await refusedWith(after.submit(await sign(w, '155000', 2), { kind: 'rule' }), 409, ErrorCode.CONFLICT);
    assert.deepEqual((await store.market.noncesOf(w.address.toLowerCase() as Address)).sort((x, y) => x - y), [1, 2, 3]);
  });

  it('recovers the same signer in the worker as inline, and refuses a tampered order or another chain', async () => {
    const pool = new RecoverPool();
    try {
      const w = Wallet.createRandom();
      const good = await sign(w, '150000', 1);
      const { signature, ...fields } = good;
      const tampered = { ...fields, price: '150100' };
      const otherChain = await sign(w, '150000', 1, CHAIN_ID + 1);
      const many = await Promise.all(Array.from({ length: 40 }, () => pool.recover(CHAIN_ID, fields, signature)));
      assert.ok(many.every((s) => s === w.address.toLowerCase()));
      assert.notEqual(await pool.recover(CHAIN_ID, tampered, signature), w.address.toLowerCase());
      assert.notEqual(await pool.recover(CHAIN_ID, fields, otherChain.signature), w.address.toLowerCase());
      assert.equal(await pool.recover(CHAIN_ID, fields, '0x1234'), null);
    } finally {
      await pool.close();
    }
    // Through the service (which uses the process pool on ≥ 2 cores): a tampered order is refused before the engine.
    const orders = await service();
    const w = Wallet.createRandom();
    const bad = { ...(await sign(w, '150000', 1)), price: '150100' };
    await refusedWith(orders.submit(bad, { kind: 'session', address: bad.participant }), 400, ErrorCode.BAD_SIGNATURE);
    assert.equal((await store.market.journal(settings.id, [SLOT])).length, 0, 'nothing of a refused order reaches the journal');
  });

  it('a group committed by the writer thread is readable once answered; a group with a used nonce leaves nothing behind', async () => {
    const p = Wallet.createRandom().address.toLowerCase() as Address;
    const change = (nonce: number, time: number): MarketCommit => ({
      entry: { market: settings.id, slot: SLOT, command: JSON.stringify({ type: 'cancel', id: `${p}-${nonce}`, time }), time },
      nonce: { participant: p, nonce },
      orders: [{
        id: `${p}-${nonce}`, market: settings.id, slot: SLOT, participant: p, side: 'ask', price: '150000', quantityWh: 10, filledWh: 0, remainingWh: 10,
        timeInForce: 'gtc', status: 'open', nonce, expiry: SLOT, signature: `0x${'11'.repeat(65)}`, signer: p, source: 'manual', createdAt: time, updatedAt: time,
      }],
      trades: [],
      slots: [{ market: settings.id, slot: SLOT, state: 'open', stateSince: time, tradeCount: 0, volumeWh: 0, turnover: '0', clearingPrice: null, settlement: null }],
    });
    await store.market.commitMany!([change(1, 1), change(2, 2)]);
    assert.deepEqual((await store.market.noncesOf(p)).sort(), [1, 2]);
    assert.equal((await store.market.order(`${p}-2`))?.status, 'open');
    await assert.rejects(store.market.commitMany!([change(3, 3), change(2, 4)]));
    assert.deepEqual((await store.market.noncesOf(p)).sort(), [1, 2], 'the failed group wrote nothing');
    assert.equal(await store.market.order(`${p}-3`), null);
    assert.equal((await store.market.journal(settings.id, [SLOT])).length, 2);
  });

  it('a session token verified once (then answered from memory) still ends at logout and at expiry, and a forged one never passes', () => {
    const tokens = new SessionTokens(Buffer.alloc(32, 7), 1_000);
    const a = tokens.issue(Wallet.createRandom().address as Address, 0);
    const b = tokens.issue(Wallet.createRandom().address as Address, 0);
    assert.equal(tokens.verify(a.token, 10)?.address, a.session.address);
    assert.equal(tokens.verify(a.token, 20)?.address, a.session.address, 'answered again from the verified table');
    tokens.revoke(a.session, 30);
    assert.equal(tokens.verify(a.token, 40), null, 'logout ends a remembered session');
    assert.equal(tokens.verify(b.token, 10)?.address, b.session.address);
    assert.equal(tokens.verify(b.token, 1_000), null, 'expiry ends a remembered session');
    const [body, mac] = b.token.split('.');
    assert.equal(tokens.verify(`${body}.${mac[0] === 'A' ? 'B' : 'A'}${mac.slice(1)}`, 10), null);
  });
});
