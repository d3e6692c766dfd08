// The /bridge link against a Socket.IO protocol peer that misbehaves on purpose (lost acks, refusals, dispatch),
// and the full dispatch path down to the relay pin of an emulated Firmata board. Happy paths run against the real server
// in e2e-outbox.test.ts; this peer exists to produce the failures a healthy server never does on demand.
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Server, type Socket } from 'socket.io';
import { Wallet, verifyTypedData } from 'ethers';
import { BridgeChallengeTypes, gridmeshDomain, type Ack, type SignedMeterReading } from '@gridmesh/contracts-abi';
import { BridgeLink } from '../../firmware-bridge/src/link.ts';
import { Outbox } from '../../firmware-bridge/src/outbox.ts';
import { ReadingSigner } from '../../firmware-bridge/src/signer.ts';
import { BridgeRunner } from '../../firmware-bridge/src/runner.ts';
import { createKeystore } from '../../firmware-bridge/src/keystore.ts';
import { tempDir, waitFor } from './helpers.ts';
import { ptyPair, startPeer } from './peers/processes.ts';

type Handler = (socket: Socket, batch: { readings: SignedMeterReading[] }, ack: (a: Ack<unknown>) => void) => void;

async function protocolPeer(onReadings: Handler, chainId = 31337): Promise<{ url: string; io: Server; http: HttpServer; hellos: string[]; close(): Promise<void> }> {
  const http = createServer();
  const io = new Server(http);
  const hellos: string[] = [];
  io.of('/bridge').on('connection', (socket) => {
    const challenge = '0x' + randomBytes(32).toString('hex');
    let authed = false;
    socket.emit('challenge', { challenge });
    socket.on('hello', (h: { meter: string; challenge: string; signature: string }, ack: (a: Ack) => void) => {
      const ok = h.challenge === challenge && verifyTypedData(gridmeshDomain(chainId), BridgeChallengeTypes, { meter: h.meter, challenge: h.challenge }, h.signature) === h.meter;
      hellos.push(h.meter);
      authed = ok;
      ack(ok ? { ok: true } : { ok: false, error: { code: 'BAD_SIGNATURE', message: 'bad challenge signature' } });
    });
    socket.on('status', (_s: unknown, ack: (a: Ack) => void) => ack({ ok: true }));
    socket.on('readings', (batch: { readings: SignedMeterReading[] }, ack: (a: Ack<unknown>) => void) => {
      if (!authed) return ack({ ok: false, error: { code: 'UNAUTHENTICATED', message: 'hello first' } });
      onReadings(socket, batch, ack);
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
  return { url, io, http, hellos, close: () => new Promise<void>((r) => { io.close(); http.close(() => r()); }) };
}

describe('bridge link (protocol peer with injected faults)', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());
  const signer = new ReadingSigner(new Wallet(Wallet.createRandom().privateKey), 31337);
  const fill = (o: Outbox, n: number) => o.append(signer.meter, Array.from({ length: n }, (_, i) => ({ timestamp: 1_790_000_000_000 + i, importWh: 10 + i, exportWh: 0, powerW: 1, flags: 0 })), (r) => signer.sign(r));

  it('resends the same batch when an ack is lost, removes it only once acked', async () => {
    const seen: number[][] = [];
    let drop = 1;
    const peer = await protocolPeer((_s, batch, ack) => {
      seen.push(batch.readings.map((r) => r.seq));
      if (drop-- > 0) return; // ack lost
      ack({ ok: true, result: { accepted: batch.readings.length, duplicates: 0, lastSeq: batch.readings.at(-1)!.seq } });
    });
    const outbox = new Outbox(join(tmp.dir, 'o.sqlite'));
    fill(outbox, 5);
    const link = new BridgeLink({ serverUrl: peer.url, signer, outbox, batchSize: 10, ackTimeoutMs: 300 });
    try {
      link.start();
      await waitFor(() => outbox.depth() === 0, 10_000, 'outbox drained');
      assert.deepEqual(seen, [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]]);
      assert.deepEqual(peer.hellos, [signer.meter]);
    } finally {
      link.stop();
      outbox.close();
      await peer.close();
    }
  });

  it('keeps what precedes a refusal, quarantines the offending reading and sends the rest; retries UNKNOWN_METER', async () => {
    let call = 0;
    const batches: number[][] = [];
    const peer = await protocolPeer((_s, batch, ack) => {
      call++;
      batches.push(batch.readings.map((r) => r.seq));
      if (call === 1) return ack({ ok: false, error: { code: 'UNKNOWN_METER', message: 'not registered yet' } });
      if (batch.readings[0].seq <= 3 && batch.readings.some((r) => r.seq === 3)) {
        return ack({ ok: false, error: { code: 'COUNTER_DECREASED', message: 'importWh went down', index: batch.readings.findIndex((r) => r.seq === 3) }, result: { accepted: 2, duplicates: 0, lastSeq: 2 } });
      }
      ack({ ok: true, result: { accepted: batch.readings.length, duplicates: 0, lastSeq: batch.readings.at(-1)!.seq } });
    });
    const outbox = new Outbox(join(tmp.dir, 'o.sqlite'));
    fill(outbox, 6);
    const link = new BridgeLink({ serverUrl: peer.url, signer, outbox, batchSize: 10, ackTimeoutMs: 2000, retryBaseMs: 50, retryMaxMs: 200 });
    try {
      link.start();
      await waitFor(() => outbox.depth() === 0, 10_000, 'outbox drained');
      assert.deepEqual(batches, [[1, 2, 3, 4, 5, 6], [1, 2, 3, 4, 5, 6], [4, 5, 6]]);
      assert.deepEqual(outbox.quarantined().map((q) => [q.seq, q.code]), [[3, 'COUNTER_DECREASED']]);
    } finally {
      link.stop();
      outbox.close();
      await peer.close();
    }
  });

  it('a dispatch from the server switches the relay pin of a Firmata device (runner → source → board)', async () => {
    const line = await ptyPair(tmp.dir);
    const board = await startPeer('firmata_board.py', line.a);
    const peer = await protocolPeer((_s, batch, ack) => ack({ ok: true, result: { accepted: batch.readings.length, duplicates: 0, lastSeq: batch.readings.at(-1)!.seq } }));
    process.env.GRIDMESH_KEYSTORE_PASSWORD = 'link-test';
    const wallet = await createKeystore(join(tmp.dir, 'k.json'), 'link-test', true);
    const runner = new BridgeRunner({ server: peer.url, chainId: 31337, keystore: join(tmp.dir, 'k.json'), dataDir: join(tmp.dir, 'data'), devices: [{ id: 'boiler', type: 'firmata', port: line.b, pulsePin: 2, relayPin: 7, intervalMs: 200 }] }, () => {});
    try {
      await runner.start();
      await waitFor(() => runner.devices[0].link.connected && runner.devices[0].source.health().state === 'ok', 20_000, 'linked and board ready');
      const sockets = await peer.io.of('/bridge').fetchSockets();
      const now = Date.now();
      const one = (a: unknown) => (Array.isArray(a) ? a[0] : a) as Ack;
      const ack = one(await sockets[0].timeout(5000).emitWithAck('dispatch', { meter: wallet.address, slot: now - 1000, slotEnd: now + 60_000, on: true, reason: 'bought 1 kWh' }));
      assert.deepEqual(ack, { ok: true });
      await waitFor(() => board.events.some((e) => e.event === 'pin' && e.pin === 7 && e.value === 1), 5000, 'relay pin on');
      const bad = one(await sockets[0].timeout(5000).emitWithAck('dispatch', { meter: wallet.address, slot: 'soon' }));
      assert.equal(bad.ok, false);
      assert.equal(bad.error?.code, 'VALIDATION');
      await waitFor(() => runner.devices[0].link.sentReadings >= 3, 10_000, 'readings flowing');
    } finally {
      delete process.env.GRIDMESH_KEYSTORE_PASSWORD;
      await runner.stop();
      await peer.close();
      await board.stop();
      await line.stop();
    }
  });
});
