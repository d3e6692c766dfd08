// Ingestion benchmark: signed readings end to end (Socket.IO → verify → commit → ack) from 200 simulated bridges,
// the verify-only rate per core as the physical reference, and orders end to end over Socket.IO and REST
// (closed-loop saturation and open-loop latency at a fixed offered rate).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PerformanceObserver } from 'node:perf_hooks';
import secp256k1 from 'secp256k1';
import { io, type Socket } from 'socket.io-client';
import { LeanSocketIo } from './lean-socketio.ts';
import { LeanHttpPool } from './lean-http.ts';
import { Wallet, type HDNodeWallet } from 'ethers';
import {
  BridgeChallengeTypes, MeterReadingHasher, gridmeshDomain,
  type Ack, type Address, type MeterReading, type ReadingBatchResult, type SignedMeterReading,
} from '@gridmesh/contracts-abi';
import { FastReadingDigest } from '../server/src/ingest/fast-digest.ts';
import { ReadingVerifier } from '../server/src/ingest/reading-verifier.ts';
import { RECOVER_IN, RECOVER_OUT, VERIFY_IN, readSignature, secp256k1Batch } from '../server/src/crypto/secp256k1-batch.ts';
import { registerHome } from '../server/src/demo/owner-client.ts';
import { OrderSigner, type SignedOrderFields } from '../server/src/orders/order-signature.ts';
import { SERVER_NODE_FLAGS } from '../server/src/cli/node-flags.ts';
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

async function verifyOnly(): Promise<{ fast: number; portable: number; digest: number; ecdsa: number; ecdsaNpm: number; recover: number; backend: string }> {
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
  // As ingestion verifies: a bridge's batch of BATCH readings at a time, the meter key learnt (by recovery) once.
  const measure = (v: ReadingVerifier, count: number) => {
    v.verify(readings[0], readings[0].signature);
    const batches: { reading: MeterReading; signature: string }[][] = [];
    for (let i = 0; i < count; i += BATCH) batches.push(readings.slice(i, Math.min(count, i + BATCH)).map((r) => ({ reading: r, signature: r.signature })));
    const t = performance.now();
    for (const b of batches) for (const outcome of v.verifyMany(b)) if (outcome !== 'ok') throw new Error('verify failed');
    return rate(count, performance.now() - t);
  };
  const fastRate = measure(await ReadingVerifier.fast(CHAIN), n);
  const portableRate = measure(new ReadingVerifier(CHAIN), 5000);
  let t = performance.now();
  for (let i = 0; i < n; i++) fast.digest(readings[i]);
  const digestRate = rate(n, performance.now() - t);
  // ECDSA alone, both libraries: the backend in use (one call per batch) and the secp256k1 npm package (one call each).
  const pub = secp256k1.publicKeyCreate(priv, false);
  const records = Buffer.alloc(n * VERIFY_IN);
  readings.forEach((r, i) => {
    records.set(fast.digest(r), i * VERIFY_IN);
    records.write(r.signature.slice(2, 130), i * VERIFY_IN + 32, 64, 'hex');
    records.set(pub, i * VERIFY_IN + 96);
  });
  const valid = Buffer.alloc(n);
  const backend = secp256k1Batch();
  t = performance.now();
  for (let i = 0; i < n; i += BATCH) backend.verifyBatch(records.subarray(i * VERIFY_IN), Math.min(BATCH, n - i), valid.subarray(i));
  const ecdsaRate = rate(n, performance.now() - t);
  if (valid.some((ok) => ok !== 1)) throw new Error('verify failed');
  t = performance.now();
  for (let i = 0; i < n; i++) secp256k1.ecdsaVerify(records.subarray(i * VERIFY_IN + 32, i * VERIFY_IN + 96), records.subarray(i * VERIFY_IN, i * VERIFY_IN + 32), pub);
  const ecdsaNpmRate = rate(n, performance.now() - t);
  // What ingestion runs: recovery (the recovered key is compared with the meter's), which also checks v as ethers does.
  const recoverRecords = Buffer.alloc(n * RECOVER_IN);
  readings.forEach((r, i) => {
    recoverRecords.set(fast.digest(r), i * RECOVER_IN);
    readSignature(r.signature, recoverRecords, i * RECOVER_IN + 32);
  });
  const keysOut = Buffer.alloc(n * RECOVER_OUT);
  t = performance.now();
  for (let i = 0; i < n; i += BATCH) backend.recoverBatch(recoverRecords.subarray(i * RECOVER_IN), Math.min(BATCH, n - i), keysOut.subarray(i * RECOVER_OUT));
  const recoverRate = rate(n, performance.now() - t);
  if (!keysOut.subarray(0, RECOVER_OUT).equals(Buffer.from(pub))) throw new Error('recovery failed');
  return { fast: fastRate, portable: portableRate, digest: digestRate, ecdsa: ecdsaRate, ecdsaNpm: ecdsaNpmRate, recover: recoverRate, backend: backend.backend };
}

