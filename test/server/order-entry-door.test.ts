// The order-entry door answers POST /api/orders ahead of Express exactly as the Express route does, and passes on what it does not take.
import assert from 'node:assert/strict';
import { T0, signOrder, startTestServer, tradingPair } from './helpers.ts';

interface Answer { status: number; body: any; etag: string | null; retryAfter: string | null }

/**
 * POSTs `raw` to /api/orders. `viaExpress` adds a media-type parameter the door does not take (express.json does), so
 * the same request is answered by the Express route instead. Express's `res.json` adds an ETag; the door never does,
 * which tells the two apart.
 */
async function post(url: string, raw: string, token: string | undefined, viaExpress: boolean): Promise<Answer> {
  const headers: Record<string, string> = { 'content-type': viaExpress ? 'application/json; profile=gridmesh' : 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${url}/api/orders`, { method: 'POST', headers, body: raw });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, etag: res.headers.get('etag'), retryAfter: res.headers.get('retry-after') };
}

describe('server: the order-entry door (POST /api/orders ahead of Express)', function () {
  const pair = tradingPair({ seller: 'Door seller', buyer: 'Door buyer' });
  const slot = T0 + 3 * 60_000;

  it('answers every error class with the same status and body as the Express route', async () => {
    const valid = JSON.stringify(await signOrder(pair.seller, { slot, side: 'ask', price: '150000', quantityWh: 10 }));
    const badField = JSON.stringify({ ...(await signOrder(pair.seller, { slot, side: 'ask', price: '150000', quantityWh: 10 })), quantityWh: -5 });
    const cases: { name: string; raw: string; token: string | undefined; status: number }[] = [
      { name: 'malformed JSON', raw: '{"participant":', token: pair.seller.token, status: 400 },
      { name: 'JSON that is not an object (strict)', raw: '"an order"', token: pair.seller.token, status: 400 },
      { name: 'empty body', raw: '', token: pair.seller.token, status: 400 },
      { name: 'a field out of range', raw: badField, token: pair.seller.token, status: 400 },
      { name: 'no session', raw: valid, token: undefined, status: 401 },
      { name: 'a forged session', raw: valid, token: 'not-a-token', status: 401 },
      { name: 'another participant\'s order', raw: valid, token: pair.buyer.token, status: 403 },
    ];
    for (const c of cases) {
      const door = await post(pair.t.url, c.raw, c.token, false);
      const express = await post(pair.t.url, c.raw, c.token, true);
      assert.equal(door.status, c.status, `${c.name}: door status ${JSON.stringify(door.body)}`);
      assert.equal(express.status, c.status, `${c.name}: Express status ${JSON.stringify(express.body)}`);
      assert.deepEqual(door.body, express.body, `${c.name}: same body`);
      assert.equal(door.etag, null, `${c.name}: answered by the door`);
      assert.notEqual(express.etag, null, `${c.name}: answered by Express`);
    }
  });

  it('places orders that match like the Express route does, with the same answer shape', async () => {
    const ask = await post(pair.t.url, JSON.stringify(await signOrder(pair.seller, { slot, side: 'ask', price: '150000', quantityWh: 100 })), pair.seller.token, false);
    assert.equal(ask.status, 201, JSON.stringify(ask.body));
    const bid = await post(pair.t.url, JSON.stringify(await signOrder(pair.buyer, { slot, side: 'bid', price: '160000', quantityWh: 40 })), pair.buyer.token, true);
    assert.equal(bid.status, 201, JSON.stringify(bid.body));
    assert.deepEqual(Object.keys(ask.body).sort(), Object.keys(bid.body).sort());
    assert.deepEqual(Object.keys(ask.body.order).sort(), Object.keys(bid.body.order).sort());
    assert.equal(bid.body.trades.length, 1);
    assert.equal(bid.body.trades[0].sellOrder, ask.body.order.id);
    // The same signed order again: refused as a used nonce, whichever way it comes in.
    const again = JSON.stringify(await signOrder(pair.buyer, { slot, side: 'bid', price: '100000', quantityWh: 5 }));
    assert.equal((await post(pair.t.url, again, pair.buyer.token, false)).status, 201);
    const replayDoor = await post(pair.t.url, again, pair.buyer.token, false);
    const replayExpress = await post(pair.t.url, again, pair.buyer.token, true);
    assert.equal(replayDoor.status, 409);
    assert.deepEqual(replayDoor.body, replayExpress.body);
  });

  it('shares one rate-limit budget per client with the rest of /api (429 with Retry-After either way)', async () => {
    const limited = await startTestServer({ env: { GRIDMESH_RATE_LIMIT_RPS: '1' } }); // burst 2
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await post(limited.url, '{}', undefined, i % 2 === 1)).status);
      assert.deepEqual(statuses.slice(0, 2), [401, 401], 'within the burst: refused for the missing session only');
      assert.equal(statuses[2], 429);
      const door = await post(limited.url, '{}', undefined, false);
      const express = await post(limited.url, '{}', undefined, true);
      assert.equal(door.status, 429);
      assert.equal(express.status, 429);
      assert.deepEqual(door.body, express.body);
      assert.ok(Number(door.retryAfter) >= 1 && Number(express.retryAfter) >= 1);
    } finally {
      await limited.close();
    }
  });
});
