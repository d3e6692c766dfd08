// The one small interface every meter source implements: it yields normalised readings and reports its health.
import type { PhaseTelemetry } from '@gridmesh/contracts-abi';

/** A normalised measurement, before the outbox assigns meter and seq and the key signs it. */
export interface Measurement {
  timestamp: number;
  /** Cumulative energy taken from the grid / fed into it, integer Wh, never decreasing. */
  importWh: number;
  exportWh: number;
  /** Instantaneous power at the connection point, + import, − export. */
  powerW: number;
  flags: number;
  phases?: PhaseTelemetry[];
}

export type SourceState = 'ok' | 'degraded' | 'offline';

export interface SourceHealth {
  state: SourceState;
  message: string;
  badTelegrams: number;
}

/** Persistent per-device state (e.g. a pulse count), committed atomically with the reading that carries it. */
export interface DeviceStateStore {
  load(): Record<string, unknown> | undefined;
}

export interface MeterSource {
  readonly id: string;
  readonly kind: string;
  /** Starts producing; `emit` gets each measurement plus the device state to persist with it. */
  start(emit: (m: Measurement, state?: Record<string, unknown>) => void): Promise<void>;
  stop(): Promise<void>;
  health(): SourceHealth;
}
