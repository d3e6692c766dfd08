// Metered energy per slot from cumulative registers: linear interpolation of signed readings at the slot boundaries.
import { ReadingFlags } from '@gridmesh/contracts-abi';

/** The part of a stored reading metering needs (cumulative registers, never decreasing). */
export interface RegisterReading {
  timestamp: number;
  importWh: number;
  exportWh: number;
  flags?: number;
}

export interface MeteringOptions {
  /**
   * How far (ms) the readings that bracket a boundary may lie from it. A boundary with no reading at or before it,
   * or none at or after it, within this window is unknown. Default: 5 minutes.
   */
  maxBoundaryGapMs?: number;
}

export type MeteringFlag =
  /** No reading at/before the slot start within the window. */
  | 'no-reading-before-start'
  /** No reading at/after the slot start within the window. */
  | 'no-reading-after-start'
  | 'no-reading-before-end'
  /** No reading at/after the slot end within the window (the grace period passed without one). */
  | 'no-reading-after-end'
  /** A reading used carries the GAP flag (counts may have been lost in a bridge outage). */
  | 'gap'
  /** The meter counts relative pulses, not an absolute register. */
  | 'relative-counter';

export interface SlotMetering {
  /** True when both boundaries could be interpolated; false means "not metered": treated as 0 import and 0 export. */
  metered: boolean;
  importWh: number;
  exportWh: number;
  flags: MeteringFlag[];
}

export interface RegisterValue {
  importWh: number;
  exportWh: number;
}

const DEFAULT_GAP_MS = 5 * 60_000;

/** Index of the last reading with timestamp ≤ t (readings sorted by timestamp), or -1. */
function lastAtOrBefore(readings: readonly RegisterReading[], t: number): number {
  let lo = 0;
  let hi = readings.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (readings[mid].timestamp <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** floor(a + (b − a)·num/den) in exact integer arithmetic (b ≥ a for cumulative registers). */
function lerpFloor(a: number, b: number, num: number, den: number): number {
  const v = BigInt(a) * BigInt(den) + (BigInt(b) - BigInt(a)) * BigInt(num);
  const d = BigInt(den);
  // Floor division for possibly negative numerators (only if a counter decreased, which ingestion refuses).
  const q = v / d;
  return Number(v % d !== 0n && v < 0n ? q - 1n : q);
}

/**
 * Register values at time t, interpolated linearly between the readings around t and floored to whole Wh.
 * Flooring at every boundary telescopes: the energies of consecutive slots add up to the register difference
 * between the outer boundaries, so no Wh is counted twice or lost between slots.
 */
export function registerAt(
  readings: readonly RegisterReading[],
  t: number,
  maxGapMs = DEFAULT_GAP_MS,
): { value: RegisterValue | null; missing: 'before' | 'after' | null } {
  const i = lastAtOrBefore(readings, t);
  if (i >= 0 && readings[i].timestamp === t) return { value: { importWh: readings[i].importWh, exportWh: readings[i].exportWh }, missing: null };
  const before = i >= 0 && t - readings[i].timestamp <= maxGapMs ? readings[i] : undefined;
  const after = i + 1 < readings.length && readings[i + 1].timestamp - t <= maxGapMs ? readings[i + 1] : undefined;
  if (!before) return { value: null, missing: 'before' };
  if (!after) return { value: null, missing: 'after' };
  const num = t - before.timestamp;
  const den = after.timestamp - before.timestamp;
  return {
    value: { importWh: lerpFloor(before.importWh, after.importWh, num, den), exportWh: lerpFloor(before.exportWh, after.exportWh, num, den) },
    missing: null,
  };
}

/**
 * Import and export of one meter in [start, end). `readings` must be sorted by timestamp (as the store returns them);
 * pass the readings from (start − window) to (end + window).
 */
export function meterSlot(readings: readonly RegisterReading[], start: number, end: number, options: MeteringOptions = {}): SlotMetering {
  const gap = options.maxBoundaryGapMs ?? DEFAULT_GAP_MS;
  const flags: MeteringFlag[] = [];
  const a = registerAt(readings, start, gap);
  const b = registerAt(readings, end, gap);
  if (!a.value) flags.push(a.missing === 'before' ? 'no-reading-before-start' : 'no-reading-after-start');
  if (!b.value) flags.push(b.missing === 'before' ? 'no-reading-before-end' : 'no-reading-after-end');
  for (let i = Math.max(0, lastAtOrBefore(readings, start - gap)); i < readings.length; i++) {
    const r = readings[i];
    if (r.timestamp > end + gap) break;
    if (r.timestamp < start - gap) continue;
    if (r.flags && r.flags & ReadingFlags.GAP && !flags.includes('gap')) flags.push('gap');
    if (r.flags && r.flags & ReadingFlags.RELATIVE_COUNTER && !flags.includes('relative-counter')) flags.push('relative-counter');
  }
  if (!a.value || !b.value) return { metered: false, importWh: 0, exportWh: 0, flags };
  return {
    metered: true,
    importWh: Math.max(0, b.value.importWh - a.value.importWh),
    exportWh: Math.max(0, b.value.exportWh - a.value.exportWh),
    flags,
  };
}

/**
 * A participant's metering in a slot: the sum over its grid-connection meters (net import/export of the home).
 * Not metered as soon as one of them is not metered (a partial picture would misstate the home's net export).
 */
export function meterParticipantSlot(meters: readonly (readonly RegisterReading[])[], start: number, end: number, options: MeteringOptions = {}): SlotMetering {
  if (meters.length === 0) return { metered: false, importWh: 0, exportWh: 0, flags: ['no-reading-before-start'] };
  let importWh = 0;
  let exportWh = 0;
  const flags: MeteringFlag[] = [];
  let metered = true;
  for (const readings of meters) {
    const m = meterSlot(readings, start, end, options);
    for (const f of m.flags) if (!flags.includes(f)) flags.push(f);
    metered &&= m.metered;
    importWh += m.importWh;
    exportWh += m.exportWh;
  }
  return metered ? { metered, importWh, exportWh, flags } : { metered: false, importWh: 0, exportWh: 0, flags };
}
