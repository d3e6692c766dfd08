// Durable outbox: every signed reading is committed to SQLite (WAL) before it is sent, and removed only once the server acked it.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Address, MeterReading, SignedMeterReading } from '@gridmesh/contracts-abi';

export const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;

export interface OutboxOptions {
  /** Disk budget for pending readings; the oldest are dropped (and counted) only beyond it. */
  maxBytes?: number;
  /** Quarantined readings kept for inspection; older ones are pruned. */
  maxQuarantine?: number;
  log?: (msg: string) => void;
}

export interface QuarantineEntry {
  meter: Address;
  seq: number;
  code: string;
  message: string;
  at: number;
}

/** What a reading source hands over: everything but meter/seq, which the outbox assigns. */
export type UnsequencedReading = Omit<MeterReading, 'meter' | 'seq'> & { phases?: SignedMeterReading['phases'] };

export class Outbox {
  readonly db: Database.Database;
  private readonly maxBytes: number;
  private readonly maxQuarantine: number;
  private readonly log: (msg: string) => void;
  private readonly listeners = new Set<(meter: Address) => void>();
  private readonly stmt;

  constructor(readonly path: string, opts: OutboxOptions = {}) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // FULL: a reading acknowledged by the outbox survives power loss, not only a process crash.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS outbox (meter TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (meter, seq)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS quarantine (id INTEGER PRIMARY KEY, meter TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL, code TEXT NOT NULL, message TEXT NOT NULL, at INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    `);
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    this.maxQuarantine = opts.maxQuarantine ?? 10_000;
    this.log = opts.log ?? (() => {});
    this.stmt = {
      insert: this.db.prepare('INSERT INTO outbox (meter, seq, body) VALUES (?, ?, ?)'),
      getMeta: this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
      peek: this.db.prepare<[string, number], { body: string }>('SELECT body FROM outbox WHERE meter = ? ORDER BY seq LIMIT ?'),
      removeUpTo: this.db.prepare('DELETE FROM outbox WHERE meter = ? AND seq <= ?'),
      removeOne: this.db.prepare('DELETE FROM outbox WHERE meter = ? AND seq = ?'),
      depth: this.db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM outbox WHERE meter = ?'),
      depthAll: this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM outbox'),
      quarantine: this.db.prepare('INSERT INTO quarantine (meter, seq, body, code, message, at) VALUES (?, ?, ?, ?, ?, ?)'),
      quarantineCount: this.db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM quarantine WHERE meter = ?'),
      pruneQuarantine: this.db.prepare('DELETE FROM quarantine WHERE id <= (SELECT max(id) FROM quarantine) - ?'),
      oldest: this.db.prepare<[number], { meter: string; seq: number; len: number }>(
        'SELECT meter, seq, length(body) AS len FROM outbox ORDER BY seq LIMIT ?',
      ),
    };
    if (this.getMeta('bytes') === undefined) {
      const row = this.db.prepare<[], { b: number | null }>('SELECT sum(length(body)) AS b FROM outbox').get();
      this.setMeta('bytes', String(row?.b ?? 0));
    }
  }

  getMeta(key: string): string | undefined {
    return this.stmt.getMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmt.setMeta.run(key, value);
  }

  /** Last seq assigned for a meter (0 if none): persisted in the same transaction as the reading. */
  lastSeq(meter: Address): number {
    return Number(this.getMeta(`seq:${meter.toLowerCase()}`) ?? 0);
  }

  /**
   * Assigns the next seq(s), signs and stores the readings in ONE transaction; returns them signed.
   * `extraMeta` (e.g. a device's counter state) commits atomically with the readings so a restart resumes exactly.
   */
  append(
    meter: Address,
    readings: UnsequencedReading[],
    sign: (r: MeterReading) => `0x${string}`,
    extraMeta?: Record<string, string>,
  ): SignedMeterReading[] {
    const out: SignedMeterReading[] = [];
    this.db.transaction(() => {
      const key = `seq:${meter.toLowerCase()}`;
      let seq = Number(this.getMeta(key) ?? 0);
      let bytes = Number(this.getMeta('bytes') ?? 0);
      for (const r of readings) {
        seq++;
        const signed: MeterReading = { meter, seq, timestamp: r.timestamp, importWh: r.importWh, exportWh: r.exportWh, powerW: r.powerW, flags: r.flags };
        const full: SignedMeterReading = { ...signed, signature: sign(signed) };
        if (r.phases && r.phases.length) full.phases = r.phases;
        const body = JSON.stringify(full);
        this.stmt.insert.run(meter, seq, body);
        bytes += body.length;
        out.push(full);
      }
      this.setMeta(key, String(seq));
      if (extraMeta) for (const [k, v] of Object.entries(extraMeta)) this.setMeta(k, v);
      if (bytes > this.maxBytes) bytes = this.enforceBudget(bytes);
      this.setMeta('bytes', String(bytes));
    })();
    for (const l of this.listeners) l(meter);
    return out;
  }

  /** Drops the oldest pending readings until the budget holds again; counts them (reported in `status`). */
  private enforceBudget(bytes: number): number {
    let dropped = 0;
    // Drop 1 % below the budget so we do not drop on every append once full.
    const target = this.maxBytes * 0.99;
    while (bytes > target) {
      const rows = this.stmt.oldest.all(500);
      if (!rows.length) break;
      for (const row of rows) {
        if (bytes <= target) break;
        this.stmt.removeOne.run(row.meter, row.seq);
        bytes -= row.len;
        dropped++;
      }
    }
    if (dropped) {
      this.setMeta('dropped', String(Number(this.getMeta('dropped') ?? 0) + dropped));
      this.log(`outbox over its disk budget (${this.maxBytes} bytes): dropped the ${dropped} oldest unsent readings`);
    }
    return bytes;
  }

  /** Oldest pending readings of a meter, in seq order. */
  peek(meter: Address, limit: number): SignedMeterReading[] {
    return this.stmt.peek.all(meter, limit).map((r) => JSON.parse(r.body) as SignedMeterReading);
  }

  /** Removes what the server acknowledged (accepted or duplicate): every pending reading of the meter up to `seq`. */
  acknowledge(meter: Address, upToSeq: number): void {
    this.db.transaction(() => {
      const row = this.db
        .prepare<[string, number], { b: number | null }>('SELECT sum(length(body)) AS b FROM outbox WHERE meter = ? AND seq <= ?')
        .get(meter, upToSeq);
      this.stmt.removeUpTo.run(meter, upToSeq);
      this.setMeta('bytes', String(Math.max(0, Number(this.getMeta('bytes') ?? 0) - (row?.b ?? 0))));
    })();
  }

  /** Moves a reading the server refused for a permanent reason out of the way, keeping it for inspection. */
  quarantine(reading: SignedMeterReading, code: string, message: string): void {
    this.db.transaction(() => {
      const body = JSON.stringify(reading);
      this.stmt.quarantine.run(reading.meter, reading.seq, body, code, message, Date.now());
      this.stmt.removeOne.run(reading.meter, reading.seq);
      this.setMeta('bytes', String(Math.max(0, Number(this.getMeta('bytes') ?? 0) - body.length)));
      this.stmt.pruneQuarantine.run(this.maxQuarantine);
    })();
    this.log(`quarantined reading ${reading.meter}#${reading.seq}: ${code} ${message}`);
  }

  quarantined(meter?: Address): QuarantineEntry[] {
    const rows = meter
      ? this.db.prepare('SELECT meter, seq, code, message, at FROM quarantine WHERE meter = ? ORDER BY id').all(meter)
      : this.db.prepare('SELECT meter, seq, code, message, at FROM quarantine ORDER BY id').all();
    return rows as QuarantineEntry[];
  }

  quarantineCount(meter: Address): number {
    return this.stmt.quarantineCount.get(meter)?.n ?? 0;
  }

  depth(meter?: Address): number {
    return (meter ? this.stmt.depth.get(meter)?.n : this.stmt.depthAll.get()?.n) ?? 0;
  }

  dropped(): number {
    return Number(this.getMeta('dropped') ?? 0);
  }

  /** Called after readings were committed, so a link can wake up and send. */
  onAppend(listener: (meter: Address) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.db.close();
  }
}
