// Public surface of the pure market engine.
export { Market, type MarketOptions } from './market.ts';
export { replay } from './replay.ts';
export { marketConfig, DEFAULT_CONFIG, MarketConfigError, parseK, worstCaseCost } from './config.ts';
export { eventToJson, commandToJson, parseCommand } from './codec.ts';
export { clearCall, indicative, rationLevel, type CallClearing, type PriceRule, type SideAllocation } from './call-auction.ts';
export { FastOrderBook } from './fast-book.ts';
export { ReferenceOrderBook } from './reference-book.ts';
export type { OrderBook, IncomingOrder, FillSink, MatchOutcome, BookKind, OrderVisitor, LevelVisitor } from './book.ts';
export type * from './types.ts';
