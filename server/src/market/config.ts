// Market configuration: defaults, validation with clear messages, and the exact rational form of the call price rule k.
import type { MarketConfig } from './types.ts';

export const DEFAULT_CONFIG: Readonly<MarketConfig> = Object.freeze({
  name: 'default',
  slotMs: 15 * 60_000,
  horizonMs: 24 * 3_600_000,
  gateMs: 5 * 60_000,
  mechanism: 'call',
  tick: 1000n,
  floor: 0n,
  cap: 1_000_000n,
  gridFee: 0n,
  k: '0.5',
  callRationing: 'pro-rata',
});

/** Prices are mapped to doubles inside the fast book, so they must stay exactly representable. */
const MAX_PRICE = BigInt(Number.MAX_SAFE_INTEGER);
/** Bound on the number of ticks in [floor, cap] so tick indices fit an Int32 with room to spare. */
const MAX_TICKS = 1n << 30n;

export class MarketConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'MarketConfigError';
  }
}

/** k as an exact fraction num/den from a decimal string in [0, 1]. */
export function parseK(k: string): { num: bigint; den: bigint } {
  const m = /^(0|1)(?:\.(\d{1,18}))?$/.exec(k);
  if (!m) throw new MarketConfigError('k', `must be a decimal string in [0, 1], got ${JSON.stringify(k)}`);
  const decimals = m[2] ?? '';
  const den = 10n ** BigInt(decimals.length);
  const num = BigInt(m[1]) * den + (decimals ? BigInt(decimals) : 0n);
  if (num > den) throw new MarketConfigError('k', `must be at most 1, got ${k}`);
  return { num, den };
}

/** Merge overrides over the defaults and check every field; throws MarketConfigError naming the field. */
export function marketConfig(overrides: Partial<MarketConfig> = {}): MarketConfig {
  const c: MarketConfig = { ...DEFAULT_CONFIG, ...overrides };
  if (typeof c.name !== 'string' || !c.name) throw new MarketConfigError('name', 'must be a non-empty string');
  if (!Number.isSafeInteger(c.slotMs) || c.slotMs <= 0) throw new MarketConfigError('slotMs', 'must be a positive integer');
  if (!Number.isSafeInteger(c.horizonMs)) throw new MarketConfigError('horizonMs', 'must be an integer');
  if (!Number.isSafeInteger(c.gateMs)) throw new MarketConfigError('gateMs', 'must be an integer');
  if (c.horizonMs <= c.gateMs) throw new MarketConfigError('horizonMs', 'must be greater than gateMs (trading opens before it closes)');
  if (c.mechanism !== 'continuous' && c.mechanism !== 'call') throw new MarketConfigError('mechanism', 'must be "continuous" or "call"');
  for (const field of ['tick', 'floor', 'cap', 'gridFee'] as const) {
    if (typeof c[field] !== 'bigint') throw new MarketConfigError(field, 'must be a bigint');
  }
  if (c.tick <= 0n) throw new MarketConfigError('tick', 'must be positive');
  if (c.floor < 0n) throw new MarketConfigError('floor', 'must not be negative');
  if (c.cap < c.floor) throw new MarketConfigError('cap', 'must not be below floor');
  if (c.cap > MAX_PRICE) throw new MarketConfigError('cap', `must be at most ${MAX_PRICE}`);
  if (c.floor % c.tick !== 0n || c.cap % c.tick !== 0n) throw new MarketConfigError('tick', 'floor and cap must lie on the tick grid');
  if ((c.cap - c.floor) / c.tick > MAX_TICKS) throw new MarketConfigError('tick', `[floor, cap] spans more than ${MAX_TICKS} ticks`);
  if (c.gridFee < 0n) throw new MarketConfigError('gridFee', 'must not be negative');
  parseK(c.k);
  if (c.callRationing !== 'pro-rata' && c.callRationing !== 'time') throw new MarketConfigError('callRationing', 'must be "pro-rata" or "time"');
  return c;
}

/** Worst-case cost of a bid in token base units: (price + grid fee) per kWh × Wh / 1000, rounded up. */
export function worstCaseCost(price: bigint, quantityWh: number, gridFee: bigint): bigint {
  const milli = (price + gridFee) * BigInt(quantityWh);
  return (milli + 999n) / 1000n;
}
