// REST routes of the market: markets, slots, books, trades, flows, orders (place/amend/cancel), and the participant's own history.
import { Router, type Request, type RequestHandler, type Response } from 'express';
import { ErrorCode, type Address } from '@gridmesh/contracts-abi';
import type { Store, TradeRecord } from '../store/index.ts';
import type { Clock } from '../slots/clock.ts';
import type { MarketRuntime } from '../orders/market-runtime.ts';
import { marketInfo } from '../orders/market-settings.ts';
import { OrderError, type OrderService } from '../orders/order-service.ts';
import { bookSnapshot, orderInfo, slotInfo, tradeMessage } from '../orders/views.ts';
import { requireSelf, requireSession } from '../auth/http-session.ts';
import type { Flows } from '../realtime/flows.ts';
import { HttpError } from './errors.ts';
import { intQuery } from './query.ts';

export interface MarketRouteDeps {
  store: Store;
  markets: ReadonlyMap<string, MarketRuntime>;
  orders: OrderService;
  clock: Clock;
  /** Current seq of a /market room, so REST snapshots say which delta they are consistent with. */
  roomSeq(room: string): number;
  flows(market: string): Promise<Flows>;
  escrow(participant: Address): Promise<{ balance: bigint; pendingWithdrawal: bigint; withdrawableAt: number | null; source: 'chain' | 'ledger' }>;
}

function slotParam(req: Request, rt: MarketRuntime): number {
  const raw = String(req.params.slot ?? '');
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n % rt.settings.slotMs !== 0) {
    throw HttpError.badRequest('slot must be a slot start time (ms) of this market', [{ field: '/params/slot', message: `must be a multiple of ${rt.settings.slotMs}` }]);
  }
  return n;
}

/** Turns an OrderError into the HTTP error the error middleware sends. */
async function orderCall<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof OrderError) throw new HttpError(err.status, err.body);
    throw err;
  }
}

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};
export function sendCsv(res: Response, name: string, header: string[], rows: unknown[][]): void {
  res.setHeader('content-type', 'text/csv; charset=utf-8');
  res.setHeader('content-disposition', `attachment; filename="${name}"`);
  res.send([header.join(','), ...rows.map((r) => r.map(csvCell).join(','))].join('\n') + '\n');
}

/**
 * `POST /api/orders`, mounted by the server ahead of the other routers (the hot route should not scan them all) behind
 * the same body parser, session reader and rate limiter. Writes its 201 directly: no ETag for a POST answer.
 */
