// Scale-out: two server processes' /market namespaces share broadcasts through the Socket.IO Redis adapter (Redis on 127.0.0.1:6379).
import assert from 'node:assert/strict';
import { T0, call, connectMarket, emitAck, makeHome, nextEvent, signOrder, startTestServer, type TestServer } from './helpers.ts';

describe('server: Socket.IO Redis adapter', function () {
  let a: TestServer;
  let b: TestServer;
  before(async function () {
    const env = { REDIS_URL: 'redis://127.0.0.1:6379' };
    try {
      a = await startTestServer({ env });
      b = await startTestServer({ env });
    } catch (err) {
      await a?.close();
      throw new Error(`Redis at 127.0.0.1:6379 is required for this test: ${err instanceof Error ? err.message : String(err)}`);
    }
  });
  after(async () => {
    await a?.close();
    await b?.close();
  });

  it('a trade made on one server reaches a client subscribed on the other', async () => {
    const watcher = connectMarket(b.url);
    try {
      assert.equal((await emitAck(watcher, 'subscribe', { market: 'demo' })).ok, true);
      const seen = nextEvent(watcher, 'trade', (p: any) => p.trades.length > 0, 10_000);
      seen.catch(() => undefined);
      const seller = await makeHome(a.url, 'Seller', 60_000);
      const buyer = await makeHome(a.url, 'Buyer', 60_000);
      const slot = T0 + 3 * 60_000;
      assert.equal((await call(a.url, 'POST', '/api/orders', await signOrder(seller, { slot, side: 'ask', price: '150000', quantityWh: 40 }), seller.token)).status, 201);
      const hit = await call(a.url, 'POST', '/api/orders', await signOrder(buyer, { slot, side: 'bid', price: '150000', quantityWh: 40 }), buyer.token);
      assert.equal(hit.body.trades.length, 1);
      const msg = await seen;
      assert.equal(msg.room, 'market:demo');
      assert.equal(msg.trades[0].id, hit.body.trades[0].id);
    } finally {
      watcher.close();
    }
  });
});
