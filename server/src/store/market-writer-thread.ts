// Main-thread side of the market writer thread: posts group commits to a worker with its own SQLite connection and resolves each once its transaction committed.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { MarketCommit } from './market-port.ts';
import { encodeCommitGroup, type CommitCell } from './commit-group-codec.ts';
import type { WalCheckpointStats } from './wal-checkpointer.ts';

/** Main → writer: a group to commit, a question about its checkpoints, or the end. */
export type WriterRequest = { id: number; group: CommitCell[] } | { id: number; stats: true } | { close: true };
/** Writer → main: committed, or the error that rolled the transaction back (and the answer to `stats`). */
export interface WriterResponse { id: number; error: string | null; checkpoints?: WalCheckpointStats | null }

/**
 * `GRIDMESH_MARKET_WRITER_THREAD=0` commits on the main thread; by default a writer thread is used on ≥ 2 cores
 * (with one core the thread only adds message passing).
 */
export function writerThreadEnabled(): boolean {
  const raw = process.env.GRIDMESH_MARKET_WRITER_THREAD;
  if (raw !== undefined && raw !== '') return raw !== '0';
  return availableParallelism() >= 2;
}

/** How often the writer checks that the store's main connection is still open (it closes with it). */
const WATCH_MS = 2_000;

/**
 * One worker thread with its own connection to the store's file, committing groups strictly in the order they were
 * posted (one message at a time). A commit resolves only after SQLite committed it, so "answered after commit" holds
 * as on the main thread. If the worker dies, its pending groups are refused (the runtime then replays its journal)
 * and the next group starts a fresh worker; SQLite rolls an interrupted transaction back. The worker starts with the
 * first group and lives as long as the store's main connection (it stops within seconds of `store.close()`), so no
 * order after the first pays for its start.
 */
export class MarketWriterThread {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (m: WriterResponse) => void; reject: (err: Error) => void }>();
  private watch: NodeJS.Timeout | null = null;

  /** `lifecycle` hears each worker start and exit (the store's main connection adjusts its checkpoints to it). */
  constructor(
    private readonly file: string, private readonly storeOpen: () => boolean,
    private readonly lifecycle: { started(): void; stopped(): void } = { started() {}, stopped() {} },
  ) {}

  private start(): Worker {
    // The worker is TypeScript; a worker thread does not inherit the tsx loader, so a tiny JS entry registers it first.
    const worker = new Worker(new URL('./market-writer-boot.mjs', import.meta.url), { workerData: { file: this.file } });
    worker.unref();
    worker.on('message', (m: WriterResponse) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error === null) p.resolve(m);
      else p.reject(new Error(m.error));
    });
    const fail = (err: Error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      fail(new Error(`market writer thread exited (${code})`));
      // Not when a successor already started (after this one's 'error'): its start was heard last.
      if (this.worker === null) this.lifecycle.stopped();
    });
    this.lifecycle.started();
    this.worker = worker;
    if (!this.watch) {
      this.watch = setInterval(() => {
        if (this.storeOpen() || !this.worker) return;
        // The store closed: the worker finishes what it was sent, closes its connection and exits.
        this.worker.postMessage({ close: true } satisfies WriterRequest);
        this.worker = null;
        if (this.watch) clearInterval(this.watch);
        this.watch = null;
      }, WATCH_MS);
      this.watch.unref();
    }
    return worker;
  }

  commitMany(changes: MarketCommit[]): Promise<void> {
    return this.ask((id) => ({ id, group: encodeCommitGroup(changes) })).then(() => undefined);
  }

  /** The background checkpointer's work so far (null when it is turned off); starts the writer if it is not running. */
  async checkpointStats(): Promise<WalCheckpointStats | null> {
    return (await this.ask((id) => ({ id, stats: true }))).checkpoints ?? null;
  }

  private ask(request: (id: number) => WriterRequest): Promise<WriterResponse> {
    if (!this.storeOpen()) return Promise.reject(new Error('the store is closed'));
    const id = this.nextId++;
    return new Promise<WriterResponse>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        (this.worker ?? this.start()).postMessage(request(id));
      } catch (err) {
        this.pending.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
}
