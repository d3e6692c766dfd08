// Ingestion benchmark: signed readings end to end (Socket.IO → verify → commit → ack) from 200 simulated bridges,
// the verify-only rate per core as the physical reference, and orders end to end over REST and Socket.IO.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import secp256k1 from 'secp256k1';
import { io, type Socket } from 'socket.io-client';
import { Wallet, type HDNodeWallet } from 'ethers';
import {
  BridgeChallengeTypes, MeterReadingHasher, gridmeshDomain,
  type Ack, type Address, type MeterReading, type ReadingBatchResult, type SignedMeterReading,
} from '@gridmesh/contracts-abi';
import { FastReadingDigest } from '../server/src/ingest/fast-digest.ts';
import { ReadingVerifier } from '../server/src/ingest/reading-verifier.ts';
import { registerHome } from '../server/src/demo/owner-client.ts';
import { OrderSigner } from '../server/src/orders/order-signature.ts';
import { SiweMessage } from 'siwe';

const CHAIN = 31337;
const BRIDGES = Number(process.env.BENCH_BRIDGES ?? 200);
const BATCH = Number(process.env.BENCH_BATCH ?? 50);
const BATCHES_PER_BRIDGE = Number(process.env.BENCH_BATCHES ?? 12);
/** Batches each bridge keeps in flight (a real bridge sends its outbox in order, waiting for acks; 2 keeps the pipe full). */
const WINDOW = Number(process.env.BENCH_WINDOW ?? 2);
const WORKER_SETTINGS = (process.env.BENCH_WORKERS ?? '0,1,2').split(',').map(Number);
const repoRoot = resolve(import.meta.dirname, '..');

function rate(n: number, ms: number): number {
  return Math.round((n / ms) * 1000);
}

// ---------------------------------------------------------------- verify-only reference (one core)

async function verifyOnly(): Promise<{ fast: number; portable: number; digest: number; ecdsa: number }> {
  const key = Wallet.createRandom();
  const priv = Buffer.from(key.privateKey.slice(2), 'hex');
  const fast = await FastReadingDigest.create(CHAIN);
  const n = 20_000;
  const readings: SignedMeterReading[] = [];
  for (let i = 0; i < n; i++) {
    const r: MeterReading = { meter: key.address as Address, seq: i, timestamp: 1_764_000_000_000 + i * 1000, importWh: 1_000_000 + i, exportWh: 50_000 + i * 2, powerW: -1234, flags: 2 };
    const s = secp256k1.ecdsaSign(fast.digest(r), priv);
    readings.push({ ...r, signature: ('0x' + Buffer.from(s.signature).toString('hex') + (s.recid + 27).toString(16)) as `0x${string}` });
  }
  const measure = (v: ReadingVerifier, count: number) => {
    v.verify(readings[0], readings[0].signature); // learn the meter key (recovery) once, as ingestion does
    const t = performance.now();
    for (let i = 0; i < count; i++) if (v.verify(readings[i], readings[i].signature) !== 'ok') throw new Error('verify failed');
    return rate(count, performance.now() - t);
  };
  const fastRate = measure(await ReadingVerifier.fast(CHAIN), n);
  const portableRate = measure(new ReadingVerifier(CHAIN), 5000);
  let t = performance.now();
  for (let i = 0; i < n; i++) fast.digest(readings[i]);
  const digestRate = rate(n, performance.now() - t);
  const pub = secp256k1.publicKeyCreate(priv, false);
  const sigs = readings.map((r) => Uint8Array.from(Buffer.from(r.signature.slice(2, 130), 'hex')));
  const digests = readings.map((r) => fast.digest(r));
  t = performance.now();
  for (let i = 0; i < n; i++) secp256k1.ecdsaVerify(sigs[i], digests[i], pub);
  const ecdsaRate = rate(n, performance.now() - t);
  return { fast: fastRate, portable: portableRate, digest: digestRate, ecdsa: ecdsaRate };
}

// ---------------------------------------------------------------- server process

/** CPU seconds (user + system, all threads) a process has used so far, from /proc (Linux; CLK_TCK = 100). */
function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

interface ServerProc { child: ChildProcess; url: string; dir: string; stop(): Promise<void> }

