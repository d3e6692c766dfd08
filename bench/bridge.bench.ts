// Bridge benchmark: Modbus requests/bytes/bus time per SDM630 poll (block reads vs mbmd's per-value reads), measured
// against a real modbus-serial peer over a socat pty, and the outbox rate (signed + persisted + sent to the real server).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { loadProfile, type RegisterProfile, type RegisterValue } from '../firmware-bridge/src/modbus/profile.ts';
import { planBlocks, rtuBytes, busTimeMs } from '../firmware-bridge/src/modbus/plan.ts';
import { BusRegistry } from '../firmware-bridge/src/modbus/bus.ts';
import { ProfileReader } from '../firmware-bridge/src/modbus/meter.ts';
import { Outbox, type UnsequencedReading } from '../firmware-bridge/src/outbox.ts';
import { ReadingSigner } from '../firmware-bridge/src/signer.ts';
import { BridgeLink } from '../firmware-bridge/src/link.ts';
import { ptyPair, startPeer } from '../test/bridge/peers/processes.ts';
import { startServer, registerMeter } from '../test/bridge/server-process.ts';
import type { Address } from '@gridmesh/contracts-abi';

const BAUD = 9600;
const BITS_PER_CHAR = 10; // 8N1: start + 8 data + stop
const TURNAROUND_MS = 10; // assumed device response delay after the request's end (Eastron meters answer within ~10–50 ms)
const f1 = (n: number) => n.toFixed(1);

// ── Modbus: what one poll costs ──────────────────────────────────────────────────────────────
const sdm630 = loadProfile('sdm630') as RegisterProfile;
const ours = planBlocks(sdm630.values, sdm630, sdm630.maxRegisters);
// mbmd reads every SDM630 measurement it knows with one 2-register FC04 request each (sdm.go): ~50 per cycle.
const mbmdAddrs = [
  ...Array.from({ length: 18 }, (_, i) => i * 2), // V, A, W, VA, var, PF per phase (0x00–0x22)
  0x34, 0x38, 0x3c, 0x3e, 0x42, 0x46, 0x48, 0x4a, 0x4c, 0x4e, // totals, Hz, import/export kWh, kvarh
  0xea, 0xec, 0xee, 0xf8, // THD per phase and average
  ...Array.from({ length: 20 }, (_, i) => 0x156 + i * 2), // totals and per-phase import/export/kvarh (0x156–0x17C)
];
const mbmdValues: RegisterValue[] = mbmdAddrs.map((address) => ({ name: `r${address}`, address, decode: 'float32' }));
const perValue = mbmdValues.map(() => 2);
const perValueOurSet = sdm630.values.map(() => 2);
const oursOnMbmdSet = planBlocks(mbmdValues, { function: 'input', maxGap: undefined }, 80);

const wire = (counts: number[]) => counts.reduce((a, c) => a + rtuBytes(c).request + rtuBytes(c).response, 0);
const rows = [
  { strategy: `blocks, bridge profile (${sdm630.values.length} values)`, counts: ours.map((b) => b.count) },
  { strategy: `per value, same ${sdm630.values.length} values`, counts: perValueOurSet },
  { strategy: `blocks, mbmd's ${mbmdValues.length} values`, counts: oursOnMbmdSet.map((b) => b.count) },
  { strategy: `per value, mbmd's ${mbmdValues.length} values (mbmd)`, counts: perValue },
];
console.log(`SDM630 poll at ${BAUD} baud 8N1 (1 char = ${f1((BITS_PER_CHAR / BAUD) * 1000)} ms, 3.5-char gaps, ${TURNAROUND_MS} ms turnaround):`);
console.log('  strategy                                   requests  bytes   bus ms');
for (const r of rows) console.log(`  ${r.strategy.padEnd(42)} ${String(r.counts.length).padStart(8)} ${String(wire(r.counts)).padStart(6)} ${f1(busTimeMs(r.counts, BAUD, BITS_PER_CHAR, TURNAROUND_MS)).padStart(8)}`);
console.log(`  our blocks: ${ours.map((b) => `FC04 ${b.address}+${b.count}`).join(', ')}`);
const busMs = busTimeMs(ours.map((b) => b.count), BAUD, BITS_PER_CHAR, TURNAROUND_MS);
const perValueMs = busTimeMs(perValue, BAUD, BITS_PER_CHAR, TURNAROUND_MS);
console.log(`  → ${ours.length} requests, ${f1(busMs)} ms vs mbmd ${perValue.length} requests, ${f1(perValueMs)} ms: ${f1(perValueMs / busMs)}× less bus time`);

