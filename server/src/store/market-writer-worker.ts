// The market writer thread: its own connection to the store's SQLite file; commits each posted group in one transaction and answers.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { marketWriter } from './market-sqlite.ts';
import type { WriterRequest, WriterResponse } from './market-writer-thread.ts';

const db = new Database((workerData as { file: string }).file);
// The same settings as the main connection (they are per connection): WAL, commits durable across a process crash.
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
// Checkpoint every ~32 MB of WAL instead of every 4 MB: order entry rewrites the same index pages (orders, nonces and
// trades by participant) many times between checkpoints, and a checkpoint copies each page once (≈ 25 % less CPU per
// order in a commit microbenchmark). Only this connection's automatic checkpoints change.
db.pragma('wal_autocheckpoint = 8000');
const writer = marketWriter(db);

parentPort!.on('message', (m: WriterRequest) => {
  if ('close' in m) {
    db.close();
    process.exit(0);
  }
  let error: string | null = null;
  try {
    writer.commitEncoded(m.group);
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  parentPort!.postMessage({ id: m.id, error } satisfies WriterResponse);
});
