// Server configuration from the environment, with the embedded defaults (SQLite in ./data, port 8080, local chain id).
import { resolve } from 'node:path';

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
}

function intEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a non-negative integer, got "${raw}"`);
  return Number(raw);
}

export function configFromEnv(env: NodeJS.ProcessEnv = process.env, overrides: Partial<ServerConfig> = {}): ServerConfig {
  const dataDir = resolve(env.GRIDMESH_DATA_DIR ?? './data');
  return {
    port: intEnv(env, 'PORT', 8080),
    host: env.HOST ?? '127.0.0.1',
    dataDir,
    sqlitePath: env.GRIDMESH_SQLITE_PATH ? resolve(env.GRIDMESH_SQLITE_PATH) : resolve(dataDir, 'gridmesh.db'),
    mongodbUri: env.MONGODB_URI || undefined,
    chainId: intEnv(env, 'CHAIN_ID', 31337),
    webDir: env.GRIDMESH_WEB_DIR ?? resolve(import.meta.dirname, '../../web/dist'),
    broadcastIntervalMs: intEnv(env, 'GRIDMESH_BROADCAST_MS', 200),
    ...overrides,
  };
}
