// Simulated home with PV for demos: seeded clear-sky solar bell with clouds, household load curve, integrated Wh counters.
import { ReadingFlags } from '@gridmesh/contracts-abi';
import type { Measurement, MeterSource, SourceHealth } from './source.ts';

export interface SimulatedOptions {
  id: string;
  seed: number;
  /** Peak PV output on a clear day at solar noon, W (0 = no PV). */
  pvPeakW: number;
  /** Household base load, W; morning/evening peaks and appliances come on top. */
  loadBaseW: number;
  intervalMs: number;
  /** Shifts the simulated time of day (minutes), e.g. to show a sunny noon during an evening demo. */
  clockOffsetMin: number;
  /** Persisted counters to continue from (never decrease across restarts). */
  resume?: SimulatedState;
  now?: () => number;
}

export interface SimulatedState {
  importWh: number;
  exportWh: number;
  /** Fractions of a Wh not yet counted: carried so integration loses nothing. */
  importFrac: number;
  exportFrac: number;
  lastTs: number;
}

/** Deterministic hash of (seed, key) into [0, 1): same home, same moment → same noise. */
export function noise(seed: number, key: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(key | 0, 0x85ebca6b) ^ Math.imul(Math.floor(key / 4294967296), 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Smooth value noise in [0, 1): interpolated between seeded points `periodS` apart. */
function smoothNoise(seed: number, tS: number, periodS: number): number {
  const x = tS / periodS;
  const i = Math.floor(x);
  const f = x - i;
  const s = f * f * (3 - 2 * f);
  return noise(seed, i) * (1 - s) + noise(seed, i + 1) * s;
}

const DAY_MS = 86_400_000;

/** Hours since local midnight (host time zone) shifted by the configured offset. */
function hourOfDay(ts: number, offsetMin: number): number {
  const d = new Date(ts + offsetMin * 60_000);
  return d.getHours() + d.getMinutes() / 60 + d.getSeconds() / 3600 + d.getMilliseconds() / 3_600_000;
}

export interface HomePower {
  pvW: number;
  loadW: number;
  /** At the grid connection: load − pv (+ import, − export). */
  netW: number;
}

/** Power of a simulated home at time `ts`: deterministic for a seed, different per home. */
export function homePower(o: Pick<SimulatedOptions, 'seed' | 'pvPeakW' | 'loadBaseW' | 'clockOffsetMin'>, ts: number): HomePower {
  const h = hourOfDay(ts, o.clockOffsetMin);
  const tS = ts / 1000;
  const day = Math.floor((ts + o.clockOffsetMin * 60_000) / DAY_MS);
  // Sunrise ~6:30, sunset ~19:30 with a per-home orientation shift of up to ±40 min; clear-sky bell = sin^1.5.
  const shift = (noise(o.seed, 7) - 0.5) * 1.3;
  const rise = 6.5 + shift;
  const set = 19.5 + shift;
  let pv = 0;
  if (h > rise && h < set) {
    const clearSky = Math.pow(Math.sin((Math.PI * (h - rise)) / (set - rise)), 1.5);
    // Clouds: a day-level cloudiness, passing clouds over minutes, flicker over seconds.
    const dayCloud = 0.15 + 0.5 * noise(o.seed ^ 0x5a5a, day);
    const passing = smoothNoise(o.seed ^ 0x1234, tS, 180);
    const cloud = 1 - dayCloud * Math.max(0, passing * 1.6 - 0.4);
    const flicker = 1 + (noise(o.seed ^ 0x77, Math.floor(tS)) - 0.5) * 0.04;
    pv = o.pvPeakW * clearSky * Math.min(1, Math.max(0.05, cloud)) * flicker;
  }
  // Load: base, morning (7:30) and evening (19:00) peaks, a slow wander and per-second noise; occasional kettle/oven.
  const gauss = (mu: number, sigma: number) => Math.exp(-((h - mu) ** 2) / (2 * sigma * sigma));
  const peaks = 1.2 * gauss(7.5, 0.8) + 2.0 * gauss(19, 1.5) + 0.4 * gauss(12.5, 1);
  const wander = 0.8 + 0.4 * smoothNoise(o.seed ^ 0x4321, tS, 600);
  const minute = Math.floor(tS / 60);
  const appliance = noise(o.seed ^ 0x999, minute) < 0.06 ? 1500 + 1000 * noise(o.seed ^ 0x998, minute) : 0;
  const jitter = 1 + (noise(o.seed ^ 0x31, Math.floor(tS)) - 0.5) * 0.08;
  const load = (o.loadBaseW * (1 + peaks) * wander + appliance) * jitter;
  const pvW = Math.round(pv);
  const loadW = Math.round(load);
  return { pvW, loadW, netW: loadW - pvW };
}

/** Integrates net power into import/export counters over [from, to), stepping so long gaps follow the curve. */
export function integrate(o: Parameters<typeof homePower>[0], s: SimulatedState, to: number): SimulatedState {
  let { importWh, exportWh, importFrac, exportFrac } = s;
  let t = s.lastTs;
  while (t < to) {
    const step = Math.min(to - t, 60_000);
    const p = homePower(o, t + step / 2).netW;
    const wh = (p * step) / 3_600_000;
    if (wh > 0) importFrac += wh;
    else exportFrac -= wh;
    t += step;
  }
  const wholeImport = Math.floor(importFrac);
  const wholeExport = Math.floor(exportFrac);
  importWh += wholeImport;
  exportWh += wholeExport;
  return { importWh, exportWh, importFrac: importFrac - wholeImport, exportFrac: exportFrac - wholeExport, lastTs: to };
}

export class SimulatedMeter implements MeterSource {
  readonly kind = 'simulated';
  readonly id: string;
  private timer: NodeJS.Timeout | undefined;
  private state: SimulatedState;
  private readonly now: () => number;

  constructor(private readonly o: SimulatedOptions) {
    this.id = o.id;
    this.now = o.now ?? Date.now;
    // A new home starts with a plausible, seeded meter position (not zero).
    this.state = o.resume ?? {
      importWh: Math.floor(1_000_000 + noise(o.seed, 1) * 9_000_000),
      exportWh: o.pvPeakW > 0 ? Math.floor(noise(o.seed, 2) * 5_000_000) : 0,
      importFrac: 0,
      exportFrac: 0,
      lastTs: this.now(),
    };
  }

  /** One measurement at `ts`: advances the counters and returns the reading with the state to persist. */
  measure(ts: number): { reading: Measurement; state: SimulatedState } {
    // Long outage: the meter kept counting; integrate the gap along the curve (capped at 7 days).
    const from = Math.max(this.state.lastTs, ts - 7 * DAY_MS);
    if (ts > this.state.lastTs) this.state = integrate(this.o, { ...this.state, lastTs: from }, ts);
    const p = homePower(this.o, ts);
    const reading: Measurement = {
      timestamp: ts,
      importWh: this.state.importWh,
      exportWh: this.state.exportWh,
      powerW: p.netW,
      flags: ReadingFlags.SIMULATED,
      phases: [{ powerW: p.netW, voltageV: Math.round((230 + (noise(this.o.seed ^ 0x22, Math.floor(ts / 1000)) - 0.5) * 6) * 10) / 10 }],
    };
    return { reading, state: { ...this.state } };
  }

  async start(emit: (m: Measurement, state?: Record<string, unknown>) => void): Promise<void> {
    const tick = () => {
      const { reading, state } = this.measure(this.now());
      emit(reading, state as unknown as Record<string, unknown>);
    };
    tick();
    this.timer = setInterval(tick, this.o.intervalMs);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  health(): SourceHealth {
    return { state: 'ok', message: 'simulated home', badTelegrams: 0 };
  }
}
