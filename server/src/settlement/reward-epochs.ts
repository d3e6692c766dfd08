// Reward epochs at the I/O edge: fixes each epoch's cumulative entitlements as a Merkle root once, hands it to the chain, serves claim proofs.
import type { Address, Hex, RewardClaim } from '@gridmesh/contracts-abi';
import type { RewardEpochRecord, Store } from '../store/index.ts';
import { cumulativeEntitlements, rewardEpochTree, type RewardEpochTree } from './rewards.ts';

/** Where a fixed root goes: the chain outbox (publishRewardRoot), which stores it before sending. */
export interface RewardRootSink {
  enqueueRewardRoot(publication: { epoch: number; root: string; toSlot: number }): boolean;
}

export interface RewardEpochsOptions {
  /** Length of an epoch (ms): its end, toSlot, is a multiple of it. */
  epochMs: number;
  sink: RewardRootSink;
  /** The chain's current epoch number, so numbering continues above it (e.g. a fresh store on an existing deployment). */
  chainEpoch?: () => Promise<number>;
}

export type { RewardClaim };

/**
 * An epoch covers every reward accrued in slots before its end. It is fixed (stored with its leaves) only when every
 * slot before that end has been settled, so a root never changes after the fact; the leaves are kept because the chain
 * holds only the root and claims need proofs. Epochs where nobody earned anything new send no transaction.
 */
export class RewardEpochs {
  private queue: Promise<unknown> = Promise.resolve();
  /** The toSlot last found to have nothing new: skips re-summing all accruals after every slot of the same epoch. */
  private unchangedTo = -1;
  private tree: { epoch: number; toSlot: number; tree: RewardEpochTree } | null = null;

  constructor(private readonly store: Store, private readonly options: RewardEpochsOptions) {
    if (!(options.epochMs > 0)) throw new RangeError('epochMs must be positive');
  }

  /**
   * Called after slot settlements: every slot before `settledThrough` (ms) has its rewards stored. Fixes and sends the
   * epoch ending at the last epoch boundary ≤ settledThrough if it is new. Serialised; returns the new epoch or null.
   */
  onSettledThrough(settledThrough: number, now: number): Promise<RewardEpochRecord | null> {
    const run = this.queue.then(() => this.fix(settledThrough, now));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** After a restart: the newest stored epoch goes to the outbox again (a no-op when it is there already). */
  async resume(): Promise<void> {
    const [last] = await this.store.settlements.rewardEpochs({ limit: 1, withEntitlements: false });
    if (last) this.options.sink.enqueueRewardRoot({ epoch: last.epoch, root: last.root, toSlot: last.toSlot });
  }

  private async fix(settledThrough: number, now: number): Promise<RewardEpochRecord | null> {
    const toSlot = Math.floor(settledThrough / this.options.epochMs) * this.options.epochMs;
    if (toSlot <= 0 || toSlot === this.unchangedTo) return null;
    const [last] = await this.store.settlements.rewardEpochs({ limit: 1, withEntitlements: false });
    if (last && last.toSlot >= toSlot) return null;
    const entitlements = cumulativeEntitlements(
      (await this.store.settlements.rewardTotals(toSlot)).map((t) => ({ account: t.account, amount: BigInt(t.cumulative) })),
    );
    if (entitlements.length === 0) {
      this.unchangedTo = toSlot;
      return null;
    }
    const tree = rewardEpochTree(entitlements);
    if (last && last.root === tree.root) {
      this.unchangedTo = toSlot;
      return null;
    }
    const chainEpoch = this.options.chainEpoch ? await this.options.chainEpoch() : 0;
    const record: RewardEpochRecord = {
      epoch: Math.max(last?.epoch ?? 0, chainEpoch) + 1,
      toSlot,
      root: tree.root,
      entitlements: entitlements.map((e) => ({ account: e.account as Address, cumulative: e.cumulative.toString() })),
      createdAt: now,
    };
    // Stored before it is queued: after a crash in between, resume() queues the very same root.
    const { created } = await this.store.settlements.saveRewardEpoch(record);
    if (!created) return null;
    this.options.sink.enqueueRewardRoot({ epoch: record.epoch, root: record.root, toSlot });
    this.tree = { epoch: record.epoch, toSlot, tree };
    return record;
  }

  /** The claim of `account` against stored epoch `epoch` (the one whose root is on chain), or null if it has no leaf there. */
  async claimOf(epoch: number, account: Address): Promise<RewardClaim | null> {
    if (this.tree?.epoch !== epoch) {
      const record = await this.store.settlements.rewardEpoch(epoch);
      if (!record || record.entitlements.length === 0) return null;
      const tree = rewardEpochTree(record.entitlements.map((e) => ({ account: e.account, cumulative: BigInt(e.cumulative) })));
      this.tree = { epoch, toSlot: record.toSlot, tree };
    }
    const { tree, toSlot } = this.tree;
    const leaf = tree.entitlements.find((e) => e.account === account.toLowerCase());
    const proof = tree.proof(account);
    if (!leaf || !proof) return null;
    return { epoch, toSlot, root: tree.root as Hex, cumulative: leaf.cumulative.toString(), proof: proof as Hex[] };
  }
}
