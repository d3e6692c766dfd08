// The stores a contract suite runs against: an SQLite file always, a MongoDB database when MONGODB_URI is set.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore } from '../../server/src/store/sqlite.ts';
import type { Store } from '../../server/src/store/index.ts';

export interface StoreTarget {
  /** Opens the store; the same target opened again must see what was committed before. */
  open(): Promise<Store>;
  /** Removes everything the target created. */
  destroy(): Promise<void>;
}

export interface TargetKind {
  name: 'SQLite' | 'MongoDB';
  /** Null when this kind cannot run here; `skipReason` says why, printed when the suite is skipped. */
  make(prefix: string): StoreTarget | null;
  skipReason: string;
}

export const STORE_TARGETS: TargetKind[] = [
  {
    name: 'SQLite',
    make(prefix) {
      const dir = mkdtempSync(join(tmpdir(), `gridmesh-${prefix}-`));
      return { open: async () => openSqliteStore(join(dir, 'store.db')), destroy: async () => rmSync(dir, { recursive: true, force: true }) };
    },
    skipReason: 'never skipped',
  },
  {
    name: 'MongoDB',
    make(prefix) {
      const uri = process.env.MONGODB_URI;
      if (!uri) return null;
      // Each run uses its own database so parallel runs and reruns never see each other's rows.
      const url = new URL(uri);
      url.pathname = `/gridmesh_${prefix.replace(/-/g, '_')}_${process.pid}_${Date.now()}`;
      return {
        open: async () => (await import('../../server/src/store/mongo.ts')).openMongoStore(url.toString()),
        destroy: async () => {
          const mongoose = (await import('mongoose')).default;
          const conn = await mongoose.createConnection(url.toString()).asPromise();
          await conn.dropDatabase();
          await conn.close();
        },
      };
    },
    skipReason: 'MONGODB_URI is not set (no MongoDB server on this machine; set MONGODB_URI — a replica set, for transactions — to run this suite against a real one)',
  },
];
