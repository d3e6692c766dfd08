// Microbenchmark of the SQLite market writer alone: CPU and wall time per order for order-entry commit groups on a real file.
//
// Not part of `npm run bench` (the ingest bench measures the writer inside the server); run it while changing the
// market schema or the commit path: `npx tsx bench/market-writer.micro.ts [drop:INDEX,…]` with optional env
// `N` (orders, default 100,000), `GROUP` (orders per transaction, 50), `CACHE` (PRAGMA cache_size), `PAGE` (page_size).
// Orders come from 1,000 participants; about 70 % of them fill a resting order (a trade and a maker update), as in the
// ingest bench.
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import type { Address, Hex } from '@gridmesh/contracts-abi';
import { MARKET_SCHEMA, marketWriter } from '../server/src/store/market-sqlite.ts';
import { encodeCommitGroup } from '../server/src/store/commit-group-codec.ts';
import type { MarketCommit, OrderRecord, TradeRecord } from '../server/src/store/market-port.ts';

const variant = process.argv[2] ?? 'current';
const N = Number(process.env.N ?? 100_000);
const GROUP = Number(process.env.GROUP ?? 50);
const PARTICIPANTS = 1000;

const dir = mkdtempSync(join(tmpdir(), 'gridmesh-writer-micro-'));
const db = new Database(join(dir, 'market.db'));
if (process.env.PAGE) db.pragma(`page_size = ${Number(process.env.PAGE)}`);
// The writer thread's settings (store/market-writer-worker.ts).
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 8000');
if (process.env.CACHE) db.pragma(`cache_size = ${Number(process.env.CACHE)}`);
db.exec(MARKET_SCHEMA);
// `drop:a,b` measures the schema without those indexes (to price each one; never a production setting).
if (variant.startsWith('drop:')) db.exec(variant.slice(5).split(',').map((index) => `DROP INDEX ${index};`).join(''));
const writer = marketWriter(db);

const participants = Array.from({ length: PARTICIPANTS }, (_, i) => `0x${(i * 7919 + 12345).toString(16).padStart(40, 'a')}` as Address);
const nonces = new Array<number>(PARTICIPANTS).fill(0);
const resting: OrderRecord[] = [];
let tradeSeq = 0;
const T0 = 1_764_000_000_000;

function orderCommit(i: number): MarketCommit {
  const participant = participants[(i * 37) % PARTICIPANTS];
  const nonce = ++nonces[(i * 37) % PARTICIPANTS];
  const slot = T0 + (i % 8) * 60_000;
  const order: OrderRecord = {
    id: `${participant}-${nonce}`, market: 'demo', slot, participant, side: i % 2 ? 'bid' : 'ask', price: '190500', quantityWh: 7, filledWh: 0,
    remainingWh: 7, timeInForce: 'gtc', status: 'open', nonce, expiry: T0 + 3_600_000, signature: `0x${'ab'.repeat(65)}` as Hex, signer: participant,
    source: 'manual', createdAt: T0 + i, updatedAt: T0 + i,
  };
  const orders = [order];
  const trades: TradeRecord[] = [];
  if (resting.length > 50 && i % 10 < 7) {
    const maker = resting.splice((i * 13) % resting.length, 1)[0];
    orders.push({ ...maker, filledWh: 7, remainingWh: 0, status: 'filled', updatedAt: order.createdAt });
    tradeSeq += 1;
    trades.push({ id: `demo-${slot}-${tradeSeq}`, market: 'demo', slot, seq: tradeSeq, buyOrder: order.id, sellOrder: maker.id, buyer: participant, seller: maker.participant, price: '190500', quantityWh: 7, time: order.createdAt });
  } else resting.push(order);
  return { entry: { market: 'demo', slot, command: JSON.stringify({ type: 'submit', ...order }), time: order.createdAt }, nonce: { participant, nonce }, orders, trades, slots: [] };
}

// Bytes this process wrote (WAL frames and its checkpoints' copies): the figure the schema decides, free of timing noise.
const written = () => Number(/wchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? Number.NaN);
const written0 = written();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
for (let i = 0; i < N; i += GROUP) {
  const group: MarketCommit[] = [];
  for (let j = 0; j < GROUP; j++) group.push(orderCommit(i + j));
  writer.commitEncoded(encodeCommitGroup(group));
}
const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
console.log(`${variant}: ${N.toLocaleString('en')} orders in groups of ${GROUP}: wall ${((wallMs * 1000) / N).toFixed(1)} µs/order, CPU ${((cpu.user + cpu.system) / N).toFixed(1)} µs/order (system ${(cpu.system / N).toFixed(1)}), written ${((written() - written0) / N / 1024).toFixed(1)} kB/order`);
db.close();
rmSync(dir, { recursive: true, force: true });
