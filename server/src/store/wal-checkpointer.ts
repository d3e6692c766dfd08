// Background WAL checkpoints for the market writer: a thread copies committed pages into the database file, and the writer finishes the small remainder between two groups so that the WAL restarts.
import { Worker } from 'node:worker_threads';
import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import type Database from 'better-sqlite3';

/*
 * Why: with `synchronous = NORMAL` a commit is a few page writes, but SQLite's automatic checkpoint runs inside the
 * commit that crosses its threshold, so that one commit (and every order waiting behind it) pays for copying the
 * whole WAL: 40–70 ms every ~250 ms at 5,000 orders/s, the bulk of the order latency tail. A checkpoint in PASSIVE mode
 * may run on any connection while the writer writes, but it can never finish on its own (the writer keeps adding
 * frames), and the WAL only restarts from its beginning when a write transaction starts with every frame copied.
 * So the checkpointer thread copies in passes that shrink (each copies what the writer added during the last), and
 * then asks the writer — through shared memory, no message — to run the last pass itself between two groups: a few
 * hundred frames, after which its next transaction restarts the WAL.
 */

/** Slots of the shared control array. */
const REQUEST = 0;
const FINALS = 1;
const PASSES = 2;
const LAST_FINAL_US = 3;
const HANDED_OVER = 4;
const SLOTS = 5;
/** REQUEST values. */
const IDLE = 0;
const FINAL = 1;
const STOP = 2;

export interface WalCheckpointerSettings {
  /**
   * Frames in the WAL before a cycle starts (12,000 frames of 4 kB ≈ 48 MB, about 0.45 s of order entry at 5,000/s):
   * the longer the cycle, the more often a page rewritten many times is copied only once.
   */
  startFrames: number;
  /** Hand the last pass to the writer once at most this many frames are left uncopied. */
  remainderFrames: number;
  /** Copying passes per cycle before the writer is asked to finish whatever is left. */
  maxPasses: number;
  /** How often the thread looks at the WAL's length (a 4-byte read of the shared-memory index). */
  pollMs: number;
}

export const DEFAULT_WAL_CHECKPOINTER: WalCheckpointerSettings = { startFrames: 12_000, remainderFrames: 256, maxPasses: 5, pollMs: 10 };

/**
 * What the writer thread's `stats` request reports: the thread's copying passes, the last passes the writer ran (and
 * how long the latest took), and how many frames were left for it at the latest hand-over.
 */
export interface WalCheckpointStats { passes: number; finals: number; lastFinalMs: number; lastHandedOverFrames: number }

/**
 * The checkpointer's settings from the environment, or null when it is off: `GRIDMESH_WAL_CHECKPOINTER=0` leaves
 * checkpoints to SQLite's automatic checkpoint in the writer's commits; `GRIDMESH_WAL_CHECKPOINT_FRAMES` sets
 * `startFrames` (a positive integer).
 */
export function walCheckpointerSettings(env: NodeJS.ProcessEnv = process.env): WalCheckpointerSettings | null {
  if (env.GRIDMESH_WAL_CHECKPOINTER === '0') return null;
  const raw = env.GRIDMESH_WAL_CHECKPOINT_FRAMES;
  if (raw === undefined || raw === '') return DEFAULT_WAL_CHECKPOINTER;
  const startFrames = Number(raw);
  if (!Number.isSafeInteger(startFrames) || startFrames < 1) {
    throw new Error(`GRIDMESH_WAL_CHECKPOINT_FRAMES must be a positive integer (frames), got "${raw}"`);
  }
  return { ...DEFAULT_WAL_CHECKPOINTER, startFrames };
}

/**
 * SQLite's automatic checkpoint for the writer when no checkpointer runs: every ~32 MB of WAL instead of every 4 MB.
 * Order entry rewrites the same index pages (orders, nonces and trades by participant) many times between checkpoints,
 * and a checkpoint copies each page once (≈ 25 % less CPU per order in a commit microbenchmark).
 */
export const WRITER_AUTOCHECKPOINT_FRAMES = 8_000;

/**
 * SQLite's automatic checkpoint for any connection while the checkpointer runs: a backstop far enough out (3× a cycle)
 * never to run while the thread keeps up. It matters most for the store's main connection: its checkpoints run on the
 * event loop, and at the default 1,000 frames any write there (a slot changing state) copied the whole WAL.
 */
export function backstopFrames(settings: WalCheckpointerSettings): number {
  return Math.max(settings.startFrames * 3, WRITER_AUTOCHECKPOINT_FRAMES);
}

/** Data handed to the checkpointer thread. */
export interface WalCheckpointerData { file: string; control: SharedArrayBuffer; settings: WalCheckpointerSettings }

/**
 * The writer's side: starts the checkpointer thread and, after each group, runs the last pass when asked. The thread
 * holds no lock the writer waits for (PASSIVE checkpoints take only the checkpoint lock), so the writer never blocks.
 */
export class WalCheckpointCoordinator {
  private readonly control = new Int32Array(new SharedArrayBuffer(SLOTS * 4));
  private readonly worker: Worker;
  private exited = false;
  private stopping = false;

