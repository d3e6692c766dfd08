// End to end with the real server: outage + SIGKILL of the bridge → every reading arrives exactly once, in order; bad readings quarantined.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Address, SignedMeterReading } from '@gridmesh/contracts-abi';
import { cli, cliAsync, exited, killAndWait, tempDir, waitFor } from './helpers.ts';
import { startServer, registerMeter, serverReadings, type ServerProcess } from './server-process.ts';
import { parseJsonc } from '../../firmware-bridge/src/config/jsonc.ts';
import type { ChildProcess } from 'node:child_process';
import { startPeer, type Peer } from './peers/processes.ts';

const env = { GRIDMESH_KEYSTORE_PASSWORD: 'e2e-password' };

function outboxState(dataDir: string): { depth: number; lastSeq: number; quarantined: Array<{ seq: number; code: string }> } {
  const db = new Database(join(dataDir, 'outbox.sqlite'), { readonly: true });
  try {
    const depth = (db.prepare('SELECT count(*) AS n FROM outbox').get() as { n: number }).n;
    const seqRow = db.prepare("SELECT value FROM meta WHERE key LIKE 'seq:%'").get() as { value: string } | undefined;
    const quarantined = db.prepare('SELECT seq, code FROM quarantine ORDER BY id').all() as Array<{ seq: number; code: string }>;
    return { depth, lastSeq: Number(seqRow?.value ?? 0), quarantined };
  } finally {
    db.close();
  }
}

