// The WAL checkpointer thread: its own connection to the store's file, copying the WAL into it in the background (see wal-checkpointer.ts).
import { workerData } from 'node:worker_threads';
import { closeSync, fsyncSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { openWalLength, runWalCheckpointer, type WalCheckpointerData } from './wal-checkpointer.ts';

const { file, control, settings } = workerData as WalCheckpointerData;
const db = new Database(file);
db.pragma('busy_timeout = 5000');
// Checkpoints sync the WAL before copying and the database file after, as the writer's own would.
db.pragma('synchronous = NORMAL');
// The WAL index exists while a connection reads the database; this one keeps it open.
db.prepare('SELECT count(*) FROM sqlite_master').get();
const wal = openWalLength(file);
const databaseFile = openSync(file, 'r');
try {
  runWalCheckpointer(db, wal.walLength, () => fsyncSync(databaseFile), new Int32Array(control), settings);
} finally {
  closeSync(databaseFile);
  wal.close();
  db.close();
}
