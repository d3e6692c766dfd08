// Delivery settlement at the I/O edge: loads a slot's trades, meters and readings, runs the pure settlement, stores it once.
import type { Address, NettedDelta } from '@gridmesh/contracts-abi';
import type { CommunityMetering, ParticipantSettlementRecord, RewardAccrualRecord, SlotSettlementRecord, Store, TradeRecord } from '../store/index.ts';
import { settleDeliverySlot, type ParticipantSlotSettlement, type SlotSettlement } from './delivery.ts';
import { meterParticipantSlot, type SlotMetering } from './metering.ts';
import { accrueSlotRewards, cumulativeEntitlements, rewardEpochTree, type BridgeUptime, type RewardEpochTree, type RewardPolicy } from './rewards.ts';

/** The market facts settlement needs (a subset of the server's MarketSettings). */
export interface SettlementMarket {
  id: string;
  slotMs: number;
  /** Late readings still count up to this long after the slot end; also how far a boundary reading may lie from it. */
  graceMs: number;
  retailPrice: bigint;
  gridFee: bigint;
}

export interface SettlementServiceOptions {
  rewards: RewardPolicy;
  /** Receives grid fees (required when a market has gridFee > 0). */
  gridFeeAccount?: string;
  /** Escrow balances before the slot, to cap a short seller's imbalance at what it can pay (see delivery.ts). */
  escrowOf?: (participant: Address) => Promise<bigint | null> | bigint | null;
}

export interface SlotSettlementOutcome {
  /** False when the slot had been settled before: the stored result is returned unchanged. */
  created: boolean;
  slot: SlotSettlementRecord;
  participants: ParticipantSettlementRecord[];
  /** For buildSettlementBatch(slot, trades, nettedDeltas) → outbox.enqueue. Empty when every delta is zero. */
  nettedDeltas: NettedDelta[];
}

const str = (v: bigint) => v.toString();

export function toParticipantRecord(market: string, p: ParticipantSlotSettlement): ParticipantSettlementRecord {
  return {
    market, slot: p.slot, participant: p.participant as Address, metered: p.metered, meteringFlags: p.meteringFlags,
    meteredImportWh: p.meteredImportWh, meteredExportWh: p.meteredExportWh, boughtWh: p.boughtWh, soldWh: p.soldWh,
    deliveredWh: p.deliveredWh, undeliveredWh: p.undeliveredWh, boughtDeliveredWh: p.boughtDeliveredWh,
    paid: str(p.paid), received: str(p.received), imbalancePaid: str(p.imbalancePaid), imbalanceReceived: str(p.imbalanceReceived),
    imbalanceUnpaid: str(p.imbalanceUnpaid), gridFeePaid: str(p.gridFeePaid), gridFeeReceived: str(p.gridFeeReceived), netDelta: str(p.netDelta),
  };
}

export function toSlotRecord(market: string, s: SlotSettlement, computedAt: number, community?: CommunityMetering): SlotSettlementRecord {
  return {
    market, slot: s.slot, computedAt, accounts: s.batch.accounts as Address[], deltas: s.batch.deltas.map(str), ...(community ? { community } : {}),
    trades: s.trades.map((t) => ({
      seq: t.seq, buyer: t.buyer as Address, seller: t.seller as Address, price: str(t.price), quantityWh: t.quantityWh, deliveredWh: t.deliveredWh,
      undeliveredWh: t.undeliveredWh, payment: str(t.payment), imbalance: str(t.imbalance), gridFee: str(t.gridFee),
    })),
  };
}

const netted = (slot: SlotSettlementRecord): NettedDelta[] =>
  slot.accounts.map((account, i) => ({ account, delta: BigInt(slot.deltas[i]) })).filter((d) => d.delta !== 0n);

export class SettlementService {
  constructor(private readonly store: Store, private readonly options: SettlementServiceOptions) {}