describe('bridge ↔ real server (end to end)', function () {
  this.timeout(120_000);
  let tmp: ReturnType<typeof tempDir>;
  let server: ServerProcess | undefined;
  let bridge: ChildProcess | undefined;

  beforeEach(() => {
    tmp = tempDir();
  });
  afterEach(async () => {
    await killAndWait(bridge, 'SIGKILL');
    await server?.stop();
    bridge = undefined;
    server = undefined;
    tmp.cleanup();
  });

  async function setup(): Promise<{ meter: Address; config: string; dataDir: string }> {
    server = await startServer(join(tmp.dir, 'server'));
    const init = cli(['init', '--dir', join(tmp.dir, 'home'), '--server', server.url, '--device', 'simulated', '--fast-kdf', '--sim-seed', '3', '--interval-ms', '100'], env);
    assert.equal(init.status, 0, init.stderr);
    const { meter, config } = JSON.parse(init.stdout) as { meter: Address; config: string };
    // Fast reconnects for the test; the rest as `init` wrote it.
    const cfg = parseJsonc(readFileSync(config, 'utf8')) as Record<string, unknown>;
    cfg.link = { statusIntervalMs: 1000, retryBaseMs: 100, retryMaxMs: 500 };
    cfg.outbox = { batchSize: 7, ackTimeoutMs: 2000 };
    writeFileSync(config, JSON.stringify(cfg, null, 2));
    await registerMeter(server.url, 31337, meter);
    return { meter, config, dataDir: join(tmp.dir, 'home', 'data') };
  }

  it('server stopped for a while and the bridge SIGKILLed during it → after both restart every reading arrives exactly once, in order', async () => {
    const { meter, config, dataDir } = await setup();
    bridge = cliAsync(['run', '--config', config], env);
    await waitFor(async () => (await serverReadings(server!.url, meter)).length >= 10, 20_000, 'first readings at the server');

    const port = server!.port;
    await server!.stop();
    // Readings pile up in the outbox while the server is away.
    await waitFor(() => outboxState(dataDir).depth >= 15, 20_000, 'outbox to fill during the outage');
    await killAndWait(bridge, 'SIGKILL');
    const beforeRestart = outboxState(dataDir);
    assert.ok(beforeRestart.depth >= 15);

    server = await startServer(join(tmp.dir, 'server'), port);
    bridge = cliAsync(['run', '--config', config], env);
    // Everything committed before the kill must reach the server.
    await waitFor(async () => {
      const r = await serverReadings(server!.url, meter);
      return r.length && r[r.length - 1].seq >= beforeRestart.lastSeq + 5;
    }, 30_000, 'the backlog and new readings to arrive');
    await killAndWait(bridge, 'SIGTERM');
    const after = outboxState(dataDir);
    await waitFor(async () => (await serverReadings(server!.url, meter)).length >= after.lastSeq - after.depth, 10_000, 'server to settle');

    const readings: SignedMeterReading[] = await serverReadings(server!.url, meter);
    const seqs = readings.map((r) => r.seq);
    // Exactly once and in order: seq 1..N with no gap and no duplicate, timestamps increasing with seq.
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1));
    for (let i = 1; i < readings.length; i++) {
      assert.ok(readings[i].timestamp > readings[i - 1].timestamp, `timestamps in order at ${i}`);
      assert.ok(readings[i].importWh >= readings[i - 1].importWh && readings[i].exportWh >= readings[i - 1].exportWh);
    }
    assert.ok(seqs.length >= beforeRestart.lastSeq, `server has ${seqs.length}, bridge had committed ${beforeRestart.lastSeq}`);
    assert.equal(after.quarantined.length, 0);
    assert.equal(after.depth + seqs.length, after.lastSeq, 'every committed reading is either at the server or still pending');
  });

  it('a reading the server refuses for good (bad signature) is quarantined and the rest still flows', async () => {
    const { meter, config, dataDir } = await setup();
    // Plant a tampered reading in the outbox, as if the disk had flipped a bit: seq 1 with a foreign signature.
    bridge = cliAsync(['run', '--config', config], env);
    await waitFor(async () => (await serverReadings(server!.url, meter)).length >= 3, 20_000, 'first readings');
    await killAndWait(bridge, 'SIGTERM');
    const db = new Database(join(dataDir, 'outbox.sqlite'));
    const last = Number((db.prepare("SELECT value FROM meta WHERE key LIKE 'seq:%'").get() as { value: string }).value);
    const tampered = { meter, seq: last + 1, timestamp: Date.now(), importWh: 1e9, exportWh: 1e9, powerW: 1, flags: 2, signature: '0x' + '11'.repeat(64) + '1b' };
    db.prepare('INSERT INTO outbox (meter, seq, body) VALUES (?, ?, ?)').run(meter, last + 1, JSON.stringify(tampered));
    db.prepare("UPDATE meta SET value = ? WHERE key LIKE 'seq:%'").run(String(last + 1));
    db.close();

    bridge = cliAsync(['run', '--config', config], env);
    await waitFor(async () => {
      const r = await serverReadings(server!.url, meter);
      return r.length && r[r.length - 1].seq >= last + 5;
    }, 30_000, 'readings after the tampered one');
    const stopped = exited(bridge);
    bridge.kill('SIGTERM');
    assert.equal(await stopped, 0, 'clean exit on SIGTERM');
    const state = outboxState(dataDir);
    assert.equal(state.quarantined.length, 1);
    assert.equal(state.quarantined[0].seq, last + 1);
    assert.equal(state.quarantined[0].code, 'BAD_SIGNATURE');
    const seqs = (await serverReadings(server!.url, meter)).map((r) => r.seq);
    assert.ok(!seqs.includes(last + 1));
    const status = cli(['status', '--config', config, '--json'], env);
    assert.equal(status.status, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as { devices: Array<{ quarantined: number }> }).devices[0].quarantined, 1);
  });

  it('a Modbus TCP meter configured with init → probe and run → signed readings at the server with the meter\'s counters', async () => {
    const peer: Peer = await startPeer('modbus-peer.ts', { transport: 'tcp', devices: { '1': 'sdm630' } });
    try {
      server = await startServer(join(tmp.dir, 'server'));
      const port = String(peer.ready.port);
      const probe = cli(['probe', '--device', 'modbus-tcp', '--host', '127.0.0.1', '--port', port, '--unit', '1', '--profile', 'sdm630']);
      assert.equal(probe.status, 0, probe.stderr);
      const probed = JSON.parse(probe.stdout) as { reading: { powerW: number; importWh: number }; values: Record<string, number> };
      assert.equal(probed.reading.powerW, 2700);
      assert.equal(probed.values.frequency.toFixed(2), '50.01');
      const init = cli(['init', '--dir', join(tmp.dir, 'm'), '--server', server.url, '--device', 'modbus-tcp', '--host', '127.0.0.1', '--tcp-port', port, '--unit', '1', '--profile', 'sdm630', '--fast-kdf', '--interval-ms', '200'], env);
      assert.equal(init.status, 0, init.stderr);
      const { meter, config } = JSON.parse(init.stdout) as { meter: Address; config: string };
      await registerMeter(server.url, 31337, meter);
      bridge = cliAsync(['run', '--config', config], env);
      const readings = await waitFor(async () => {
        const r = await serverReadings(server!.url, meter);
        return r.length >= 3 ? r : undefined;
      }, 20_000, 'modbus readings at the server');
      assert.equal(readings[0].importWh, 12_345_678);
      assert.equal(readings[0].exportWh, 2_345_500);
      assert.equal(readings[0].powerW, 2700);
      assert.equal(readings[0].flags, 0);
      // status.json is refreshed every 2 s by the running bridge: wait for a snapshot taken after the link came up.
      type Status = { running: boolean; devices: Array<{ link: string; source: { state: string } }> };
      const s = await waitFor(() => {
        const st = JSON.parse(cli(['status', '--config', config, '--json'], env).stdout) as Status;
        return st.devices[0]?.link === 'online' ? st : undefined;
      }, 20_000, 'status online');
      assert.equal(s.running, true);
      assert.equal(s.devices[0].link, 'online');
      assert.equal(s.devices[0].source.state, 'ok');
    } finally {
      await peer.stop();
    }
  });
});
