// Orders over real HTTP and Socket.IO with the real SQLite store: matching, amend/cancel, authorisation, error classes, realtime.
import assert from 'node:assert/strict';
import { Wallet } from 'ethers';
import { T0, call, connectMarket, emitAck, makeHome, nextEvent, signAmend, signOrder, startTestServer, tradingPair } from './helpers.ts';

describe('server: orders over REST and /market', function () {
  const pair = tradingPair();
  const slot = T0 + 3 * 60_000;

  it('matches a bid against a resting ask and answers with the committed trade', async () => {
    const ask = await call(pair.t.url, 'POST', '/api/orders', await signOrder(pair.seller, { slot, side: 'ask', price: '150000', quantityWh: 200 }), pair.seller.token);
    assert.equal(ask.status, 201, JSON.stringify(ask.body));
    assert.equal(ask.body.order.status, 'open');
    assert.equal(ask.body.trades.length, 0);
    const book = await call(pair.t.url, 'GET', `/api/markets/demo/slots/${slot}/book`);
    assert.deepEqual(book.body.asks, [{ price: '150000', quantityWh: 200, orders: 1 }]);

    const bid = await call(pair.t.url, 'POST', '/api/orders', await signOrder(pair.buyer, { slot, side: 'bid', price: '160000', quantityWh: 120 }), pair.buyer.token);
    assert.equal(bid.status, 201, JSON.stringify(bid.body));
    assert.equal(bid.body.order.status, 'filled');
    assert.equal(bid.body.trades.length, 1);
    const trade = bid.body.trades[0];
    assert.equal(trade.price, '150000', 'executes at the resting order\'s price');
    assert.equal(trade.quantityWh, 120);
    assert.equal(trade.seller, pair.seller.wallet.address.toLowerCase());
    assert.equal(trade.buyer, pair.buyer.wallet.address.toLowerCase());

    const tape = await call(pair.t.url, 'GET', `/api/markets/demo/slots/${slot}/trades`);
    assert.deepEqual(tape.body, [trade]);
    const sellerOrder = await call(pair.t.url, 'GET', `/api/orders/${ask.body.order.id}`, undefined, pair.seller.token);
    assert.equal(sellerOrder.body.filledWh, 120);
    assert.equal(sellerOrder.body.remainingWh, 80);
    const mine = await call(pair.t.url, 'GET', '/api/participants/me/trades', undefined, pair.seller.token);
    assert.equal(mine.body.length, 1);
    assert.equal(mine.body[0].side, 'sell');
    const slotInfo = await call(pair.t.url, 'GET', `/api/markets/demo/slots/${slot}`);
    assert.equal(slotInfo.body.state, 'open');
    assert.equal(slotInfo.body.volumeWh, 120);
    assert.equal(slotInfo.body.vwap, '150000');
  });

  it('amends with a fresh signature and cancels; only the owner may do either (403)', async () => {
    const placed = await call(pair.t.url, 'POST', '/api/orders', await signOrder(pair.seller, { slot, side: 'ask', price: '200000', quantityWh: 50 }), pair.seller.token);
    assert.equal(placed.status, 201);
    const order = placed.body.order;
    const amendBody = await signAmend(pair.seller, order, { price: '190000', quantityWh: 40 }, slot);
    const forbidden = await call(pair.t.url, 'PATCH', `/api/orders/${order.id}`, amendBody, pair.buyer.token);
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.body.code, 'FORBIDDEN');
    const amended = await call(pair.t.url, 'PATCH', `/api/orders/${order.id}`, amendBody, pair.seller.token);
    assert.equal(amended.status, 200, JSON.stringify(amended.body));
    assert.equal(amended.body.order.price, '190000');
    assert.equal(amended.body.order.remainingWh, 40);
    // A signature over other values than the body's is refused.
    const tampered = { ...(await signAmend(pair.seller, order, { price: '180000', quantityWh: 40 }, slot)), price: '170000' };
    assert.equal((await call(pair.t.url, 'PATCH', `/api/orders/${order.id}`, tampered, pair.seller.token)).body.code, 'BAD_SIGNATURE');

    const otherCancel = await call(pair.t.url, 'DELETE', `/api/orders/${order.id}`, undefined, pair.buyer.token);
    assert.equal(otherCancel.status, 403);
    const cancelled = await call(pair.t.url, 'DELETE', `/api/orders/${order.id}`, undefined, pair.seller.token);
    assert.equal(cancelled.status, 200);
    assert.equal(cancelled.body.order.status, 'cancelled');
    const again = await call(pair.t.url, 'DELETE', `/api/orders/${order.id}`, undefined, pair.seller.token);
    assert.equal(again.status, 409);
    assert.equal(again.body.reason, 'unknown_order');
    assert.equal((await call(pair.t.url, 'DELETE', '/api/orders/nope-1', undefined, pair.seller.token)).status, 404);
  });

  it('answers every error class with a WireError naming the field', async () => {
    // 401 without a session
    const anon = await call(pair.t.url, 'POST', '/api/orders', await signOrder(pair.seller, { slot, side: 'ask', price: '150000', quantityWh: 10 }));
    assert.equal(anon.status, 401);
    assert.equal(anon.body.code, 'UNAUTHENTICATED');
    // 403 acting for someone else, and reading someone else's history
    const forOther = await call(pair.t.url, 'POST', '/api/orders', await signOrder(pair.seller, { slot, side: 'ask', price: '150000', quantityWh: 10 }), pair.buyer.token);
    assert.equal(forOther.status, 403);
    assert.equal((await call(pair.t.url, 'GET', `/api/participants/${pair.seller.wallet.address}/orders`, undefined, pair.buyer.token)).status, 403);
    assert.equal((await call(pair.t.url, 'GET', `/api/participants/${pair.seller.wallet.address}/trades`, undefined, pair.buyer.token)).status, 403);
    // 400 schema, with the field
    const bad = await call(pair.t.url, 'POST', '/api/orders', { ...(await signOrder(pair.seller, { slot, side: 'ask', price: '150000', quantityWh: 10 })), quantityWh: -5 }, pair.seller.token);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'VALIDATION');
    assert.ok(bad.body.fields.some((f: { field: string }) => f.field === '/quantityWh'));
    // 400 above the cap, named by the price field
    const cap = await call(pair.t.url, 'POST', '/api/orders', await signOrder(pair.seller, { slot, side: 'ask', price: '330000', quantityWh: 10 }), pair.seller.token);
    assert.equal(cap.status, 400);
    assert.equal(cap.body.reason, 'price_out_of_range');
    assert.deepEqual(cap.body.fields.map((f: { field: string }) => f.field), ['/price']);
    // 400 signature by another key
    const stranger = Wallet.createRandom();
    const forged = { ...(await signOrder({ ...pair.seller, wallet: stranger }, { slot, side: 'ask', price: '150000', quantityWh: 10 })), participant: pair.seller.wallet.address.toLowerCase() };
    const sig = await call(pair.t.url, 'POST', '/api/orders', forged, pair.seller.token);
    assert.equal(sig.status, 400);
    assert.equal(sig.body.code, 'BAD_SIGNATURE');
    // 409 reused nonce
    const first = await signOrder(pair.seller, { slot, side: 'ask', price: '250000', quantityWh: 10 });
    assert.equal((await call(pair.t.url, 'POST', '/api/orders', first, pair.seller.token)).status, 201);
    const reuse = await call(pair.t.url, 'POST', '/api/orders', await signOrder(pair.seller, { slot, side: 'ask', price: '260000', quantityWh: 10, nonce: first.nonce }), pair.seller.token);
    assert.equal(reuse.status, 409);
    assert.equal(reuse.body.code, 'CONFLICT');
    assert.equal(reuse.body.fields[0].field, '/nonce');
    // 409 risk: an ask beyond the meter's export capacity in one slot (60 kW × 1 min = 1000 Wh)
    const big = await call(pair.t.url, 'POST', '/api/orders', await signOrder(pair.seller, { slot, side: 'ask', price: '250000', quantityWh: 1000 }), pair.seller.token);
    assert.equal(big.status, 409);
    assert.equal(big.body.reason, 'export_capacity');
    // 409 risk: a bid beyond free escrow (ledger allowance 100 GRID = 100000000; 320000/kWh × 400 kWh ≈ 128 GRID)
    const rich = await call(pair.t.url, 'POST', '/api/orders', await signOrder(pair.buyer, { slot, side: 'bid', price: '100000', quantityWh: 1_200_000 }), pair.buyer.token);
    assert.equal(rich.status, 409);
    assert.equal(rich.body.reason, 'insufficient_escrow');
    // 400 expired signature
    const expired = await call(pair.t.url, 'POST', '/api/orders', await signOrder(pair.seller, { slot, side: 'ask', price: '150000', quantityWh: 10, expiry: T0 - 1 }), pair.seller.token);
    assert.equal(expired.status, 400);
    assert.equal(expired.body.reason, 'expired');
    // 404 unknown market / order / route
    assert.equal((await call(pair.t.url, 'GET', '/api/markets/nowhere')).status, 404);
    assert.equal((await call(pair.t.url, 'GET', '/api/orders/none-1', undefined, pair.seller.token)).status, 404);
    assert.equal((await call(pair.t.url, 'GET', '/api/no-such-route')).status, 404);
    // 400 malformed JSON never leaks a stack
    const malformed = await call(pair.t.url, 'POST', '/api/orders', '{"participant":', pair.seller.token);
    assert.equal(malformed.status, 400);
    assert.ok(!JSON.stringify(malformed.body).includes('at '));
  });

  it('streams snapshot then seq\'d book/trade deltas to a market room and own orders to the participant room', async () => {
    const publicSocket = connectMarket(pair.t.url);
    const sellerSocket = connectMarket(pair.t.url, pair.seller.token);
    try {
      const hello = await nextEvent(sellerSocket, 'hello');
      assert.equal(hello.address, pair.seller.wallet.address.toLowerCase());
      const sub = await emitAck(publicSocket, 'subscribe', { market: 'demo' });
      assert.equal(sub.ok, true);
      assert.equal(sub.result.room, 'market:demo');
      assert.ok(sub.result.slots.some((s: { slot: number }) => s.slot === slot));
      const startSeq = sub.result.seq;
      assert.deepEqual((await emitAck(publicSocket, 'subscribe', { market: 'nowhere' })).error.code, 'NOT_FOUND');

      const tradeSeen = nextEvent(publicSocket, 'trade');
      const ownOrder = nextEvent(sellerSocket, 'order', (p: any) => p.orders.some((o: { side: string }) => o.side === 'ask'));
      tradeSeen.catch(() => undefined);
      ownOrder.catch(() => undefined);
      const placed = await emitAck(sellerSocket, 'order:submit', await signOrder(pair.seller, { slot, side: 'ask', price: '140000', quantityWh: 30 }));
      assert.equal(placed.ok, true, JSON.stringify(placed.error));
      const unauth = await emitAck(publicSocket, 'order:submit', await signOrder(pair.seller, { slot, side: 'ask', price: '140000', quantityWh: 30 }));
      assert.equal(unauth.error.code, 'UNAUTHENTICATED');
      const hit = await call(pair.t.url, 'POST', '/api/orders', await signOrder(pair.buyer, { slot, side: 'bid', price: '145000', quantityWh: 30 }), pair.buyer.token);
      assert.equal(hit.body.trades.length, 1);
      const tradeMsg = await tradeSeen;
      assert.equal(tradeMsg.room, 'market:demo');
      assert.ok(tradeMsg.seq > startSeq);
      assert.equal(tradeMsg.trades[0].id, hit.body.trades[0].id);
      const own = await ownOrder;
      assert.equal(own.room, `participant:${pair.seller.wallet.address.toLowerCase()}`);
      const resync = await emitAck(publicSocket, 'resync', { room: 'market:demo' });
      assert.equal(resync.ok, true);
      assert.ok(resync.result.seq >= tradeMsg.seq);
      assert.equal((await emitAck(publicSocket, 'resync', { room: `participant:${pair.seller.wallet.address.toLowerCase()}` })).ok, false, 'a public socket cannot read a participant room');
    } finally {
      publicSocket.close();
      sellerSocket.close();
    }
  });

  it('sends nothing to a room nobody is in; who joins later gets a snapshot and the next delta follows it by one', async () => {
    const late = await makeHome(pair.t.url, 'Late joiner', 20_000);
    const room = `participant:${late.wallet.address.toLowerCase()}`;
    for (const price of ['160000', '161000']) {
      const r = await call(pair.t.url, 'POST', '/api/orders', await signOrder(late, { slot, side: 'ask', price, quantityWh: 5 }), late.token);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    await new Promise((resolve) => setTimeout(resolve, 400)); // two broadcast intervals: an update would have gone out
    const socket = connectMarket(pair.t.url, late.token);
    try {
      const snapshot = await nextEvent(socket, 'snapshot', (p) => p.room === room);
      assert.equal(snapshot.seq, 0, 'no update was sent (nor counted) while the room was empty');
      assert.equal(snapshot.orders.length, 2, 'the snapshot holds the orders placed meanwhile');
      const update = nextEvent(socket, 'order', (p) => p.room === room);
      const placed = await call(pair.t.url, 'POST', '/api/orders', await signOrder(late, { slot, side: 'ask', price: '162000', quantityWh: 5 }), late.token);
      assert.equal(placed.status, 201);
      const delta = await update;
      assert.equal(delta.seq, snapshot.seq + 1);
      assert.deepEqual(delta.orders.map((o: { id: string }) => o.id), [placed.body.order.id]);
    } finally {
      socket.close();
    }
  });

  it('closes the gate on time: orders for the slot are refused with 409 and open ones expire', async () => {
    pair.t.clock.set(slot - pair.t.market.gateMs);
    await pair.t.server.lifecycle.step();
    const late = await call(pair.t.url, 'POST', '/api/orders', await signOrder(pair.seller, { slot, side: 'ask', price: '150000', quantityWh: 10, expiry: slot + 60_000 }), pair.seller.token);
    assert.equal(late.status, 409);
    assert.ok(['gate_closed', 'slot_closed'].includes(late.body.reason), late.body.reason);
    const info = await call(pair.t.url, 'GET', `/api/markets/demo/slots/${slot}`);
    assert.equal(info.body.state, 'gate_closed');
    const open = await call(pair.t.url, 'GET', `/api/participants/me/orders?status=open&slot=${slot}`, undefined, pair.seller.token);
    assert.deepEqual(open.body, []);
  });
});

