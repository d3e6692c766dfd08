// SQLite market tables: no index keyed by participant (lookups go through order ids and trade_refs), and a store written before that is migrated on open.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Address, Hex } from '@gridmesh/contracts-abi';
import { openSqliteStore } from '../../server/src/store/sqlite.ts';
import type { OrderRecord, TradeRecord } from '../../server/src/store/index.ts';

const P = (n: number) => ('0x' + n.toString(16).padStart(40, '0')) as Address;
const SIG = ('0x' + '1'.repeat(130)) as Hex;
const SLOT = 1_900_000_020_000 - (1_900_000_020_000 % 60_000);

/** The orders and trades tables as stores before trade_refs had them, with their indexes by participant. */
const SCHEMA_BEFORE = `
CREATE TABLE orders (
  id TEXT PRIMARY KEY, market TEXT NOT NULL, slot INTEGER NOT NULL, participant TEXT NOT NULL, side TEXT NOT NULL, price TEXT NOT NULL,
  quantity_wh INTEGER NOT NULL, filled_wh INTEGER NOT NULL, remaining_wh INTEGER NOT NULL, tif TEXT NOT NULL, status TEXT NOT NULL,
  nonce INTEGER NOT NULL, expiry INTEGER NOT NULL, signature TEXT NOT NULL, signer TEXT NOT NULL, source TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL
);
CREATE INDEX orders_participant ON orders(participant, created_at);
CREATE INDEX orders_slot ON orders(market, slot);
CREATE TABLE trades (
  id TEXT PRIMARY KEY, market TEXT NOT NULL, slot INTEGER NOT NULL, seq INTEGER NOT NULL, buy_order TEXT NOT NULL, sell_order TEXT NOT NULL,
  buyer TEXT NOT NULL, seller TEXT NOT NULL, price TEXT NOT NULL, quantity_wh INTEGER NOT NULL, time INTEGER NOT NULL
);
CREATE INDEX trades_slot ON trades(market, slot, seq);
CREATE INDEX trades_buyer ON trades(buyer, slot);
CREATE INDEX trades_seller ON trades(seller, slot);
`;

const orderRow = (participant: Address, nonce: number, side: 'bid' | 'ask', filledWh: number) =>
  [`${participant}-${nonce}`, 'demo', SLOT, participant, side, '150000', 100, filledWh, 100 - filledWh, 'gtc', filledWh === 100 ? 'filled' : 'open', nonce, SLOT, SIG, participant, 'manual', SLOT - 50_000 + nonce, SLOT - 40_000];
const tradeRow = (seq: number, buyer: Address, buyNonce: number, seller: Address, sellNonce: number) =>
  [`demo-${SLOT}-${seq}`, 'demo', SLOT, seq, `${buyer}-${buyNonce}`, `${seller}-${sellNonce}`, buyer, seller, '150000', 10, SLOT - 30_000 + seq];

/** Index names of a table whose first column is one of `columns`. */
function indexesLeadingWith(db: Database.Database, table: string, columns: string[]): string[] {
  const names = (db.prepare(`PRAGMA index_list(${table})`).all() as { name: string }[]).map((i) => i.name);
  return names.filter((name) => columns.includes((db.prepare(`PRAGMA index_info(${name})`).all() as { name: string }[])[0]?.name));
}

