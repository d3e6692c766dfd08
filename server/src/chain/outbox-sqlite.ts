// SettlementOutboxStore on better-sqlite3 (WAL): one table of slot batches, one of reward roots, every mark committed before returning.
import Database from 'better-sqlite3';
import type {
  ConfirmedMark, OutboxEntry, OutboxRef, OutboxStatus, OutboxTxState, RewardRootEntry, RewardRootPublication, SentMark, SettlementBatch,
  SettlementOutboxStore,
} from './outbox-store.ts';

interface TxStateRow {
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
interface SlotRow extends TxStateRow { slot_id: number; trades_root: string; trades_count: number; accounts: string; deltas: string }
interface RewardRootRow extends TxStateRow { epoch: number; root: string; to_slot: number }

const txState = (r: TxStateRow): OutboxTxState => ({
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
});
const toEntry = (r: SlotRow): OutboxEntry => ({
  slotId: r.slot_id, tradesRoot: r.trades_root, tradesCount: r.trades_count, accounts: r.accounts, deltas: r.deltas, ...txState(r),
});
const toRewardRoot = (r: RewardRootRow): RewardRootEntry => ({ epoch: r.epoch, root: r.root, toSlot: r.to_slot, ...txState(r) });

/** The transaction-state columns both tables share. */
const TX_COLUMNS = `status TEXT NOT NULL CHECK (status IN ('pending','sent','confirmed','failed')),
      attempts INTEGER NOT NULL DEFAULT 0,
      tx_hash TEXT,
      nonce INTEGER,
      raw_tx TEXT,
      gas_used TEXT,
      block_number INTEGER,
      already_settled INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      created_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL`;

/** The marks, prepared once per table (`key` is the table's primary-key column, bound as @id). */
function markStatements(db: Database.Database, table: string, key: string) {
  return {
    sent: db.prepare(
      `UPDATE ${table} SET status = 'sent', tx_hash = @txHash, nonce = @nonce, raw_tx = @rawTx, attempts = @attempts,
       last_error = NULL, updated_at = @now WHERE ${key} = @id`,
    ),
    confirmed: db.prepare(
      `UPDATE ${table} SET status = 'confirmed', tx_hash = COALESCE(@txHash, tx_hash), gas_used = @gasUsed,
       block_number = @blockNumber, already_settled = @alreadySettled, last_error = NULL, updated_at = @now WHERE ${key} = @id`,
    ),
    failed: db.prepare(`UPDATE ${table} SET status = 'failed', last_error = @error, attempts = @attempts, updated_at = @now WHERE ${key} = @id`),
    error: db.prepare(
      `UPDATE ${table} SET last_error = @error, attempts = @attempts, updated_at = @now,
       status = CASE WHEN @reset = 1 THEN 'pending' ELSE status END,
       tx_hash = CASE WHEN @reset = 1 THEN NULL ELSE tx_hash END,
       nonce = CASE WHEN @reset = 1 THEN NULL ELSE nonce END,
       raw_tx = CASE WHEN @reset = 1 THEN NULL ELSE raw_tx END
       WHERE ${key} = @id`,
    ),
    requeue: db.prepare(
      `UPDATE ${table} SET status = 'pending', tx_hash = NULL, nonce = NULL, raw_tx = NULL, updated_at = @now WHERE ${key} = @id AND status = 'failed'`,
    ),
  };
}

export class SqliteSettlementOutboxStore implements SettlementOutboxStore {
  readonly db: Database.Database;
  private readonly ownsDb: boolean;
  private readonly stmts;
  private readonly marks;

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
      ${TX_COLUMNS}
    );
    CREATE INDEX IF NOT EXISTS chain_settlement_outbox_open ON chain_settlement_outbox (status) WHERE status IN ('pending','sent');
    CREATE TABLE IF NOT EXISTS chain_reward_root_outbox (
      epoch INTEGER PRIMARY KEY,
      root TEXT NOT NULL,
      to_slot INTEGER NOT NULL,
      ${TX_COLUMNS}
    );`);
    this.stmts = {
      insert: this.db.prepare(
        `INSERT OR IGNORE INTO chain_settlement_outbox (slot_id, trades_root, trades_count, accounts, deltas, status, created_at, updated_at)
         VALUES (@slotId, @tradesRoot, @tradesCount, @accounts, @deltas, 'pending', @now, @now)`,
      ),
      get: this.db.prepare('SELECT * FROM chain_settlement_outbox WHERE slot_id = ?'),
      unconfirmed: this.db.prepare(`SELECT * FROM chain_settlement_outbox WHERE status IN ('pending','sent') ORDER BY slot_id`),
      recent: this.db.prepare('SELECT * FROM chain_settlement_outbox ORDER BY slot_id DESC LIMIT ?'),
      insertRoot: this.db.prepare(
        `INSERT OR IGNORE INTO chain_reward_root_outbox (epoch, root, to_slot, status, created_at, updated_at)
         VALUES (@epoch, @root, @toSlot, 'pending', @now, @now)`,
      ),
      getRoot: this.db.prepare('SELECT * FROM chain_reward_root_outbox WHERE epoch = ?'),
      unconfirmedRoots: this.db.prepare(`SELECT * FROM chain_reward_root_outbox WHERE status IN ('pending','sent') ORDER BY epoch`),
      recentRoots: this.db.prepare('SELECT * FROM chain_reward_root_outbox ORDER BY epoch DESC LIMIT ?'),
    };
    this.marks = {
      settleSlot: markStatements(this.db, 'chain_settlement_outbox', 'slot_id'),
      rewardRoot: markStatements(this.db, 'chain_reward_root_outbox', 'epoch'),
    };
  }

  put(batch: SettlementBatch, now: number): boolean {
    return this.stmts.insert.run({ ...batch, now }).changes === 1;
  }

  get(slotId: number): OutboxEntry | undefined {
    const row = this.stmts.get.get(slotId) as SlotRow | undefined;
    return row && toEntry(row);
  }

  listUnconfirmed(): OutboxEntry[] {
    return (this.stmts.unconfirmed.all() as SlotRow[]).map(toEntry);
  }

  listRecent(limit: number): OutboxEntry[] {
    return (this.stmts.recent.all(limit) as SlotRow[]).map(toEntry);
  }

  putRewardRoot(p: RewardRootPublication, now: number): boolean {
    return this.stmts.insertRoot.run({ epoch: p.epoch, root: p.root, toSlot: p.toSlot, now }).changes === 1;
  }

  getRewardRoot(epoch: number): RewardRootEntry | undefined {
    const row = this.stmts.getRoot.get(epoch) as RewardRootRow | undefined;
    return row && toRewardRoot(row);
  }

  listUnconfirmedRewardRoots(): RewardRootEntry[] {
    return (this.stmts.unconfirmedRoots.all() as RewardRootRow[]).map(toRewardRoot);
  }

  listRecentRewardRoots(limit: number): RewardRootEntry[] {
    return (this.stmts.recentRoots.all(limit) as RewardRootRow[]).map(toRewardRoot);
  }

  private mark(ref: OutboxRef) {
    return ref.kind === 'settleSlot' ? { q: this.marks.settleSlot, id: ref.slotId } : { q: this.marks.rewardRoot, id: ref.epoch };
  }

  markSent(ref: OutboxRef, sent: SentMark, now: number): void {
    const { q, id } = this.mark(ref);
    q.sent.run({ id, ...sent, now });
  }

  markConfirmed(ref: OutboxRef, c: ConfirmedMark, now: number): void {
    const { q, id } = this.mark(ref);
    q.confirmed.run({
      id,
      txHash: c.txHash,
      gasUsed: c.gasUsed === null ? null : c.gasUsed.toString(),
      blockNumber: c.blockNumber,
      alreadySettled: c.alreadySettled ? 1 : 0,
      now,
    });
  }

  markFailed(ref: OutboxRef, error: string, attempts: number, now: number): void {
    const { q, id } = this.mark(ref);
    q.failed.run({ id, error, attempts, now });
  }

  recordError(ref: OutboxRef, error: string, attempts: number, now: number, resetToPending: boolean): void {
    const { q, id } = this.mark(ref);
    q.error.run({ id, error, attempts, now, reset: resetToPending ? 1 : 0 });
  }

  requeue(ref: OutboxRef, now: number): void {
    const { q, id } = this.mark(ref);
    q.requeue.run({ id, now });
  }

  close(): void {
    if (this.ownsDb) this.db.close();
  }
}
