// A full delivery slot against the real local chain: orders → trade → gate → metered delivery → settlement batch → confirmed
// on chain; escrow balances on chain equal the settlement, the seller who under-delivered paid the imbalance, and the
// slot's rewards reach the chain as an epoch root that the seller claims with the proof the API serves.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { energyMarketAt, rewardTokenAt } from '@gridmesh/contracts-abi';
import { SettlementOutbox, SqliteSettlementOutboxStore, chainProvider, fundAndDeposit, startEmbeddedChain, type EmbeddedChain } from '../../server/src/chain/index.ts';
import { chainServerOptions } from '../../server/src/chain-settlement.ts';
import { BridgeProtocolClient } from '../helpers/bridge-protocol-client.ts';
import { tempDir } from '../helpers/processes.ts';
import { T0, call, makeHome, signOrder, startTestServer, type Home, type TestServer } from '../server/helpers.ts';

const DEPOSIT = 100_000_000n;

async function sendReadings(url: string, home: Home, powerW: number, from: number, to: number): Promise<void> {
  const client = new BridgeProtocolClient(url, home.meterKey);
  try {
    assert.equal((await client.hello()).ok, true);
    const batch = [];
    let seq = 1;
    for (let t = from; t <= to; t += 10_000) {
      const wh = (Math.abs(powerW) * (t - from)) / 3_600_000;
      batch.push(client.sign({ meter: home.meterKey.address as `0x${string}`, seq: seq++, timestamp: t, importWh: powerW > 0 ? wh : 0, exportWh: powerW < 0 ? wh : 0, powerW, flags: 0 }));
    }
    const ack = await client.send(batch);
    assert.equal(ack.ok, true, JSON.stringify(ack.error));
  } finally {
    client.close();
  }
}

