// Plugs a chain into the server: chain escrow, slot settler with reward epochs, and the operator and reward views, over one outbox.
import type { Address, EnergyMarket, Hex } from '@gridmesh/contracts-abi';
import type { SettlementOutbox, SettlementOutboxStore } from './chain/index.ts';
import type { RewardEpochView, RewardSources } from './http/reward-routes.ts';
import type { OperatorSources } from './http/ops-routes.ts';
import { ChainEscrow } from './orders/escrow.ts';
import { RewardEpochs, type RewardPolicy } from './settlement/index.ts';
import { ChainSettler, DEFAULT_REWARDS } from './slots/chain-settler.ts';
import type { ServerOptions } from './server.ts';
import type { Store } from './store/index.ts';

export interface ChainSettlementParts {
  /** EnergyMarket connected to the operator (views and the outbox's sends). */
  market: EnergyMarket;
  outbox: SettlementOutbox;
  outboxStore: SettlementOutboxStore;
  /** Length of a reward epoch (ServerConfig.rewardEpochMs). */
  rewardEpochMs: number;
  rewards?: RewardPolicy;
  log?: { error(msg: string, fields?: Record<string, unknown>): void };
}

/** The startServer options that make settlement and rewards go on chain (spread them into the options). */
export type ChainServerOptions = Required<Pick<ServerOptions, 'escrow' | 'settler' | 'operator' | 'rewards'>>;

/** Status of an epoch's root as the operator and participants see it. */
function rootStatus(outboxStore: SettlementOutboxStore, epoch: number): Pick<RewardEpochView, 'status' | 'txHash' | 'gasUsed'> {
  const row = outboxStore.getRewardRoot(epoch);
  if (!row) return { status: 'unsent', txHash: null, gasUsed: null };
  const superseded = row.status === 'confirmed' && row.alreadySettled && row.txHash === null;
  return { status: superseded ? 'superseded' : row.status, txHash: row.txHash as Hex | null, gasUsed: row.gasUsed?.toString() ?? null };
}

export function chainServerOptions(parts: ChainSettlementParts): ChainServerOptions {
  const { market, outbox, outboxStore } = parts;
  const escrow = new ChainEscrow(market);
  let store: Store | null = null;
  let epochs: RewardEpochs | null = null;

  const views = async (limit: number, account?: Address): Promise<RewardEpochView[]> => {
    if (!store) return [];
    return (await store.settlements.rewardEpochs({ limit })).map((e): RewardEpochView => ({
      epoch: e.epoch, toSlot: e.toSlot, root: e.root as Hex, createdAt: e.createdAt, accounts: e.entitlements.length,
      total: e.entitlements.reduce((a, x) => a + BigInt(x.cumulative), 0n).toString(),
      ...rootStatus(outboxStore, e.epoch),
      ...(account ? { cumulative: e.entitlements.find((x) => x.account === account.toLowerCase())?.cumulative ?? '0' } : {}),
    }));
  };

  const rewards: RewardSources = {
    epochs: views,
    async current(account) {
      const [chainEpoch, chainRoot, claimed] = await Promise.all([market.rewardEpoch(), market.rewardRoot(), market.rewardsClaimed(account)]);
      const epoch = Number(chainEpoch);
      const stored = epoch > 0 && store ? await store.settlements.rewardEpoch(epoch) : null;
      // Proofs are served only for the root the chain holds, else a claim would revert.
      const claim = stored && stored.root === chainRoot && epochs ? await epochs.claimOf(epoch, account) : null;
      return { epoch: epoch > 0 ? epoch : null, claim, claimed };
    },
  };

  const operator: OperatorSources = {
    outboxDepth: async () => outboxStore.listUnconfirmed().length + outboxStore.listUnconfirmedRewardRoots().length,
    batches: async () => outboxStore.listRecent(50).map((e) => ({
      slot: e.slotId, status: e.status, attempts: e.attempts, txHash: e.txHash, gasUsed: e.gasUsed?.toString() ?? null,
      gasPerTrade: e.gasUsed !== null && e.tradesCount > 0 ? (e.gasUsed / BigInt(e.tradesCount)).toString() : null,
      trades: e.tradesCount, createdAt: e.createdAt, confirmedAt: e.status === 'confirmed' ? e.updatedAt : null, error: e.lastError,
    })),
    rewardEpochs: async () => (await views(20)).map((v) => ({
      ...v, attempts: outboxStore.getRewardRoot(v.epoch)?.attempts ?? 0, error: outboxStore.getRewardRoot(v.epoch)?.lastError ?? null,
    })),
  };

  return {
    escrow,
    operator,
    rewards,
    settler: (ctx) => {
      store = ctx.store;
      const fixed = new RewardEpochs(ctx.store, { epochMs: parts.rewardEpochMs, sink: outbox, chainEpoch: async () => Number(await market.rewardEpoch()) });
      epochs = fixed;
      void fixed.resume().catch((err: unknown) => parts.log?.error('reward epoch resume failed', { err: String(err) }));
      return new ChainSettler({
        store: ctx.store, outbox, outboxStore, now: Date.now, onSettled: ctx.settled, rewards: parts.rewards ?? DEFAULT_REWARDS,
        escrowOf: async (p) => (await escrow.read(p)).balance,
        afterSettle: (m, slot) => fixed.onSettledThrough(ctx.settledThrough({ market: m, slot }), Date.now()),
      });
    },
  };
}