// Measured against the real peer (modbus-serial ServerSerial) over a socat pty at 9600 8N1.
const tmp = mkdtempSync(join(tmpdir(), 'gm-bench-'));
const line = await ptyPair(tmp);
const peer = await startPeer('modbus-peer.ts', { transport: 'serial', path: line.a, baudRate: BAUD, devices: { '1': 'sdm630' } });
const buses = new BusRegistry();
const bus = buses.acquire({ kind: 'rtu', path: line.b, baudRate: BAUD, parity: 'none', dataBits: 8, stopBits: 1 }, { timeoutMs: 1000, retries: 0, settleMs: 0, watchdogMs: 60_000, log: () => {} });
const reader = new ProfileReader(bus, 1, sdm630);
await reader.poll();
const POLLS = 10;
let t0 = performance.now();
for (let i = 0; i < POLLS; i++) await reader.poll();
const measuredBlockMs = (performance.now() - t0) / POLLS;
t0 = performance.now();
for (let i = 0; i < 3; i++) for (const a of mbmdAddrs) await bus.read(1, 'input', a, 2);
const measuredPerValueMs = (performance.now() - t0) / 3;
await buses.release(bus);
await peer.stop();
await line.stop();
console.log(`measured over a socat pty against modbus-serial ServerSerial (a pty does not pace bytes at the baud rate; the peer frames a request after 10 ms of silence):`);
console.log(`  blocks ${f1(measuredBlockMs)} ms/poll (${ours.length} requests), per value ${f1(measuredPerValueMs)} ms/poll (${mbmdAddrs.length} requests): ${f1(measuredPerValueMs / measuredBlockMs)}×`);

// ── Outbox: signed + persisted + sent, one core ─────────────────────────────────────────────────
const wallet = new Wallet(Wallet.createRandom().privateKey);
const signer = new ReadingSigner(wallet, 31337);
const N = 20_000;
const CHUNK = 500;
const reading = (i: number): UnsequencedReading => ({ timestamp: 1_790_000_000_000 + i * 1000, importWh: 1_000_000 + i, exportWh: 500_000 + (i >> 1), powerW: (i % 7000) - 3000, flags: 0 });

let t = performance.now();
for (let i = 0; i < N; i++) signer.sign({ meter: signer.meter, seq: i + 1, ...reading(i) });
const signPerSec = N / ((performance.now() - t) / 1000);

const ob1 = new Outbox(join(tmp, 'persist.sqlite'));
t = performance.now();
for (let i = 0; i < N; i += CHUNK) ob1.append(signer.meter, Array.from({ length: CHUNK }, (_, k) => reading(i + k)), (r) => signer.sign(r));
const persistPerSec = N / ((performance.now() - t) / 1000);
ob1.close();

/** Streams N readings through outbox + link to `url` while they are being produced; returns readings/s until all acked. */
async function pipeline(url: string, file: string): Promise<{ perSec: number; acked: number; ackMs: number[] }> {
  const outbox = new Outbox(join(tmp, file));
  const link = new BridgeLink({ serverUrl: url, signer, outbox, batchSize: 1000, ackTimeoutMs: 60_000 });
  link.start();
  const until = (cond: () => boolean) => new Promise<void>((r) => { const iv = setInterval(() => { if (cond()) { clearInterval(iv); r(); } }, 1); });
  await until(() => link.connected);
  const start = performance.now();
  for (let i = 0; i < N; i += CHUNK) {
    outbox.append(signer.meter, Array.from({ length: CHUNK }, (_, k) => reading(i + k)), (r) => signer.sign(r));
    await new Promise((r) => setImmediate(r)); // let the link send while readings keep coming
  }
  await until(() => outbox.depth() === 0);
  const perSec = N / ((performance.now() - start) / 1000);
  const acked = link.sentReadings;
  link.stop();
  outbox.close();
  return { perSec, acked, ackMs: [] };
}

// (a) The bridge's own cost: a /bridge endpoint that acks at once (separate process).
const sink = await startPeer('ack-sink.ts', {});
const bridgeOnly = await pipeline(`http://127.0.0.1:${sink.ready.port as number}`, 'sink.sqlite');
await sink.stop();
// (b) End to end with the real server, which verifies every signature and commits before acking (another process/core).
const server = await startServer(join(tmp, 'server'));
await registerMeter(server.url, 31337, signer.meter as Address, 'bench home');
const e2e = await pipeline(server.url, 'e2e.sqlite');
await server.stop();
const outboxPerSec = bridgeOnly.perSec;
rmSync(tmp, { recursive: true, force: true });

console.log(`outbox on one core (${signer.native ? 'libsecp256k1 + native keccak' : 'pure JS'}), ${N} readings in transactions of ${CHUNK}:`);
console.log(`  sign only ${Math.round(signPerSec)}/s; sign + persist ${Math.round(persistPerSec)}/s`);
console.log(`  sign + persist + sent + acked (endpoint acking at once): ${Math.round(outboxPerSec)}/s (${bridgeOnly.acked} acked)`);
console.log(`  end to end with the real server verifying and committing each reading: ${Math.round(e2e.perSec)}/s (${e2e.acked} acked; the server's ingest, not the bridge, sets this figure)`);
console.log(JSON.stringify({ bench: 'bridge', requestsPerPoll: ours.length, busMsAt9600: Number(f1(busMs)), perValueRequestsPerPoll: perValue.length, perValueBusMsAt9600: Number(f1(perValueMs)), bytesPerPoll: wire(ours.map((b) => b.count)), perValueBytesPerPoll: wire(perValue), measuredPtyMsPerPoll: Number(f1(measuredBlockMs)), measuredPtyPerValueMsPerPoll: Number(f1(measuredPerValueMs)), signPerSec: Math.round(signPerSec), signPersistPerSec: Math.round(persistPerSec), endToEndWithServerPerSec: Math.round(e2e.perSec), outboxPerSec: Math.round(outboxPerSec) }));
process.exit(0);