async function startServer(env: Record<string, string>): Promise<ServerProc> {
  const dir = mkdtempSync(join(tmpdir(), 'gridmesh-bench-ingest-'));
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', join(repoRoot, 'server/src/cli/serve.ts')], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MONGODB_URI: '', GRIDMESH_DATA_DIR: dir, GRIDMESH_SQLITE_PATH: join(dir, 'gridmesh.db'), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { out += c.toString(); if (out.length > 200_000) out = out.slice(-100_000); });
  child.stderr!.on('data', (c: Buffer) => { out += c.toString(); if (out.length > 200_000) out = out.slice(-100_000); });
  const url = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`server did not start:\n${out}`)), 60_000);
    const look = () => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m) { clearTimeout(timer); child.stdout!.off('data', look); ok(m[1]); }
    };
    child.stdout!.on('data', look);
    child.once('exit', (code) => { clearTimeout(timer); fail(new Error(`server exited with ${code}:\n${out}`)); });
  });
  return {
    child, url, dir,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const hard = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(hard);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------- bridges

interface Bridge { owner: HDNodeWallet; meter: HDNodeWallet; batches: SignedMeterReading[][] }

function makeBridges(): Bridge[] {
  const hasher = new MeterReadingHasher(CHAIN);
  const t0 = Date.now() - 3_600_000;
  const bridges: Bridge[] = [];
  for (let b = 0; b < BRIDGES; b++) {
    const owner = Wallet.createRandom();
    const meter = Wallet.createRandom();
    const priv = Buffer.from(meter.privateKey.slice(2), 'hex');
    const batches: SignedMeterReading[][] = [];
    let imp = 1_000_000 + b * 10;
    let exp = 20_000;
    for (let k = 0; k < BATCHES_PER_BRIDGE; k++) {
      const batch: SignedMeterReading[] = [];
      for (let i = 0; i < BATCH; i++) {
        const seq = k * BATCH + i;
        imp += seq % 3;
        exp += seq % 2;
        const r: MeterReading = { meter: meter.address as Address, seq, timestamp: t0 + seq * 1000, importWh: imp, exportWh: exp, powerW: 400 - (seq % 800), flags: 2 };
        const s = secp256k1.ecdsaSign(hasher.digest(r), priv);
        batch.push({ ...r, signature: ('0x' + Buffer.from(s.signature).toString('hex') + (s.recid + 27).toString(16)) as `0x${string}` });
      }
      batches.push(batch);
    }
    bridges.push({ owner, meter, batches });
  }
  return bridges;
}

async function connectBridge(url: string, b: Bridge): Promise<Socket> {
  const socket = io(`${url}/bridge`, { transports: ['websocket'], reconnection: false, auth: { meter: b.meter.address } });
  const challenge = await new Promise<string>((ok, fail) => {
    socket.once('challenge', (c: { challenge: string }) => ok(c.challenge));
    socket.once('connect_error', fail);
  });
  const signature = await b.meter.signTypedData(gridmeshDomain(CHAIN), BridgeChallengeTypes, { meter: b.meter.address, challenge });
  const ack = (await socket.emitWithAck('hello', { meter: b.meter.address, challenge, signature })) as Ack;
  if (!ack.ok) throw new Error(`hello refused: ${JSON.stringify(ack.error)}`);
  return socket;
}

interface IngestRun { workers: number; readings: number; ms: number; perSec: number; batchP50Ms: number; batchP99Ms: number; serverCpuS: number; clientCpuS: number; perServerCpuS: number }

async function ingestRun(workers: number, bridges: Bridge[]): Promise<IngestRun> {
  const server = await startServer({ GRIDMESH_VERIFY_WORKERS: String(workers) });
  try {
    // Register every home over REST (owner signs Participant + MeterBinding), 20 at a time.
    for (let i = 0; i < bridges.length; i += 20) {
      await Promise.all(bridges.slice(i, i + 20).map((b, j) => registerHome({ baseUrl: server.url, chainId: CHAIN, owner: b.owner, name: `Bench home ${i + j + 1}`, meter: b.meter.address as Address })));
    }
    const sockets = await Promise.all(bridges.map((b) => connectBridge(server.url, b)));
    // Warm-up: each bridge's first batch (key recovery, JIT, SQLite pages) is not timed.
    await Promise.all(sockets.map((s, i) => s.timeout(60_000).emitWithAck('readings', { readings: bridges[i].batches[0] })));
    const latencies: number[] = [];
    let accepted = 0;
    const cpu0 = cpuSecondsOf(server.child.pid!);
    const client0 = process.cpuUsage();
    const t0 = performance.now();
    await Promise.all(sockets.map(async (socket, i) => {
      const batches = bridges[i].batches.slice(1);
      let next = 0;
      const lane = async () => {
        while (next < batches.length) {
          const batch = batches[next++];
          const t = performance.now();
          const ack = (await socket.timeout(120_000).emitWithAck('readings', { readings: batch })) as Ack<ReadingBatchResult>;
          latencies.push(performance.now() - t);
          if (!ack.ok) throw new Error(`batch refused: ${JSON.stringify(ack.error)}`);
          accepted += ack.result!.accepted;
        }
      };
      await Promise.all(Array.from({ length: WINDOW }, lane));
    }));
    const ms = performance.now() - t0;
    const serverCpuS = cpuSecondsOf(server.child.pid!) - cpu0;
    const clientCpu = process.cpuUsage(client0);
    const clientCpuS = (clientCpu.user + clientCpu.system) / 1e6;
    for (const s of sockets) s.close();
    const expected = bridges.length * (BATCHES_PER_BRIDGE - 1) * BATCH;
    if (accepted !== expected) throw new Error(`accepted ${accepted} of ${expected} readings`);
    latencies.sort((a, b) => a - b);
    const pct = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]);
    return {
      workers, readings: accepted, ms: Math.round(ms), perSec: rate(accepted, ms), batchP50Ms: pct(0.5), batchP99Ms: pct(0.99),
      serverCpuS: Math.round(serverCpuS * 100) / 100, clientCpuS: Math.round(clientCpuS * 100) / 100, perServerCpuS: Math.round(accepted / serverCpuS),
    };
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------- orders (part A's order path)

interface OrderTransportResult { name: string; orders: number; ms: number; perSec: number; p50Ms: number; p99Ms: number; rejected: number; trades: number; serverCpuS: number }
interface OrderBenchResult { participants: number; transports: OrderTransportResult[] }

const PARTICIPANTS = Number(process.env.BENCH_PARTICIPANTS ?? 1000);
const ORDERS_EACH = Number(process.env.BENCH_ORDERS_EACH ?? 5);

async function postJson(url: string, body: unknown, token?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

/** EIP-4361 sign-in over REST: GET /api/auth/nonce, sign the message, POST /api/auth/verify → bearer token. */
async function signIn(url: string, wallet: HDNodeWallet): Promise<string> {
  const offer = await (await fetch(`${url}/api/auth/nonce`)).json() as { nonce: string; domain: string; uri: string; chainId: number; statement: string; issuedAt: string };
  const message = new SiweMessage({ domain: offer.domain, address: wallet.address, statement: offer.statement, uri: offer.uri, version: '1', chainId: offer.chainId, nonce: offer.nonce, issuedAt: offer.issuedAt }).prepareMessage();
  const res = await postJson(`${url}/api/auth/verify`, { message, signature: await wallet.signMessage(message) });
  if (res.status !== 200) throw new Error(`sign-in refused: ${JSON.stringify(res.body)}`);
  return res.body.token as string;
}

/**
 * Orders end to end against the continuous demo market (orders match on arrival): 1,000 participants signed in, half sell
 * (with a metered home for export capacity), half buy; each sends its pre-signed orders one after another, all
 * participants at once; latency = send → ack of the committed, matched order.
 */
async function runOrderBench(start: typeof startServer): Promise<OrderBenchResult> {
  const server = await start({ GRIDMESH_MARKET_PRESET: 'demo', GRIDMESH_RATE_LIMIT_RPS: '1000000', GRIDMESH_VERIFY_WORKERS: '0' });
  try {
    const markets = await (await fetch(`${server.url}/api/markets`)).json() as { id: string }[] | { markets: { id: string }[] };
    const list = Array.isArray(markets) ? markets : markets.markets;
    const market = list[0]?.id;
    if (!market) throw new Error('no market exposed at /api/markets');
    const people = Array.from({ length: PARTICIPANTS }, () => Wallet.createRandom());
    for (let i = 0; i < people.length; i += 25) {
      await Promise.all(people.slice(i, i + 25).map((w, j) => registerHome({ baseUrl: server.url, chainId: CHAIN, owner: w, name: `Bench participant ${i + j + 1}`, meter: Wallet.createRandom().address as Address })));
    }
    const tokens: string[] = [];
    for (let i = 0; i < people.length; i += 25) tokens.push(...await Promise.all(people.slice(i, i + 25).map((w) => signIn(server.url, w))));

    const signer = new OrderSigner(CHAIN);
    const slotMs = 60_000;
    const firstSlot = Math.ceil((Date.now() + 30_000) / slotMs) * slotMs;
    const expiry = Date.now() + 3_600_000;
    const ordersOf = (p: number, nonceBase: number) => Array.from({ length: ORDERS_EACH }, (_, k) => {
      const sell = p % 2 === 0;
      const fields = {
        participant: people[p].address as Address, market, slot: firstSlot + ((p + k) % 4) * slotMs, side: (sell ? 'ask' : 'bid') as 'ask' | 'bid',
        price: String(sell ? 190_000 + ((p * 7 + k * 13) % 40) * 100 : 190_000 + ((p * 11 + k * 5) % 40) * 100),
        quantityWh: 5 + ((p + k) % 6), timeInForce: 'gtc' as const, nonce: nonceBase + k, expiry,
      };
      const s = secp256k1.ecdsaSign(signer.digest(fields), Buffer.from(people[p].privateKey.slice(2), 'hex'));
      return { ...fields, signature: ('0x' + Buffer.from(s.signature).toString('hex') + (s.recid + 27).toString(16)) as `0x${string}` };
    });

    const measure = async (name: string, send: (p: number, order: ReturnType<typeof ordersOf>[number]) => Promise<{ ok: boolean; trades: number }>, nonceBase: number) => {
      const all = people.map((_, p) => ordersOf(p, nonceBase));
      const latencies: number[] = [];
      let rejected = 0;
      let trades = 0;
      const cpu0 = cpuSecondsOf(server.child.pid!);
      const t0 = performance.now();
      await Promise.all(all.map(async (orders, p) => {
        // Participants arrive over the first 250 ms rather than in one instant: 1,000 simultaneous TCP handshakes would
        // overflow the listen backlog (511) and measure SYN retransmits, not the order path.
        await new Promise((r) => setTimeout(r, (p * 250) / all.length));
        for (const o of orders) {
          const t = performance.now();
          const r = await send(p, o);
          latencies.push(performance.now() - t);
          if (!r.ok) rejected++;
          trades += r.trades;
        }
      }));
      const ms = performance.now() - t0;
      const serverCpuS = Math.round((cpuSecondsOf(server.child.pid!) - cpu0) * 100) / 100;
      latencies.sort((a, b) => a - b);
      const pct = (q: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] * 10) / 10;
      const n = latencies.length;
      return { name, orders: n, ms: Math.round(ms), perSec: rate(n - rejected, ms), p50Ms: pct(0.5), p99Ms: pct(0.99), rejected, trades, serverCpuS };
    };

    const transports: OrderTransportResult[] = [];
    let firstRefusal = '';
    transports.push(await measure('REST', async (p, order) => {
      const r = await postJson(`${server.url}/api/orders`, order, tokens[p]);
      if (r.status >= 300 && !firstRefusal) firstRefusal = JSON.stringify(r.body);
      return { ok: r.status < 300, trades: r.status < 300 ? (r.body.trades?.length ?? 0) : 0 };
    }, 1));
    const sockets = await Promise.all(tokens.map((token) => new Promise<Socket>((ok, fail) => {
      const socket = io(`${server.url}/market`, { transports: ['websocket'], reconnection: false, auth: { token } });
      socket.once('connect', () => ok(socket));
      socket.once('connect_error', fail);
    })));
    transports.push(await measure('Socket.IO', async (p, order) => {
      const ack = (await sockets[p].timeout(60_000).emitWithAck('order:submit', order)) as Ack<{ trades?: unknown[] }>;
      if (!ack.ok && !firstRefusal) firstRefusal = JSON.stringify(ack.error);
      return { ok: ack.ok, trades: ack.ok ? (ack.result?.trades?.length ?? 0) : 0 };
    }, 1000));
    for (const s of sockets) s.close();
    if (firstRefusal) console.log(`  (first refused order: ${firstRefusal})`);
    return { participants: PARTICIPANTS, transports };
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------- main

console.log(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown cpu'}), Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const v = await verifyOnly();
console.log('\nverify-only, one core (MeterReading EIP-712 digest + libsecp256k1 verify against the cached meter key):');
console.log(`  fast path (hash-wasm keccak)      ${v.fast.toLocaleString('en')} readings/s`);
console.log(`  portable path (@noble keccak)     ${v.portable.toLocaleString('en')} readings/s   (fast/portable = ${(v.fast / v.portable).toFixed(1)}x)`);
console.log(`  of which digest alone             ${v.digest.toLocaleString('en')} /s; libsecp256k1 ecdsaVerify alone ${v.ecdsa.toLocaleString('en')} /s`);

console.log(`\nsigning ${BRIDGES} × ${BATCHES_PER_BRIDGE} batches × ${BATCH} readings …`);
const bridges = makeBridges();
const runs: IngestRun[] = [];
for (const w of WORKER_SETTINGS) {
  const r = await ingestRun(w, bridges);
  runs.push(r);
  console.log(`  verify workers ${w}: ${r.readings.toLocaleString('en')} readings in ${r.ms} ms → ${r.perSec.toLocaleString('en')} readings/s end to end (batch ack p50 ${r.batchP50Ms} ms, p99 ${r.batchP99Ms} ms)`);
  console.log(`                    server used ${r.serverCpuS} CPU-s (${r.perServerCpuS.toLocaleString('en')} readings per server CPU-second, ${(r.serverCpuS / (r.ms / 1000)).toFixed(2)} cores busy), the 200 bridges ${r.clientCpuS} CPU-s`);
}
const best = runs.reduce((a, b) => (b.perSec > a.perSec ? b : a));
const inline = runs.find((r) => r.workers === 0);
console.log(`\nend to end (Socket.IO → schema → verify → SQLite commit → ack), ${BRIDGES} bridges, batches of ${BATCH}, ${WINDOW} in flight each:`);
console.log(`  best: ${best.perSec.toLocaleString('en')} readings/s with ${best.workers} verify worker(s) (target ≥ 20,000/s: ${best.perSec >= 20_000 ? 'met' : 'NOT met'})`);
if (inline) console.log(`  worker pool vs inline: ${(best.perSec / inline.perSec).toFixed(2)}x; end to end = ${(best.perSec / v.fast).toFixed(2)} × one core's verify-only rate`);

let orders: OrderBenchResult | null = null;
try {
  orders = await runOrderBench(startServer);
} catch (err) {
  console.log(`\norders end to end: not measured: ${err instanceof Error ? err.message : String(err)}`);
}
if (orders) {
  console.log(`\norders end to end (signature verified, committed, matched, acknowledged), ${orders.participants} participants:`);
  for (const t of orders.transports) {
    console.log(`  ${t.name.padEnd(10)} ${t.orders.toLocaleString('en')} orders in ${t.ms} ms → ${t.perSec.toLocaleString('en')} accepted orders/s, latency p50 ${t.p50Ms} ms, p99 ${t.p99Ms} ms (${t.rejected} refused, ${t.trades} trades); server ${t.serverCpuS} CPU-s = ${Math.round(t.orders / t.serverCpuS).toLocaleString('en')} orders per server CPU-second`);
    console.log(`             targets ≥ 5,000 orders/s and p99 ≤ 50 ms: ${t.perSec >= 5000 ? 'rate met' : 'rate NOT met'}, ${t.p99Ms <= 50 ? 'p99 met' : 'p99 NOT met'}`);
  }
}
const bestOrders = orders?.transports.reduce((a, b) => (b.perSec > a.perSec ? b : a)) ?? null;
console.log(JSON.stringify({
  bench: 'ingest',
  readingsPerSec: best.perSec,
  verifyPerSecPerCore: v.fast,
  ordersPerSec: bestOrders ? bestOrders.perSec : null,
  orderP99Ms: bestOrders ? bestOrders.p99Ms : null,
}));
