// The WAL checkpointer thread: its own connection to the store's file, copying the WAL into it in the background (see wal-checkpointer.ts).
import { workerData } from 'node:worker_threads';
import { closeSync, fsyncSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import Database from 'better-sqlite3';
import { runWalCheckpointer, type WalCheckpointerData } from './wal-checkpointer.ts';

const { file, control, settings } = workerData as WalCheckpointerData;
const db = new Database(file);
db.pragma('busy_timeout = 5000');
// Checkpoints sync the WAL before copying and the database file after, as the writer's own would.
db.pragma('synchronous = NORMAL');
// The WAL index exists while a connection reads the database; this one keeps it open.
db.prepare('SELECT count(*) FROM sqlite_master').get();
const shm = openSync(`${file}-shm`, 'r');
const word = Buffer.alloc(4);
const little = endianness() === 'LE';
const walLength = () => (readSync(shm, word, 0, 4, 16) === 4 ? (little ? word.readUInt32LE(0) : word.readUInt32BE(0)) : 0);
const databaseFile = openSync(file, 'r');
try {
  runWalCheckpointer(db, walLength, () => fsyncSync(databaseFile), new Int32Array(control), settings);
} finally {
  closeSync(databaseFile);
  closeSync(shm);
  db.close();
}
