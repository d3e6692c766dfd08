// A market's settings as the server runs it: the engine config plus the lifecycle's grace period and the grid tariffs.
import { marketConfig, type MarketConfig, type Mechanism } from '../market/index.ts';

export interface MarketSettings {
  id: string;
  mechanism: Mechanism;
  slotMs: number;
  horizonMs: number;
  gateMs: number;
  /** Time after the slot's end during which late readings still count for its delivery settlement. */
  graceMs: number;
  floor: bigint;
  cap: bigint;
  tick: bigint;
  gridFee: bigint;
  k: string;
  /** Retail tariff (unmatched demand is bought from the grid at this price) and feed-in tariff (unmatched supply). */
  retailPrice: bigint;
  feedInPrice: bigint;
}

/** The embedded demo: 1-minute slots so a visitor sees whole cycles; continuous so trades appear at once. */
export const DEMO_MARKET: Readonly<MarketSettings> = Object.freeze({
  id: 'demo',
  mechanism: 'continuous',
  slotMs: 60_000,
  horizonMs: 10 * 60_000,
  gateMs: 10_000,
  graceMs: 15_000,
  floor: 80_000n,
  cap: 320_000n,
  tick: 100n,
  gridFee: 0n,
  k: '0.5',
  retailPrice: 320_000n,
  feedInPrice: 80_000n,
});

/** A production-shaped default: 15-minute slots traded up to 6 h ahead, gate 5 min before delivery. */
export const DEFAULT_MARKET: Readonly<MarketSettings> = Object.freeze({
  ...DEMO_MARKET,
  id: 'main',
  mechanism: 'call',
  slotMs: 15 * 60_000,
  horizonMs: 6 * 3_600_000,
  gateMs: 5 * 60_000,
  graceMs: 5 * 60_000,
});

export function engineConfig(s: MarketSettings): MarketConfig {
  return marketConfig({
    name: s.id, slotMs: s.slotMs, horizonMs: s.horizonMs, gateMs: s.gateMs, mechanism: s.mechanism, tick: s.tick, floor: s.floor,
    cap: s.cap, gridFee: s.gridFee, k: s.k, callRationing: 'pro-rata',
  });
}

/** The JSON form of GET /api/markets/:market. */
export interface MarketInfo {
  id: string; mechanism: Mechanism; slotMs: number; horizonMs: number; gateMs: number; graceMs: number;
  floor: string; cap: string; tick: string; gridFee: string; k: string; retailPrice: string; feedInPrice: string; currentSlot: number;
}

export function marketInfo(s: MarketSettings, now: number): MarketInfo {
  return {
    id: s.id, mechanism: s.mechanism, slotMs: s.slotMs, horizonMs: s.horizonMs, gateMs: s.gateMs, graceMs: s.graceMs,
    floor: s.floor.toString(), cap: s.cap.toString(), tick: s.tick.toString(), gridFee: s.gridFee.toString(), k: s.k,
    retailPrice: s.retailPrice.toString(), feedInPrice: s.feedInPrice.toString(), currentSlot: now - (now % s.slotMs),
  };
}