describe('full slot to confirmed on-chain settlement (real local EVM)', function () {
  this.timeout(120_000);
  const dir = tempDir('settle-chain');
  let chain: EmbeddedChain;
  let outbox: SettlementOutbox;
  let t: TestServer;
  let provider: ReturnType<typeof chainProvider>;

  before(async () => {
    chain = await startEmbeddedChain({ dataDir: join(dir.path, 'chain') });
    provider = chainProvider(chain.rpcUrl, chain.chainId);
    const operator = chain.operator.connect(provider);
    const market = energyMarketAt(chain.addresses.energyMarket, operator);
    const outboxStore = new SqliteSettlementOutboxStore(join(dir.path, 'outbox.db'));
    outbox = new SettlementOutbox({ store: outboxStore, market, operator, pollMs: 20, confirmPollMs: 100 });
    outbox.start();
    t = await startTestServer({
      dataDir: join(dir.path, 'server'),
      options: chainServerOptions({ market, outbox, outboxStore, rewardEpochMs: 60_000 }),
    });
  });
  after(async () => {
    await t?.close(false);
    await outbox?.stop();
    provider?.destroy();
    await chain?.stop();
    dir.remove();
  });

  it('settles delivered energy at the trade price and charges the short seller the imbalance, on chain', async () => {
    const seller = await makeHome(t.url, 'Seller', 60_000);
    const buyer = await makeHome(t.url, 'Buyer', 60_000);
    const operator = chain.operator.connect(provider);
    await fundAndDeposit(operator, chain.addresses, [{ address: seller.wallet.address, deposit: DEPOSIT, gasWei: 10n ** 17n }, { address: buyer.wallet.address, deposit: DEPOSIT }]);
    const market = energyMarketAt(chain.addresses.energyMarket, provider);
    const slot = T0 + 2 * 60_000;

    const ask = await call(t.url, 'POST', '/api/orders', await signOrder(seller, { slot, side: 'ask', price: '150000', quantityWh: 500 }), seller.token);
    assert.equal(ask.status, 201, JSON.stringify(ask.body));
    const bid = await call(t.url, 'POST', '/api/orders', await signOrder(buyer, { slot, side: 'bid', price: '160000', quantityWh: 500 }), buyer.token);
    assert.equal(bid.status, 201, JSON.stringify(bid.body));
    assert.equal(bid.body.trades[0].quantityWh, 500);
    // Escrow for the open bid is locked before settlement: a second big bid beyond the deposit is refused.
    const tooMuch = await call(t.url, 'POST', '/api/orders', await signOrder(buyer, { slot: slot + 60_000, side: 'bid', price: '320000', quantityWh: 320_000 }), buyer.token);
    assert.equal(tooMuch.body.reason, 'insufficient_escrow');

    // Delivery: the seller exports only 300 Wh (18 kW for a minute) of the 500 it sold; the buyer imports 600 Wh.
    await sendReadings(t.url, seller, -18_000, slot - 30_000, slot + 90_000);
    await sendReadings(t.url, buyer, 36_000, slot - 30_000, slot + 90_000);

    // Time passes: gate, delivery, metering window; the lifecycle settles and the outbox confirms on chain.
    t.clock.set(slot + 60_000 + t.market.graceMs + 1);
    let info: any;
    for (let i = 0; i < 200; i++) {
      await t.server.lifecycle.step();
      info = (await call(t.url, 'GET', `/api/markets/demo/slots/${slot}`)).body;
      if (info.state === 'settled') break;
      await new Promise((r) => setTimeout(r, 100));
      t.clock.advance(1000);
    }
    assert.equal(info.state, 'settled', JSON.stringify(info));
    assert.equal(info.settlement.status, 'confirmed');
    assert.match(info.settlement.txHash, /^0x[0-9a-f]{64}$/);
    assert.equal(await market.slotSettled(slot), true);
    assert.equal(await market.slotTradesRoot(slot), info.settlement.tradesRoot);

    // Expected by the design's rules: delivered = min(sold, exported) = 300 Wh at 150000/kWh; shortfall 200 Wh pays (retail − price).
    const paidForDelivery = (150_000n * 300n) / 1000n;
    const imbalance = ((320_000n - 150_000n) * 200n) / 1000n;
    const sellerNet = paidForDelivery - imbalance;
    const mine = (await call(t.url, 'GET', '/api/participants/me/settlements', undefined, seller.token)).body;
    assert.equal(mine.length, 1);
    assert.equal(mine[0].deliveredWh, 300);
    assert.equal(mine[0].undeliveredWh, 200);
    assert.equal(BigInt(mine[0].imbalancePaid), imbalance);
    assert.equal(BigInt(mine[0].net), sellerNet);
    assert.equal(mine[0].status, 'confirmed');
    assert.equal(await market.escrowOf(seller.wallet.address), DEPOSIT + sellerNet);
    assert.equal(await market.escrowOf(buyer.wallet.address), DEPOSIT - sellerNet);
    const escrowView = (await call(t.url, 'GET', '/api/participants/me/escrow', undefined, buyer.token)).body;
    assert.equal(BigInt(escrowView.balance), DEPOSIT - sellerNet);
    assert.equal(escrowView.source, 'chain');
    // Anyone can prove the trade against the root stored on chain.
    const tradeId = bid.body.trades[0].id;
    const proof = (await call(t.url, 'GET', `/api/slots/${slot}/trades/${tradeId}/proof`)).body;
    assert.equal(proof.root, info.settlement.tradesRoot);
    const tr = bid.body.trades[0];
    assert.equal(await market.verifyTrade(slot, tr.seq, tr.buyer, tr.seller, BigInt(tr.price), tr.quantityWh, proof.proof), true);
    // Another participant's settlement is private.
    assert.equal((await call(t.url, 'GET', `/api/participants/${seller.wallet.address}/settlements`, undefined, buyer.token)).status, 403);

    // Rewards: the slot's delivery (300 Wh → 0.3 GMR at 1 GMR/kWh) and uptime accruals become epoch 1, published on chain
    // through the outbox; the seller claims with the served proof and receives exactly its cumulative entitlement.
    let rewards: any;
    for (let i = 0; i < 100; i++) {
      t.clock.advance(60_000);
      await t.server.lifecycle.step();
      rewards = (await call(t.url, 'GET', '/api/participants/me/rewards', undefined, seller.token)).body;
      if (rewards.claim) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(rewards.claim, JSON.stringify(rewards));
    assert.equal(rewards.chainEpoch, rewards.claim.epoch);
    // The served claim is against the root the chain held when it was asked; a later epoch may have landed since, and
    // the contract keeps the replaced root valid for claims (previousRewardRoot), which the claim below relies on.
    assert.ok([await market.rewardRoot(), await market.previousRewardRoot()].includes(rewards.claim.root), 'the claim is against a root the chain accepts');
    const deliveryReward = (10n ** 18n * 300n) / 1000n;
    assert.ok(BigInt(rewards.claim.cumulative) >= deliveryReward, 'delivery reward included');
    assert.equal(rewards.claimable, rewards.claim.cumulative);
    assert.equal(rewards.claimed, '0');
    const epochRow = rewards.epochs.find((e: any) => e.epoch === rewards.claim.epoch);
    assert.equal(epochRow.status, 'confirmed');
    assert.match(epochRow.txHash, /^0x[0-9a-f]{64}$/);
    const sellerMarket = energyMarketAt(chain.addresses.energyMarket, seller.wallet.connect(provider));
    await (await sellerMarket.claim(BigInt(rewards.claim.cumulative), rewards.claim.proof)).wait();
    const rewardToken = rewardTokenAt(await market.rewardToken(), provider);
    assert.equal(await rewardToken.balanceOf(seller.wallet.address), BigInt(rewards.claim.cumulative));
    const after = (await call(t.url, 'GET', '/api/participants/me/rewards', undefined, seller.token)).body;
    assert.equal(after.claimed, rewards.claim.cumulative);
    // A later epoch (the next slot's uptime) may be on chain by now: then only the difference is claimable.
    assert.equal(BigInt(after.claimable), BigInt(after.published) - BigInt(after.claimed));
    assert.equal(after.claim === null, after.claimable === '0');
    // The operator view lists the epoch with its root and transaction.
    const ops = (await call(t.url, 'GET', '/api/operator')).body;
    assert.ok(ops.rewardEpochs.some((e: any) => e.epoch === rewards.claim.epoch && e.root === rewards.claim.root && e.status === 'confirmed' && e.accounts >= 2));
  });
});
