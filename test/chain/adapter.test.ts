// The server's chain adapter as `npm start` uses it: embedded chain, demo funding once, outbox; a stop/start keeps balances.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { startChainAdapter, type ChainAdapter } from '../../server/src/chain/adapter.ts';
import { buildSettlementBatch } from '../../server/src/chain/settlement-batch.ts';

describe('chain: adapter (embedded default) across a stop and start', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'gridmesh-adapter-'));
  let adapter: ChainAdapter | undefined;
  after(async () => {
    await adapter?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('funds demo participants on first start only and keeps balances and outbox history after a restart', async () => {
    const [alice, bob] = [Wallet.createRandom().address, Wallet.createRandom().address];
    const demoParticipants = [
      { address: alice, deposit: 20_000_000n },
      { address: bob, deposit: 5_000_000n },
    ];
    const env = {}; // no CHAIN_RPC_URL: the embedded chain
    adapter = await startChainAdapter({ dataDir: dir, env, demoParticipants });
    assert.equal(adapter.embedded, true);
    assert.equal(adapter.firstStart, true);
    assert.match(adapter.rpcUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    const slot = 2_300_000_000_000;
    adapter.outbox.enqueue(
      buildSettlementBatch(slot, [{ id: 'a', slot, seq: 1, buyer: alice, seller: bob, price: 300_000n, quantityWh: 2500 }], [
        { account: alice, delta: -750_000n },
        { account: bob, delta: 750_000n },
      ]),
    );
    await adapter.outbox.whenIdle();
    assert.equal(adapter.store.get(slot)?.status, 'confirmed', adapter.store.get(slot)?.lastError ?? '');
    const before = [await adapter.client.market.escrowOf(alice), await adapter.client.market.escrowOf(bob)];
    assert.deepEqual(before, [19_250_000n, 5_750_000n]);
    const addresses = adapter.addresses;
    await adapter.stop();

    adapter = await startChainAdapter({ dataDir: dir, env, demoParticipants });
    assert.equal(adapter.firstStart, false, 'no second deployment or funding');
    assert.deepEqual(adapter.addresses, addresses);
    assert.deepEqual([await adapter.client.market.escrowOf(alice), await adapter.client.market.escrowOf(bob)], before);
    assert.equal(adapter.store.get(slot)?.status, 'confirmed');
    assert.equal(await adapter.client.market.slotSettled(slot), true);
  });
});