// ---------------------------------------------------------------- server process

/** CPU seconds (user + system, all threads) a process has used so far, from /proc (Linux; CLK_TCK = 100). */
function cpuSecondsOf(pid: number, thread?: number): number {
  try {
    const stat = readFileSync(thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * The whole machine's CPU (jiffies from /proc/stat: busy, of it the kernel's and steal) and the sectors written to its
 * disks (/proc/diskstats; the whole disks of /sys/block, not loop or RAM devices, nor device-mapper and md devices, which
 * sit on those disks and would count their writes twice). The process figures above leave out the kernel's own
 * threads: writeback of the WAL, loopback and interrupt work.
 */
interface MachineSample { busy: number; kernel: number; steal: number; sectorsWritten: number }
function machineSample(): MachineSample {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq, steal] = cpu;
    const disks = new Set(readdirSync('/sys/block').filter((name) => !/^(loop|ram|zram|dm-|md)/.test(name)));
    let sectorsWritten = 0;
    for (const line of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
      const f = line.trim().split(/\s+/);
      if (disks.has(f[2])) sectorsWritten += Number(f[9]);
    }
    return { busy: user + nice + system + irq + softirq + steal, kernel: system + irq + softirq, steal, sectorsWritten };
  } catch {
    return { busy: Number.NaN, kernel: Number.NaN, steal: Number.NaN, sectorsWritten: Number.NaN };
  }
}

/** CPU seconds per thread of a process (tid → seconds), to tell the event loop from worker and V8 helper threads. */
function threadCpuOf(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) out.set(Number(tid), cpuSecondsOf(pid, Number(tid)));
  } catch {
    // the process is gone
  }
  return out;
}

interface ServerProc { child: ChildProcess; url: string; dir: string; stop(): Promise<void> }

/** Servers still running: killed if the bench itself dies, so that no server outlives its run. */
const liveServers = new Set<ChildProcess>();
process.once('exit', () => { for (const c of liveServers) c.kill('SIGKILL'); });

async function startServer(env: Record<string, string>): Promise<ServerProc> {
  const dir = mkdtempSync(join(tmpdir(), 'gridmesh-bench-ingest-'));
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...profile, ...(process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean), '--import', 'tsx', join(repoRoot, 'server/src/cli/serve.ts')], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MONGODB_URI: '', GRIDMESH_DATA_DIR: dir, GRIDMESH_SQLITE_PATH: join(dir, 'gridmesh.db'), LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  liveServers.add(child);
  child.once('exit', () => liveServers.delete(child));
  let out = '';
  child.stdout!.on('data', (c: Buffer) => { if (process.env.BENCH_ECHO) process.stderr.write(c); out += c.toString(); if (out.length > 200_000) out = out.slice(-100_000); });
  child.stderr!.on('data', (c: Buffer) => { if (process.env.BENCH_ECHO) process.stderr.write(c); out += c.toString(); if (out.length > 200_000) out = out.slice(-100_000); });
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

// ---------------------------------------------------------------- orders (issue 6's order path)

