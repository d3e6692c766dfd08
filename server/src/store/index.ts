// Opens the configured store adapter: MongoDB when a URI is given, otherwise the embedded SQLite file.
import type { Store } from './port.ts';
import { openSqliteStore } from './sqlite.ts';

export type { Store } from './port.ts';
export * from './port.ts';

export interface StoreConfig {
  sqlitePath: string;
  mongodbUri?: string;
}

export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.mongodbUri) {
    const { openMongoStore } = await import('./mongo.ts');
    return openMongoStore(config.mongodbUri);
  }
  return openSqliteStore(config.sqlitePath);
}
