// The market writer thread: its own connection to the store's SQLite file; commits each posted group in one transaction and answers.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { marketWriter } from './market-sqlite.ts';
import { WRITER_AUTOCHECKPOINT_FRAMES, WalCheckpointCoordinator, walCheckpointerSettings } from './wal-checkpointer.ts';
import type { WriterRequest, WriterResponse } from './market-writer-thread.ts';

const file = (workerData as { file: string }).file;
const db = new Database(file);
// The same settings as the main connection (they are per connection): WAL, commits durable across a process crash.
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');
const writer = marketWriter(db);
// Checkpoints run beside the writer (wal-checkpointer.ts), or inside its commits when that is turned off.
const checkpointSettings = walCheckpointerSettings();
const checkpoints = checkpointSettings ? new WalCheckpointCoordinator(db, file, checkpointSettings) : null;
if (!checkpoints) db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_FRAMES}`);

parentPort!.on('message', (m: WriterRequest) => {
  if ('close' in m) {
    void (checkpoints?.stop() ?? Promise.resolve()).finally(() => {
      db.close();
      process.exit(0);
    });
    return;
  }
  if ('stats' in m) {
    parentPort!.postMessage({ id: m.id, error: null, checkpoints: checkpoints?.stats() ?? null } satisfies WriterResponse);
    return;
  }
  let error: string | null = null;
  try {
    writer.commitEncoded(m.group);
  } catch (err) {
    error = err instanceof Error ? err.message : String(err);
  }
  parentPort!.postMessage({ id: m.id, error } satisfies WriterResponse);
  // After the answer: the group that happens to be last before a WAL restart is not held back by it.
  checkpoints?.afterGroup();
});
