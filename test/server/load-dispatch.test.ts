// At gate closure the server dispatches the buyer's flexible loads for the bought slot over /bridge; sellers get none.
import assert from 'node:assert/strict';
import type { Dispatch } from '@gridmesh/contracts-abi';
import { BridgeProtocolClient } from '../helpers/bridge-protocol-client.ts';
import { T0, call, makeHome, signOrder, startTestServer, type Home, type TestServer } from './helpers.ts';

describe('server: load dispatch to buyers’ bridges', function () {
  let t: TestServer;
  let seller: Home;
  let buyer: Home;
  const bridges: BridgeProtocolClient[] = [];
  const slot = T0 + 3 * 60_000;

  const bridgeOf = async (home: Home) => {
    const client = new BridgeProtocolClient(t.url, home.meterKey);
    bridges.push(client);
    assert.equal((await client.hello()).ok, true);
    const received: Dispatch[] = [];
    client.socket.on('dispatch', (d: Dispatch) => received.push(d));
    return received;
  };

  before(async () => {
    t = await startTestServer();
    seller = await makeHome(t.url, 'Seller', 60_000);
    buyer = await makeHome(t.url, 'Buyer', 5_000);
  });
  after(async () => {
    bridges.forEach((b) => b.close());
    await t?.close();
  });

  it('sends one dispatch for the slot to the buyer’s meter, none to the seller’s', async () => {
    const toBuyer = await bridgeOf(buyer);
    const toSeller = await bridgeOf(seller);
    assert.equal((await call(t.url, 'POST', '/api/orders', await signOrder(seller, { slot, side: 'ask', price: '150000', quantityWh: 300 }), seller.token)).status, 201);
    const bid = await call(t.url, 'POST', '/api/orders', await signOrder(buyer, { slot, side: 'bid', price: '160000', quantityWh: 120 }), buyer.token);
    assert.equal(bid.body.trades.length, 1);
    assert.equal(toBuyer.length, 0, 'nothing is dispatched while the slot is still open');

    t.clock.set(slot - t.market.gateMs);
    await t.server.lifecycle.step();
    const deadline = Date.now() + 5000;
    while (toBuyer.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(toBuyer, [{ meter: buyer.meter.toLowerCase(), slot, slotEnd: slot + t.market.slotMs, on: true, reason: 'bought 120 Wh from neighbours' }]);
    assert.deepEqual(toSeller, []);
  });
});
