// REST route of a participant's rewards: accrual per slot, the epochs fixed for the chain, and the proof to claim on chain.
import { Router } from 'express';
import type { Address, ParticipantRewards, RewardClaim, RewardEpochView } from '@gridmesh/contracts-abi';
import type { Store } from '../store/index.ts';
import { requireSelf } from '../auth/http-session.ts';

/** Present when the server settles on a chain. */
export interface RewardSources {
  /** Newest epochs first. */
  epochs(limit: number, account?: Address): Promise<RewardEpochView[]>;
  /** The epoch whose root the chain holds, the account's claim against it (null: nothing in that root) and what it claimed. */
  current(account: Address): Promise<{ epoch: number | null; claim: RewardClaim | null; claimed: bigint }>;
}

export interface RewardRouteDeps {
  store: Store;
  rewards?: RewardSources;
}

export function rewardRoutes(deps: RewardRouteDeps): Router {
  const r = Router();
  r.get('/participants/:address/rewards', async (req, res) => {
    const me = requireSelf(req, res);
    const accruals = await deps.store.settlements.rewards(me, { limit: 10_000 });
    const bySlot = new Map<number, { slot: number; delivery: bigint; uptime: bigint }>();
    let accrued = 0n;
    for (const a of accruals) {
      const e = bySlot.get(a.slot) ?? { slot: a.slot, delivery: 0n, uptime: 0n };
      e[a.kind] += BigInt(a.amount);
      accrued += BigInt(a.amount);
      bySlot.set(a.slot, e);
    }
    const current = deps.rewards ? await deps.rewards.current(me) : { epoch: null, claim: null, claimed: 0n };
    const published = current.claim ? BigInt(current.claim.cumulative) : 0n;
    const claimable = published > current.claimed ? published - current.claimed : 0n;
    const epochs = deps.rewards ? (await deps.rewards.epochs(20, me)).reverse() : [];
    const body: ParticipantRewards = {
      accrued: accrued.toString(),
      published: published.toString(), claimed: current.claimed.toString(), claimable: claimable.toString(),
      chainEpoch: current.epoch,
      claim: claimable > 0n ? current.claim : null,
      epochs,
      bySlot: [...bySlot.values()].map((e) => ({ slot: e.slot, delivery: e.delivery.toString(), uptime: e.uptime.toString() })),
    };
    res.json(body);
  });
  return r;
}

export type { RewardEpochView };
