// The OrderBook contract shared by the reference and the fast implementation of one delivery slot's book.
import type { BookLevelView, OrderView, Side } from './types.ts';

/** An order entering the book; `seq` is its arrival rank (time priority), assigned by the Market. */
export interface IncomingOrder {
  id: string;
  participant: string;
  side: Side;
  price: bigint;
  quantityWh: number;
  seq: number;
  ioc: boolean;
}

/** Receives each execution, in execution order, while an incoming order matches. */
export interface FillSink {
  onFill(makerId: string, makerParticipant: string, price: bigint, quantityWh: number, makerRemainingWh: number): void;
}

/** What is left of an incoming order after matching and why it did or did not rest. */
export interface MatchOutcome {
  remainingWh: number;
  /** 'rested' | 'filled' | 'ioc' (remainder dropped) | 'self_trade' (remainder would cross the participant's own resting order). */
  result: 'rested' | 'filled' | 'ioc' | 'self_trade';
}

/** Visits an order; return false to stop. */
export type OrderVisitor = (id: string, participant: string, price: bigint, remainingWh: number, seq: number) => boolean | void;
/** Visits an aggregated price level; return false to stop. */
export type LevelVisitor = (price: bigint, quantityWh: number, orders: number) => boolean | void;

export interface OrderBook {
  readonly slot: number;
  /** Number of resting orders. */
  size(): number;
  /**
   * Continuous matching: price–time priority, execution at the resting price, the incoming order skips its own
   * participant's resting orders (they stay); the remainder rests unless IOC or it would cross an own order.
   */
  match(order: IncomingOrder, sink: FillSink): MatchOutcome;
  /** Rest an order without matching (call auction collection). */
  rest(order: IncomingOrder): void;
  /** Remove an order; returns it as it was, or null if unknown. */
  cancel(id: string): OrderView | null;
  /** Lower an order's open quantity in place, keeping its priority (0 < remainingWh < current). */
  reduce(id: string, remainingWh: number): boolean;
  get(id: string): OrderView | null;
  best(side: Side): bigint | null;
  /** Aggregated levels, best first (bids descending, asks ascending). */
  forEachLevel(side: Side, visit: LevelVisitor): void;
  /** Every order of a side in priority order (price, then arrival). */
  forEachOrder(side: Side, visit: OrderVisitor): void;
  levels(side: Side, depth: number): BookLevelView[];
  /** The participant's orders in this book, by arrival. */
  ordersOf(participant: string): OrderView[];
  /** Would an order of `participant` on `side` at `price` cross one of its own orders on the other side (ignoring `exceptId`)? */
  crossesOwn(participant: string, side: Side, price: bigint, exceptId: string | null): boolean;
  /** Drop every order (after gate closure), releasing their ids. */
  clear(): void;
}

/**
 * The books of one market share an order-id index, so the Market finds an order's book with one lookup and ids are
 * unique across the market's open orders.
 */
export interface OrderBookFamily {
  open(slot: number): OrderBook;
  /** The book holding open order `id`, or null. */
  locate(id: string): OrderBook | null;
}

export type BookKind = 'fast' | 'reference';