describe('server: readings downsampled, CSV exports and metrics', function () {
  it('buckets readings with register increases per bucket, exports my readings/trades as CSV, and serves Prometheus metrics', async () => {
    const { BridgeProtocolClient } = await import('../helpers/bridge-protocol-client.ts');
    const t = await startTestServer();
    try {
      const home = await makeHome(t.url, 'Metered', 10_000);
      const client = new BridgeProtocolClient(t.url, home.meterKey);
      assert.equal((await client.hello()).ok, true);
      const base = Date.now() - 600_000;
      const start = base - (base % 60_000);
      const batch = Array.from({ length: 24 }, (_, i) => client.sign({ meter: home.meterKey.address as `0x${string}`, seq: i + 1, timestamp: start + i * 10_000, importWh: 0, exportWh: i * 5, powerW: -1800 - i, flags: 0 }));
      assert.equal((await client.send(batch)).ok, true);
      client.close();
      const buckets = (await call(t.url, 'GET', `/api/meters/${home.meter}/readings?from=${start}&to=${start + 240_000}&bucketMs=60000`)).body;
      assert.equal(buckets.length, 4);
      assert.deepEqual(buckets.map((b: { count: number }) => b.count), [6, 6, 6, 6]);
      assert.equal(buckets.reduce((a: number, b: { exportWh: number }) => a + b.exportWh, 0), 23 * 5, 'bucket energies add up to the register increase');
      assert.equal(buckets[0].minPowerW, -1805);
      const tooMany = await call(t.url, 'GET', `/api/meters/${home.meter}/readings?from=0&to=${start}&bucketMs=1000`);
      assert.equal(tooMany.status, 400);
      const csv = await call(t.url, 'GET', `/api/participants/me/export/readings.csv?from=${start}`, undefined, home.token);
      assert.equal(csv.status, 200);
      assert.match(csv.headers.get('content-type') ?? '', /text\/csv/);
      const lines = String(csv.body).trim().split('\n');
      assert.equal(lines[0], 'meter,seq,timestamp,importWh,exportWh,powerW,flags,signature');
      assert.equal(lines.length, 25);
      assert.equal((await call(t.url, 'GET', `/api/participants/me/export/trades.csv`, undefined, home.token)).status, 200);
      const metrics = await fetch(`${t.url}/metrics`);
      const text = await metrics.text();
      assert.match(text, /gridmesh_readings_total 24/);
      assert.match(text, /gridmesh_reading_verify_seconds_count 1/);
      assert.match(text, /gridmesh_book_depth_wh\{market="demo",side="bid"\}/);
    } finally {
      await t.close();
    }
  });
});
