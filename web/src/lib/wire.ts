// Shapes of the server's REST and /market messages the dashboard reads (server/API.md); order/trade/live types come from contracts-abi.
import type { Address, BookLevel, LivePower, ParticipantRewards, ParticipantSettlementView, RewardEpochView, TradeMessage } from '@gridmesh/contracts-abi/types.ts';

export type { Address, BookLevel, LivePower };
export type RewardEpoch = RewardEpochView;
export type Rewards = ParticipantRewards;
export type Trade = TradeMessage;

export interface MarketInfo {
  id: string;
  mechanism: 'continuous' | 'call';
  slotMs: number;
  horizonMs: number;
  gateMs: number;
  graceMs: number;
  floor: string;
  cap: string;
  tick: string;
  gridFee: string;
  k: string;
  retailPrice: string;
  feedInPrice: string;
  currentSlot: number;
}

export type SlotState = 'open' | 'gate_closed' | 'delivering' | 'metering' | 'settling' | 'settled';
export interface SlotSettlement {
  status: 'pending' | 'sent' | 'confirmed' | 'failed';
  txHash: string | null;
  tradesRoot: string;
  attempts: number;
}
export interface SlotInfo {
  market: string;
  slot: number;
  end: number;
  state: SlotState;
  stateSince: number;
  opensAt: number;
  gateAt: number;
  meteringEndsAt: number;
  tradeCount: number;
  volumeWh: number;
  vwap: string | null;
  clearingPrice: string | null;
  settlement: SlotSettlement | null;
}

export interface BookView {
  market: string;
  slot: number;
  seq: number;
  state?: SlotState;
  bids: BookLevel[];
  asks: BookLevel[];
  indicative?: { price: string | null; volumeWh: number };
}

export type OrderStatus = 'open' | 'filled' | 'cancelled' | 'expired';
export interface OrderInfo {
  id: string;
  market: string;
  slot: number;
  participant: Address;
  side: 'bid' | 'ask';
  price: string;
  quantityWh: number;
  filledWh: number;
  remainingWh: number;
  timeInForce: 'gtc' | 'ioc';
  status: OrderStatus;
  nonce: number;
  createdAt: number;
  updatedAt: number;
  source: 'manual' | 'rule';
}

export interface Flows {
  market: string;
  slot: number;
  time: number;
  homes: { participant: Address; name: string; meter: Address; powerW: number }[];
  trades: { seller: Address; buyer: Address; quantityWh: number; powerW: number; price: string }[];
  toGrid: { participant: Address; powerW: number }[];
  fromGrid: { participant: Address; powerW: number }[];
  totals: { consumptionW: number; productionW: number; localW: number; gridImportW: number; gridExportW: number; selfSufficiency: number | null; tradedW: number; tradedShare: number | null };
}

export interface PricePoint {
  slot: number;
  vwap: string | null;
  clearingPrice: string | null;
  volumeWh: number;
}

export type ParticipantSettlement = ParticipantSettlementView;

export interface Escrow {
  balance: string;
  lockedByOpenBids: string;
  owedForUnsettledTrades?: string;
  free: string;
  pendingWithdrawal: string;
  withdrawableAt: number | null;
  source: 'chain' | 'ledger';
}

export interface TradeRule {
  meter: Address;
  enabled: boolean;
  minSellPrice: string | null;
  maxBuyPrice: string | null;
}

export interface ChainInfo {
  chainId: number;
  rpcUrl: string | null;
  embedded: boolean;
  operator: Address | null;
  addresses: { gridToken: Address; energyMarket: Address; rewardToken: Address } | null;
  token: { symbol: string; decimals: number };
  withdrawalDelaySeconds: number;
}

export interface MeterSummary {
  meter: Address;
  owner: Address;
  ownerName: string | null;
  role: string;
  capacityW: number;
  label?: string;
  latest: { seq: number; timestamp: number; importWh: number; exportWh: number; powerW: number; signatureVerified: boolean; ageMs: number } | null;
  link: { online: boolean; since: number; outboxDepth: number | null; sourceState: string | null } | null;
}

export interface ReadingBucket {
  start: number;
  end: number;
  count: number;
  importWh: number;
  exportWh: number;
  avgPowerW: number;
  minPowerW: number;
  maxPowerW: number;
}

export interface OperatorView {
  markets: MarketInfo[];
  slots: SlotInfo[];
  settlement: {
    outboxDepth: number;
    batches: { slot: number; status: string; attempts: number; txHash: string | null; gasUsed: string | null; gasPerTrade: string | null; trades: number; createdAt: number; confirmedAt: number | null; error: string | null }[];
  };
  rewardEpochs: (RewardEpoch & { attempts: number; error: string | null })[];
  grid: { slot: number; unmetDemandWh: number; unmatchedSupplyWh: number; communityImportWh: number; communityExportWh: number; homes?: number; meteredHomes?: number; importWh?: number; exportWh?: number }[];
  bridges: { meter: Address; name: string; online: boolean; since: number; lastReadingAgeMs: number | null; outboxDepth: number | null }[];
}

export interface MarketSnapshot {
  room: string;
  seq: number;
  market: MarketInfo;
  slots: SlotInfo[];
  books: BookView[];
  trades: Trade[];
  flows: Flows | null;
}
