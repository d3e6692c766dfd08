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