const PARTICIPANTS = Number(process.env.BENCH_PARTICIPANTS ?? 1000);
/** Orders per participant in the closed-loop saturation run (one in flight each). */
const ORDERS_EACH = Number(process.env.BENCH_ORDERS_EACH ?? 10);
/** Offered aggregate rates (orders/s) of the open-loop runs; the first is the target whose p99 the JSON line reports. */
const ORDER_RATES = (process.env.BENCH_ORDER_RATE ?? '5000').split(',').map(Number);
/** How long each open-loop run offers orders. */
const ORDER_SECONDS = Number(process.env.BENCH_ORDER_SECONDS ?? 6);
/**
 * Keep-alive HTTP connections the participants share in the open-loop REST run: by default one per participant (as
 * each dashboard keeps its own); BENCH_REST_CONNECTIONS=100 gives autocannon's 100-connection setting of the issue.
 */
const REST_CONNECTIONS = Number(process.env.BENCH_REST_CONNECTIONS ?? PARTICIPANTS);
const ORDER_TRANSPORTS = (process.env.BENCH_ORDER_TRANSPORTS ?? 'socket.io,rest').split(',');
/** Diagnostic: print each open-loop run's latency per 250 ms of send time (see printTimeline). */
const TIMELINE = process.env.BENCH_TIMELINE === '1';
/** The issue's order latency target: p99 at the first offered rate. */
const ORDER_P99_TARGET_MS = 50;

/** A signed order and its JSON, encoded before timing as a client would have it ready to send. */
type SignedOrder = SignedOrderFields & { signature: `0x${string}`; json: string };
interface SendResult { ok: boolean; trades: number; error?: string }
type Send = (p: number, order: SignedOrder) => Promise<SendResult>;

interface OrderRun {
  transport: string;
  mode: 'saturation' | 'open';
  /** Offered rate of an open-loop run (orders/s); null for the closed loop. */
  offered: number | null;
  orders: number;
  accepted: number;
  ms: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  trades: number;
  serverCpuS: number;
  /** Of serverCpuS, the server's main (event-loop) thread: the part that cannot spread over cores. */
  mainCpuS: number;
  /** CPU seconds of the server's other threads, busiest first (worker threads: signer recovery, SQLite writer; V8 helpers). */
  otherThreadsCpuS: number[];
  clientCpuS: number;
  /** The whole machine over the run: CPU seconds busy, of them the kernel's and steal; MB written to disk (writeback included). */
  machineBusyS: number;
  machineKernelS: number;
  machineStealS: number;
  diskWrittenMB: number;
  firstRefusal: string;
}
interface OrderBenchResult { participants: number; runs: OrderRun[] }

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

const percentile = (sorted: number[], q: number) => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 10) / 10 : Number.NaN);

/**
 * Closed loop (saturation): every participant sends its orders one after another, one in flight, all participants at
 * once. The rate is the server's maximum; latency here is queueing (Little's law: ≈ participants / rate).
 */
async function closedLoop(transport: string, send: Send, orders: SignedOrder[][], serverPid: number): Promise<OrderRun> {
  const latencies: number[] = [];
  let accepted = 0;
  let trades = 0;
  let firstRefusal = '';
  const start = sampleRunStart(serverPid);
  const t0 = performance.now();
  await Promise.all(orders.map(async (list, p) => {
    for (const o of list) {
      const t = performance.now();
      const r = await send(p, o);
      latencies.push(performance.now() - t);
      if (r.ok) accepted++;
      else if (!firstRefusal) firstRefusal = r.error ?? 'refused';
      trades += r.trades;
    }
  }));
  return finish(transport, 'saturation', null, latencies, accepted, trades, firstRefusal, performance.now() - t0, start, serverPid);
}

/**
 * Open loop (latency at a fixed offered rate): participant p sends order k at t0 + phase_p + k × interval, whatever
 * the state of its earlier orders (interval = participants / rate, phase_p uniform in [0, interval)). Latency is
 * measured from the SCHEDULED send time, so a server (or a client) that falls behind shows up in the latency instead of
 * slowing the senders down (no coordinated omission).
 */
