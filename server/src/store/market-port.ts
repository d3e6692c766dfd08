// Store port for the market: the command journal, order and trade records, used nonces and slot states.
import type { Address, Hex, OrderSide, TimeInForce } from '@gridmesh/contracts-abi';

export type OrderStatus = 'open' | 'filled' | 'cancelled' | 'expired';
export type OrderSource = 'manual' | 'rule';

/** An order as the API shows it, kept up to date from the engine's events. Prices are decimal strings. */
export interface OrderRecord {
  id: string;
  market: string;
  slot: number;
  participant: Address;
  side: OrderSide;
  price: string;
  quantityWh: number;
  filledWh: number;
  remainingWh: number;
  timeInForce: TimeInForce;
  status: OrderStatus;
  nonce: number;
  expiry: number;
  /** EIP-712 `Order` signature of the latest version (amend replaces it) and the key that made it. */
  signature: Hex;
  signer: Address;
  source: OrderSource;
  createdAt: number;
  updatedAt: number;
}

export interface TradeRecord {
  /** `<market>-<slot>-<seq>`. */
  id: string;
  market: string;
  slot: number;
  /** 1-based rank of the trade within its slot (stable under replay of the slot's commands). */
  seq: number;
  buyOrder: string;
  sellOrder: string;
  buyer: Address;
  seller: Address;
  price: string;
  quantityWh: number;
  time: number;
}

/** One accepted command as the engine saw it (codec JSON), in journal order. */
export interface JournalEntry {
  market: string;
  seq: number;
  slot: number;
  command: string;
  time: number;
}

export type SlotState = 'open' | 'gate_closed' | 'delivering' | 'metering' | 'settling' | 'settled';
export const SLOT_STATES: readonly SlotState[] = ['open', 'gate_closed', 'delivering', 'metering', 'settling', 'settled'];

export interface SlotSettlementInfo {
  status: 'pending' | 'sent' | 'confirmed' | 'failed';
  txHash: string | null;
  tradesRoot: string | null;
  attempts: number;
}

export interface SlotRecord {
  market: string;
  slot: number;
  state: SlotState;
  stateSince: number;
  tradeCount: number;
  volumeWh: number;
  /** Sum of price × Wh over the slot's trades (for the volume-weighted price), decimal string. */
  turnover: string;
  clearingPrice: string | null;
  settlement: SlotSettlementInfo | null;
}

/**
 * The id of the order a participant submits with `nonce`: deterministic, so a resent submission finds its order, and it
 * records the nonce's use (the SQLite adapter relies on that instead of a separate nonce row for submissions).
 */
export const orderIdOf = (participant: string, nonce: number): string => `${participant.toLowerCase()}-${nonce}`;

/** Everything one accepted command changed, committed atomically (journal row, nonce, orders, trades, slot totals). */
export interface MarketCommit {
  entry: Omit<JournalEntry, 'seq'>;
  nonce?: { participant: Address; nonce: number };
  orders: OrderRecord[];
  trades: TradeRecord[];
  slots: SlotRecord[];
}

export interface OrderQuery {
  participant?: Address;
  market?: string;
  slot?: number;
  /** Slots from this one on (slot ≥ fromSlot): a participant's orders in the open slots without reading its history. */
  fromSlot?: number;
  status?: OrderStatus | 'all';
  limit?: number;
}

export interface TradeQuery {
  market?: string;
  participant?: Address;
  /** Slot range: from ≤ slot < to. */
  from?: number;
  to?: number;
  limit?: number;
}

export interface MarketRepo {
  /** Commits one accepted command and its effects in one transaction; returns the journal seq given to it. */
  commit(change: MarketCommit): Promise<{ seq: number }>;
  /** Group commit: several commands, in order, in ONE transaction (all or none). Optional; without it the runtime commits one by one. */
  commitMany?(changes: MarketCommit[]): Promise<void>;
  /** Journal entries of the given slots, in journal order (replay input). */
  journal(market: string, slots: number[]): Promise<JournalEntry[]>;
  nonceUsed(participant: Address, nonce: number): Promise<boolean>;
  /** Every nonce the participant ever used (order entry loads them once per participant and checks in memory). */
  noncesOf(participant: Address): Promise<number[]>;
  order(id: string): Promise<OrderRecord | null>;
  /** Newest first. */
  orders(query: OrderQuery): Promise<OrderRecord[]>;
  /**
   * By slot then seq, ascending. With `participant`: the trades of its orders, which the engine commits with the trade
   * or before it (the SQLite adapter finds them through the orders; a trade naming an order never stored is not its).
   */
  trades(query: TradeQuery): Promise<TradeRecord[]>;
  upsertSlot(slot: SlotRecord): Promise<void>;
  slot(market: string, slot: number): Promise<SlotRecord | null>;
  /** from ≤ slot < to, ascending. */
  slots(market: string, from: number, to: number): Promise<SlotRecord[]>;
  /** Slots in any of the given states, ascending. */
  slotsInState(market: string, states: SlotState[]): Promise<SlotRecord[]>;
}
