// Rebuild a market from its command journal: the same commands always give the same events and the same books.
import { Market, type MarketOptions } from './market.ts';
import type { MarketCommand, MarketConfig, MarketEvent } from './types.ts';

/** Apply every command in order to a fresh Market; returns it (books rebuilt) and every event produced. */
export function replay(config: Partial<MarketConfig>, commands: Iterable<MarketCommand>, options: MarketOptions = {}): { market: Market; events: MarketEvent[] } {
  const market = new Market(config, options);
  const events: MarketEvent[] = [];
  for (const command of commands) for (const event of market.apply(command)) events.push(event);
  return { market, events };
}