  /**
   * Settles one slot of `market` from its trades and the stored readings; idempotent per (market, slot): a second call
   * (e.g. after a crash between this and the outbox) returns the stored result, so the chain batch is always the same.
   * Call it once the slot's grace period has passed (slot + slotMs + graceMs ≤ now).
   */
  async settleSlot(market: SettlementMarket, slot: number, trades: readonly TradeRecord[], now: number): Promise<SlotSettlementOutcome> {
    const stored = await this.store.settlements.get(market.id, slot);
    if (stored) return { created: false, slot: stored, participants: await this.store.settlements.participantsOf(market.id, slot), nettedDeltas: netted(stored) };

    const end = slot + market.slotMs;
    const gap = market.graceMs;
    const meters = await this.store.meters.list();
    const gridMeters = new Map<string, Address[]>();
    for (const m of meters) {
      if (m.role !== 'grid') continue;
      const owner = m.owner.toLowerCase();
      gridMeters.set(owner, [...(gridMeters.get(owner) ?? []), m.meter]);
    }
    const participants = new Set<string>();
    for (const t of trades) { participants.add(t.buyer.toLowerCase()); participants.add(t.seller.toLowerCase()); }

    const meterHome = async (owner: string): Promise<SlotMetering> => {
      const readings = await Promise.all((gridMeters.get(owner) ?? []).map((m) => this.store.readings.range(m, { from: slot - gap, to: end + gap + 1, limit: 1_000_000 })));
      return meterParticipantSlot(readings, slot, end, { maxBoundaryGapMs: gap });
    };
    const metering = new Map<string, SlotMetering>();
    const escrow = this.options.escrowOf ? new Map<string, bigint>() : undefined;
    for (const p of participants) {
      metering.set(p, await meterHome(p));
      if (escrow && this.options.escrowOf) escrow.set(p, (await this.options.escrowOf(p as Address)) ?? 0n);
    }
    // The whole neighbourhood, traded or not: what it imported and exported (the operator's unmet demand and grid import).
    const community: CommunityMetering = { homes: gridMeters.size, meteredHomes: 0, importWh: 0, exportWh: 0 };
    for (const owner of gridMeters.keys()) {
      const m = metering.get(owner) ?? (await meterHome(owner));
      if (!m.metered) continue;
      community.meteredHomes++;
      community.importWh += m.importWh;
      community.exportWh += m.exportWh;
    }

    const result = settleDeliverySlot({
      slot, metering, retailPrice: market.retailPrice, gridFee: market.gridFee,
      ...(this.options.gridFeeAccount ? { gridFeeAccount: this.options.gridFeeAccount } : {}),
      ...(escrow ? { escrow } : {}),
      trades: trades.map((t) => ({ seq: t.seq, buyer: t.buyer, seller: t.seller, price: BigInt(t.price), quantityWh: t.quantityWh })),
    });

    // Uptime: every bound meter's valid (verified and stored) readings timestamped inside the slot.
    const bridges: BridgeUptime[] = [];
    for (const m of meters) {
      const n = (await this.store.readings.range(m.meter, { from: slot, to: end, limit: 1_000_000 })).length;
      bridges.push({ meter: m.meter, owner: m.owner, validReadings: n });
    }
    const accruals = accrueSlotRewards(slot, market.slotMs, result.participants, bridges, this.options.rewards);

    const slotRecord = toSlotRecord(market.id, result, now, community);
    const rows = result.participants.map((p) => toParticipantRecord(market.id, p));
    const rewards: RewardAccrualRecord[] = accruals.map((a) => ({
      market: market.id, slot: a.slot, account: a.account as Address, kind: a.kind, meter: a.meter as Address | null, basis: a.basis, amount: str(a.amount),
    }));
    const { created } = await this.store.settlements.save(slotRecord, rows, rewards);
    if (!created) return this.settleSlot(market, slot, trades, now);
    return { created, slot: slotRecord, participants: rows, nettedDeltas: netted(slotRecord) };
  }

  /**
   * The reward epoch ending before `toSlot`: cumulative entitlements of everyone since the start, as a Merkle tree
   * (root → EnergyMarket.publishRewardRoot(epoch, root); proof(account) → claim(cumulative, proof)). Null if nobody earned yet.
   */
  async rewardEpoch(toSlot?: number): Promise<RewardEpochTree | null> {
    const totals = await this.store.settlements.rewardTotals(toSlot);
    const entitlements = cumulativeEntitlements(totals.map((t) => ({ account: t.account, amount: BigInt(t.cumulative) })));
    return entitlements.length ? rewardEpochTree(entitlements) : null;
  }
}
