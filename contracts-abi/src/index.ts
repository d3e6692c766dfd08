// Public surface of @gridmesh/contracts-abi: EIP-712 definitions, wire schemas, their types and validators.
export * from './eip712.ts';
export * from './errors.ts';
export * from './types.ts';
export * from './schemas/messages.ts';
export * as schemaParts from './schemas/common.ts';
export * from './validate.ts';
export * from './reading-hash.ts';
export * from './contracts.ts';
export * from './trade-leaf.ts';
