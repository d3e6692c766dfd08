// Chain client from environment (encrypted keystore, confirmations) against the embedded chain; clear errors on bad config.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { chainConfigFromEnv, connectChain } from '../../server/src/chain/client.ts';
import { createOperatorKeystore } from '../../server/src/chain/keystore.ts';
import { SettlementOutbox } from '../../server/src/chain/outbox.ts';
import { SqliteSettlementOutboxStore } from '../../server/src/chain/outbox-sqlite.ts';
import { buildSettlementBatch } from '../../server/src/chain/settlement-batch.ts';
import { fundAndDeposit } from '../../server/src/chain/demo-funding.ts';
import { startChainFixture, type ChainFixture } from './helpers.ts';

describe('chain: client from configuration', function () {
  this.timeout(60_000);
  let f: ChainFixture;
  before(async () => {
    f = await startChainFixture();
  });
  after(async () => f?.close());

  it('connects with CHAIN_RPC_URL, an encrypted keystore and CHAIN_CONFIRMATIONS; a batch waits for its confirmations', async () => {
    const env = {
      CHAIN_RPC_URL: f.chain.rpcUrl,
      CHAIN_ID: String(f.chain.chainId),
      CHAIN_KEYSTORE: join(f.dir, 'operator-keystore.json'),
      CHAIN_KEYSTORE_PASSWORD: 'test',
      CHAIN_CONFIRMATIONS: '2',
      CHAIN_ADDRESSES: join(f.dir, 'chain.json'),
    };
    const config = chainConfigFromEnv(env)!;
    assert.equal(config.confirmations, 2);
    const client = await connectChain(config);
    try {
      assert.equal(client.operator.address, f.chain.operator.address);
      assert.equal(await client.market.hasRole(await client.market.OPERATOR_ROLE(), client.operator.address), true);

      const [a, b] = [Wallet.createRandom().address, Wallet.createRandom().address];
      await fundAndDeposit(client.operator, config.addresses, [{ address: a, deposit: 1_000_000n }]);
      const store = new SqliteSettlementOutboxStore(join(f.dir, 'client-outbox.sqlite'));
      const outbox = new SettlementOutbox({ store, market: client.market, operator: client.operator, confirmations: config.confirmations });
      const slot = 2_200_000_000_000;
      outbox.enqueue(
        buildSettlementBatch(slot, [{ id: '1', slot, seq: 1, buyer: a, seller: b, price: 300_000n, quantityWh: 1000 }], [
          { account: a, delta: -300_000n },
          { account: b, delta: 300_000n },
        ]),
      );
      outbox.start();
      // Automine puts the transaction in a block at once; the second confirmation needs one more block.
      const deadline = Date.now() + 10_000;
      while (!(await client.market.slotSettled(slot))) {
        assert.ok(Date.now() < deadline, 'settled on chain');
        await new Promise((r) => setTimeout(r, 20));
      }
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(store.get(slot)!.status, 'sent', 'one confirmation is not enough');
      await f.provider.send('evm_mine', []);
      await outbox.whenIdle();
      assert.equal(store.get(slot)!.status, 'confirmed');
      await outbox.stop();
      store.close();
    } finally {
      client.close();
    }
  });

  it('returns undefined without CHAIN_RPC_URL and names the missing or bad variable otherwise', () => {
    assert.equal(chainConfigFromEnv({}), undefined);
    assert.throws(() => chainConfigFromEnv({ CHAIN_RPC_URL: 'http://127.0.0.1:1' }), /CHAIN_ID/);
    assert.throws(() => chainConfigFromEnv({ CHAIN_RPC_URL: 'http://x', CHAIN_ID: '5', CHAIN_CONFIRMATIONS: '0' }), /CHAIN_CONFIRMATIONS/);
    assert.throws(() => chainConfigFromEnv({ CHAIN_RPC_URL: 'http://x', CHAIN_ID: '5' }), /CHAIN_KEYSTORE_PASSWORD/);
  });

  it('refuses a keystore with the wrong password', async () => {
    const path = join(f.dir, 'other-keystore.json');
    createOperatorKeystore(path, 'right');
    writeFileSync(join(f.dir, 'addresses.json'), JSON.stringify({ addresses: f.chain.addresses }));
    const config = chainConfigFromEnv({
      CHAIN_RPC_URL: f.chain.rpcUrl,
      CHAIN_ID: String(f.chain.chainId),
      CHAIN_KEYSTORE: path,
      CHAIN_KEYSTORE_PASSWORD: 'wrong',
      CHAIN_ADDRESSES: join(f.dir, 'addresses.json'),
    })!;
    await assert.rejects(connectChain(config), /incorrect password/i);
  });
});
