// Public surface of delivery settlement and rewards (pure: no I/O, no clock).
export * from './allocate.ts';
export * from './metering.ts';
export * from './delivery.ts';
export * from './rewards.ts';
export * from './settlement-service.ts';
