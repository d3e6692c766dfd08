// Public surface of delivery settlement and rewards: the pure rules, and the services at the store edge that run them.
export * from './allocate.ts';
export * from './metering.ts';
export * from './delivery.ts';
export * from './rewards.ts';
export * from './settlement-service.ts';
export * from './reward-epochs.ts';
