// Market engine vocabulary: configuration, commands in, events out, order views. Pure data, no behaviour.

export type Side = 'bid' | 'ask';
export type TimeInForce = 'gtc' | 'ioc';
export type Mechanism = 'continuous' | 'call';
/** How the marginal price level of a call auction is shared when only part of it clears. */
export type CallRationing = 'pro-rata' | 'time';

export interface MarketConfig {
  /** Market name, copied into nothing but kept for the caller's bookkeeping. */
  name: string;
  /** Delivery slot length (ms); a slot is named by its start time, a multiple of slotMs. */
  slotMs: number;
  /** Trading for a slot opens `horizonMs` before its start. */
  horizonMs: number;
  /** Gate closure: trading stops `gateMs` before the slot starts. */
  gateMs: number;
  mechanism: Mechanism;
  /** Price grid step, token base units per kWh. */
  tick: bigint;
  /** Lowest admissible limit price (feed-in tariff), on the tick grid. */
  floor: bigint;
  /** Highest admissible limit price (retail tariff), on the tick grid. */
  cap: bigint;
  /** Grid fee per kWh the buyer pays on top of the trade price (0 if none). */
  gridFee: bigint;
  /** Call-auction price rule: price = L + k·(U − L), k in [0,1] as an exact decimal string ("0.5"). */
  k: string;
  callRationing: CallRationing;
}

/** Why a command was refused. Risk predicates return one of the last two (or any code here). */
export type RejectReason =
  | 'invalid_command'
  | 'invalid_id'
  | 'invalid_side'
  | 'invalid_price'
  | 'off_tick'
  | 'price_out_of_range'
  | 'invalid_quantity'
  | 'invalid_time'
  | 'invalid_slot'
  | 'invalid_tif'
  | 'duplicate_id'
  | 'unknown_order'
  | 'slot_not_open'
  | 'gate_closed'
  | 'slot_closed'
  | 'self_cross'
  | 'no_change'
  | 'insufficient_escrow'
  | 'export_capacity';

export interface SubmitCommand {
  type: 'submit';
  id: string;
  participant: string;
  slot: number;
  side: Side;
  price: bigint;
  quantityWh: number;
  tif?: TimeInForce;
  time: number;
}
export interface CancelCommand { type: 'cancel'; id: string; time: number }
/** Change an open order: `quantityWh` is the new OPEN quantity; reducing it keeps priority, anything else loses it. */
export interface AmendCommand { type: 'amend'; id: string; price?: bigint; quantityWh?: number; time: number }
/** Close a slot now (gate closure): a call book clears once, every remaining order expires. */
export interface CloseCommand { type: 'close'; slot: number; time: number }
/** Advance time: closes every slot whose gate closure is at or before `time`. */
export interface TickCommand { type: 'tick'; time: number }
export type MarketCommand = SubmitCommand | CancelCommand | AmendCommand | CloseCommand | TickCommand;

export interface AcceptedEvent {
  type: 'accepted'; id: string; participant: string; slot: number; side: Side; price: bigint; quantityWh: number; tif: TimeInForce; time: number;
}
export interface RejectedEvent { type: 'rejected'; id: string | null; command: string; reason: RejectReason; time: number | null }
export interface TradeEvent {
  type: 'trade'; seq: number; slot: number; buy: string; sell: string; buyer: string; seller: string; price: bigint; quantityWh: number; time: number;
}
export type CancelCause = 'user' | 'ioc' | 'self_trade';
export interface CancelledEvent { type: 'cancelled'; id: string; slot: number; remainingWh: number; cause: CancelCause; time: number }
export interface AmendedEvent { type: 'amended'; id: string; slot: number; price: bigint; quantityWh: number; priorityKept: boolean; time: number }
export interface ExpiredEvent { type: 'expired'; id: string; slot: number; remainingWh: number; time: number }
/** Call auction result: uniform price (null when nothing clears), volume, and the interval [low, high] of clearing prices. */
export interface ClearedEvent { type: 'cleared'; slot: number; price: bigint | null; volumeWh: number; low: bigint | null; high: bigint | null; time: number }
export interface ClosedEvent { type: 'closed'; slot: number; time: number }
/** Indicative call result after a change, emitted only when price or volume moved. */
export interface IndicativeEvent { type: 'indicative'; slot: number; price: bigint | null; volumeWh: number; time: number }
export type MarketEvent =
  | AcceptedEvent | RejectedEvent | TradeEvent | CancelledEvent | AmendedEvent | ExpiredEvent | ClearedEvent | ClosedEvent | IndicativeEvent;

/** A resting order as the book sees it. `seq` is the arrival rank that gives time priority. */
export interface OrderView {
  id: string;
  participant: string;
  slot: number;
  side: Side;
  price: bigint;
  remainingWh: number;
  seq: number;
}

export interface BookLevelView { price: bigint; quantityWh: number; orders: number }
export interface BookSnapshotView { slot: number; bids: BookLevelView[]; asks: BookLevelView[] }
export interface Indicative { price: bigint | null; volumeWh: number; low: bigint | null; high: bigint | null }

/** What a risk predicate is told about the order under test. */
export interface RiskContext {
  time: number;
  config: Readonly<MarketConfig>;
  /** The order being replaced (amend), whose own commitment should not be counted twice. */
  replacing: OrderView | null;
  /** The participant's other open orders in this market (all slots), computed on demand. */
  openOrders(): OrderView[];
}
export interface RiskOrder { id: string; participant: string; slot: number; side: Side; price: bigint; quantityWh: number }
/** Synchronous, side-effect-free checks the server supplies; null = ok. */
export interface RiskChecks {
  checkBid?(order: RiskOrder, ctx: RiskContext): RejectReason | null;
  checkAsk?(order: RiskOrder, ctx: RiskContext): RejectReason | null;
}