  constructor(private readonly db: Database.Database, file: string, settings: WalCheckpointerSettings = DEFAULT_WAL_CHECKPOINTER) {
    db.pragma(`wal_autocheckpoint = ${backstopFrames(settings)}`);
    const data: WalCheckpointerData = { file, control: this.control.buffer as SharedArrayBuffer, settings };
    this.worker = new Worker(new URL('./wal-checkpointer-boot.mjs', import.meta.url), { workerData: data });
    this.worker.unref();
    // A checkpointer that dies only costs latency: the writer's own automatic checkpoint takes over at its usual size.
    this.worker.on('error', () => undefined);
    this.worker.once('exit', () => {
      this.exited = true;
      if (!this.stopping && this.db.open) this.db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_FRAMES}`);
    });
  }

  /** Call between groups: cheap (one atomic load) unless the thread asked for the last pass. */
  afterGroup(): void {
    if (Atomics.load(this.control, REQUEST) !== FINAL) return;
    const t = performance.now();
    this.db.pragma('wal_checkpoint(PASSIVE)');
    Atomics.store(this.control, LAST_FINAL_US, Math.round((performance.now() - t) * 1000));
    Atomics.add(this.control, FINALS, 1);
    if (Atomics.compareExchange(this.control, REQUEST, FINAL, IDLE) === FINAL) Atomics.notify(this.control, REQUEST);
  }

  /** Null once the thread has died (the writer is back on SQLite's automatic checkpoint). */
  stats(): WalCheckpointStats | null {
    if (this.exited) return null;
    return {
      passes: Atomics.load(this.control, PASSES), finals: Atomics.load(this.control, FINALS),
      lastFinalMs: Atomics.load(this.control, LAST_FINAL_US) / 1000, lastHandedOverFrames: Atomics.load(this.control, HANDED_OVER),
    };
  }

  /** Stops the thread (it finishes its current pass, then closes its connection). */
  async stop(): Promise<void> {
    this.stopping = true;
    Atomics.store(this.control, REQUEST, STOP);
    Atomics.notify(this.control, REQUEST);
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      this.worker.once('exit', () => resolve());
      setTimeout(() => { void this.worker.terminate().then(() => resolve()); }, 2_000).unref();
    });
  }
}

/** Frames in the WAL: `mxFrame`, a 32-bit native-endian word at byte 16 of the WAL index (https://sqlite.org/walformat.html). */
export type WalLength = () => number;

/**
 * Reads the WAL's length of the database `file` from its shared-memory index (`<file>-shm`, which exists while a
 * connection has the database open): a 4-byte read, no lock, no checkpoint.
 */
export function openWalLength(file: string): { walLength: WalLength; close(): void } {
  const shm = openSync(`${file}-shm`, 'r');
  const word = Buffer.alloc(4);
  const little = endianness() === 'LE';
  return {
    walLength: () => (readSync(shm, word, 0, 4, 16) === 4 ? (little ? word.readUInt32LE(0) : word.readUInt32BE(0)) : 0),
    close: () => closeSync(shm),
  };
}

/**
 * One cycle's copying passes: each copies what the writer added during the last one (and its flush), so passes shrink
 * until at most `remainderFrames` are left (or `maxPasses` ran); the writer's own last pass then copies and flushes only
 * those. `pass` returns the frames copied so far in this WAL. Returns the frames left uncopied.
 */
export function copyUntilRemainder(pass: () => number, walLength: WalLength, s: Pick<WalCheckpointerSettings, 'remainderFrames' | 'maxPasses'>): number {
  // The WAL's length is read after each pass: what the writer appended while it ran is what the next pass copies
  // (read before it, the remainder always looks like 0 and the writer's last pass copies a whole pass's worth).
  let left = 0;
  for (let p = 0; p < s.maxPasses; p++) {
    const copied = pass();
    left = Math.max(0, walLength() - copied);
    if (left <= s.remainderFrames) break;
  }
  return left;
}

/**
 * The checkpointer thread's loop (runs until asked to stop): waits for the WAL to reach `startFrames`, copies it in
 * shrinking passes on its own connection, then asks the writer for the last pass and waits for it.
 */
export function runWalCheckpointer(
  db: Database.Database, walLength: WalLength, syncDatabase: () => void, control: Int32Array, s: WalCheckpointerSettings,
): void {
  const wait = (expected: number, ms: number) => Atomics.wait(control, REQUEST, expected, ms);
  /** Copies what the WAL holds now and flushes it; returns the frames copied so far in this WAL. */
  const pass = (): number => {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    Atomics.add(control, PASSES, 1);
    // SQLite syncs the database file only after a pass that reaches the WAL's end — the writer's last pass — which
    // would then flush every page copied here (10–30 ms on the writer's clock). Flushed here, it flushes only its own.
    syncDatabase();
    return r.checkpointed;
  };
  for (;;) {
    if (Atomics.load(control, REQUEST) === STOP) return;
    if (walLength() < s.startFrames) { wait(IDLE, s.pollMs); continue; }
    const left = copyUntilRemainder(pass, walLength, s);
    if (Atomics.load(control, REQUEST) === STOP) return;
    Atomics.store(control, HANDED_OVER, left);
    Atomics.compareExchange(control, REQUEST, IDLE, FINAL);
    // Let the restart happen before looking at the WAL's length again.
    wait(FINAL, 1_000);
    if (Atomics.load(control, REQUEST) === FINAL) Atomics.compareExchange(control, REQUEST, FINAL, IDLE);
    wait(IDLE, s.pollMs);
  }
}
