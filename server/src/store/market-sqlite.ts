// SQLite tables of the market port: journal, nonces, orders, trades, slots — one transaction per accepted command, or per group of them (from a writer thread when the store is a file).
import type Database from 'better-sqlite3';
import type { Address, Hex, OrderSide, TimeInForce } from '@gridmesh/contracts-abi';
import { MarketWriterThread, writerThreadEnabled } from './market-writer-thread.ts';
import { backstopFrames, walCheckpointerSettings } from './wal-checkpointer.ts';
import { CommitRow as Row, addTradeRefs, encodeCommitGroup, type CommitCell } from './commit-group-codec.ts';
import {
  orderIdOf, type JournalEntry, type MarketCommit, type MarketRepo, type OrderRecord, type OrderSource, type OrderStatus, type SlotRecord, type SlotState, type TradeQuery, type TradeRecord,
} from './market-port.ts';

/*
 * PARTICIPANT_LOOKUPS. No index is keyed by participant. An order's id begins with its participant's address
 * (`orderIdOf`), so a participant's orders are a range of the orders' primary key; a participant's trades are those
 * its orders list in `trade_refs`, whose rows every fill rewrites anyway. Each index by participant (orders, trades by
 * buyer, by seller) cost a random page per order or trade in each group commit: together half of the WAL written per
 * order (15.4 → 7.5 kB in bench/market-writer.micro.ts), and the writer thread's commits are on every order's path.
 */
export const MARKET_SCHEMA = `
CREATE TABLE IF NOT EXISTS market_journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  market TEXT NOT NULL,
  slot INTEGER NOT NULL,
  command TEXT NOT NULL,
  time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS market_journal_slot ON market_journal(market, slot, seq);
CREATE TABLE IF NOT EXISTS order_nonces (
  participant TEXT NOT NULL,
  nonce INTEGER NOT NULL,
  PRIMARY KEY (participant, nonce)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS orders (
  id TEXT PRIMARY KEY,
  market TEXT NOT NULL,
  slot INTEGER NOT NULL,
  participant TEXT NOT NULL,
  side TEXT NOT NULL,
  price TEXT NOT NULL,
  quantity_wh INTEGER NOT NULL,
  filled_wh INTEGER NOT NULL,
  remaining_wh INTEGER NOT NULL,
  tif TEXT NOT NULL,
  status TEXT NOT NULL,
  nonce INTEGER NOT NULL,
  expiry INTEGER NOT NULL,
  signature TEXT NOT NULL,
  signer TEXT NOT NULL,
  source TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  -- The ids of the order's trades, each as ",<trade id>" (see PARTICIPANT_LOOKUPS).
  trade_refs TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS orders_slot ON orders(market, slot);
CREATE TABLE IF NOT EXISTS trades (
  id TEXT PRIMARY KEY,
  market TEXT NOT NULL,
  slot INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  buy_order TEXT NOT NULL,
  sell_order TEXT NOT NULL,
  buyer TEXT NOT NULL,
  seller TEXT NOT NULL,
  price TEXT NOT NULL,
  quantity_wh INTEGER NOT NULL,
  time INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS trades_slot ON trades(market, slot, seq);
CREATE TABLE IF NOT EXISTS slots (
  market TEXT NOT NULL,
  slot INTEGER NOT NULL,
  state TEXT NOT NULL,
  state_since INTEGER NOT NULL,
  trade_count INTEGER NOT NULL,
  volume_wh INTEGER NOT NULL,
  turnover TEXT NOT NULL,
  clearing_price TEXT,
  settlement TEXT,
  PRIMARY KEY (market, slot)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS slots_state ON slots(market, state, slot);
-- A submission's nonce is recorded by its order's id (participant-nonce), other commands' nonces by order_nonces rows;
-- these keep (participant, nonce) unique across both, as one key would.
CREATE TRIGGER IF NOT EXISTS order_nonces_not_submitted BEFORE INSERT ON order_nonces
  WHEN EXISTS (SELECT 1 FROM orders WHERE id = NEW.participant || '-' || NEW.nonce)
  BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: order_nonces.nonce (used by an order submission)'); END;
CREATE TRIGGER IF NOT EXISTS orders_nonce_unused AFTER INSERT ON orders
  WHEN EXISTS (SELECT 1 FROM order_nonces WHERE participant = NEW.participant AND nonce = CAST(substr(NEW.id, instr(NEW.id, '-') + 1) AS INTEGER))
  BEGIN SELECT RAISE(ABORT, 'UNIQUE constraint failed: order_nonces.nonce (already used)'); END;
`;

