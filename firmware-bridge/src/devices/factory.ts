// Builds the meter source for a device entry of the config; transports load lazily so a Pi without a device skips them.
import type { DeviceConfig } from '../config/schema.ts';
import type { MeterSource } from './source.ts';
import { SimulatedMeter, type SimulatedState } from './simulated.ts';

export interface SourceContext {
  /** Persisted device state from the last committed reading (counters, pulse counts). */
  resume?: Record<string, unknown>;
  log: (msg: string) => void;
}

export async function createSource(cfg: DeviceConfig, ctx: SourceContext): Promise<MeterSource> {
  switch (cfg.type) {
    case 'simulated':
      return new SimulatedMeter({
        id: cfg.id,
        seed: cfg.seed ?? 1,
        pvPeakW: cfg.pvPeakW ?? 4000,
        loadBaseW: cfg.loadBaseW ?? 400,
        intervalMs: cfg.intervalMs ?? 1000,
        clockOffsetMin: cfg.clockOffsetMin ?? 0,
        resume: ctx.resume as SimulatedState | undefined,
      });
    default: {
      const { createHardwareSource } = await import('./hardware.ts');
      return createHardwareSource(cfg, ctx);
    }
  }
}