async function openLoop(transport: string, send: Send, orders: SignedOrder[][], offered: number, serverPid: number): Promise<OrderRun> {
  const interval = (orders.length * 1000) / offered;
  const schedule: { p: number; k: number; at: number }[] = [];
  for (let p = 0; p < orders.length; p++) {
    const phase = Math.random() * interval;
    for (let k = 0; k < orders[p].length; k++) schedule.push({ p, k, at: phase + k * interval });
  }
  schedule.sort((a, b) => a.at - b.at);
  const latencies: number[] = [];
  const timeline: [number, number][] = [];
  let accepted = 0;
  let trades = 0;
  let firstRefusal = '';
  const inFlight: Promise<void>[] = [];
  const start = sampleRunStart(serverPid);
  const t0 = performance.now();
  // The bench client's own GC pauses (start relative to t0, duration): they delay its sends and its reading of acks.
  const clientGc: [number, number][] = [];
  const gcObserver = TIMELINE ? new PerformanceObserver((list) => { for (const e of list.getEntries()) clientGc.push([e.startTime - t0, e.duration]); }) : null;
  gcObserver?.observe({ entryTypes: ['gc'] });
  await new Promise<void>((done) => {
    let i = 0;
    const tick = () => {
      const now = performance.now() - t0;
      while (i < schedule.length && schedule[i].at <= now) {
        const s = schedule[i++];
        inFlight.push(send(s.p, orders[s.p][s.k]).then((r) => {
          const latency = performance.now() - t0 - s.at;
          latencies.push(latency);
          if (TIMELINE) timeline.push([s.at, latency]);
          if (r.ok) accepted++;
          else if (!firstRefusal) firstRefusal = r.error ?? 'refused';
          trades += r.trades;
        }));
      }
      if (i < schedule.length) setTimeout(tick, Math.max(0, schedule[i].at - now - 0.5));
      else done();
    };
    tick();
  });
  await Promise.all(inFlight);
  gcObserver?.disconnect();
  if (TIMELINE) printTimeline(transport, timeline, clientGc, Date.now() - (performance.now() - t0));
  return finish(transport, 'open', offered, latencies, accepted, trades, firstRefusal, performance.now() - t0, start, serverPid);
}

/**
 * Diagnostic (BENCH_TIMELINE=1): per 250 ms of scheduled send time, the worst latency, how many orders missed the
 * target and the bench client's GC pauses, with the run's start as epoch ms to line up with server-side logs. It tells
 * a tail made of a few stall episodes (a window or two where nearly every order is late, calm windows around) from a
 * general overload.
 */
function printTimeline(transport: string, timeline: [number, number][], clientGc: [number, number][], startEpochMs: number): void {
  const windows = new Map<number, { worst: number; late: number; gcMs: number }>();
  const at = (w: number) => {
    let x = windows.get(w);
    if (!x) windows.set(w, (x = { worst: 0, late: 0, gcMs: 0 }));
    return x;
  };
  for (const [sent, latency] of timeline) {
    const x = at(Math.floor(sent / 250));
    x.worst = Math.max(x.worst, latency);
    if (latency > ORDER_P99_TARGET_MS) x.late++;
  }
  for (const [start, ms] of clientGc) if (start >= 0) at(Math.floor(start / 250)).gcMs += ms;
  const line = [...windows].sort((a, b) => a[0] - b[0])
    .map(([w, x]) => `${(w / 4).toFixed(2)}s:${Math.round(x.worst)}${x.late ? `(${x.late})` : ''}${x.gcMs >= 1 ? `[gc ${Math.round(x.gcMs)}]` : ''}`).join(' ');
  const gcTotal = clientGc.reduce((sum, [, ms]) => sum + ms, 0);
  const gcWorst = clientGc.reduce((worst, [, ms]) => Math.max(worst, ms), 0);
  console.log(`  timeline ${transport} from ${Math.round(startEpochMs)} (window start s: worst ms (orders over ${ORDER_P99_TARGET_MS} ms) [bench client GC ms]): ${line}`);
  console.log(`  bench client GC during the run: ${clientGc.length} pauses, ${Math.round(gcTotal)} ms in all, longest ${Math.round(gcWorst)} ms`);
}

/** The counters an order run's figures are the difference of: the server's CPU (all threads, and each), the client's, the machine's. */
interface RunStart { serverCpu: number; mainCpu: number; threads: Map<number, number>; client: NodeJS.CpuUsage; machine: MachineSample }
function sampleRunStart(serverPid: number): RunStart {
  return {
    serverCpu: cpuSecondsOf(serverPid), mainCpu: cpuSecondsOf(serverPid, serverPid), threads: threadCpuOf(serverPid),
    client: process.cpuUsage(), machine: machineSample(),
  };
}

