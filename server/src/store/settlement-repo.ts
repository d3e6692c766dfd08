// Store port for delivery settlement results (per participant per slot), reward accruals and reward epochs; amounts are decimal strings.
import type { Address, ParticipantSettlementRow } from '@gridmesh/contracts-abi';

/** One participant's delivery settlement in one slot (the API shape of ParticipantSlotSettlement; a wire type). */
export type ParticipantSettlementRecord = ParticipantSettlementRow;

/** A slot's settlement as computed: the netted batch handed to the chain outbox and the per-trade split. */
export interface SlotSettlementRecord {
  market: string;
  slot: number;
  computedAt: number;
  /** settleSlot batch: accounts ascending (lower case), deltas as signed decimal strings. */
  accounts: Address[];
  deltas: string[];
  /**
   * Every home with a grid meter, traded or not, metered over the slot: what the neighbourhood imported and exported
   * in total (absent on rows stored before this was recorded).
   */
  community?: CommunityMetering;
  /** Per-trade delivered/undelivered Wh and transfers (JSON-safe: amounts as strings). */
  trades: {
    seq: number; buyer: Address; seller: Address; price: string; quantityWh: number; deliveredWh: number; undeliveredWh: number;
    payment: string; imbalance: string; gridFee: string;
  }[];
}

export interface CommunityMetering {
  /** Homes with a grid meter, and how many of them could be metered over the slot (readings at both boundaries). */
  homes: number;
  meteredHomes: number;
  /** Σ of metered homes' import and export over the slot (Wh). */
  importWh: number;
  exportWh: number;
}

export interface RewardAccrualRecord {
  market: string;
  slot: number;
  account: Address;
  kind: 'delivery' | 'uptime';
  /** The bridge an uptime reward is for; null for delivery. */
  meter: Address | null;
  basis: number;
  /** Reward token base units (18 decimals), decimal string. */
  amount: string;
}

/** A reward epoch as fixed for the chain: its cumulative entitlements (the Merkle leaves) are kept to serve claim proofs. */
export interface RewardEpochRecord {
  /** EnergyMarket epoch number: 1, 2, 3… */
  epoch: number;
  /** Covers reward accruals of slots < toSlot (ms). */
  toSlot: number;
  /** StandardMerkleTree root over ["address account","uint256 cumulativeAmount"]. */
  root: string;
  /** Ascending by account (lower case); cumulative base units as decimal strings. */
  entitlements: { account: Address; cumulative: string }[];
  createdAt: number;
}

export interface SettlementRange {
  /** Slot range: from ≤ slot < to. */
  from?: number;
  to?: number;
  limit?: number;
}

export interface SettlementRepo {
  /**
   * Stores a slot's settlement, its participant rows and its reward accruals atomically, once per (market, slot):
   * a second save of the same slot changes nothing and returns created = false (settlement is never done twice).
   */
  save(slot: SlotSettlementRecord, participants: ParticipantSettlementRecord[], rewards: RewardAccrualRecord[]): Promise<{ created: boolean }>;
  get(market: string, slot: number): Promise<SlotSettlementRecord | null>;
  /** The participant rows of one slot, by participant ascending. */
  participantsOf(market: string, slot: number): Promise<ParticipantSettlementRecord[]>;
  /** One participant's rows, newest slot first. */
  forParticipant(participant: Address, range?: SettlementRange & { market?: string }): Promise<ParticipantSettlementRecord[]>;
  /** Reward accruals of one account, newest slot first. */
  rewards(account: Address, range?: SettlementRange): Promise<RewardAccrualRecord[]>;
  /** Cumulative reward totals per account over slots < `toSlot` (all when omitted), ascending by account: epoch leaves. */
  rewardTotals(toSlot?: number): Promise<{ account: Address; cumulative: string }[]>;
  /** Stores an epoch once: false (nothing changes) when that epoch number exists. */
  saveRewardEpoch(epoch: RewardEpochRecord): Promise<{ created: boolean }>;
  rewardEpoch(epoch: number): Promise<RewardEpochRecord | null>;
  /** Newest epoch first; `withEntitlements: false` leaves the leaves out (an empty array) for listings. */
  rewardEpochs(options?: { limit?: number; withEntitlements?: boolean }): Promise<RewardEpochRecord[]>;
}
