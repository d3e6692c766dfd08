// Verification pool: spreads reading batches over worker threads (node:worker_threads) so signatures verify on every core.
import { Worker } from 'node:worker_threads';
import type { SignedMeterReading } from '@gridmesh/contracts-abi';
import type { VerifyOutcome } from './reading-verifier.ts';
import { NUMBERS_PER_READING, type VerifyRequest, type VerifyResponse } from './verify-message.ts';

const OUTCOMES: VerifyOutcome[] = ['ok', 'bad-signature', 'wrong-signer'];

interface PoolWorker {
  worker: Worker;
  /** Readings sent and not yet answered: the pool picks the least loaded worker. */
  load: number;
  pending: Map<number, { resolve: (o: VerifyOutcome[]) => void; reject: (e: Error) => void; n: number }>;
}

/** Verifies batches in worker threads; answers in the order of the batch, whatever the order of completion across batches. */
export class VerifyPool {
  private readonly workers: PoolWorker[] = [];
  private nextId = 1;
  private closed = false;
  readonly ready: Promise<void>;

  constructor(private readonly chainId: number, readonly size: number) {
    if (!(size >= 1)) throw new RangeError('a verify pool needs at least one worker');
    const readies: Promise<void>[] = [];
    for (let i = 0; i < size; i++) {
      const { slot, ready } = this.spawn();
      this.workers.push(slot);
      readies.push(ready);
    }
    this.ready = Promise.all(readies).then(() => undefined);
  }

  /** Starts one worker; if it dies later, its pending batches fail (not acknowledged) and a fresh worker takes its place. */
  private spawn(): { slot: PoolWorker; ready: Promise<void> } {
    // The worker is TypeScript; a worker thread does not inherit the tsx loader, so a tiny JS entry registers it first.
    const worker = new Worker(new URL('./verify-worker-boot.mjs', import.meta.url), { workerData: { chainId: this.chainId } });
    worker.unref();
    const w: PoolWorker = { worker, load: 0, pending: new Map() };
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      const onReady = (m: { ready?: boolean }) => {
        if (!m.ready) return;
        worker.off('message', onReady);
        worker.off('error', reject);
        resolve();
      };
      worker.on('message', onReady);
    });
    worker.on('message', (m: VerifyResponse | { ready: true }) => {
      if (!('id' in m)) return;
      const p = w.pending.get(m.id);
      if (!p) return;
      w.pending.delete(m.id);
      w.load -= p.n;
      p.resolve(Array.from(m.outcomes, (c) => OUTCOMES[c]));
    });
    worker.on('error', (err) => this.failAll(w, err));
    worker.on('exit', (code) => {
      this.failAll(w, new Error(`verify worker exited (${code})`));
      if (this.closed) return;
      const i = this.workers.indexOf(w);
      if (i < 0) return;
      const fresh = this.spawn();
      // A replacement that cannot boot fails its own batches; never an unhandled rejection.
      fresh.ready.catch(() => undefined);
      this.workers[i] = fresh.slot;
    });
    return { slot: w, ready };
  }

  private failAll(w: PoolWorker, err: Error): void {
    for (const p of w.pending.values()) p.reject(err);
    w.pending.clear();
    w.load = 0;
  }

  /** Readings queued at the least loaded worker. */
  minLoad(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const w of this.workers) if (w.load < min) min = w.load;
    return min;
  }

  /** Outcomes of `readings` (same order). Rejects if the pool is closed or a worker died. */
  verify(readings: SignedMeterReading[]): Promise<VerifyOutcome[]> {
    if (this.closed) return Promise.reject(new Error('verify pool is closed'));
    let w = this.workers[0];
    for (const c of this.workers) if (c.load < w.load) w = c;
    const id = this.nextId++;
    const n = readings.length;
    const meters = new Array<string>(n);
    const signatures = new Array<string>(n);
    const numbers = new Float64Array(n * NUMBERS_PER_READING);
    for (let i = 0, o = 0; i < n; i++, o += NUMBERS_PER_READING) {
      const r = readings[i];
      meters[i] = r.meter;
      signatures[i] = r.signature;
      numbers[o] = r.seq; numbers[o + 1] = r.timestamp; numbers[o + 2] = r.importWh;
      numbers[o + 3] = r.exportWh; numbers[o + 4] = r.powerW; numbers[o + 5] = r.flags;
    }
    return new Promise((resolve, reject) => {
      w.pending.set(id, { resolve, reject, n });
      w.load += n;
      w.worker.postMessage({ id, meters, numbers, signatures } satisfies VerifyRequest, [numbers.buffer]);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
  }
}
