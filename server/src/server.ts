// Composes the gridmesh server: store, registry, ingestion, Express REST and Socket.IO namespaces on one HTTP port.
import { createServer, type Server as HttpServer } from 'node:http';
import { existsSync } from 'node:fs';
import express from 'express';
import { Server as SocketServer } from 'socket.io';
import type { ServerConfig } from './config.ts';
import { openStore, type Store } from './store/index.ts';
import { Registry } from './registry/registry.ts';
import { ReadingIngest } from './ingest/ingest.ts';
import { LiveState } from './realtime/live-state.ts';
import { attachBridgeNamespace } from './realtime/bridge-namespace.ts';
import { attachMarketNamespace } from './realtime/market-namespace.ts';
import { apiRoutes } from './http/routes.ts';
import { errorHandler, notFound } from './http/errors.ts';

export interface GridmeshServer {
  readonly http: HttpServer;
  readonly io: SocketServer;
  readonly store: Store;
  readonly registry: Registry;
  readonly live: LiveState;
  /** Base URL once listening, e.g. http://127.0.0.1:8080 */
  readonly url: string;
  close(): Promise<void>;
}

export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

const consoleLogger: Logger = {
  info: (msg, fields) => console.log(JSON.stringify({ level: 'info', msg, ...fields })),
  error: (msg, fields) => console.error(JSON.stringify({ level: 'error', msg, ...fields })),
};

export async function startServer(config: ServerConfig, log: Logger = consoleLogger): Promise<GridmeshServer> {
  const now = Date.now;
  const store = await openStore({ sqlitePath: config.sqlitePath, mongodbUri: config.mongodbUri });
  const registry = new Registry(store, config.chainId, now);
  await registry.load();
  const live = new LiveState(registry);
  await live.load(store);
  const ingest = new ReadingIngest(store, config.chainId, now);

  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '1mb' }));
  app.use('/api', apiRoutes({ store, registry, live, chainId: config.chainId, startedAt: now(), now }));
  app.use('/api', notFound);
  if (config.webDir && existsSync(config.webDir)) {
    app.use(express.static(config.webDir, { index: 'index.html', maxAge: '1h' }));
  }
  app.use(notFound);
  app.use(errorHandler((err) => log.error('request failed', { err: err instanceof Error ? err.stack : String(err) })));

  const http = createServer(app);
  const io = new SocketServer(http, { serveClient: false, maxHttpBufferSize: 4e6 });
  const market = attachMarketNamespace(io.of('/market'), live, config.broadcastIntervalMs);
  attachBridgeNamespace(io.of('/bridge'), {
    chainId: config.chainId,
    ingest,
    live,
    now,
    isRegistered: (meter) => registry.home(meter) !== undefined,
    onCommitted: (readings) => {
      const update = live.update(readings[readings.length - 1]);
      if (update) market.power(update);
    },
    log: (msg, fields) => log.info(msg, fields),
  });

  await new Promise<void>((resolveListen, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => resolveListen());
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  log.info('gridmesh server listening', { url, store: store.kind, chainId: config.chainId });

  let closed = false;
  return {
    http, io, store, registry, live, url,
    async close() {
      if (closed) return;
      closed = true;
      market.stop();
      io.disconnectSockets(true);
      await new Promise<void>((r) => io.close(() => r()));
      await store.close();
    },
  };
}