function finish(transport: string, mode: OrderRun['mode'], offered: number | null, latencies: number[], accepted: number, trades: number, firstRefusal: string,
  ms: number, start: RunStart, serverPid: number): OrderRun {
  const machine = machineSample();
  const machine0 = start.machine;
  const serverCpuS = cpuSecondsOf(serverPid) - start.serverCpu;
  const mainCpuS = cpuSecondsOf(serverPid, serverPid) - start.mainCpu;
  const otherThreadsCpuS = [...threadCpuOf(serverPid)].filter(([tid]) => tid !== serverPid)
    .map(([tid, s]) => Math.round((s - (start.threads.get(tid) ?? 0)) * 100) / 100).filter((s) => s > 0).sort((a, b) => b - a);
  const client = process.cpuUsage(start.client);
  latencies.sort((a, b) => a - b);
  return {
    transport, mode, offered, orders: latencies.length, accepted, ms: Math.round(ms), perSec: rate(accepted, ms),
    p50Ms: percentile(latencies, 0.5), p99Ms: percentile(latencies, 0.99), maxMs: Math.round(latencies[latencies.length - 1] ?? Number.NaN),
    trades, serverCpuS: Math.round(serverCpuS * 100) / 100, mainCpuS: Math.round(mainCpuS * 100) / 100, otherThreadsCpuS, clientCpuS: Math.round(((client.user + client.system) / 1e6) * 100) / 100, firstRefusal,
    // Jiffies are 1/100 s (CLK_TCK), sectors 512 bytes.
    machineBusyS: (machine.busy - machine0.busy) / 100, machineKernelS: (machine.kernel - machine0.kernel) / 100, machineStealS: (machine.steal - machine0.steal) / 100,
    diskWrittenMB: Math.round(((machine.sectorsWritten - machine0.sectorsWritten) * 512) / 1e5) / 10,
  };
}

/**
 * Orders end to end against the continuous demo market (orders match on arrival): participants registered and signed
 * in (EIP-4361), half sell (with a metered home for export capacity) and half buy. Per transport: a closed-loop
 * saturation run, then one open-loop run per offered rate. Acknowledged = signature verified, committed, matched.
 */
