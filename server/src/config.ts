// Server configuration from the environment and an optional JSON config file (GRIDMESH_CONFIG), validated with ajv.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { fieldErrors } from '@gridmesh/contracts-abi';
import { DEFAULT_MARKET, DEMO_MARKET, type MarketSettings } from './orders/market-settings.ts';

export interface ServerConfig {
  port: number;
  host: string;
  dataDir: string;
  sqlitePath: string;
  mongodbUri?: string;
  chainId: number;
  /** Directory of the built dashboard served at `/`; absent → API only. */
  webDir?: string;
  /** Broadcast coalescing interval of /market rooms (ms). */
  broadcastIntervalMs: number;
  /** Markets this process runs. */
  markets: MarketSettings[];
  /** HMAC key of session tokens (hex, ≥ 32 bytes); absent → generated once and kept in <dataDir>/session.key. */
  sessionSecret?: string;
  /** REST rate limit per client IP. */
  rateLimit: { perSecond: number; burst: number };
  /** Socket.IO Redis adapter, so several processes share /market broadcasts. */
  redisUrl?: string;
  /** Escrow every participant is assumed to hold when no chain is connected (token base units). */
  ledgerEscrow: bigint;
  /** Length of a reward epoch (ms): once all slots before an epoch boundary are settled, their rewards get one root on chain. */
  rewardEpochMs: number;
  /** Test clock: when set, the server's clock starts here and moves only via POST /api/test/clock. */
  testClockStart?: number;
}

export class ConfigError extends Error {}

function intEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(`${name} must be a non-negative integer, got "${raw}"`);
  return Number(raw);
}

const decimal = { type: 'string', pattern: '^(0|[1-9][0-9]{0,30})$' };
const marketSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,31}$' },
    preset: { enum: ['demo', 'default'] },
    mechanism: { enum: ['continuous', 'call'] },
    slotMs: { type: 'integer', minimum: 1000 },
    horizonMs: { type: 'integer', minimum: 1 },
    gateMs: { type: 'integer', minimum: 0 },
    graceMs: { type: 'integer', minimum: 0 },
    floor: decimal, cap: decimal, tick: decimal, gridFee: decimal, retailPrice: decimal, feedInPrice: decimal,
    k: { type: 'string', pattern: '^(0|1)(\\.[0-9]{1,18})?$' },
  },
};
/** Schema of the GRIDMESH_CONFIG file; every key optional, environment variables win over the file. */
export const configFileSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    host: { type: 'string' },
    chainId: { type: 'integer', minimum: 1 },
    broadcastIntervalMs: { type: 'integer', minimum: 10, maximum: 10_000 },
    markets: { type: 'array', minItems: 1, items: marketSchema },
    rateLimit: { type: 'object', additionalProperties: false, required: ['perSecond', 'burst'], properties: { perSecond: { type: 'number', exclusiveMinimum: 0 }, burst: { type: 'integer', minimum: 1 } } },
    ledgerEscrow: decimal,
    rewardEpochMs: { type: 'integer', minimum: 60_000 },
  },
} as const;

type MarketFileEntry = { id: string; preset?: 'demo' | 'default' } & Partial<Record<'mechanism' | 'k', string>> & Partial<Record<'slotMs' | 'horizonMs' | 'gateMs' | 'graceMs', number>> & Partial<Record<'floor' | 'cap' | 'tick' | 'gridFee' | 'retailPrice' | 'feedInPrice', string>>;
interface ConfigFile {
  port?: number; host?: string; chainId?: number; broadcastIntervalMs?: number; markets?: MarketFileEntry[];
  rateLimit?: { perSecond: number; burst: number }; ledgerEscrow?: string; rewardEpochMs?: number;
}

