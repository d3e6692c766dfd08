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
import { MarketRuntime, costOf } from '../../server/src/orders/market-runtime.ts';
import { OrderError, OrderService } from '../../server/src/orders/order-service.ts';
import { OrderSigner, orderTypedMessage, type SignedOrderFields } from '../../server/src/orders/order-signature.ts';
import secp256k1 from 'secp256k1';
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
      // A burst larger than one message (one batch in flight, the rest queued behind it): every order gets its own signer
      // back, in order, the tampered ones among them included.
      const burst = await Promise.all(Array.from({ length: 300 }, (_, i) => pool.recover(CHAIN_ID, i % 7 === 3 ? tampered : fields, signature)));
      burst.forEach((s, i) => assert.equal(s === w.address.toLowerCase(), i % 7 !== 3, `order ${i}`));
    } finally {
      await pool.close();
    }
    // Closing (a dying worker) while orders queue behind the batch in flight: every one of them settles, none waits forever.
    const dying = new RecoverPool();
    const { signature: sig, ...signed } = await sign(Wallet.createRandom(), '150000', 1);
    const queued = Array.from({ length: 200 }, () => dying.recover(CHAIN_ID, signed, sig));
    await new Promise((r) => setImmediate(r));
    await dying.close();
    // Resolving at all is the check: an order left in the queue would keep this await (and the test) waiting forever.
    const settled = await Promise.allSettled(queued);
    assert.ok(settled.some((s) => s.status === 'rejected'), 'the orders still queued are refused by the closed pool');
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

  it('risk sums kept as orders change equal the sums over the engine\'s open orders (submits, fills, amends, cancels, restart)', async () => {
    const capacityW = 12_000; // 200 Wh per 1-minute slot
    const risky = { escrowBalance: () => 10n ** 9n, exportCapacityW: () => capacityW };
    let rt = new MarketRuntime(settings, store, risky);
    await rt.load();
    const clock = new ManualClock(T0 + 30_000);
    let orders = new OrderService(new Map([[settings.id, rt]]), CHAIN_ID, clock);
    const signer = new OrderSigner(CHAIN_ID);
    await signer.ready();
    const people = Array.from({ length: 6 }, () => Wallet.createRandom());
    const nonces = people.map(() => 0);
    const signed = (p: number, fields: Omit<SignedOrderFields, 'participant' | 'market' | 'nonce' | 'expiry' | 'timeInForce'>) => {
      const f: SignedOrderFields = { participant: people[p].address.toLowerCase() as Address, market: settings.id, timeInForce: 'gtc', nonce: ++nonces[p], expiry: SLOT, ...fields };
      const sig = secp256k1.ecdsaSign(signer.digest(f), Buffer.from(people[p].privateKey.slice(2), 'hex'));
      return { ...f, signature: `0x${Buffer.from(sig.signature).toString('hex')}${(sig.recid + 27).toString(16)}` };
    };
    const slots = [SLOT, SLOT + settings.slotMs];
    let seed = 7;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const check = () => {
      for (const w of people) {
        const p = w.address.toLowerCase() as Address;
        const open = rt.market.openOrders(p);
        const locked = open.filter((o) => o.side === 'bid').reduce((a, o) => a + costOf(o.price, o.remainingWh, settings.gridFee), 0n);
        assert.equal(rt.freeEscrow(p).locked, locked, `locked escrow of ${p}`);
        for (const o of open.filter((x) => x.side === 'bid')) {
          assert.equal(rt.freeEscrow(p, o.id).locked, locked - costOf(o.price, o.remainingWh, settings.gridFee));
        }
      }
    };
    let exportRefusals = 0;
    for (let step = 0; step < 160; step++) {
      const p = rnd(people.length);
      const who = people[p].address.toLowerCase() as Address;
      const mine = rt.openOrdersOf(who);
      const op = rnd(10);
      try {
        if (op < 6 || mine.length === 0) {
          const side = rnd(2) ? 'bid' : 'ask';
          await orders.submit(signed(p, { slot: slots[rnd(2)], side, price: String(150_000 + rnd(20) * 100), quantityWh: 10 + rnd(60) }), { kind: 'rule' });
        } else if (op < 8) {
          const o = mine[rnd(mine.length)];
          const body = signed(p, { slot: o.slot, side: o.side, price: String(150_000 + rnd(20) * 100), quantityWh: 5 + rnd(80) });
          await orders.amend(o.id, { price: body.price, quantityWh: body.quantityWh, nonce: body.nonce, expiry: body.expiry, signature: body.signature }, { kind: 'rule' });
        } else {
          await orders.cancel(mine[rnd(mine.length)].id, { kind: 'rule' });
        }
      } catch (err) {
        assert.ok(err instanceof OrderError, String(err));
        if (err.body.reason === 'export_capacity') exportRefusals++;
      }
      check();
      // An ask that fills the seller's capacity exactly is accepted; one Wh more is refused.
      if (step === 80) {
        // A slot nobody trades in: no sold Wh, no bids to match the asks.
        const slot = SLOT + 5 * settings.slotMs;
        const first = await orders.submit(signed(0, { slot, side: 'ask', price: '320000', quantityWh: 120 }), { kind: 'rule' });
        await refusedWith(orders.submit(signed(0, { slot, side: 'ask', price: '320000', quantityWh: 81 }), { kind: 'rule' }), 409, ErrorCode.ORDER_REJECTED);
        // Amending the first ask to 200 Wh counts it once (its old 120 Wh do not stay in the sum); 201 is refused.
        const amendTo = async (q: number) => {
          const b = signed(0, { slot, side: 'ask', price: '320000', quantityWh: q });
          return orders.amend(first.order.id, { quantityWh: q, nonce: b.nonce, expiry: b.expiry, signature: b.signature }, { kind: 'rule' });
        };
        await refusedWith(amendTo(201), 409, ErrorCode.ORDER_REJECTED);
        await amendTo(200);
        await orders.cancel(first.order.id, { kind: 'rule' });
        await orders.submit(signed(0, { slot, side: 'ask', price: '320000', quantityWh: 200 }), { kind: 'rule' });
      }
    }
    assert.ok(exportRefusals > 0, 'the random walk reached the export limit');
    // A restart rebuilds the sums from the journal and the stored orders.
    rt = new MarketRuntime(settings, store, risky);
    await rt.load();
    orders = new OrderService(new Map([[settings.id, rt]]), CHAIN_ID, clock);
    check();
  });
});
