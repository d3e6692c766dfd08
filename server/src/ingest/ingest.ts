// Ingests signed reading batches: schema → known meter → signature → monotonic seq/counters → commit → ack result.
import { ErrorCode, validate, type Address, type ReadingBatch, type SignedMeterReading, type WireError } from '@gridmesh/contracts-abi';
import { availableParallelism } from 'node:os';
import type { Store, StoredReading } from '../store/index.ts';
import { ReadingVerifier, type VerifyOutcome } from './reading-verifier.ts';
import { VerifyPool } from './verify-pool.ts';
import { CommitGroup } from './commit-group.ts';

export interface IngestResult {
  accepted: number;
  duplicates: number;
  lastSeq: number;
  /** The readings newly committed by this batch (for live broadcast). */
  committed: StoredReading[];
  error?: WireError;
}

interface MeterCursor {
  seq: number;
  importWh: number;
  exportWh: number;
  timestamp: number;
}

export interface ReadingIngestOptions {
  /**
   * Worker threads that verify signatures (0 = verify on the calling thread). Default: one per core when the machine
   * has at least two — measured on 2 cores: main thread (Socket.IO, schema, SQLite, ~15 µs/reading) + two verify
   * workers (~59 µs/reading) keeps both cores busy (see bench/results/ingest.md). Overridden by the environment
   * variable GRIDMESH_VERIFY_WORKERS when this is unset.
   */
  verifyWorkers?: number;
  /** Batches smaller than this are verified inline: a worker round trip costs more than a few verifies. Default 4. */
  inlineBelow?: number;
  /**
   * When every worker already has this many readings queued, the calling thread verifies the batch itself (work
   * stealing by the main thread). Under a steady load every worker ALWAYS has a queue, so any finite threshold moves
   * most verification back onto the main thread, which then becomes the bottleneck (measured: 15.3 k/s with stealing at
   * 400 vs 20.9 k/s without, 2 workers on 2 cores). Default: Infinity (never) when the workers cover every core;
   * 400 (8 batches of 50) when there are fewer workers than cores, so an idle core can still help.
   * Overridden by GRIDMESH_VERIFY_INLINE_ABOVE when unset.
   */
  inlineAbove?: number;
}

/**
 * One ingestion pipeline per server. Batches of one meter are processed strictly one after another
 * (a per-meter promise chain), so the monotonic checks see every earlier commit even on async stores.
 * Signatures of a batch are verified in a worker pool (other meters' batches run meanwhile); nothing is acknowledged
 * before its commit returns.
 */