export function marketFromFile(m: MarketFileEntry): MarketSettings {
  const base = m.preset === 'default' ? DEFAULT_MARKET : DEMO_MARKET;
  const big = (v: string | undefined, fallback: bigint) => (v === undefined ? fallback : BigInt(v));
  return {
    ...base, id: m.id, mechanism: (m.mechanism as MarketSettings['mechanism'] | undefined) ?? base.mechanism, k: m.k ?? base.k,
    slotMs: m.slotMs ?? base.slotMs, horizonMs: m.horizonMs ?? base.horizonMs, gateMs: m.gateMs ?? base.gateMs, graceMs: m.graceMs ?? base.graceMs,
    floor: big(m.floor, base.floor), cap: big(m.cap, base.cap), tick: big(m.tick, base.tick), gridFee: big(m.gridFee, base.gridFee),
    retailPrice: big(m.retailPrice, base.retailPrice), feedInPrice: big(m.feedInPrice, base.feedInPrice),
  };
}

export function readConfigFile(path: string): ConfigFile {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`config file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  const check = ajv.compile(configFileSchema);
  if (!check(parsed)) {
    const problems = fieldErrors(check.errors).map((f) => `${f.field} ${f.message}`).join('; ');
    throw new ConfigError(`config file ${path}: ${problems}`);
  }
  return parsed as ConfigFile;
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ServerConfig> = {}): ServerConfig {
  const file = env.GRIDMESH_CONFIG ? readConfigFile(resolve(env.GRIDMESH_CONFIG)) : {};
  const dataDir = resolve(env.GRIDMESH_DATA_DIR ?? './data');
  const preset = env.GRIDMESH_MARKET_PRESET ?? 'default';
  if (preset !== 'demo' && preset !== 'default') throw new ConfigError(`GRIDMESH_MARKET_PRESET must be "demo" or "default", got "${preset}"`);
  const testClock = env.GRIDMESH_TEST_CLOCK;
  if (testClock !== undefined && !/^\d+$/.test(testClock)) throw new ConfigError(`GRIDMESH_TEST_CLOCK must be a time in ms, got "${testClock}"`);
  const rps = env.GRIDMESH_RATE_LIMIT_RPS;
  if (rps !== undefined && !/^\d+$/.test(rps)) throw new ConfigError(`GRIDMESH_RATE_LIMIT_RPS must be a positive integer, got "${rps}"`);
  const secret = env.GRIDMESH_SESSION_SECRET;
  if (secret !== undefined && !/^[0-9a-fA-F]{64,}$/.test(secret)) throw new ConfigError('GRIDMESH_SESSION_SECRET must be at least 32 bytes of hex');
  const rewardEpochMs = intEnv(env, 'GRIDMESH_REWARD_EPOCH_MS', file.rewardEpochMs ?? (preset === 'demo' ? 300_000 : 86_400_000));
  if (rewardEpochMs < 60_000) throw new ConfigError(`GRIDMESH_REWARD_EPOCH_MS must be at least 60000 (one minute), got ${rewardEpochMs}`);
  return {
    port: intEnv(env, 'PORT', file.port ?? 8080),
    host: env.HOST ?? file.host ?? '127.0.0.1',
    dataDir,
    sqlitePath: env.GRIDMESH_SQLITE_PATH ? resolve(env.GRIDMESH_SQLITE_PATH) : resolve(dataDir, 'gridmesh.db'),
    mongodbUri: env.MONGODB_URI || undefined,
    chainId: intEnv(env, 'CHAIN_ID', file.chainId ?? 31337),
    webDir: env.GRIDMESH_WEB_DIR ?? resolve(import.meta.dirname, '../../web/dist'),
    broadcastIntervalMs: intEnv(env, 'GRIDMESH_BROADCAST_MS', file.broadcastIntervalMs ?? 200),
    markets: file.markets?.map(marketFromFile) ?? [preset === 'demo' ? { ...DEMO_MARKET } : { ...DEFAULT_MARKET }],
    sessionSecret: secret,
    rateLimit: rps ? { perSecond: Number(rps), burst: Number(rps) * 2 } : file.rateLimit ?? { perSecond: 200, burst: 400 },
    redisUrl: env.REDIS_URL || undefined,
    ledgerEscrow: BigInt(env.GRIDMESH_LEDGER_ESCROW ?? file.ledgerEscrow ?? '100000000'),
    // A day by default (one root transaction per day); the 1-minute demo market publishes every 5 minutes so a visitor can claim.
    rewardEpochMs,
    testClockStart: testClock === undefined ? undefined : Number(testClock),
    ...overrides,
  };
}