async function runOrderBench(start: typeof startServer): Promise<OrderBenchResult> {
  const server = await start({ GRIDMESH_MARKET_PRESET: 'demo', GRIDMESH_RATE_LIMIT_RPS: '1000000', GRIDMESH_VERIFY_WORKERS: '0' });
  const pid = server.child.pid!;
  const pools: LeanHttpPool[] = [];
  const sockets: LeanSocketIo[] = [];
  try {
    const list = await (await fetch(`${server.url}/api/markets`)).json() as { id: string }[];
    const market = list[0]?.id;
    if (!market) throw new Error('no market exposed at /api/markets');
    const people = Array.from({ length: PARTICIPANTS }, () => Wallet.createRandom());
    const keys = people.map((w) => Buffer.from(w.privateKey.slice(2), 'hex'));
    // 50 kW of export capacity: a seller's asks over every run stay within what its meter can deliver per slot.
    for (let i = 0; i < people.length; i += 25) {
      await Promise.all(people.slice(i, i + 25).map((w, j) => registerHome({ baseUrl: server.url, chainId: CHAIN, owner: w, name: `Bench participant ${i + j + 1}`, meter: Wallet.createRandom().address as Address, capacityW: 50_000 })));
    }
    const tokens: string[] = [];
    for (let i = 0; i < people.length; i += 25) tokens.push(...await Promise.all(people.slice(i, i + 25).map((w) => signIn(server.url, w))));

    const signer = new OrderSigner(CHAIN);
    await signer.ready();
    const slotMs = 60_000;
    let nextNonce = 1;
    /** `count` pre-signed orders per participant for slots ≥ 60 s ahead (gate closure is 10 s before a slot), spread over 8 slots. */
    const sign = (count: number): SignedOrder[][] => {
      const firstSlot = Math.ceil((Date.now() + 60_000) / slotMs) * slotMs;
      const expiry = Date.now() + 3_600_000;
      const base = nextNonce;
      nextNonce += count;
      return people.map((w, p) => Array.from({ length: count }, (_, k) => {
        const sell = p % 2 === 0;
        const fields: SignedOrderFields = {
          participant: w.address as Address, market, slot: firstSlot + ((p + k) % 8) * slotMs, side: sell ? 'ask' : 'bid',
          price: String(190_000 + (sell ? (p * 7 + k * 13) % 40 : (p * 11 + k * 5) % 40) * 100),
          quantityWh: 5 + ((p + k) % 6), timeInForce: 'gtc', nonce: base + k, expiry,
        };
        const s = secp256k1.ecdsaSign(signer.digest(fields), keys[p]);
        const signed = { ...fields, signature: ('0x' + Buffer.from(s.signature).toString('hex') + (s.recid + 27).toString(16)) as `0x${string}` };
        return { ...signed, json: JSON.stringify(signed) };
      }));
    };
    const openCount = (offered: number) => Math.max(1, Math.round((ORDER_SECONDS * offered) / PARTICIPANTS));

    const runs: OrderRun[] = [];
    const runTransport = async (transport: string, satSend: Send, openSend: Send) => {
      // Warm-up, not timed: one order per participant (JIT, the server's worker threads, SQLite pages), as the readings
      // runs leave out each bridge's first batch.
      await closedLoop(transport, satSend, sign(1), pid);
      runs.push(await closedLoop(transport, satSend, sign(ORDERS_EACH), pid));
      for (const offered of ORDER_RATES) runs.push(await openLoop(transport, openSend, sign(openCount(offered)), offered, pid));
    };

    for (const transport of ORDER_TRANSPORTS) {
      if (transport === 'socket.io') {
        // One socket per participant (as each dashboard has one), connected and signed in before any timing. The
        // lean client (bench/lean-socketio.ts) speaks the Socket.IO protocol with pre-encoded packets, so that the load
        // generator takes little of the 2 cores the server runs on.
        for (let i = 0; i < tokens.length; i += 100) {
          sockets.push(...await Promise.all(tokens.slice(i, i + 100).map((token) => LeanSocketIo.connect({
            url: server.url, namespace: '/market', auth: { token }, readyEvent: 'hello',
            ready: (h) => ((h as { address: string | null }).address ? null : 'socket not signed in'),
          }))));
        }
        const send: Send = async (p, order) => {
          const ack = (JSON.parse(await sockets[p].emitWithAck('order:submit', order.json)) as Ack<{ trades?: unknown[] }>[])[0];
          return ack.ok ? { ok: true, trades: ack.result?.trades?.length ?? 0 } : { ok: false, trades: 0, error: JSON.stringify(ack.error) };
        };
        await runTransport('Socket.IO', send, send);
        for (const s of sockets) s.close();
      } else if (transport === 'rest') {
        // The lean client (bench/lean-http.ts) writes each request's bytes on a keep-alive connection and reads status
        // and body, so that the load generator takes little of the 2 cores the server runs on.
        const restSend = (pool: LeanHttpPool): Send => async (p, order) => {
          const r = await pool.request(pool.postJson('/api/orders', order.json, tokens[p]));
          if (r.status >= 300) return { ok: false, trades: 0, error: `${r.status} ${r.body}` };
          return { ok: true, trades: (JSON.parse(r.body) as { trades: unknown[] }).trades.length };
        };
        // Saturation: one keep-alive connection per participant (one request in flight each), opened before timing.
        const own = new LeanHttpPool(server.url, PARTICIPANTS);
        // Open loop: the participants share a pool of REST_CONNECTIONS keep-alive connections; a request waiting for a
        // free connection is late, and that wait counts in its latency.
        const pool = new LeanHttpPool(server.url, REST_CONNECTIONS);
        pools.push(own, pool);
        await own.warm();
        await pool.warm();
        await runTransport('REST', restSend(own), restSend(pool));
      }
    }
    return { participants: PARTICIPANTS, runs };
  } finally {
    for (const s of sockets) s.close();
    for (const a of pools) a.close();
    await server.stop();
  }
}

// ---------------------------------------------------------------- main

