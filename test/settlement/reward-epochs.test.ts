// Reward epochs at the store edge: fixed once per boundary from stored accruals, only when something new was earned,
// numbered above the chain's epoch, re-queued after a restart, and claim proofs that verify against the stored root.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { REWARD_LEAF_ENCODING, type Address } from '@gridmesh/contracts-abi';
import { openSqliteStore } from '../../server/src/store/sqlite.ts';
import type { Store } from '../../server/src/store/index.ts';
import { RewardEpochs } from '../../server/src/settlement/index.ts';

const A = ('0x' + 'a1'.repeat(20)) as Address;
const B = ('0x' + 'b2'.repeat(20)) as Address;
const HOUR = 3_600_000;
const T = 1_800_000_000_000 - (1_800_000_000_000 % HOUR);

describe('reward epochs (SQLite store)', () => {
  let dir: string;
  let store: Store;
  let sent: { epoch: number; root: string; toSlot: number }[];
  const sink = { enqueueRewardRoot: (p: { epoch: number; root: string; toSlot: number }) => { sent.push(p); return true; } };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'gridmesh-epochs-'));
    store = openSqliteStore(join(dir, 'store.db'));
    sent = [];
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A settled 15-minute slot with the given reward accruals. */
  async function settleSlot(slot: number, rewards: [Address, bigint][]): Promise<void> {
    await store.settlements.save(
      { market: 'm', slot, computedAt: slot, accounts: [], deltas: [], trades: [] }, [],
      rewards.map(([account, amount]) => ({ market: 'm', slot, account, kind: 'uptime' as const, meter: account, basis: 1, amount: amount.toString() })),
    );
  }

  it('fixes one epoch per boundary from everything settled before it, and only when something new was earned', async () => {
    const epochs = new RewardEpochs(store, { epochMs: HOUR, sink });
    await settleSlot(T, [[A, 5n], [B, 1n]]);
    await settleSlot(T + HOUR - 900_000, [[A, 2n]]);
    assert.equal(await epochs.onSettledThrough(T + HOUR - 1, T + HOUR), null, 'the boundary is not reached');
    const first = await epochs.onSettledThrough(T + HOUR + 900_000, T + HOUR + 900_000);
    assert.ok(first);
    assert.equal(first.epoch, 1);
    assert.equal(first.toSlot, T + HOUR);
    assert.deepEqual(first.entitlements, [{ account: A, cumulative: '7' }, { account: B, cumulative: '1' }]);
    assert.deepEqual(sent, [{ epoch: 1, root: first.root, toSlot: T + HOUR }]);
    assert.equal(await epochs.onSettledThrough(T + HOUR + 1_800_000, T + HOUR), null, 'the same boundary again: nothing');

    // A slot after the boundary does not change epoch 1; an hour without new rewards sends nothing.
    await settleSlot(T + HOUR, [[B, 4n]]);
    assert.deepEqual((await store.settlements.rewardEpoch(1))?.entitlements, first.entitlements);
    const second = await epochs.onSettledThrough(T + 2 * HOUR, T + 2 * HOUR);
    assert.deepEqual(second?.entitlements, [{ account: A, cumulative: '7' }, { account: B, cumulative: '5' }]);
    assert.equal(second?.epoch, 2);
    assert.equal(await epochs.onSettledThrough(T + 3 * HOUR, T + 3 * HOUR), null, 'no new rewards: no transaction');
    assert.deepEqual(sent.map((s) => s.epoch), [1, 2]);

    // The served claim verifies against the stored root with the contract's leaf encoding.
    const claim = await epochs.claimOf(2, B);
    assert.ok(claim);
    assert.equal(claim.cumulative, '5');
    assert.equal(StandardMerkleTree.verify(second!.root, [...REWARD_LEAF_ENCODING], [B, '5'], claim.proof), true);
    assert.equal(await epochs.claimOf(2, ('0x' + 'c3'.repeat(20)) as Address), null, 'no leaf, no claim');
    assert.equal((await new RewardEpochs(store, { epochMs: HOUR, sink }).claimOf(1, A))?.cumulative, '7', 'proofs of older epochs from the store');
  });

  it('numbers epochs above the chain\'s current epoch and re-queues the newest stored epoch after a restart', async () => {
    await settleSlot(T, [[A, 3n]]);
    const epochs = new RewardEpochs(store, { epochMs: HOUR, sink, chainEpoch: async () => 41 });
    const fixed = await epochs.onSettledThrough(T + HOUR, T + HOUR);
    assert.equal(fixed?.epoch, 42);
    sent = [];
    await new RewardEpochs(store, { epochMs: HOUR, sink }).resume();
    assert.deepEqual(sent, [{ epoch: 42, root: fixed!.root, toSlot: T + HOUR }]);
  });
});