export function orderSubmitRoute(orders: OrderService): RequestHandler {
  return async (req, res) => {
    const session = requireSession(res);
    const out = await orderCall(() => orders.submit(req.body, { kind: 'session', address: session.address }));
    const body = JSON.stringify({ order: orderInfo(out.order), trades: out.trades.map(tradeMessage) });
    res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
}

export function marketRoutes(deps: MarketRouteDeps): Router {
  const r = Router();
  const market = (req: Request): MarketRuntime => {
    const rt = deps.markets.get(String(req.params.market));
    if (!rt) throw new HttpError(404, { code: ErrorCode.NOT_FOUND, message: `no market ${req.params.market}` });
    return rt;
  };

  r.get('/markets', (_req, res) => { res.json([...deps.markets.values()].map((rt) => marketInfo(rt.settings, deps.clock.now()))); });
  r.get('/markets/:market', (req, res) => { res.json(marketInfo(market(req).settings, deps.clock.now())); });

  r.get('/markets/:market/slots', async (req, res) => {
    const rt = market(req);
    const now = deps.clock.now();
    const from = intQuery(req, 'from', now - 3_600_000);
    const to = intQuery(req, 'to', now + rt.settings.horizonMs + 1);
    res.json((await deps.store.market.slots(rt.settings.id, from, to)).map((s) => slotInfo(s, rt.settings)));
  });
  r.get('/markets/:market/slots/:slot', async (req, res) => {
    const rt = market(req);
    const slot = slotParam(req, rt);
    const rec = rt.slotRecord(slot) ?? (await deps.store.market.slot(rt.settings.id, slot));
    if (!rec) throw new HttpError(404, { code: ErrorCode.NOT_FOUND, message: `slot ${slot} was never opened` });
    res.json(slotInfo(rec, rt.settings));
  });
  r.get('/markets/:market/slots/:slot/book', (req, res) => {
    const rt = market(req);
    const slot = slotParam(req, rt);
    const depth = intQuery(req, 'depth', 10, 1, 100);
    res.json(bookSnapshot(rt, slot, deps.roomSeq(`market:${rt.settings.id}`), depth));
  });
  r.get('/markets/:market/slots/:slot/trades', async (req, res) => {
    const rt = market(req);
    const slot = slotParam(req, rt);
    res.json((await deps.store.market.trades({ market: rt.settings.id, from: slot, to: slot + 1 })).map(tradeMessage));
  });
  r.get('/markets/:market/trades', async (req, res) => {
    const rt = market(req);
    const now = deps.clock.now();
    const from = intQuery(req, 'from', now - 3_600_000);
    const to = intQuery(req, 'to', Number.MAX_SAFE_INTEGER);
    const limit = intQuery(req, 'limit', 1000, 1, 10_000);
    const trades = await deps.store.market.trades({ market: rt.settings.id, from, to, limit: 100_000 });
    res.json(trades.slice(-limit).map(tradeMessage));
  });
  r.get('/markets/:market/flows', async (req, res) => { res.json(await deps.flows(market(req).settings.id)); });
  r.get('/markets/:market/price-history', async (req, res) => {
    const rt = market(req);
    const now = deps.clock.now();
    const from = intQuery(req, 'from', now - 6 * 3_600_000);
    const to = intQuery(req, 'to', now + 1);
    const slots = await deps.store.market.slots(rt.settings.id, from, to);
    res.json(slots.map((s) => { const i = slotInfo(s, rt.settings); return { slot: s.slot, vwap: i.vwap, clearingPrice: i.clearingPrice, volumeWh: i.volumeWh }; }));
  });

  // ---- orders (POST /orders is `orderSubmitRoute`, mounted first by the server) ----
  r.patch('/orders/:id', async (req, res) => {
    const session = requireSession(res);
    const out = await orderCall(() => deps.orders.amend(String(req.params.id), req.body, { kind: 'session', address: session.address }));
    res.json({ order: orderInfo(out.order), trades: out.trades.map(tradeMessage) });
  });
  r.delete('/orders/:id', async (req, res) => {
    const session = requireSession(res);
    const out = await orderCall(() => deps.orders.cancel(String(req.params.id), { kind: 'session', address: session.address }));
    res.json({ order: orderInfo(out.order) });
  });
  r.get('/orders/:id', async (req, res) => {
    const session = requireSession(res);
    const order = await deps.store.market.order(String(req.params.id));
    if (!order) throw new HttpError(404, { code: ErrorCode.NOT_FOUND, message: `no order ${req.params.id}` });
    if (order.participant !== session.address) throw new HttpError(403, { code: ErrorCode.FORBIDDEN, message: 'this order belongs to another participant' });
    res.json(orderInfo(order));
  });

  // ---- the participant's own history ----
  r.get('/participants/:address/orders', async (req, res) => {
    const me = requireSelf(req, res);
    const status = String(req.query.status ?? 'all');
    if (!['open', 'all', 'filled', 'cancelled', 'expired'].includes(status)) throw HttpError.badRequest('status must be open, filled, cancelled, expired or all', [{ field: '/query/status', message: 'must be open, filled, cancelled, expired or all' }]);
    const slot = req.query.slot === undefined ? undefined : intQuery(req, 'slot', 0);
    const orders = await deps.store.market.orders({
      participant: me, status: status as 'all', limit: intQuery(req, 'limit', 200, 1, 5000),
      ...(req.query.market ? { market: String(req.query.market) } : {}), ...(slot !== undefined ? { slot } : {}),
    });
    res.json(orders.map(orderInfo));
  });
  const myTrades = async (req: Request, me: Address): Promise<(ReturnType<typeof tradeMessage> & { side: 'buy' | 'sell' })[]> => {
    const from = intQuery(req, 'from', 0);
    const to = intQuery(req, 'to', Number.MAX_SAFE_INTEGER);
    const limit = intQuery(req, 'limit', 1000, 1, 100_000);
    const trades: TradeRecord[] = await deps.store.market.trades({ participant: me, from, to, limit: 1_000_000 });
    return trades.slice(-limit).map((t) => ({ ...tradeMessage(t), side: t.buyer === me ? 'buy' : 'sell' }));
  };
  r.get('/participants/:address/trades', async (req, res) => { res.json(await myTrades(req, requireSelf(req, res))); });
  r.get('/participants/:address/escrow', async (req, res) => {
    const me = requireSelf(req, res);
    const chain = await deps.escrow(me);
    let locked = 0n;
    let owed = 0n;
    for (const rt of deps.markets.values()) {
      const f = rt.freeEscrow(me);
      locked += f.locked;
      owed += f.owed;
    }
    res.json({
      balance: chain.balance.toString(), lockedByOpenBids: locked.toString(), owedForUnsettledTrades: owed.toString(),
      free: (chain.balance - locked - owed).toString(), pendingWithdrawal: chain.pendingWithdrawal.toString(), withdrawableAt: chain.withdrawableAt, source: chain.source,
    });
  });
  const mySettlements = async (req: Request, me: Address) => {
    const from = intQuery(req, 'from', 0);
    const to = intQuery(req, 'to', Number.MAX_SAFE_INTEGER);
    const rows = await deps.store.settlements.forParticipant(me, { from, to, limit: intQuery(req, 'limit', 500, 1, 10_000) });
    const out = [];
    for (const row of rows) {
      const rt = deps.markets.get(row.market);
      const slot = rt?.slotRecord(row.slot) ?? (await deps.store.market.slot(row.market, row.slot));
      const info = slot?.settlement ?? null;
      out.push({
        ...row, net: row.netDelta, status: info ? (info.txHash === null && info.status === 'confirmed' ? 'computed' : info.status) : 'computed',
        txHash: info?.txHash ?? null, tradesRoot: info?.tradesRoot ?? null,
      });
    }
    return out;
  };
  r.get('/participants/:address/settlements', async (req, res) => { res.json(await mySettlements(req, requireSelf(req, res))); });
  r.get('/participants/:address/export/settlements.csv', async (req, res) => {
    const rows = await mySettlements(req, requireSelf(req, res));
    const header = ['market', 'slot', 'meteredImportWh', 'meteredExportWh', 'soldWh', 'boughtWh', 'deliveredWh', 'undeliveredWh', 'boughtDeliveredWh', 'paid', 'received', 'imbalancePaid', 'imbalanceReceived', 'net', 'status', 'txHash'] as const;
    sendCsv(res, 'settlements.csv', [...header], rows.map((r) => header.map((h) => (r as Record<string, unknown>)[h])));
  });
  r.get('/participants/:address/export/trades.csv', async (req, res) => {
    const me = requireSelf(req, res);
    const trades = await myTrades(req, me);
    sendCsv(res, 'trades.csv', ['id', 'market', 'slot', 'seq', 'side', 'counterparty', 'price', 'quantityWh', 'time'],
      trades.map((t) => [t.id, t.market, t.slot, t.seq, t.side, t.side === 'buy' ? t.seller : t.buyer, t.price, t.quantityWh, t.time]));
  });
  r.get('/participants/:address/export/readings.csv', async (req, res) => {
    const me = requireSelf(req, res);
    const from = intQuery(req, 'from', 0);
    const to = intQuery(req, 'to', Number.MAX_SAFE_INTEGER);
    const meters = (await deps.store.meters.list()).filter((m) => m.owner === me);
    const rows: unknown[][] = [];
    for (const m of meters) for (const x of await deps.store.readings.range(m.meter, { from, to, limit: 100_000 })) rows.push([x.meter, x.seq, x.timestamp, x.importWh, x.exportWh, x.powerW, x.flags, x.signature]);
    sendCsv(res, 'readings.csv', ['meter', 'seq', 'timestamp', 'importWh', 'exportWh', 'powerW', 'flags', 'signature'], rows);
  });
  return r;
}
