// JSON form of commands and events: bigints as decimal strings, fixed key order, so journals and replays compare byte for byte.
import type { MarketCommand, MarketEvent } from './types.ts';

const DECIMAL = /^(0|[1-9][0-9]*)$/;

function bigintAsString(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** One event as one line of JSON (no trailing newline). */
export function eventToJson(event: MarketEvent): string {
  return JSON.stringify(event, bigintAsString);
}

/** One command as one line of JSON, the form the server journals and `parseCommand` reads back. */
export function commandToJson(command: MarketCommand): string {
  return JSON.stringify(command, bigintAsString);
}

/** Decimal string of base units → bigint; anything else → undefined (the Market then rejects with invalid_price). */
function parsePrice(value: unknown): bigint | undefined {
  if (typeof value === 'string' && DECIMAL.test(value) && value.length <= 30) return BigInt(value);
  return undefined;
}

/**
 * Turn a parsed JSON object into a command. Only the price needs converting; every other field is passed through
 * and checked by `Market.apply`, which answers bad fields with a `rejected` event rather than an exception.
 * `defaultSlot` fills `slot` when a submit or close omits it (the CLI's single-slot mode).
 */
export function parseCommand(json: unknown, defaultSlot?: number): MarketCommand {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return { type: 'invalid' } as unknown as MarketCommand;
  const o = json as Record<string, unknown>;
  switch (o.type) {
    case 'submit':
      return { type: 'submit', id: o.id, participant: o.participant, slot: o.slot ?? defaultSlot, side: o.side, price: parsePrice(o.price), quantityWh: o.quantityWh, tif: o.tif ?? 'gtc', time: o.time } as MarketCommand;
    case 'amend': {
      const amend: Record<string, unknown> = { type: 'amend', id: o.id, time: o.time };
      if (o.price !== undefined) amend.price = parsePrice(o.price) ?? null;
      if (o.quantityWh !== undefined) amend.quantityWh = o.quantityWh;
      return amend as unknown as MarketCommand;
    }
    case 'cancel':
      return { type: 'cancel', id: o.id, time: o.time } as MarketCommand;
    case 'close':
      return { type: 'close', slot: o.slot ?? defaultSlot, time: o.time } as MarketCommand;
    case 'tick':
      return { type: 'tick', time: o.time } as MarketCommand;
    default:
      return { ...o, type: typeof o.type === 'string' ? o.type : 'invalid' } as unknown as MarketCommand;
  }
}