describe('SQLite market tables: lookups by participant without an index by participant', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'gridmesh-lookups-')); });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a new store has no index led by participant, buyer or seller on orders or trades', async () => {
    const file = join(dir, 'store.db');
    const store = await openSqliteStore(file);
    await store.close();
    const db = new Database(file, { readonly: true });
    try {
      assert.deepEqual(indexesLeadingWith(db, 'orders', ['participant']), []);
      assert.deepEqual(indexesLeadingWith(db, 'trades', ['buyer', 'seller']), []);
    } finally {
      db.close();
    }
  });

  it('migrates a store written before: trade_refs filled from the trades, the indexes by participant dropped, later fills appended', async () => {
    const [a, b, c] = [P(1), P(2), P(3)];
    const file = join(dir, 'store.db');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec(SCHEMA_BEFORE);
    const insertOrder = old.prepare(`INSERT INTO orders VALUES (${new Array(18).fill('?').join(',')})`);
    const insertTrade = old.prepare(`INSERT INTO trades VALUES (${new Array(11).fill('?').join(',')})`);
    insertOrder.run(...orderRow(a, 1, 'ask', 30));
    insertOrder.run(...orderRow(b, 1, 'bid', 100));
    insertOrder.run(...orderRow(a, 2, 'bid', 100));
    insertOrder.run(...orderRow(c, 1, 'bid', 0));
    insertTrade.run(...tradeRow(1, b, 1, a, 1));
    // a's bid crossing a's own ask.
    insertTrade.run(...tradeRow(2, a, 2, a, 1));
    old.close();

    let store = await openSqliteStore(file);
    try {
      assert.deepEqual((await store.market.trades({ participant: a })).map((t) => t.seq), [1, 2]);
      assert.deepEqual((await store.market.trades({ participant: b })).map((t) => [t.seq, t.buyer, t.seller]), [[1, b, a]]);
      assert.deepEqual(await store.market.trades({ participant: c }), []);
      assert.deepEqual((await store.market.orders({ participant: a })).map((o) => o.nonce), [2, 1]);
      assert.deepEqual([...(await store.market.noncesOf(a))].sort(), [1, 2]);

      // A later fill of a's ask (the engine sends the changed orders with their trade) is appended to what was migrated.
      const ask: OrderRecord = {
        id: `${a}-1`, market: 'demo', slot: SLOT, participant: a, side: 'ask', price: '150000', quantityWh: 100, filledWh: 40, remainingWh: 60, timeInForce: 'gtc',
        status: 'open', nonce: 1, expiry: SLOT, signature: SIG, signer: a, source: 'manual', createdAt: SLOT - 49_999, updatedAt: SLOT - 20_000,
      };
      const bid: OrderRecord = { ...ask, id: `${c}-2`, participant: c, signer: c, side: 'bid', nonce: 2, quantityWh: 10, filledWh: 10, remainingWh: 0, status: 'filled', createdAt: SLOT - 20_000 };
      const trade: TradeRecord = {
        id: `demo-${SLOT}-3`, market: 'demo', slot: SLOT, seq: 3, buyOrder: bid.id, sellOrder: ask.id, buyer: c, seller: a, price: '150000', quantityWh: 10, time: SLOT - 20_000,
      };
      await store.market.commit({ entry: { market: 'demo', slot: SLOT, command: '{"fill":3}', time: SLOT - 20_000 }, nonce: { participant: c, nonce: 2 }, orders: [ask, bid], trades: [trade], slots: [] });
      assert.deepEqual((await store.market.trades({ participant: a })).map((t) => t.seq), [1, 2, 3]);
      assert.deepEqual((await store.market.trades({ participant: c })), [trade]);
    } finally {
      await store.close();
    }

    // Opening again finds nothing left to migrate and loses nothing.
    store = await openSqliteStore(file);
    try {
      assert.deepEqual((await store.market.trades({ participant: a })).map((t) => t.seq), [1, 2, 3]);
    } finally {
      await store.close();
    }
    const db = new Database(file, { readonly: true });
    try {
      assert.deepEqual(indexesLeadingWith(db, 'orders', ['participant']), []);
      assert.deepEqual(indexesLeadingWith(db, 'trades', ['buyer', 'seller']), []);
      assert.equal((db.prepare('SELECT trade_refs FROM orders WHERE id = ?').pluck().get(`${a}-1`)), `,demo-${SLOT}-1,demo-${SLOT}-2,demo-${SLOT}-3`);
    } finally {
      db.close();
    }
  });
});
