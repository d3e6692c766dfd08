// Order signer recovery (EIP-712 digest + libsecp256k1 ecdsaRecover) in a worker thread, one batch in flight (what queues meanwhile goes next as one message), so the main thread keeps its core for I/O, matching and commits.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { Address } from '@gridmesh/contracts-abi';
import type { SignedOrderFields } from './order-signature.ts';

/** One order to recover: the chain id picks the EIP-712 domain (one pool serves every server in the process). */
export interface RecoverRequestItem { chainId: number; fields: SignedOrderFields; signature: string }
/**
 * Main → worker: the orders queued in one event-loop turn, flattened to `ITEM_WIDTH` primitives each (see `flattenItem`):
 * a flat array of strings and numbers clones in about half the time of one object per order with its field names.
 */
export interface RecoverRequest { id: number; flat: (string | number)[] }
/** Worker → main: the signer of each item (lower case), or null for a malformed or malleable signature. */
export interface RecoverResponse { id: number; signers: (Address | null)[] }

/** Primitives per order in `RecoverRequest.flat`. */
export const ITEM_WIDTH = 11;

function flattenItem(out: (string | number)[], item: RecoverRequestItem): void {
  const f = item.fields;
  out.push(item.chainId, f.participant, f.market, f.slot, f.side, f.price, f.quantityWh, f.timeInForce, f.nonce, f.expiry, item.signature);
}

/** The inverse of `flattenItem` for the item at `index` (the worker's side). */
export function itemAt(flat: (string | number)[], index: number): RecoverRequestItem {
  const i = index * ITEM_WIDTH;
  return {
    chainId: flat[i] as number,
    fields: {
      participant: flat[i + 1] as SignedOrderFields['participant'], market: flat[i + 2] as string, slot: flat[i + 3] as number,
      side: flat[i + 4] as SignedOrderFields['side'], price: flat[i + 5] as string, quantityWh: flat[i + 6] as number,
      timeInForce: flat[i + 7] as SignedOrderFields['timeInForce'], nonce: flat[i + 8] as number, expiry: flat[i + 9] as number,
    },
    signature: flat[i + 10] as string,
  };
}

/** Orders per message: large enough to amortise a postMessage (≈ one recovery's cost), small enough to overlap. */
const CHUNK = 16;

interface Waiting { resolve: (signers: (Address | null)[]) => void; reject: (err: Error) => void }

/**
 * Recovers order signers in one worker thread, one batch in flight: orders arriving in the same I/O turn, or while the
 * worker is busy, travel in one message (a postMessage costs about as much as one recovery, so batching is what makes
 * the move pay on 2 cores). A dead worker fails its batch and the orders queued behind it; their callers then recover
 * inline, so an order is never accepted unverified nor refused for the pool's sake.
 */
export class RecoverPool {
  private worker: Worker | null = null;
  private nextId = 1;
  private queue: RecoverRequestItem[] = [];
  private waiters: { resolve: (a: Address | null) => void; reject: (e: Error) => void }[] = [];
  private scheduled = false;
  private readonly inFlight = new Map<number, Waiting>();
  private closed = false;

  private start(): Worker {
    // The worker is TypeScript; a worker thread does not inherit the tsx loader, so a tiny JS entry registers it first.
    const worker = new Worker(new URL('./recover-worker-boot.mjs', import.meta.url));
    // A process never waits for this pool to exit; in-flight batches of a dying process are not acknowledged anyway.
    worker.unref();
    worker.on('message', (m: RecoverResponse) => {
      const w = this.inFlight.get(m.id);
      if (!w) return;
      this.inFlight.delete(m.id);
      w.resolve(m.signers);
      // What queued while the worker was busy goes now, as one message.
      if (this.queue.length > 0) this.send();
    });
    const fail = (err: Error) => {
      if (this.worker === worker) this.worker = null;
      for (const w of this.inFlight.values()) w.reject(err);
      this.inFlight.clear();
      this.failQueued(err);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`order recover worker exited (${code})`)));
    this.worker = worker;
    return worker;
  }

  recover(chainId: number, fields: SignedOrderFields, signature: string): Promise<Address | null> {
    if (this.closed) return Promise.reject(new Error('recover pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ chainId, fields, signature });
      this.waiters.push({ resolve, reject });
      // One batch in flight at a time: while the worker recovers, later orders queue here and follow as one message
      // when it answers. (With a message per turn, the worker's own queue held many small batches: in the open-loop
      // bench at 5,000 orders/s that cost ≈ 7 % more server CPU per order and 1.6× the median latency.)
      if (this.inFlight.size > 0) return;
      // A full chunk goes at once, so the worker recovers while this thread still parses the rest of the turn's orders
      // (one message per whole turn left the two threads taking turns instead of overlapping).
      if (this.queue.length >= CHUNK) this.send();
      else if (!this.scheduled) {
        this.scheduled = true;
        // After this I/O turn: every order parsed in it shares one message (unless a chunk went meanwhile and is
        // still out: then its reply sends them).
        setImmediate(() => { this.scheduled = false; if (this.inFlight.size === 0) this.send(); });
      }
    });
  }

  /**
   * Sends every queued order as one message. No cap: the batch grows with the backlog, so a worker that waited for a busy
   * event loop catches up in one round trip (capped at 64, two of eight open-loop bench runs fell behind).
   */
  private send(): void {
    if (this.queue.length === 0) return;
    if (this.closed) { this.failQueued(new Error('recover pool is closed')); return; }
    const items = this.queue;
    const waiters = this.waiters;
    this.queue = [];
    this.waiters = [];
    const id = this.nextId++;
    this.inFlight.set(id, {
      resolve: (signers) => { for (let i = 0; i < waiters.length; i++) waiters[i].resolve(signers[i] ?? null); },
      reject: (err) => { for (const w of waiters) w.reject(err); },
    });
    try {
      const flat: (string | number)[] = [];
      for (const item of items) flattenItem(flat, item);
      (this.worker ?? this.start()).postMessage({ id, flat } satisfies RecoverRequest);
    } catch (err) {
      this.inFlight.delete(id);
      const failure = err instanceof Error ? err : new Error(String(err));
      for (const w of waiters) w.reject(failure);
      this.failQueued(failure);
    }
  }

  /**
   * The orders queued behind a failed batch fail with it (their callers recover inline) rather than wait for a reply
   * that will never come.
   */
  private failQueued(err: Error): void {
    const waiting = this.waiters;
    this.queue = [];
    this.waiters = [];
    for (const w of waiting) w.reject(err);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.worker?.terminate();
  }
}

/**
 * Worker threads for recovery: `GRIDMESH_ORDER_RECOVER_WORKERS` (0 = inline on the main thread), by default one when
 * the machine has ≥ 2 cores. Measured on 2 cores: see bench/results/ingest.md.
 */
export function recoverWorkersFromEnv(): number {
  const raw = process.env.GRIDMESH_ORDER_RECOVER_WORKERS;
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    return Number.isInteger(n) && n > 0 ? 1 : 0;
  }
  return availableParallelism() >= 2 ? 1 : 0;
}

let shared: RecoverPool | null = null;

/** The process-wide pool (started on first use), or null when recovery runs inline. */
export function sharedRecoverPool(): RecoverPool | null {
  if (recoverWorkersFromEnv() === 0) return null;
  shared ??= new RecoverPool();
  return shared;
}
