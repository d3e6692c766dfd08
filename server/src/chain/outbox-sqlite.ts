// SettlementOutboxStore on better-sqlite3 (WAL): its own table, one row per slot, every mark committed before returning.
import Database from 'better-sqlite3';
import type { ConfirmedMark, OutboxEntry, OutboxStatus, SentMark, SettlementBatch, SettlementOutboxStore } from './outbox-store.ts';

interface OutboxRow {
  slot_id: number;
  trades_root: string;
  trades_count: number;
  accounts: string;
  deltas: string;
  status: OutboxStatus;
  attempts: number;
  tx_hash: string | null;
  nonce: number | null;
  raw_tx: string | null;
  gas_used: string | null;
  block_number: number | null;
  already_settled: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

function toEntry(r: OutboxRow): OutboxEntry {
  return {
    slotId: r.slot_id,
    tradesRoot: r.trades_root,
    tradesCount: r.trades_count,
    accounts: r.accounts,
    deltas: r.deltas,
    status: r.status,
    attempts: r.attempts,
    txHash: r.tx_hash,
    nonce: r.nonce,
    rawTx: r.raw_tx,
    gasUsed: r.gas_used === null ? null : BigInt(r.gas_used),
    blockNumber: r.block_number,
    alreadySettled: r.already_settled === 1,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export class SqliteSettlementOutboxStore implements SettlementOutboxStore {
  readonly db: Database.Database;
  private readonly ownsDb: boolean;
  private readonly stmts;

  /** Takes an open handle (shared with the server's store) or a file path (opened here, WAL, synchronous FULL). */
  constructor(database: Database.Database | string) {
    this.ownsDb = typeof database === 'string';
    this.db = typeof database === 'string' ? new Database(database) : database;
    if (this.ownsDb) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
    }
    this.db.exec(`CREATE TABLE IF NOT EXISTS chain_settlement_outbox (
      slot_id INTEGER PRIMARY KEY,
      trades_root TEXT NOT NULL,
      trades_count INTEGER NOT NULL,
      accounts TEXT NOT NULL,
      deltas TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending','sent','confirmed','failed')),
      attempts INTEGER NOT NULL DEFAULT 0,
      tx_hash TEXT,
      nonce INTEGER,
      raw_tx TEXT,
      gas_used TEXT,
      block_number INTEGER,
      already_settled INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS chain_settlement_outbox_open ON chain_settlement_outbox (status) WHERE status IN ('pending','sent');`);
    this.stmts = {
      insert: this.db.prepare(
        `INSERT OR IGNORE INTO chain_settlement_outbox (slot_id, trades_root, trades_count, accounts, deltas, status, created_at, updated_at)
         VALUES (@slotId, @tradesRoot, @tradesCount, @accounts, @deltas, 'pending', @now, @now)`,
      ),
      get: this.db.prepare('SELECT * FROM chain_settlement_outbox WHERE slot_id = ?'),
      unconfirmed: this.db.prepare(`SELECT * FROM chain_settlement_outbox WHERE status IN ('pending','sent') ORDER BY slot_id`),
      recent: this.db.prepare('SELECT * FROM chain_settlement_outbox ORDER BY slot_id DESC LIMIT ?'),
      sent: this.db.prepare(
        `UPDATE chain_settlement_outbox SET status = 'sent', tx_hash = @txHash, nonce = @nonce, raw_tx = @rawTx, attempts = @attempts,
         last_error = NULL, updated_at = @now WHERE slot_id = @slotId`,
      ),
      confirmed: this.db.prepare(
        `UPDATE chain_settlement_outbox SET status = 'confirmed', tx_hash = COALESCE(@txHash, tx_hash), gas_used = @gasUsed,
         block_number = @blockNumber, already_settled = @alreadySettled, last_error = NULL, updated_at = @now WHERE slot_id = @slotId`,
      ),
      failed: this.db.prepare(
        `UPDATE chain_settlement_outbox SET status = 'failed', last_error = @error, attempts = @attempts, updated_at = @now WHERE slot_id = @slotId`,
      ),
      error: this.db.prepare(
        `UPDATE chain_settlement_outbox SET last_error = @error, attempts = @attempts, updated_at = @now,
         status = CASE WHEN @reset = 1 THEN 'pending' ELSE status END,
         tx_hash = CASE WHEN @reset = 1 THEN NULL ELSE tx_hash END,
         nonce = CASE WHEN @reset = 1 THEN NULL ELSE nonce END,
         raw_tx = CASE WHEN @reset = 1 THEN NULL ELSE raw_tx END
         WHERE slot_id = @slotId`,
      ),
      requeue: this.db.prepare(
        `UPDATE chain_settlement_outbox SET status = 'pending', tx_hash = NULL, nonce = NULL, raw_tx = NULL, updated_at = @now
         WHERE slot_id = @slotId AND status = 'failed'`,
      ),
    };
  }

  put(batch: SettlementBatch, now: number): boolean {
    return this.stmts.insert.run({ ...batch, now }).changes === 1;
  }

  get(slotId: number): OutboxEntry | undefined {
    const row = this.stmts.get.get(slotId) as OutboxRow | undefined;
    return row && toEntry(row);
  }

  listUnconfirmed(): OutboxEntry[] {
    return (this.stmts.unconfirmed.all() as OutboxRow[]).map(toEntry);
  }

  listRecent(limit: number): OutboxEntry[] {
    return (this.stmts.recent.all(limit) as OutboxRow[]).map(toEntry);
  }

  markSent(slotId: number, sent: SentMark, now: number): void {
    this.stmts.sent.run({ slotId, ...sent, now });
  }

  markConfirmed(slotId: number, c: ConfirmedMark, now: number): void {
    this.stmts.confirmed.run({
      slotId,
      txHash: c.txHash,
      gasUsed: c.gasUsed === null ? null : c.gasUsed.toString(),
      blockNumber: c.blockNumber,
      alreadySettled: c.alreadySettled ? 1 : 0,
      now,
    });
  }

  markFailed(slotId: number, error: string, attempts: number, now: number): void {
    this.stmts.failed.run({ slotId, error, attempts, now });
  }

  recordError(slotId: number, error: string, attempts: number, now: number, resetToPending: boolean): void {
    this.stmts.error.run({ slotId, error, attempts, now, reset: resetToPending ? 1 : 0 });
  }

  requeue(slotId: number, now: number): void {
    this.stmts.requeue.run({ slotId, now });
  }

  close(): void {
    if (this.ownsDb) this.db.close();
  }
}
