// Hardware sources (Modbus, DSMR P1, Firmata); filled in by their modules.
import type { DeviceConfig } from '../config/schema.ts';
import type { MeterSource } from './source.ts';
import type { SourceContext } from './factory.ts';

export async function createHardwareSource(cfg: DeviceConfig, _ctx: SourceContext): Promise<MeterSource> {
  throw new Error(`device type ${cfg.type} is not available in this build`);
}