export class ReadingIngest {
  private verifier: ReadingVerifier;
  private readonly pool: VerifyPool | null;
  private readonly inlineBelow: number;
  private readonly inlineAbove: number;
  private readonly ready: Promise<void>;
  private readonly commits: CommitGroup;
  private readonly cursors = new Map<string, MeterCursor>();
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(private readonly store: Store, chainId: number, private readonly now: () => number = Date.now, options: ReadingIngestOptions = {}) {
    this.verifier = new ReadingVerifier(chainId);
    this.commits = new CommitGroup(store);
    const fromEnv = process.env.GRIDMESH_VERIFY_WORKERS;
    const cores = availableParallelism();
    const workers = options.verifyWorkers ?? (fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : cores >= 2 ? cores : 0);
    if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`GRIDMESH_VERIFY_WORKERS must be a non-negative integer, got ${fromEnv}`);
    this.pool = workers > 0 ? new VerifyPool(chainId, workers) : null;
    this.inlineBelow = options.inlineBelow ?? 4;
    const above = process.env.GRIDMESH_VERIFY_INLINE_ABOVE;
    this.inlineAbove = options.inlineAbove ?? (above !== undefined && above !== '' ? Number(above) : workers >= cores ? Number.POSITIVE_INFINITY : 400);
    this.ready = Promise.all([
      ReadingVerifier.fast(chainId).then((v) => { this.verifier = v; }),
      this.pool?.ready,
    ]).then(() => undefined);
    // An unhandled rejection here would crash the server before anyone awaits it; ingest() rethrows it.
    this.ready.catch(() => undefined);
  }

  /** Stops the verification workers (pending batches fail and are not acknowledged). */
  async close(): Promise<void> {
    await this.pool?.close();
  }

  private async verifyAll(readings: SignedMeterReading[]): Promise<VerifyOutcome[]> {
    if (this.pool && readings.length >= this.inlineBelow && this.pool.minLoad() < this.inlineAbove) return this.pool.verify(readings);
    return this.verifier.verifyMany(readings.map((r) => ({ reading: r, signature: r.signature })));
  }

  /** Validates the envelope, then processes the batch in order; readings before a refused one stay committed. */
  async ingest(batch: unknown, authenticatedMeter?: Address): Promise<IngestResult> {
    const checked = validate<ReadingBatch>('ReadingBatch', batch);
    if (!checked.ok) return { accepted: 0, duplicates: 0, lastSeq: -1, committed: [], error: checked.error };
    const readings = checked.value.readings;
    const meter = readings[0].meter.toLowerCase();
    const foreign = readings.findIndex((r) => r.meter.toLowerCase() !== meter || (authenticatedMeter && r.meter.toLowerCase() !== authenticatedMeter.toLowerCase()));
    if (foreign >= 0) {
      return {
        accepted: 0, duplicates: 0, lastSeq: -1, committed: [],
        error: { code: ErrorCode.FORBIDDEN, message: 'a batch carries readings of one meter: the one this connection authenticated', index: foreign },
      };
    }
    await this.ready;
    const previous = this.queues.get(meter) ?? Promise.resolve();
    const run = previous.then(() => this.ingestOneMeter(meter as Address, readings));
    this.queues.set(meter, run.catch(() => undefined));
    return run;
  }

  private async cursor(meter: Address): Promise<MeterCursor | null> {
    const cached = this.cursors.get(meter);
    if (cached) return cached;
    const latest = await this.store.readings.latest(meter);
    if (!latest) return null;
    const c = { seq: latest.seq, importWh: latest.importWh, exportWh: latest.exportWh, timestamp: latest.timestamp };
    this.cursors.set(meter, c);
    return c;
  }

  private async ingestOneMeter(meter: Address, readings: SignedMeterReading[]): Promise<IngestResult> {
    const registered = await this.store.meters.get(meter);
    if (!registered) {
      return { accepted: 0, duplicates: 0, lastSeq: -1, committed: [], error: { code: ErrorCode.UNKNOWN_METER, message: `meter ${meter} is not registered`, index: 0 } };
    }
    let cursor = await this.cursor(meter);
    // Readings at or below the stored cursor are either identical resends (duplicates) or replays.
    const old = cursor ? readings.filter((r) => r.seq <= cursor!.seq).map((r) => r.seq) : [];
    const stored = old.length ? new Map((await this.store.readings.getBySeq(meter, old)).map((r) => [r.seq, r])) : new Map<number, StoredReading>();

    const verdicts = await this.verifyAll(readings);
    const fresh: StoredReading[] = [];
    let duplicates = 0;
    let error: WireError | undefined;
    const receivedAt = this.now();
    for (let i = 0; i < readings.length; i++) {
      const r = readings[i];
      const verdict = verdicts[i];
      if (verdict !== 'ok') {
        error = { code: ErrorCode.BAD_SIGNATURE, message: verdict === 'wrong-signer' ? `reading seq ${r.seq} is not signed by meter ${meter}` : `reading seq ${r.seq} has a malformed signature`, index: i };
        break;
      }
      const last = fresh.length ? fresh[fresh.length - 1] : cursor;
      if (last && r.seq <= last.seq) {
        const existing = stored.get(r.seq);
        if (existing && existing.signature.toLowerCase() === r.signature.toLowerCase()) {
          duplicates++;
          continue;
        }
        error = { code: ErrorCode.REPLAYED_SEQ, message: `seq ${r.seq} was already used (last stored seq ${last.seq})`, index: i };
        break;
      }
      if (last && (r.importWh < last.importWh || r.exportWh < last.exportWh)) {
        error = { code: ErrorCode.COUNTER_DECREASED, message: `cumulative counters of seq ${r.seq} fall below seq ${last.seq} (importWh ${r.importWh} < ${last.importWh} or exportWh ${r.exportWh} < ${last.exportWh})`, index: i };
        break;
      }
      fresh.push({
        meter, seq: r.seq, timestamp: r.timestamp, importWh: r.importWh, exportWh: r.exportWh, powerW: r.powerW,
        flags: r.flags, signature: r.signature, phases: r.phases ?? null, receivedAt,
      });
    }
    let accepted = 0;
    if (fresh.length) {
      const { inserted, existing } = await this.commits.commit(fresh);
      accepted = inserted;
      duplicates += existing;
      const tail = fresh[fresh.length - 1];
      cursor = { seq: tail.seq, importWh: tail.importWh, exportWh: tail.exportWh, timestamp: tail.timestamp };
      this.cursors.set(meter, cursor);
    }
    return { accepted, duplicates, lastSeq: cursor?.seq ?? -1, committed: fresh, ...(error ? { error } : {}) };
  }
}
