// Hardware sources (Modbus RTU/TCP, DSMR P1, Firmata), loaded only when a config uses them.
import type { DeviceConfig } from '../config/schema.ts';
import type { MeterSource } from './source.ts';
import type { SourceContext } from './factory.ts';

export async function createHardwareSource(cfg: DeviceConfig, ctx: SourceContext): Promise<MeterSource> {
  switch (cfg.type) {
    case 'modbus-rtu':
    case 'modbus-tcp': {
      const { ModbusMeter } = await import('../modbus/meter.ts');
      return new ModbusMeter(cfg, ctx);
    }
    case 'dsmr-p1': {
      const { DsmrMeter } = await import('../dsmr/source.ts');
      return new DsmrMeter(cfg, ctx.log);
    }
    case 'firmata': {
      const { FirmataMeter } = await import('../firmata/source.ts');
      return new FirmataMeter(cfg, ctx);
    }
    default:
      throw new Error(`device type ${cfg.type} is not available in this build`);
  }
}
