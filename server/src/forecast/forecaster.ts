// Forecast of a home's surplus/deficit for an upcoming slot: same slot on previous days, corrected by the last hour's deviation.
import { meterSlot, type RegisterReading } from '../settlement/metering.ts';

/** Net energy of a home in one slot at its grid connection: export − import (Wh; + surplus, − deficit). */
export interface SlotEnergy {
  slot: number;
  netWh: number;
}

export interface ForecastConfig {
  slotMs: number;
  /** How many previous days of the same slot form the daily profile (default 7). */
  days?: number;
  /** Window of recent slots whose deviation from the profile corrects the forecast (default 1 h). */
  recentMs?: number;
  /** Time constant of how fast the recent correction fades with lead time (default 1 h). */
  decayMs?: number;
  /** Weight of the recent deviation at zero lead, in [0, 1] (default 0.5: half of today's deviation is taken as lasting). */
  recentWeight?: number;
}

export type ForecastBasis = 'blend' | 'profile' | 'persistence' | 'none';

export interface SlotForecast {
  slot: number;
  /** Expected net export − import in the slot (Wh). */
  netWh: number;
  /** max(0, netWh): what the home can sell. */
  surplusWh: number;
  /** max(0, −netWh): what the home needs to buy. */
  deficitWh: number;
  basis: ForecastBasis;
  /** Number of previous days that had the slot metered. */
  profileDays: number;
}

const DAY_MS = 86_400_000;

/** Per-slot net energies of a meter from its readings over [from, to) (slots not metered are left out). */
export function slotHistory(readings: readonly RegisterReading[], from: number, to: number, slotMs: number, maxBoundaryGapMs = slotMs): SlotEnergy[] {
  const out: SlotEnergy[] = [];
  for (let s = Math.ceil(from / slotMs) * slotMs; s + slotMs <= to; s += slotMs) {
    const m = meterSlot(readings, s, s + slotMs, { maxBoundaryGapMs });
    if (m.metered) out.push({ slot: s, netWh: m.exportWh - m.importWh });
  }
  return out;
}

/**
 * Forecast for `slot` made at `now` from the home's own history (slots that ended by `now`):
 *   profile(s) = mean net energy of the same time-of-day slot on the previous `days` days (those metered);
 *   deviation  = mean over the last hour's slots of (actual − profile of that slot);
 *   forecast   = profile(slot) + w · deviation · exp(−lead / decay), lead = slot − now, w = recentWeight.
 * The last hour says how today differs from a typical day (clouds, a guest, an EV charging); that knowledge fades with
 * lead time. Without profile days the forecast is persistence (the last hour's mean); with no data at all, 0 ('none').
 */
export function forecastSlot(history: ReadonlyMap<number, number>, slot: number, now: number, config: ForecastConfig): SlotForecast {
  const slotMs = config.slotMs;
  const days = config.days ?? 7;
  const recentMs = config.recentMs ?? 3_600_000;
  const decayMs = config.decayMs ?? 3_600_000;
  const recentWeight = config.recentWeight ?? 0.5;
  const known = (s: number) => s + slotMs <= now ? history.get(s) : undefined;

  const profile = (s: number): { mean: number; n: number } => {
    let sum = 0;
    let n = 0;
    for (let d = 1; d <= days; d++) {
      const v = known(s - d * DAY_MS);
      if (v !== undefined) { sum += v; n++; }
    }
    return { mean: n ? sum / n : 0, n };
  };

  const lastEnded = Math.floor(now / slotMs) * slotMs - slotMs;
  let devSum = 0;
  let devN = 0;
  let recentSum = 0;
  let recentN = 0;
  for (let s = lastEnded; s > now - recentMs - slotMs && s >= 0; s -= slotMs) {
    const v = known(s);
    if (v === undefined) continue;
    recentSum += v;
    recentN++;
    const p = profile(s);
    if (p.n) { devSum += v - p.mean; devN++; }
  }

  const target = profile(slot);
  let net: number;
  let basis: ForecastBasis;
  if (target.n && devN) {
    const lead = Math.max(0, slot - now);
    net = target.mean + recentWeight * (devSum / devN) * Math.exp(-lead / decayMs);
    basis = 'blend';
  } else if (target.n) {
    net = target.mean;
    basis = 'profile';
  } else if (recentN) {
    net = recentSum / recentN;
    basis = 'persistence';
  } else {
    net = 0;
    basis = 'none';
  }
  const netWh = Math.round(net);
  return { slot, netWh, surplusWh: Math.max(0, netWh), deficitWh: Math.max(0, -netWh), basis, profileDays: target.n };
}

/** The naive baselines the forecaster is measured against. */
export const baselines = {
  /** The last ended slot's value. */
  persistence(history: ReadonlyMap<number, number>, _slot: number, now: number, slotMs: number): number {
    return history.get(Math.floor(now / slotMs) * slotMs - slotMs) ?? 0;
  },
  /** The same slot yesterday. */
  yesterday(history: ReadonlyMap<number, number>, slot: number): number {
    return history.get(slot - DAY_MS) ?? 0;
  },
};