/** `BENCH_ONLY=orders` or `readings` runs one half (while tuning); the default runs both, as the results require. */
const ONLY = process.env.BENCH_ONLY ?? '';
console.log(`machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown cpu'}), Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
let v: Awaited<ReturnType<typeof verifyOnly>> | null = null;
let best: IngestRun | null = null;
if (ONLY !== 'orders') {
  v = await verifyOnly();
  console.log(`\nverify-only, one core (MeterReading EIP-712 digest + secp256k1 recovery compared with the cached meter key, batches of ${BATCH}, backend ${v.backend}):`);
  console.log(`  fast path (hash-wasm keccak)      ${v.fast.toLocaleString('en')} readings/s`);
  console.log(`  portable path (@noble keccak)     ${v.portable.toLocaleString('en')} readings/s   (fast/portable = ${(v.fast / v.portable).toFixed(1)}x)`);
  console.log(`  of which digest alone             ${v.digest.toLocaleString('en')} /s; ECDSA recovery alone ${v.recover.toLocaleString('en')} /s (${v.backend})`);
  console.log(`  for reference, a plain verify     ${v.ecdsa.toLocaleString('en')} /s (${v.backend}; recovery costs ${((v.ecdsa / v.recover - 1) * 100).toFixed(0)} % more but also checks v); the secp256k1 npm package's verify ${v.ecdsaNpm.toLocaleString('en')} /s (${(v.ecdsa / v.ecdsaNpm).toFixed(2)}x)`);

  console.log(`\nsigning ${BRIDGES} × ${BATCHES_PER_BRIDGE} batches × ${BATCH} readings …`);
  const bridges = makeBridges();
  const runs: IngestRun[] = [];
  for (const w of WORKER_SETTINGS) {
    const r = await ingestRun(w, bridges);
    runs.push(r);
    console.log(`  verify workers ${w}: ${r.readings.toLocaleString('en')} readings in ${r.ms} ms → ${r.perSec.toLocaleString('en')} readings/s end to end (batch ack p50 ${r.batchP50Ms} ms, p99 ${r.batchP99Ms} ms)`);
    console.log(`                    server used ${r.serverCpuS} CPU-s (${r.perServerCpuS.toLocaleString('en')} readings per server CPU-second, ${(r.serverCpuS / (r.ms / 1000)).toFixed(2)} cores busy), the 200 bridges ${r.clientCpuS} CPU-s`);
  }
  best = runs.reduce((a, b) => (b.perSec > a.perSec ? b : a));
  const inline = runs.find((r) => r.workers === 0);
  console.log(`\nend to end (Socket.IO → schema → verify → SQLite commit → ack), ${BRIDGES} bridges, batches of ${BATCH}, ${WINDOW} in flight each:`);
  console.log(`  best: ${best.perSec.toLocaleString('en')} readings/s with ${best.workers} verify worker(s) (target ≥ 20,000/s: ${best.perSec >= 20_000 ? 'met' : 'NOT met'})`);
  if (inline) console.log(`  worker pool vs inline: ${(best.perSec / inline.perSec).toFixed(2)}x; end to end = ${(best.perSec / v.fast).toFixed(2)} × one core's verify-only rate`);
}

