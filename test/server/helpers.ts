// Helpers for server integration tests: an in-process server on an ephemeral port with a manual clock, sign-in, signed orders.
import { Wallet, type HDNodeWallet } from 'ethers';
import { SiweMessage } from 'siwe';
import { io, type Socket } from 'socket.io-client';
import { OrderTypes, gridmeshDomain, type Address, type OrderSubmission } from '@gridmesh/contracts-abi';
import { configFromEnv } from '../../server/src/config.ts';
import { startServer, type GridmeshServer, type ServerOptions } from '../../server/src/server.ts';
import { ManualClock } from '../../server/src/slots/clock.ts';
import { DEMO_MARKET, type MarketSettings } from '../../server/src/orders/market-settings.ts';
import { orderTypedMessage } from '../../server/src/orders/order-signature.ts';
import { registerHome } from '../../server/src/demo/owner-client.ts';
import { tempDir } from '../helpers/processes.ts';

export const CHAIN_ID = 31337;
/** A slot-aligned start time far from any real clock, so tests are independent of the wall clock. */
export const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

export interface TestServer {
  server: GridmeshServer;
  url: string;
  clock: ManualClock;
  dataDir: string;
  market: MarketSettings;
  close(removeData?: boolean): Promise<void>;
}

const silent = { info: () => undefined, error: () => undefined };

export async function startTestServer(opts: { market?: Partial<MarketSettings>; env?: Record<string, string>; dataDir?: string; start?: number; options?: ServerOptions } = {}): Promise<TestServer> {
  const dir = opts.dataDir ? { path: opts.dataDir, remove: () => undefined } : tempDir('server');
  const market: MarketSettings = { ...DEMO_MARKET, ...opts.market };
  const clock = new ManualClock(opts.start ?? T0);
  const config = configFromEnv({ GRIDMESH_DATA_DIR: dir.path, ...opts.env }, { port: 0, markets: [market], webDir: undefined, broadcastIntervalMs: 50 });
  const server = await startServer(config, silent, { clock, ...opts.options });
  return {
    server, url: server.url, clock, dataDir: dir.path, market,
    async close(removeData = true) {
      await server.close();
      if (removeData) dir.remove();
    },
  };
}

/** A suite's test server with a seller home (60 kW export) and a buyer home (5 kW), as the order suites use. */
export interface TradingPair { t: TestServer; seller: Home; buyer: Home }

/**
 * Registers the suite's hooks (call inside `describe`): starts a test server and registers the two homes before the
 * tests, closes the server after them. The returned object is filled in by the `before` hook.
 */
export function tradingPair(names: { seller: string; buyer: string } = { seller: 'Seller', buyer: 'Buyer' }): TradingPair {
  const pair = {} as TradingPair;
  before(async () => {
    pair.t = await startTestServer();
    pair.seller = await makeHome(pair.t.url, names.seller, 60_000);
    pair.buyer = await makeHome(pair.t.url, names.buyer, 5_000);
  });
  after(async () => { await pair.t?.close(); });
  return pair;
}

export interface Json { status: number; body: any; headers: Headers }

export async function call(url: string, method: string, path: string, body?: unknown, token?: string): Promise<Json> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(url + path, { method, headers, body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try { parsed = text ? JSON.parse(text) : null; } catch { /* CSV or text */ }
  return { status: res.status, body: parsed, headers: res.headers };
}

/** EIP-4361 message for this server, signed by `wallet`. */
export async function signInMessage(url: string, wallet: Wallet | HDNodeWallet, tweak: Partial<Record<'domain' | 'uri' | 'chainId' | 'nonce', unknown>> = {}): Promise<{ message: string; signature: string }> {
  const offer = (await call(url, 'GET', '/api/auth/nonce')).body as { nonce: string; domain: string; uri: string; chainId: number; statement: string; issuedAt: string };
  const msg = new SiweMessage({
    domain: (tweak.domain as string) ?? offer.domain, address: wallet.address, statement: offer.statement, uri: (tweak.uri as string) ?? offer.uri,
    version: '1', chainId: (tweak.chainId as number) ?? offer.chainId, nonce: (tweak.nonce as string) ?? offer.nonce, issuedAt: offer.issuedAt,
  });
  const message = msg.prepareMessage();
  return { message, signature: await wallet.signMessage(message) };
}

export async function signIn(url: string, wallet: Wallet | HDNodeWallet): Promise<string> {
  const res = await call(url, 'POST', '/api/auth/verify', await signInMessage(url, wallet));
  if (res.status !== 200) throw new Error(`sign-in failed ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}

export interface Home { wallet: HDNodeWallet; meter: Address; meterKey: HDNodeWallet; token: string; nonce: number }

/** A registered participant with a grid meter of `capacityW`, signed in. */
export async function makeHome(url: string, name: string, capacityW = 10_000): Promise<Home> {
  const wallet = Wallet.createRandom();
  const meterKey = Wallet.createRandom();
  const meter = meterKey.address.toLowerCase() as Address;
  await registerHome({ baseUrl: url, chainId: CHAIN_ID, owner: wallet, name, meter, role: 'grid', capacityW });
  return { wallet, meter, meterKey, token: await signIn(url, wallet), nonce: 0 };
}

export async function signOrder(home: Home, o: { market?: string; slot: number; side: 'bid' | 'ask'; price: string; quantityWh: number; timeInForce?: 'gtc' | 'ioc'; expiry?: number; nonce?: number }): Promise<OrderSubmission> {
  const fields = {
    participant: home.wallet.address.toLowerCase() as Address, market: o.market ?? 'demo', slot: o.slot, side: o.side, price: o.price, quantityWh: o.quantityWh,
    timeInForce: o.timeInForce ?? 'gtc', nonce: o.nonce ?? ++home.nonce, expiry: o.expiry ?? o.slot,
  } as const;
  const signature = await home.wallet.signTypedData(gridmeshDomain(CHAIN_ID), OrderTypes, orderTypedMessage(fields));
  return { ...fields, signature: signature as `0x${string}` };
}

export async function signAmend(home: Home, order: { participant: string; market: string; slot: number; side: 'bid' | 'ask'; timeInForce: 'gtc' | 'ioc' }, change: { price: string; quantityWh: number }, expiry: number) {
  const nonce = ++home.nonce;
  const fields = { participant: order.participant as Address, market: order.market, slot: order.slot, side: order.side, timeInForce: order.timeInForce, price: change.price, quantityWh: change.quantityWh, nonce, expiry };
  const signature = await home.wallet.signTypedData(gridmeshDomain(CHAIN_ID), OrderTypes, orderTypedMessage(fields));
  return { price: change.price, quantityWh: change.quantityWh, nonce, expiry, signature };
}

export function connectMarket(url: string, token?: string): Socket {
  return io(`${url}/market`, { transports: ['websocket'], forceNew: true, reconnection: false, ...(token ? { auth: { token } } : {}) });
}

export function emitAck<T = any>(socket: Socket, event: string, payload: unknown): Promise<{ ok: boolean; result?: T; error?: any }> {
  return new Promise((resolve) => socket.emit(event, payload, resolve));
}

export function nextEvent<T = any>(socket: Socket, event: string, pred: (p: T) => boolean = () => true, timeoutMs = 5000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { socket.off(event, on); reject(new Error(`no ${event} within ${timeoutMs} ms`)); }, timeoutMs);
    const on = (p: T) => { if (pred(p)) { clearTimeout(timer); socket.off(event, on); resolve(p); } };
    socket.on(event, on);
  });
}