interface OrderRow {
  id: string; market: string; slot: number; participant: string; side: string; price: string; quantity_wh: number; filled_wh: number;
  remaining_wh: number; tif: string; status: string; nonce: number; expiry: number; signature: string; signer: string; source: string;
  created_at: number; updated_at: number;
}
interface TradeRow {
  id: string; market: string; slot: number; seq: number; buy_order: string; sell_order: string; buyer: string; seller: string;
  price: string; quantity_wh: number; time: number;
}
interface SlotRow {
  market: string; slot: number; state: string; state_since: number; trade_count: number; volume_wh: number; turnover: string;
  clearing_price: string | null; settlement: string | null;
}

const key = (a: string) => a.toLowerCase();

const toOrder = (r: OrderRow): OrderRecord => ({
  id: r.id, market: r.market, slot: r.slot, participant: r.participant as Address, side: r.side as OrderSide, price: r.price,
  quantityWh: r.quantity_wh, filledWh: r.filled_wh, remainingWh: r.remaining_wh, timeInForce: r.tif as TimeInForce,
  status: r.status as OrderStatus, nonce: r.nonce, expiry: r.expiry, signature: r.signature as Hex, signer: r.signer as Address,
  source: r.source as OrderSource, createdAt: r.created_at, updatedAt: r.updated_at,
});
const toTrade = (r: TradeRow): TradeRecord => ({
  id: r.id, market: r.market, slot: r.slot, seq: r.seq, buyOrder: r.buy_order, sellOrder: r.sell_order, buyer: r.buyer as Address,
  seller: r.seller as Address, price: r.price, quantityWh: r.quantity_wh, time: r.time,
});
const toSlot = (r: SlotRow): SlotRecord => ({
  market: r.market, slot: r.slot, state: r.state as SlotState, stateSince: r.state_since, tradeCount: r.trade_count,
  volumeWh: r.volume_wh, turnover: r.turnover, clearingPrice: r.clearing_price, settlement: r.settlement ? JSON.parse(r.settlement) : null,
});

/**
 * The write side of the market tables: `commit` (one command) and `commitMany` (a group, one transaction), each returning
 * the journal seq of its commands. Shared by the repo (main thread) and the writer thread (its own connection).
 */