let orders: OrderBenchResult | null = null;
if (ONLY !== 'readings') {
  try {
    orders = await runOrderBench(startServer);
  } catch (err) {
    console.log(`\norders end to end: not measured: ${err instanceof Error ? err.message : String(err)}`);
  }
}
const cores = availableParallelism();
if (orders) {
  console.log(`\norders end to end (signature verified, committed, matched, acknowledged), ${orders.participants} participants connected and signed in:`);
  console.log(`  per transport: 1 untimed warm-up order each; saturation = closed loop, ${ORDERS_EACH} orders each, one in flight per participant; open = ${ORDER_SECONDS} s at a fixed offered rate, latency from the scheduled send`);
  console.log(`  clients: lean Socket.IO and HTTP/1.1 keep-alive clients with pre-encoded orders (bench/lean-*.ts); REST saturation one connection per participant, open loop a shared pool of ${REST_CONNECTIONS} connections`);
  for (const r of orders.runs) {
    const wall = r.ms / 1000;
    const label = r.mode === 'saturation' ? 'saturation' : `open ${r.offered!.toLocaleString('en')}/s`;
    console.log(`  ${r.transport.padEnd(9)} ${label.padEnd(15)} ${r.accepted.toLocaleString('en')}/${r.orders.toLocaleString('en')} accepted in ${r.ms} ms → ${r.perSec.toLocaleString('en')} orders/s; latency p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, max ${r.maxMs} ms; ${r.trades} trades`);
    console.log(`  ${''.padEnd(25)} server ${r.serverCpuS} CPU-s = ${((r.serverCpuS * 1000) / r.orders).toFixed(3)} ms CPU per order (${(r.serverCpuS / wall).toFixed(2)} cores; main thread ${((r.mainCpuS * 1000) / r.orders).toFixed(3)} ms per order, ${(r.mainCpuS / wall).toFixed(2)} cores); bench client ${r.clientCpuS} CPU-s (${(r.clientCpuS / wall).toFixed(2)} cores, ${Math.round((100 * r.clientCpuS) / (wall * cores))} % of the machine)`);
    console.log(`  ${''.padEnd(25)} machine ${(r.machineBusyS / wall).toFixed(2)} of ${cores} cores busy (kernel ${(r.machineKernelS / wall).toFixed(2)}, steal ${(r.machineStealS / wall).toFixed(2)}) = ${((r.machineBusyS * 1000) / r.orders).toFixed(3)} ms CPU per order in all; disk ${r.diskWrittenMB} MB written (${((r.diskWrittenMB * 1000) / r.orders).toFixed(1)} kB per order, writeback of earlier runs included)`);
    console.log(`  ${''.padEnd(25)} server threads, ms CPU per order: main ${((r.mainCpuS * 1000) / r.orders).toFixed(3)}; others ${r.otherThreadsCpuS.slice(0, 4).map((c) => ((c * 1000) / r.orders).toFixed(3)).join(', ') || 'none'}${r.otherThreadsCpuS.length > 4 ? ` (+${r.otherThreadsCpuS.length - 4} more threads, ${((r.otherThreadsCpuS.slice(4).reduce((a, b) => a + b, 0) * 1000) / r.orders).toFixed(3)})` : ''}`);
    if (r.firstRefusal) console.log(`  ${''.padEnd(25)} first refusal: ${r.firstRefusal.slice(0, 300)}`);
  }
}
const saturation = orders?.runs.filter((r) => r.mode === 'saturation') ?? [];
const atTarget = orders?.runs.filter((r) => r.mode === 'open' && r.offered === ORDER_RATES[0]) ?? [];
// The targets hold for orders over REST and over Socket.IO alike, so each figure is the weaker transport's.
const worstRate = saturation.length ? saturation.reduce((a, b) => (b.perSec < a.perSec ? b : a)) : null;
const worstP99 = atTarget.length ? atTarget.reduce((a, b) => (b.p99Ms > a.p99Ms ? b : a)) : null;
const byTransport = (runs: OrderRun[], pick: (r: OrderRun) => number) => Object.fromEntries(runs.map((r) => [r.transport, pick(r)]));
if (orders) {
  console.log(`  targets (every transport): ≥ 5,000 orders/s → weakest saturation ${worstRate ? `${worstRate.perSec.toLocaleString('en')}/s (${worstRate.transport})` : 'n/a'}: ${worstRate && worstRate.perSec >= 5000 ? 'met' : 'NOT met'}; ` +
    `p99 ≤ ${ORDER_P99_TARGET_MS} ms at ${ORDER_RATES[0].toLocaleString('en')}/s offered → highest ${worstP99 ? `${worstP99.p99Ms} ms (${worstP99.transport})` : 'n/a'}: ${worstP99 && worstP99.p99Ms <= ORDER_P99_TARGET_MS && atTarget.every((r) => r.perSec >= 0.95 * ORDER_RATES[0]) ? 'met' : 'NOT met'}`);
}
console.log(JSON.stringify({
  bench: 'ingest',
  readingsPerSec: best ? best.perSec : null,
  verifyPerSecPerCore: v ? v.fast : null,
  ordersPerSec: worstRate ? worstRate.perSec : null,
  orderP99Ms: worstP99 ? worstP99.p99Ms : null,
  ordersPerSecByTransport: byTransport(saturation, (r) => r.perSec),
  orderP99MsByTransport: byTransport(atTarget, (r) => r.p99Ms),
}));
