// TypeScript shapes of the wire messages; each mirrors the JSON Schema of the same name in schemas/messages.ts.
import type { MeterRole } from './eip712.ts';

export type Address = `0x${string}`;
export type Hex = `0x${string}`;

export interface PhaseTelemetry {
  voltageV?: number;
  currentA?: number;
  powerW?: number;
}

/** The fields covered by the EIP-712 `MeterReading` signature. Energy in Wh, power in W (+ import, − export). */
export interface MeterReading {
  meter: Address;
  seq: number;
  timestamp: number;
  importWh: number;
  exportWh: number;
  powerW: number;
  flags: number;
}

export interface SignedMeterReading extends MeterReading {
  signature: Hex;
  phases?: PhaseTelemetry[];
}

export interface ReadingBatch {
  readings: SignedMeterReading[];
}

/** Result of a `readings` ack: how many were new, how many were already stored (idempotent resend). */
export interface ReadingBatchResult {
  accepted: number;
  duplicates: number;
  lastSeq: number;
}

export interface BridgeHello {
  meter: Address;
  challenge: Hex;
  signature: Hex;
  agent?: string;
  outboxDepth?: number;
}

export interface BridgeStatus {
  meter: Address;
  outboxDepth?: number;
  droppedReadings?: number;
  badTelegrams?: number;
  sourceState?: 'ok' | 'degraded' | 'offline';
  message?: string;
}

export interface Dispatch {
  meter: Address;
  slot: number;
  slotEnd: number;
  on: boolean;
  reason?: string;
}

export interface ParticipantRegistration {
  address: Address;
  name: string;
  signature: Hex;
}

export interface MeterRegistration {
  meter: Address;
  owner: Address;
  role: MeterRole;
  capacityW: number;
  nonce: number;
  label?: string;
  signature: Hex;
}

export type OrderSide = 'bid' | 'ask';
export type TimeInForce = 'gtc' | 'ioc';

/** An order as it travels: price is a decimal string of token base units per kWh. */
export interface OrderSubmission {
  participant: Address;
  market: string;
  slot: number;
  side: OrderSide;
  price: string;
  quantityWh: number;
  timeInForce: TimeInForce;
  nonce: number;
  expiry: number;
  signature: Hex;
}

export interface OrderCancel {
  orderId: string;
}

/** Amend an open order: omitted price/quantity keep their values; the signature covers the amended order. */
export interface OrderAmend {
  orderId?: string;
  price?: string;
  quantityWh?: number;
  nonce: number;
  expiry: number;
  signature: Hex;
}

export interface SignIn {
  message: string;
  signature: Hex;
}

export interface RoomResync {
  room: string;
}

export interface MarketSubscribe {
  market: string;
  slot?: number;
}

export interface LivePower {
  meter: Address;
  owner: Address;
  name: string;
  role: string;
  powerW: number;
  importWh: number;
  exportWh: number;
  timestamp: number;
  seq: number;
  verified: boolean;
}

export interface BookLevel {
  price: string;
  quantityWh: number;
  orders: number;
}

export interface BookSnapshot {
  market: string;
  slot: number;
  seq: number;
  bids: BookLevel[];
  asks: BookLevel[];
  indicative?: { price: string | null; volumeWh: number };
}

export interface TradeMessage {
  id: string;
  market: string;
  slot: number;
  seq: number;
  buyOrder: string;
  sellOrder: string;
  buyer: Address;
  seller: Address;
  price: string;
  quantityWh: number;
  time: number;
}

/** REST body authorising a delegated session key (EIP-712 `Delegation` signed by the participant). */
export interface DelegationGrant {
  participant: Address;
  delegate: Address;
  /** Unix ms. */
  expiry: number;
  signature: Hex;
}

/** The signed-in participant authorises the session key the server gave it (EIP-712 `Delegation`). */
export interface SessionKeyAuthorisation {
  sessionKey: Address;
  expiry: number;
  signature: Hex;
}

/** A standing trade rule for one meter; prices are decimal strings (token base units per kWh), null = side off. */
export interface TradeRule {
  meter: Address;
  market?: string;
  enabled: boolean;
  minSellPrice?: string | null;
  maxBuyPrice?: string | null;
}

export interface TradeRulesUpdate {
  rules: TradeRule[];
}

/** REST: one reward epoch and where its root is (queued, sent, on chain, refused, or replaced by a later epoch first). */
export interface RewardEpochView {
  epoch: number;
  /** Covers the rewards of every slot before this time (ms). */
  toSlot: number;
  root: Hex;
  createdAt: number;
  /** Accounts with an entitlement, and the sum of their cumulative entitlements (reward token base units). */
  accounts: number;
  total: string;
  status: 'unsent' | 'pending' | 'sent' | 'confirmed' | 'failed' | 'superseded';
  txHash: Hex | null;
  gasUsed: string | null;
  /** The asking participant's cumulative entitlement in this epoch (participant view only). */
  cumulative?: string;
}

/** Arguments of EnergyMarket.claim(cumulative, proof) against one epoch's root. */
export interface RewardClaim {
  epoch: number;
  toSlot: number;
  root: Hex;
  cumulative: string;
  proof: Hex[];
}

/** REST `GET /api/participants/:address/rewards`; reward token base units (18 decimals) as decimal strings. */
export interface ParticipantRewards {
  accrued: string;
  /** My cumulative entitlement in the root on chain, what the chain paid me so far, and what a claim pays now. */
  published: string;
  claimed: string;
  claimable: string;
  chainEpoch: number | null;
  /** Null when nothing is claimable. */
  claim: RewardClaim | null;
  /** The last 20 epochs, oldest first. */
  epochs: RewardEpochView[];
  bySlot: { slot: number; delivery: string; uptime: string }[];
}

/** One participant's delivery settlement in one slot (stored by the server, served by REST); amounts are decimal strings of token base units. */
export interface ParticipantSettlementRow {
  market: string;
  slot: number;
  participant: Address;
  /** False when the meter had no readings around the slot boundaries. */
  metered: boolean;
  meteringFlags: string[];
  meteredImportWh: number;
  meteredExportWh: number;
  boughtWh: number;
  soldWh: number;
  deliveredWh: number;
  undeliveredWh: number;
  boughtDeliveredWh: number;
  paid: string;
  received: string;
  imbalancePaid: string;
  imbalanceReceived: string;
  imbalanceUnpaid: string;
  gridFeePaid: string;
  gridFeeReceived: string;
  /** The participant's escrow change for the slot (+ credit, − debit). */
  netDelta: string;
}

/** REST `GET /api/participants/:address/settlements`: a row with its slot's chain status. */
export interface ParticipantSettlementView extends ParticipantSettlementRow {
  net: string;
  status: 'computed' | 'pending' | 'sent' | 'confirmed' | 'failed';
  txHash: string | null;
  tradesRoot: string | null;
}