export function marketWriter(db: Database.Database): {
  commit: (c: MarketCommit) => number; commitMany: (changes: MarketCommit[]) => void; commitEncoded: (group: CommitCell[]) => void;
} {
  const q = {
    insertJournal: db.prepare('INSERT INTO market_journal(market,slot,command,time) VALUES (?,?,?,?)'),
    insertNonce: db.prepare('INSERT INTO order_nonces(participant,nonce) VALUES (?,?)'),
    // Positional parameters: no per-row parameter object on the hot path.
    insertOrder: db.prepare(
      `INSERT INTO orders(id,market,slot,participant,side,price,quantity_wh,filled_wh,remaining_wh,tif,status,nonce,expiry,signature,signer,source,created_at,updated_at,trade_refs)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
    ),
    upsertOrder: db.prepare(
      `INSERT INTO orders(id,market,slot,participant,side,price,quantity_wh,filled_wh,remaining_wh,tif,status,nonce,expiry,signature,signer,source,created_at,updated_at,trade_refs)
       VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
       ON CONFLICT(id) DO UPDATE SET price=excluded.price, quantity_wh=excluded.quantity_wh, filled_wh=excluded.filled_wh,
         remaining_wh=excluded.remaining_wh, status=excluded.status, nonce=excluded.nonce, expiry=excluded.expiry,
         signature=excluded.signature, signer=excluded.signer, updated_at=excluded.updated_at, trade_refs=trade_refs || excluded.trade_refs`,
    ),
    appendTradeRefs: db.prepare('UPDATE orders SET trade_refs = trade_refs || ? WHERE id = ?'),
    insertTrade: db.prepare('INSERT INTO trades(id,market,slot,seq,buy_order,sell_order,buyer,seller,price,quantity_wh,time) VALUES (?,?,?,?,?,?,?,?,?,?,?)'),
    upsertSlot: db.prepare(
      `INSERT INTO slots(market,slot,state,state_since,trade_count,volume_wh,turnover,clearing_price,settlement)
       VALUES (?,?,?,?,?,?,?,?,?)
       ON CONFLICT(market,slot) DO UPDATE SET state=excluded.state, state_since=excluded.state_since, trade_count=excluded.trade_count,
         volume_wh=excluded.volume_wh, turnover=excluded.turnover, clearing_price=excluded.clearing_price, settlement=excluded.settlement`,
    ),
  };
  // Every commit, of one command or of a group (the commands applied in one event-loop turn share one transaction), is
  // written from its encoding (commit-group-codec.ts), on this thread or the writer thread alike. Returns the journal
  // seq of the group's last command.
  const commitEncoded = db.transaction((g: CommitCell[]): number => {
    let i = 0;
    let seq = 0;
    while (i < g.length) {
      switch (g[i]) {
        case Row.Nonce: q.insertNonce.run(g[i + 1], g[i + 2]); i += 3; break;
        case Row.Journal: seq = Number(q.insertJournal.run(g[i + 1], g[i + 2], g[i + 3], g[i + 4]).lastInsertRowid); i += 5; break;
        case Row.Trade: q.insertTrade.run(g[i + 1], g[i + 2], g[i + 3], g[i + 4], g[i + 5], g[i + 6], g[i + 7], g[i + 8], g[i + 9], g[i + 10], g[i + 11]); i += 12; break;
        case Row.NewOrder:
        case Row.Order:
          (g[i] === Row.NewOrder ? q.insertOrder : q.upsertOrder).run(g[i + 1], g[i + 2], g[i + 3], g[i + 4], g[i + 5], g[i + 6], g[i + 7], g[i + 8], g[i + 9], g[i + 10], g[i + 11], g[i + 12],
            g[i + 13], g[i + 14], g[i + 15], g[i + 16], g[i + 17], g[i + 18], g[i + 19]);
          i += 20;
          break;
        case Row.TradeRefs: q.appendTradeRefs.run(g[i + 2], g[i + 1]); i += 3; break;
        case Row.Slot: q.upsertSlot.run(g[i + 1], g[i + 2], g[i + 3], g[i + 4], g[i + 5], g[i + 6], g[i + 7], g[i + 8], g[i + 9]); i += 10; break;
        default: throw new Error(`corrupt commit group: unknown row tag ${String(g[i])} at ${i}`);
      }
    }
    return seq;
  });
  // IMMEDIATE: take the write lock at BEGIN (waiting through busy_timeout) rather than upgrading a read snapshot later,
  // which fails at once with SQLITE_BUSY when another connection (main thread or writer thread) committed meanwhile.
  return {
    commit: (c) => commitEncoded.immediate(encodeCommitGroup([c])),
    commitMany: (changes) => { commitEncoded.immediate(encodeCommitGroup(changes)); },
    commitEncoded: (group) => { commitEncoded.immediate(group); },
  };
}

/** The key range of a participant's order ids (`<address>-<nonce>`; '.' follows '-'). */
const orderIdRange = (participant: string): [string, string] => [`${key(participant)}-`, `${key(participant)}.`];

/**
 * Brings a store written before PARTICIPANT_LOOKUPS up to it, in one transaction: fills `trade_refs` from the trades
 * table, then drops the indexes by participant.
 */
function migrateParticipantLookups(db: Database.Database): void {
  const columns = db.prepare('PRAGMA table_info(orders)').all() as { name: string }[];
  const drop = 'DROP INDEX IF EXISTS orders_participant; DROP INDEX IF EXISTS trades_buyer; DROP INDEX IF EXISTS trades_seller;';
  if (columns.some((c) => c.name === 'trade_refs')) {
    db.exec(drop);
    return;
  }
  db.transaction(() => {
    db.exec("ALTER TABLE orders ADD COLUMN trade_refs TEXT NOT NULL DEFAULT ''");
    const refs = new Map<string, string>();
    for (const t of db.prepare('SELECT id, buy_order, sell_order FROM trades ORDER BY market, slot, seq').iterate() as Iterable<{ id: string; buy_order: string; sell_order: string }>) {
      addTradeRefs(refs, t.id, t.buy_order, t.sell_order);
    }
    const set = db.prepare('UPDATE orders SET trade_refs = ? WHERE id = ?');
    for (const [orderId, list] of refs) set.run(list, orderId);
    db.exec(drop);
  })();
}

export function sqliteMarketRepo(db: Database.Database): MarketRepo {
  db.exec(MARKET_SCHEMA);
  migrateParticipantLookups(db);
  const writer = marketWriter(db);
  // Order groups commit from a writer thread with its own connection when the store is a file: SQLite was ~40 % of
  // the event loop's time per order. An in-memory database cannot be shared with another connection.
  const threaded = !db.memory && writerThreadEnabled();
  // The writer thread reads the checkpointer's settings when it starts: refuse a bad one now, with its name.
  const checkpoints = threaded ? walCheckpointerSettings() : null;
  // While the writer's checkpointer runs, this connection's own automatic checkpoint (run on the event loop by
  // whichever write crosses it) only stands by as a backstop.
  const ownAutocheckpoint = db.pragma('wal_autocheckpoint', { simple: true }) as number;
  const thread = threaded
    ? new MarketWriterThread(db.name, () => db.open, {
      started: () => { if (checkpoints && db.open) db.pragma(`wal_autocheckpoint = ${backstopFrames(checkpoints)}`); },
      stopped: () => { if (db.open) db.pragma(`wal_autocheckpoint = ${ownAutocheckpoint}`); },
    })
    : null;
  const q = {
    // A submission's nonce is recorded by its order's id (orderIdOf), other commands' nonces by order_nonces rows.
    nonceUsed: db.prepare('SELECT 1 FROM order_nonces WHERE participant = ? AND nonce = ? UNION ALL SELECT 1 FROM orders WHERE id = ?'),
    noncesOf: db.prepare('SELECT nonce FROM order_nonces WHERE participant = ?').pluck(),
    orderIdsOf: db.prepare('SELECT id FROM orders WHERE id >= ? AND id < ?').pluck(),
    tradeRefsOf: db.prepare("SELECT trade_refs FROM orders WHERE id >= ? AND id < ? AND trade_refs <> ''").pluck(),
    tradeById: db.prepare('SELECT * FROM trades WHERE id = ?'),
    upsertSlot: db.prepare(
      `INSERT INTO slots(market,slot,state,state_since,trade_count,volume_wh,turnover,clearing_price,settlement)
       VALUES (@market,@slot,@state,@stateSince,@tradeCount,@volumeWh,@turnover,@clearingPrice,@settlement)
       ON CONFLICT(market,slot) DO UPDATE SET state=excluded.state, state_since=excluded.state_since, trade_count=excluded.trade_count,
         volume_wh=excluded.volume_wh, turnover=excluded.turnover, clearing_price=excluded.clearing_price, settlement=excluded.settlement`,
    ),
    getOrder: db.prepare('SELECT * FROM orders WHERE id = ?'),
    getSlot: db.prepare('SELECT * FROM slots WHERE market = ? AND slot = ?'),
    slotRange: db.prepare('SELECT * FROM slots WHERE market = ? AND slot >= ? AND slot < ? ORDER BY slot'),
  };
  /** A participant's trades: those its orders list (PARTICIPANT_LOOKUPS), by slot then seq. */
  const participantTrades = (participant: Address, query: TradeQuery): TradeRecord[] => {
    // Market and slot range apply to the trades themselves, not to the orders listing them.
    const ids = new Set<string>();
    // A trade between two orders of the same participant is listed by both.
    for (const list of q.tradeRefsOf.all(...orderIdRange(participant)) as string[]) for (const id of list.split(',')) if (id !== '') ids.add(id);
    const rows: TradeRow[] = [];
    for (const id of ids) {
      const row = q.tradeById.get(id) as TradeRow | undefined;
      if (row && (query.market === undefined || row.market === query.market) && (query.from === undefined || row.slot >= query.from) && (query.to === undefined || row.slot < query.to)) rows.push(row);
    }
    rows.sort((a, b) => a.slot - b.slot || a.seq - b.seq || (a.market < b.market ? -1 : a.market > b.market ? 1 : 0));
    return rows.slice(0, query.limit ?? 10_000).map(toTrade);
  };
  const slotParams = (s: SlotRecord) => ({ ...s, settlement: s.settlement ? JSON.stringify(s.settlement) : null });

  return {
    async commit(change) {
      return { seq: writer.commit(change) };
    },
    async commitMany(changes) {
      if (thread) await thread.commitMany(changes);
      else writer.commitMany(changes);
    },
    async journal(market, slots) {
      if (slots.length === 0) return [];
      const rows = db.prepare(`SELECT seq, market, slot, command, time FROM market_journal WHERE market = ? AND slot IN (${slots.map(() => '?').join(',')}) ORDER BY seq`)
        .all(market, ...slots) as JournalEntry[];
      return rows;
    },
    async nonceUsed(participant, nonce) {
      return q.nonceUsed.get(key(participant), nonce, orderIdOf(participant, nonce)) !== undefined;
    },
    async noncesOf(participant) {
      const nonces = q.noncesOf.all(key(participant)) as number[];
      for (const id of q.orderIdsOf.all(...orderIdRange(participant)) as string[]) nonces.push(Number(id.slice(id.lastIndexOf('-') + 1)));
      return nonces;
    },
    async order(id) {
      const row = q.getOrder.get(id) as OrderRow | undefined;
      return row ? toOrder(row) : null;
    },
    async orders(query) {
      const where: string[] = [];
      const args: (string | number)[] = [];
      if (query.participant) { where.push('id >= ? AND id < ?'); args.push(...orderIdRange(query.participant)); }
      if (query.market) { where.push('market = ?'); args.push(query.market); }
      if (query.slot !== undefined) { where.push('slot = ?'); args.push(query.slot); }
      if (query.fromSlot !== undefined) { where.push('slot >= ?'); args.push(query.fromSlot); }
      if (query.status && query.status !== 'all') { where.push('status = ?'); args.push(query.status); }
      const sql = `SELECT * FROM orders ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
      return (db.prepare(sql).all(...args, query.limit ?? 500) as OrderRow[]).map(toOrder);
    },
    async trades(query) {
      if (query.participant) return participantTrades(query.participant, query);
      const where: string[] = [];
      const args: (string | number)[] = [];
      if (query.market) { where.push('market = ?'); args.push(query.market); }
      if (query.from !== undefined) { where.push('slot >= ?'); args.push(query.from); }
      if (query.to !== undefined) { where.push('slot < ?'); args.push(query.to); }
      const sql = `SELECT * FROM trades ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY slot, seq LIMIT ?`;
      return (db.prepare(sql).all(...args, query.limit ?? 10_000) as TradeRow[]).map(toTrade);
    },
    async upsertSlot(slot) {
      q.upsertSlot.run(slotParams(slot));
    },
    async slot(market, slot) {
      const row = q.getSlot.get(market, slot) as SlotRow | undefined;
      return row ? toSlot(row) : null;
    },
    async slots(market, from, to) {
      return (q.slotRange.all(market, from, to) as SlotRow[]).map(toSlot);
    },
    async slotsInState(market, states) {
      if (states.length === 0) return [];
      const rows = db.prepare(`SELECT * FROM slots WHERE market = ? AND state IN (${states.map(() => '?').join(',')}) ORDER BY slot`).all(market, ...states) as SlotRow[];
      return rows.map(toSlot);
    },
  };
}
