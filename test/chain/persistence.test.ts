// The embedded chain keeps its state across a stop/start (block journal replayed onto the same genesis).
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet, hexlify, randomBytes } from 'ethers';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { REWARD_LEAF_ENCODING, energyMarketAt, gridTokenAt, packNetting, rewardTokenAt } from '@gridmesh/contracts-abi';
import { startEmbeddedChain, type EmbeddedChain } from '../../server/src/chain/local-chain.ts';
import { fundAndDeposit } from '../../server/src/chain/demo-funding.ts';
import { chainProvider } from '../../server/src/chain/rpc.ts';

describe('chain: embedded chain survives a restart', function () {
  this.timeout(120_000);
  const dir = mkdtempSync(join(tmpdir(), 'gridmesh-persist-'));
  let chain: EmbeddedChain | undefined;
  after(async () => {
    await chain?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  async function snapshot(c: EmbeddedChain, accounts: string[], slots: number[]) {
    const provider = chainProvider(c.rpcUrl, c.chainId);
    const market = energyMarketAt(c.addresses.energyMarket, provider);
    const reward = rewardTokenAt(c.addresses.rewardToken, provider);
    const state = {
      escrow: await Promise.all(accounts.map((a) => market.escrowOf(a))),
      rewards: await Promise.all(accounts.map((a) => reward.balanceOf(a))),
      settled: await Promise.all(slots.map((s) => market.slotSettled(s))),
      rewardEpoch: await market.rewardEpoch(),
      block: await provider.getBlockNumber(),
      head: (await provider.getBlock('latest'))!.hash,
    };
    provider.destroy();
    return state;
  }

  it('keeps addresses, escrow balances, settled slots and claimed rewards; keeps working afterwards', async () => {
    chain = await startEmbeddedChain({ dataDir: dir, keystorePassword: 'pw' });
    assert.equal(chain.replayedBlocks, 0);
    const chainJson = JSON.parse(readFileSync(join(dir, 'chain.json'), 'utf8'));
    assert.deepEqual(chainJson.addresses, chain.addresses);
    assert.equal(chainJson.persistence, 'block-journal-replay');

    const users = Array.from({ length: 4 }, () => new Wallet(Wallet.createRandom().privateKey));
    let provider = chainProvider(chain.rpcUrl, chain.chainId);
    let operator = chain.operator.connect(provider);
    await fundAndDeposit(
      operator,
      chain.addresses,
      users.map((u, i) => ({ address: u.address, deposit: BigInt(i + 1) * 1_000_000n, gasWei: 10n ** 17n, ...(i === 0 ? { walletTokens: 250_000n } : {}) })),
    );
    // Wallet tokens land in the wallet itself (the participant may deposit them later), not in escrow.
    assert.deepEqual(await Promise.all(users.map((u) => gridTokenAt(chain!.addresses.gridToken, provider).balanceOf(u.address))), [250_000n, 0n, 0n, 0n]);
    const market = energyMarketAt(chain.addresses.energyMarket, operator);
    const slots = [1_800_000_000_000, 1_800_000_060_000];
    const n1 = packNetting([
      { account: users[3].address, delta: -700_000n },
      { account: users[0].address, delta: 700_000n },
    ]);
    await (await market.settleSlot(slots[0], hexlify(randomBytes(32)), 1, n1.accounts, n1.deltas)).wait();
    const tree = StandardMerkleTree.of([[users[1].address, '5000'], [users[2].address, '9']], [...REWARD_LEAF_ENCODING]);
    await (await market.publishRewardRoot(20_000, tree.root)).wait();
    await (await energyMarketAt(chain.addresses.energyMarket, users[1].connect(provider)).claim(5000n, tree.getProof(0))).wait();
    const accounts = users.map((u) => u.address);
    const before = await snapshot(chain, accounts, slots);
    assert.deepEqual(before.escrow, [1_700_000n, 2_000_000n, 3_000_000n, 3_300_000n]);
    assert.deepEqual(before.rewards, [0n, 5000n, 0n, 0n]);
    provider.destroy();
    await chain.stop();

    chain = await startEmbeddedChain({ dataDir: dir, keystorePassword: 'pw' });
    assert.equal(chain.replayedBlocks, before.block);
    assert.deepEqual(chain.addresses, chainJson.addresses);
    const after = await snapshot(chain, accounts, slots);
    assert.deepEqual(after, before, 'identical state and head block hash');

    // The restarted chain accepts new transactions from the same operator and users, and persists them too.
    provider = chainProvider(chain.rpcUrl, chain.chainId);
    operator = chain.operator.connect(provider);
    const n2 = packNetting([
      { account: users[2].address, delta: -1n },
      { account: users[1].address, delta: 1n },
    ]);
    await (await energyMarketAt(chain.addresses.energyMarket, operator).settleSlot(slots[1], hexlify(randomBytes(32)), 1, n2.accounts, n2.deltas)).wait();
    await expectFailure(energyMarketAt(chain.addresses.energyMarket, users[1].connect(provider)).claim(5000n, tree.getProof(0)));
    provider.destroy();
    await chain.stop();

    // A torn last journal line (crash mid-append) is dropped; everything before it replays.
    appendFileSync(join(dir, 'chain-blocks.ndjson'), '{"number":99,"timest');
    chain = await startEmbeddedChain({ dataDir: dir, keystorePassword: 'pw' });
    const third = await snapshot(chain, accounts, slots);
    assert.deepEqual(third.escrow, [1_700_000n, 2_000_001n, 2_999_999n, 3_300_000n]);
    assert.deepEqual(third.settled, [true, true]);
    assert.ok(existsSync(join(dir, 'operator-keystore.json')));
    assert.doesNotMatch(readFileSync(join(dir, 'operator-keystore.json'), 'utf8'), new RegExp(chain.operator.privateKey.slice(2)));
  });
});

async function expectFailure(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, /NothingToClaim|execution reverted|CALL_EXCEPTION/);
}
