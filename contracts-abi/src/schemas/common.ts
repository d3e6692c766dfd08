// Shared JSON Schema fragments (draft 2020-12) for the wire protocol.
export const SCHEMA_BASE = 'https://gridmesh.dev/schemas';

export const address = { type: 'string', pattern: '^0x[0-9a-fA-F]{40}$', description: 'EVM address, 0x + 40 hex' } as const;
export const signature = { type: 'string', pattern: '^0x[0-9a-fA-F]{130}$', description: '65-byte ECDSA signature (r,s,v), 0x + 130 hex' } as const;
export const bytes32 = { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' } as const;
/** Non-negative integer that JSON numbers carry exactly. */
export const uint = { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } as const;
export const int = { type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER } as const;
/** Token base units as a decimal string (bigint inside); prices are per kWh. */
export const decimal = { type: 'string', pattern: '^(0|[1-9][0-9]{0,38})$', description: 'non-negative integer as a decimal string' } as const;
export const signedDecimal = { type: 'string', pattern: '^(0|-?[1-9][0-9]{0,38})$' } as const;
export const marketId = { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' } as const;
export const timestampMs = { ...uint, description: 'Unix time in milliseconds' } as const;
