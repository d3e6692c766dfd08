// Public surface of the bridge package: sources, signing, outbox, link and config for embedding and tests.
export * from './devices/source.ts';
export * from './devices/simulated.ts';
export * from './signer.ts';
export * from './outbox.ts';
export * from './link.ts';
export * from './keystore.ts';
export * from './runner.ts';
export { loadConfig, checkConfig, ConfigError } from './config/load.ts';
export type * from './config/schema.ts';
export { ModbusMeter, ProfileReader, normalise } from './modbus/meter.ts';
export { ModbusBus, BusRegistry, ModbusException, BusError } from './modbus/bus.ts';
export { loadProfile, listProfiles, checkProfile } from './modbus/profile.ts';
export { scanBus } from './modbus/scan.ts';
export { planBlocks, busTimeMs } from './modbus/plan.ts';
export { TelegramFramer, checkCrc } from './dsmr/framer.ts';
export { parseTelegram, serialSettings, DsmrError } from './dsmr/parser.ts';
export { DsmrMeter } from './dsmr/source.ts';
export { crc16Arc, crc16Modbus } from './crc16.ts';
