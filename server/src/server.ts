// Composes the gridmesh server: store, registry, ingestion, markets (engine + journal), slot lifecycle, auth, REST and Socket.IO.
import { createServer, type Server as HttpServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import express from 'express';
import { Server as SocketServer } from 'socket.io';
import pino from 'pino';
import type { Address } from '@gridmesh/contracts-abi';
import type { ServerConfig } from './config.ts';
import { openStore, type Store } from './store/index.ts';
import { Registry } from './registry/registry.ts';
import { ReadingIngest } from './ingest/ingest.ts';
import { LiveState } from './realtime/live-state.ts';
import { attachBridgeNamespace } from './realtime/bridge-namespace.ts';
import { attachMarketNamespace, type MarketHub } from './realtime/market-namespace.ts';
import { computeFlows, type Flows } from './realtime/flows.ts';
import { apiRoutes } from './http/routes.ts';
import { errorHandler, notFound } from './http/errors.ts';
import { marketRoutes, orderSubmitRoute } from './http/market-routes.ts';
import { orderEntryDoor, type OrderEntryDoor } from './http/order-entry-door.ts';
import { rewardRoutes, type RewardSources } from './http/reward-routes.ts';
import { authRoutes } from './http/auth-routes.ts';
import { opsRoutes, type ChainInfo, type DemoHomeKey, type OperatorSources } from './http/ops-routes.ts';
import { rateLimitBuckets, rateLimiter } from './http/rate-limit.ts';
import { MarketRuntime } from './orders/market-runtime.ts';
import { marketInfo } from './orders/market-settings.ts';
import { OrderService, OrderError, type OrderChange } from './orders/order-service.ts';
import { bookSnapshot, orderInfo, slotInfo, tradeMessage } from './orders/views.ts';
import { LedgerEscrow, type EscrowSource } from './orders/escrow.ts';
import { SlotLifecycle, type SlotSettler } from './slots/slot-lifecycle.ts';
import { ChainSettler } from './slots/chain-settler.ts';
import { ManualClock, systemClock, type Clock } from './slots/clock.ts';
import { SignIn } from './auth/sign-in.ts';
import { SessionTokens } from './auth/session-tokens.ts';
import { readSession, tokenFromCookie } from './auth/http-session.ts';
import { ServerMetrics } from './ops/metrics.ts';
import { tradeProofRouter } from './chain/index.ts';
import { rulesRoutes } from './http/rules-routes.ts';
import { TradeRulesService } from './rules/rules-service.ts';
import { DelegationService } from './rules/delegation.ts';
import { RuleRunner } from './rules/rule-runner.ts';
import { createHmac } from 'node:crypto';
import { loadDispatcher } from './realtime/load-dispatch.ts';

/** Largest JSON request body (express.json's limit and the order-entry door's). */
const JSON_BODY_LIMIT = 1_048_576;

export interface GridmeshServer {
  readonly http: HttpServer;
  readonly io: SocketServer;
  readonly store: Store;
  readonly registry: Registry;
  readonly live: LiveState;
  readonly markets: ReadonlyMap<string, MarketRuntime>;
  readonly orders: OrderService;
  readonly lifecycle: SlotLifecycle;
  readonly hub: MarketHub;
  readonly clock: Clock;
  readonly tokens: SessionTokens;
  readonly metrics: ServerMetrics;
  readonly delegations: DelegationService;
  /** Base URL once listening, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  close(): Promise<void>;
}

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/** Structured JSON logs (pino) to stdout. */
export function pinoLogger(): Logger {
  const log = pino({ base: { svc: 'gridmesh' } });
  // msg first in each line (fields after), the shape scripts and tests grep for.
  return { info: (msg, fields) => log.info({ msg, ...fields }), error: (msg, fields) => log.error({ msg, ...fields }) };
}

export interface SettlerContext {
  store: Store;
  /** Tell participants' rooms that a slot's settlement rows exist. */
  settled(market: string, slot: number): void;
  /**
   * Time (ms) before which every slot of every market has its settlement stored, counting `justSettled` as done
   * (the lifecycle marks it settling only after the settler returns). Reward epochs end at or before it.
   */
  settledThrough(justSettled?: { market: string; slot: number }): number;
  /** The server's clock. */
  now(): number;
}

/** Integration points other modules plug in (chain escrow, settlement, demo); all optional. */
export interface ServerOptions {
  clock?: Clock;
  escrow?: EscrowSource;
  /** Builds the slot settler once the store is open; default: delivery settlement without a chain. */
  settler?: (ctx: SettlerContext) => SlotSettler;
  chain?: () => ChainInfo;
  demoHomes?: () => DemoHomeKey[];
  operator?: OperatorSources;
  /** Reward epochs on chain and claim proofs (with a chain). */
  rewards?: RewardSources;
}

function sessionSecret(config: ServerConfig): Buffer {
  if (config.sessionSecret) return Buffer.from(config.sessionSecret, 'hex');
  // Kept in the data dir so sessions survive a restart.
  const file = join(config.dataDir, 'session.key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
  mkdirSync(config.dataDir, { recursive: true });
  const secret = randomBytes(32);
  writeFileSync(file, secret.toString('hex'), { mode: 0o600 });
  return secret;
}

export async function startServer(config: ServerConfig, log: Logger = pinoLogger(), options: ServerOptions = {}): Promise<GridmeshServer> {
  const testClock = config.testClockStart !== undefined ? new ManualClock(config.testClockStart) : undefined;
  const clock: Clock = options.clock ?? testClock ?? systemClock;
  const now = () => clock.now();
  const metrics = new ServerMetrics();
  const store = await openStore({ sqlitePath: config.sqlitePath, mongodbUri: config.mongodbUri });
  const registry = new Registry(store, config.chainId, Date.now);
  await registry.load();
  const live = new LiveState(registry);
  await live.load(store);
  const ingest = new ReadingIngest(store, config.chainId, Date.now);
  const escrow = options.escrow ?? new LedgerEscrow(config.ledgerEscrow);

  // Markets: books of open slots rebuilt from the journal before anything is accepted.
  const exportCapacityW = (participant: Address) => registry.exportCapacityW(participant);
  const markets = new Map<string, MarketRuntime>();
  for (const settings of config.markets) {
    const rt = new MarketRuntime(settings, store, { escrowBalance: (p) => escrow.balance(p), exportCapacityW });
    await rt.load();
    markets.set(settings.id, rt);
  }
  const orders = new OrderService(markets, config.chainId, clock);
  orders.setBidPreparation((p) => escrow.refresh(p).catch(() => undefined));
  orders.observe = (command, result, seconds) => {
    metrics.orders.inc({ command, result });
    metrics.orderSeconds.observe(seconds);
  };
  const lifecycle = new SlotLifecycle(markets, clock, log);
  const settled = (market: string, slot: number) => {
    void store.settlements.participantsOf(market, slot).then((rows) => {
      for (const row of rows) hub.settlements(row.participant, [row]);
    }).catch(() => undefined);
  };
  const settledThrough = (justSettled?: { market: string; slot: number }) => {
    let through = Number.POSITIVE_INFINITY;
    for (const rt of markets.values()) {
      const { id, slotMs } = rt.settings;
      // Live slots are sorted; states before 'settling' have no settlement yet.
      const pending = rt.liveSlots().find((s) => s.state !== 'settling' && !(justSettled?.market === id && justSettled.slot === s.slot));
      through = Math.min(through, pending ? pending.slot : Math.floor(now() / slotMs) * slotMs);
    }
    return Number.isFinite(through) ? through : now();
  };
  const settlerContext: SettlerContext = { store, settled: (market, slot) => settled(market, slot), settledThrough, now };
  lifecycle.setSettler(options.settler ? options.settler(settlerContext) : new ChainSettler({ store, outbox: null, outboxStore: null, now, onSettled: settlerContext.settled }));
  const secret = sessionSecret(config);
  const tokens = new SessionTokens(secret);
  // Trade rules: orders signed by delegated session keys (their keys sealed with a key derived from the server secret).
  const delegations = new DelegationService(store, config.chainId, createHmac('sha256', secret).update('gridmesh session-key vault').digest());
  await delegations.load();
  orders.setDelegateCheck((participant, signer, at) => delegations.isAuthorisedSigner(participant, signer, at));
  const tradeRules = new TradeRulesService(store, config.markets[0].id);
  const rulePort = {
    submit: (body: unknown) => orders.submit(body, { kind: 'rule' }),
    amend: (orderId: string, body: unknown) => orders.amend(orderId, body, { kind: 'rule' }),
    cancel: (orderId: string) => orders.cancel(orderId, { kind: 'rule' }),
  };
  const ruleRunners = [...markets.values()].map((rt) => ({
    rt,
    runner: new RuleRunner(store, { name: rt.settings.id, slotMs: rt.settings.slotMs, horizonMs: rt.settings.horizonMs, gateMs: rt.settings.gateMs, tick: rt.settings.tick, floor: rt.settings.floor, cap: rt.settings.cap }, delegations, rulePort),
  }));
  let ruleTimer: { cancel(): void } | null = null;
  let rulesStopped = false;
  const runRules = async () => {
    for (const { runner } of ruleRunners) {
      const report = await runner.run(now()).catch((err: unknown) => { log.error('trade rules run failed', { err: err instanceof Error ? err.message : String(err) }); return null; });
      if (report && report.failed.length) log.info('trade rule orders refused', { failed: report.failed.length, first: report.failed[0].error });
    }
    if (rulesStopped) return;
    // Four runs per slot keep rule orders in step with the forecasts (at least every 5 s, at most every minute).
    const every = Math.min(60_000, Math.max(5_000, Math.min(...ruleRunners.map((r) => r.rt.settings.slotMs)) / 4));
    ruleTimer = clock.setTimer(every, () => void runRules());
  };
  const signIn = new SignIn(config.chainId, now);

  const flowsOf = async (market: string): Promise<Flows> => {
    const rt = markets.get(market) as MarketRuntime;
    const t = now();
    const slot = t - (t % rt.settings.slotMs);
    const trades = await store.market.trades({ market, from: slot, to: slot + 1 });
    return computeFlows(market, slot, rt.settings.slotMs, t, live.all(), trades);
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // Plain `POST /api/orders` requests are answered by the order-entry door ahead of Express (set below, once the order
  // service exists); everything else, and the door's refusals to take a request, go to Express.
  let orderDoor: OrderEntryDoor | null = null;
  const http = createServer((req, res) => {
    if (orderDoor?.(req, res)) return;
    app(req, res);
  });
  // Keep idle client connections longer than clients' own pools do (and than load balancers' 60 s), so a pooled
  // connection is never closed by us at the moment a client reuses it (that race shows as ECONNRESET).
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  const io = new SocketServer(http, { serveClient: false, maxHttpBufferSize: 4e6 });
  let redisClients: { quit(): Promise<unknown> }[] = [];
  if (config.redisUrl) {
    // Several server processes share /market broadcasts through Redis pub/sub.
    const { createClient } = await import('redis');
    const { createAdapter } = await import('@socket.io/redis-adapter');
    const pub = createClient({ url: config.redisUrl });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub));
    redisClients = [pub, sub];
  }

  const hub = attachMarketNamespace(io.of('/market'), {
    liveHomes: () => live.all(),
    hasMarket: (m) => markets.has(m),
    async marketSnapshot(market) {
      const rt = markets.get(market) as MarketRuntime;
      const seq = hub.seq(`market:${market}`);
      const slots = rt.liveSlots();
      const t = now();
      const current = t - (t % rt.settings.slotMs);
      const trades = await store.market.trades({ market, from: current - rt.settings.slotMs, to: Number.MAX_SAFE_INTEGER });
      return {
        market: marketInfo(rt.settings, t),
        slots: slots.map((s) => slotInfo(s, rt.settings)),
        books: slots.filter((s) => s.state === 'open').map((s) => bookSnapshot(rt, s.slot, seq)),
        trades: trades.map(tradeMessage),
        flows: await flowsOf(market),
      };
    },
    async participantSnapshot(address) {
      const open = await store.market.orders({ participant: address as Address, status: 'open' });
      return { orders: open.map(orderInfo) };
    },
    books: (market, slots, seq) => slots.map((slot) => bookSnapshot(markets.get(market) as MarketRuntime, slot, seq)),
    flows: (market) => flowsOf(market),
    session: (token, cookie) => tokens.verify(token ?? tokenFromCookie(cookie), now()),
    submitOrder: async (payload, session) => { const o = await orders.submit(payload, { kind: 'session', address: session.address }); return { order: orderInfo(o.order), trades: o.trades.map(tradeMessage) }; },
    amendOrder: async (payload, session) => {
      const id = (payload as { orderId?: unknown } | null)?.orderId;
      if (typeof id !== 'string') throw new OrderError(400, { code: 'VALIDATION', message: '/orderId is required', fields: [{ field: '/orderId', message: 'is required' }] });
      const o = await orders.amend(id, payload, { kind: 'session', address: session.address });
      return { order: orderInfo(o.order), trades: o.trades.map(tradeMessage) };
    },
    cancelOrder: async (payload, session) => {
      const id = (payload as { orderId?: unknown } | null)?.orderId;
      if (typeof id !== 'string') throw new OrderError(400, { code: 'VALIDATION', message: '/orderId is required', fields: [{ field: '/orderId', message: 'is required' }] });
      const o = await orders.cancel(id, { kind: 'session', address: session.address });
      return { order: orderInfo(o.order) };
    },
  }, config.broadcastIntervalMs, { clustered: Boolean(config.redisUrl) });

  // Every committed change fans out to the rooms that show it; messages are built only for rooms somebody is in.
  const broadcast = (change: OrderChange) => {
    if (change.trades.length) metrics.trades.inc(change.trades.length);
    if (hub.hearsMarket(change.market)) {
      const rt = markets.get(change.market) as MarketRuntime;
      let lastSlot = Number.NaN;
      for (const o of change.orders) if (o.slot !== lastSlot) { lastSlot = o.slot; hub.book(change.market, o.slot); }
      if (change.trades.length) {
        hub.trades(change.market, change.trades.map(tradeMessage));
        hub.flows(change.market);
      }
      if (change.slots.length) hub.slots(change.market, change.slots.map((s) => slotInfo(s, rt.settings)));
    }
    // Each owner once, with all of its changed orders.
    const byOwner = new Map<string, ReturnType<typeof orderInfo>[]>();
    for (const o of change.orders) {
      const list = byOwner.get(o.participant);
      if (list) list.push(orderInfo(o));
      else if (hub.hearsParticipant(o.participant)) byOwner.set(o.participant, [orderInfo(o)]);
    }
    for (const [owner, list] of byOwner) hub.orders(owner, list);
  };
  orders.onChange(broadcast);
  lifecycle.afterClose = (market, result) => broadcast({ market, orders: result.orders, trades: result.trades, slots: [] });
  lifecycle.onSlots((market, slots) => {
    const rt = markets.get(market) as MarketRuntime;
    hub.slots(market, slots.map((s) => slotInfo(s, rt.settings)));
    hub.flows(market);
  });

  app.get('/metrics', async (_req, res) => {
    for (const rt of markets.values()) {
      for (const side of ['bid', 'ask'] as const) {
        let depth = 0;
        for (const s of rt.liveSlots()) if (s.state === 'open') for (const l of rt.market.bookSnapshot(s.slot, 1000)[side === 'bid' ? 'bids' : 'asks']) depth += l.quantityWh;
        metrics.bookDepth.set({ market: rt.settings.id, side }, depth);
      }
      const t = now();
      const lagging = rt.liveSlots().filter((s) => s.state === 'metering' || s.state === 'settling').map((s) => t - (s.slot + rt.settings.slotMs + rt.settings.graceMs));
      metrics.settlementLag.set(Math.max(0, ...lagging) / 1000);
    }
    if (options.operator?.outboxDepth) metrics.outboxDepth.set(await options.operator.outboxDepth());
    res.setHeader('content-type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });
  const jsonBody = express.json({ limit: JSON_BODY_LIMIT });
  const sessionReader = readSession(tokens, now);
  const rateBuckets = rateLimitBuckets(config.rateLimit);
  const limiter = rateLimiter(rateBuckets);
  if (process.env.GRIDMESH_ORDER_ENTRY_DOOR !== '0') {
    orderDoor = orderEntryDoor({
      orders, tokens, now, buckets: rateBuckets, maxBodyBytes: JSON_BODY_LIMIT,
      log: (err) => log.error('request failed', { err: err instanceof Error ? err.stack : String(err) }),
    });
  }
  // Placing an order is the hot route: mounted first so it does not scan every other router, behind the same body
  // parser, session reader and rate-limit budget as the rest of /api (the door answers most of them before Express).
  app.post('/api/orders', jsonBody, sessionReader, limiter, orderSubmitRoute(orders));
  app.use(jsonBody);
  app.use('/api', sessionReader);
  app.use('/api', limiter);
  let baseUrl = '';
  app.use('/api', apiRoutes({ store, registry, live, chainId: config.chainId, startedAt: Date.now(), now: Date.now }));
  app.use('/api', authRoutes({ signIn, tokens, store, now }));
  app.use('/api', marketRoutes({
    store, markets, orders, clock, roomSeq: (room) => hub.seq(room), flows: flowsOf,
    escrow: (p) => escrow.read(p),
  }));
  app.use('/api', rewardRoutes({ store, ...(options.rewards ? { rewards: options.rewards } : {}) }));
  app.use('/api', rulesRoutes({ rules: tradeRules, delegations, now }));
  app.use('/api', opsRoutes({
    store, registry, live, markets, clock, baseUrl: () => baseUrl,
    chain: options.chain ?? (() => ({ chainId: config.chainId, rpcUrl: null, embedded: false, operator: null, addresses: null, withdrawalDelaySeconds: null })),
    demoHomes: options.demoHomes, operator: options.operator ?? {}, testClock, onClockMoved: () => lifecycle.step(),
  }));
  // Merkle proof of a trade against the slot's tradesRoot, once the slot's batch went to the chain.
  app.use(tradeProofRouter(async (slotId) => {
    for (const rt of markets.values()) {
      const rec = rt.slotRecord(slotId) ?? (await store.market.slot(rt.settings.id, slotId));
      if (!rec?.settlement?.tradesRoot) continue;
      const trades = await store.market.trades({ market: rt.settings.id, from: slotId, to: slotId + 1 });
      return trades.map((t) => ({ id: t.id, slot: t.slot, seq: t.seq, buyer: t.buyer, seller: t.seller, price: BigInt(t.price), quantityWh: t.quantityWh }));
    }
    return undefined;
  }));
  app.use('/api', notFound);
  if (config.webDir && existsSync(config.webDir)) {
    app.use(express.static(config.webDir, { index: 'index.html', maxAge: '1h' }));
  }
  app.use(notFound);
  app.use(errorHandler((err) => log.error('request failed', { err: err instanceof Error ? err.stack : String(err) })));

  attachBridgeNamespace(io.of('/bridge'), {
    chainId: config.chainId,
    ingest,
    live,
    now: Date.now,
    isRegistered: (meter) => registry.home(meter) !== undefined,
    onCommitted: (readings) => {
      metrics.readings.inc(readings.length);
      const update = live.update(readings[readings.length - 1]);
      if (update) hub.power(update);
    },
    onBatchTimed: (seconds) => metrics.readingBatchSeconds.observe(seconds),
    log: (msg, fields) => log.info(msg, fields),
  });
  lifecycle.onSlots(loadDispatcher({
    bridges: io.of('/bridge'),
    registry,
    slotMs: (market) => (markets.get(market) as MarketRuntime).settings.slotMs,
    trades: (market, slot) => store.market.trades({ market, from: slot, to: slot + 1 }),
    log: (msg, fields) => log.error(msg, fields),
  }));

  await new Promise<void>((resolveListen, reject) => {
    http.once('error', reject);
    // A deep accept queue: a burst of connecting clients (a neighbourhood reconnecting after an outage) waits in the
    // kernel instead of being dropped into 1 s + 2 s SYN retries by Node's default backlog of 511.
    http.listen({ port: config.port, host: config.host, backlog: 4096 }, () => resolveListen());
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  baseUrl = url;
  lifecycle.start();
  void runRules();
  log.info('gridmesh server listening', { url, store: store.kind, chainId: config.chainId, markets: [...markets.keys()] });

  let closed = false;
  return {
    http, io, store, registry, live, url, markets, orders, lifecycle, hub, clock, tokens, metrics, delegations,
    async close() {
      if (closed) return;
      closed = true;
      // Stop producing work first, then let in-flight commands finish before the store closes.
      lifecycle.stop();
      rulesStopped = true;
      ruleTimer?.cancel();
      hub.stop();
      io.disconnectSockets(true);
      await new Promise<void>((r) => io.close(() => r()));
      await Promise.all([...markets.values()].map((rt) => rt.serial(async () => undefined)));
      await Promise.all(redisClients.map((c) => c.quit().catch(() => undefined)));
      await store.close();
    },
  };
}
