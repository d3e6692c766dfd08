// SQLite adapter of the store port (better-sqlite3, WAL, one file): the embedded default.
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Address, Hex, MeterRole } from '@gridmesh/contracts-abi';
import type { MeterRecord, ParticipantRecord, ReadingRange, Store, StoredReading } from './port.ts';
import { sqliteSettlementRepo } from './settlement-sqlite.ts';
import { sqliteRulesRepo } from './rules-sqlite.ts';
import { sqliteMarketRepo } from './market-sqlite.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS participants (
  address TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meters (
  meter TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  role TEXT NOT NULL,
  capacity_w INTEGER NOT NULL,
  label TEXT,
  nonce INTEGER NOT NULL,
  binding_signature TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS meters_owner ON meters(owner);
CREATE TABLE IF NOT EXISTS readings (
  meter TEXT NOT NULL,
  seq INTEGER NOT NULL,
  timestamp INTEGER NOT NULL,
  import_wh INTEGER NOT NULL,
  export_wh INTEGER NOT NULL,
  power_w INTEGER NOT NULL,
  flags INTEGER NOT NULL,
  signature TEXT NOT NULL,
  phases TEXT,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (meter, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS readings_meter_time ON readings(meter, timestamp);
`;

interface ReadingRow {
  meter: string;
  seq: number;
  timestamp: number;
  import_wh: number;
  export_wh: number;
  power_w: number;
  flags: number;
  signature: string;
  phases: string | null;
  received_at: number;
}

interface MeterRow {
  meter: string;
  owner: string;
  role: string;
  capacity_w: number;
  label: string | null;
  nonce: number;
  binding_signature: string;
  created_at: number;
}

const toReading = (r: ReadingRow): StoredReading => ({
  meter: r.meter as Address,
  seq: r.seq,
  timestamp: r.timestamp,
  importWh: r.import_wh,
  exportWh: r.export_wh,
  powerW: r.power_w,
  flags: r.flags,
  signature: r.signature as Hex,
  phases: r.phases ? JSON.parse(r.phases) : null,
  receivedAt: r.received_at,
});

const toMeter = (r: MeterRow): MeterRecord => ({
  meter: r.meter as Address,
  owner: r.owner as Address,
  role: r.role as MeterRole,
  capacityW: r.capacity_w,
  label: r.label,
  nonce: r.nonce,
  bindingSignature: r.binding_signature as Hex,
  createdAt: r.created_at,
});

/** Addresses are stored checksum-free, lower case, so lookups never depend on the caller's casing. */
const key = (a: string) => a.toLowerCase();

export function openSqliteStore(path: string): Store {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL keeps WAL commits durable across process crashes (only an OS crash can lose the last commits).
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.exec(SCHEMA);

  const q = {
    upsertParticipant: db.prepare(
      `INSERT INTO participants(address,name,created_at) VALUES (@address,@name,@createdAt)
       ON CONFLICT(address) DO UPDATE SET name = excluded.name`,
    ),
    getParticipant: db.prepare('SELECT address,name,created_at FROM participants WHERE address = ?'),
    listParticipants: db.prepare('SELECT address,name,created_at FROM participants ORDER BY created_at, address'),
    getMeter: db.prepare('SELECT * FROM meters WHERE meter = ?'),
    insertMeter: db.prepare(
      `INSERT INTO meters(meter,owner,role,capacity_w,label,nonce,binding_signature,created_at)
       VALUES (@meter,@owner,@role,@capacityW,@label,@nonce,@bindingSignature,@createdAt)`,
    ),
    updateMeter: db.prepare(
      `UPDATE meters SET role=@role, capacity_w=@capacityW, label=@label, nonce=@nonce, binding_signature=@bindingSignature
       WHERE meter=@meter AND owner=@owner`,
    ),
    listMeters: db.prepare('SELECT * FROM meters ORDER BY created_at, meter'),
    // Positional parameters: binding ten values by position needs no per-row parameter object (hot path of ingestion).
    insertReading: db.prepare(
      `INSERT OR IGNORE INTO readings(meter,seq,timestamp,import_wh,export_wh,power_w,flags,signature,phases,received_at)
       VALUES (?,?,?,?,?,?,?,?,?,?)`,
    ),
    readingBySeq: db.prepare('SELECT * FROM readings WHERE meter = ? AND seq = ?'),
    latestReading: db.prepare('SELECT * FROM readings WHERE meter = ? ORDER BY seq DESC LIMIT 1'),
    readingRange: db.prepare(
      'SELECT * FROM readings WHERE meter = ? AND timestamp >= ? AND timestamp < ? ORDER BY timestamp, seq LIMIT ?',
    ),
    countAll: db.prepare('SELECT count(*) AS n FROM readings'),
    countMeter: db.prepare('SELECT count(*) AS n FROM readings WHERE meter = ?'),
  };

  /** Inserts one reading (ignored if its (meter, seq) exists); 1 if inserted, else 0. */
  const insertReadingRow = (r: StoredReading): number =>
    q.insertReading.run(
      key(r.meter), r.seq, r.timestamp, r.importWh, r.exportWh, r.powerW, r.flags, r.signature,
      r.phases ? JSON.stringify(r.phases) : null, r.receivedAt,
    ).changes;

  const insertReadings = db.transaction((rows: StoredReading[]) => {
    let inserted = 0;
    for (const r of rows) inserted += insertReadingRow(r);
    return inserted;
  });

  const insertReadingGroups = db.transaction((groups: StoredReading[][]) =>
    groups.map((rows) => {
      let inserted = 0;
      for (const r of rows) inserted += insertReadingRow(r);
      return { inserted, existing: rows.length - inserted };
    }),
  );

  const bindMeter = db.transaction((m: MeterRecord) => {
    const existing = q.getMeter.get(key(m.meter)) as MeterRow | undefined;
    if (!existing) {
      q.insertMeter.run({ ...m, meter: key(m.meter), owner: key(m.owner) });
      return { created: true, conflict: false };
    }
    if (existing.owner !== key(m.owner)) return { created: false, conflict: true };
    q.updateMeter.run({ ...m, meter: key(m.meter), owner: key(m.owner) });
    return { created: false, conflict: false };
  });

  const market = sqliteMarketRepo(db);

  return {
    kind: 'sqlite',
    settlements: sqliteSettlementRepo(db),
    rules: sqliteRulesRepo(db),
    market,
    participants: {
      async upsert(p) {
        q.upsertParticipant.run({ ...p, address: key(p.address) });
        return (await this.get(p.address))!;
      },
      async get(address) {
        const row = q.getParticipant.get(key(address)) as { address: string; name: string; created_at: number } | undefined;
        return row ? { address: row.address as Address, name: row.name, createdAt: row.created_at } : null;
      },
      async list() {
        const rows = q.listParticipants.all() as { address: string; name: string; created_at: number }[];
        return rows.map((row): ParticipantRecord => ({ address: row.address as Address, name: row.name, createdAt: row.created_at }));
      },
    },
    meters: {
      async bind(m) {
        const { created, conflict } = bindMeter(m);
        const row = q.getMeter.get(key(m.meter)) as MeterRow;
        return { created, conflict, record: toMeter(row) };
      },
      async get(meter) {
        const row = q.getMeter.get(key(meter)) as MeterRow | undefined;
        return row ? toMeter(row) : null;
      },
      async list() {
        return (q.listMeters.all() as MeterRow[]).map(toMeter);
      },
    },
    readings: {
      async insertMany(readings) {
        const inserted = insertReadings(readings);
        return { inserted, existing: readings.length - inserted };
      },
      async insertGroups(groups) {
        return insertReadingGroups(groups);
      },
      async getBySeq(meter, seqs) {
        const out: StoredReading[] = [];
        for (const seq of seqs) {
          const row = q.readingBySeq.get(key(meter), seq) as ReadingRow | undefined;
          if (row) out.push(toReading(row));
        }
        return out;
      },
      async latest(meter) {
        const row = q.latestReading.get(key(meter)) as ReadingRow | undefined;
        return row ? toReading(row) : null;
      },
      async range(meter, range: ReadingRange) {
        const rows = q.readingRange.all(key(meter), range.from ?? 0, range.to ?? Number.MAX_SAFE_INTEGER, range.limit ?? 10_000) as ReadingRow[];
        return rows.map(toReading);
      },
      async count(meter) {
        const row = (meter ? q.countMeter.get(key(meter)) : q.countAll.get()) as { n: number };
        return row.n;
      },
    },
    async close() {
      db.close();
    },
  };
}
