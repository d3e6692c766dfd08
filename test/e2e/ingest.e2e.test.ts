// End to end: the real server process and a real bridge process; refused readings, replays and resends after a lost ack.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { ErrorCode, type Address, type MeterReading } from '@gridmesh/contracts-abi';
import { registerHome } from '../../server/src/demo/owner-client.ts';
import { BridgeProtocolClient } from '../helpers/bridge-protocol-client.ts';
import { initSimulatedBridge, runBridge, startServerProcess, tempDir, waitFor, type RunningProcess, type ServerProcess } from '../helpers/processes.ts';

interface MeterListing { meter: string; latest: { seq: number; signatureVerified: boolean; ageMs: number; importWh: number; exportWh: number; timestamp: number } | null }

describe('e2e: server + bridge processes, signed reading ingestion', function () {
  const dir = tempDir('e2e-ingest');
  let server: ServerProcess;
  let bridge: RunningProcess;
  let meter: Address;
  let meterKey: Wallet;
  const clients: BridgeProtocolClient[] = [];

  const meters = async (): Promise<MeterListing[]> => (await fetch(`${server.url}/api/meters`)).json() as Promise<MeterListing[]>;
  const latest = async () => (await meters()).find((m) => m.meter === meter.toLowerCase())?.latest ?? null;
  const count = async () => ((await (await fetch(`${server.url}/api/meters/${meter}/readings?limit=10000`)).json()) as unknown[]).length;
  const client = (key: Wallet) => {
    const c = new BridgeProtocolClient(server.url, key);
    clients.push(c);
    return c;
  };

  before(async () => {
    server = await startServerProcess({ GRIDMESH_DATA_DIR: join(dir.path, 'server') });
    const home = initSimulatedBridge(join(dir.path, 'home'), server.url, { intervalMs: 200 });
    meter = home.meter;
    const keystore = readFileSync(join(dir.path, 'home', 'keystore.json'), 'utf8');
    meterKey = (await Wallet.fromEncryptedJson(keystore, readFileSync(home.passwordFile, 'utf8').trim())) as Wallet;
    await registerHome({ baseUrl: server.url, chainId: 31337, owner: Wallet.createRandom() as unknown as Wallet, name: 'Test Home', meter });
    bridge = runBridge(home.config);
  });

  after(async () => {
    clients.forEach((c) => c.close());
    await bridge?.stop();
    await server?.stop();
    dir.remove();
  });

  it('the bridge process streams readings the server verified', async () => {
    const reading = await waitFor('a verified reading from the bridge', async () => {
      const l = await latest();
      return l && l.seq >= 3 ? l : undefined;
    });
    assert.equal(reading.signatureVerified, true);
    assert.ok(reading.ageMs < 10_000, `latest reading is ${reading.ageMs} ms old`);
  });

  it('refuses a bridge whose key is not registered, naming the reason', async () => {
    const stranger = Wallet.createRandom() as unknown as Wallet;
    const c = client(stranger);
    const hello = await c.hello();
    assert.equal(hello.ok, false);
    assert.equal(hello.error?.code, ErrorCode.UNKNOWN_METER);
    assert.match(hello.error!.message, /not registered/);
    // Readings without a successful hello are refused too.
    const ack = await c.send([c.sign({ meter: stranger.address as Address, seq: 1, timestamp: Date.now(), importWh: 1, exportWh: 0, powerW: 10, flags: 0 })]);
    assert.equal(ack.ok, false);
    assert.equal(ack.error?.code, ErrorCode.UNAUTHENTICATED);
  });

  it('refuses a reading for the registered meter signed by another key', async () => {
    const c = client(meterKey);
    assert.equal((await c.hello()).ok, true);
    const l = (await latest())!;
    const forged = c.sign({ meter, seq: l.seq + 10_000, timestamp: Date.now(), importWh: l.importWh + 1, exportWh: l.exportWh, powerW: 1, flags: 0 }, Wallet.createRandom() as unknown as Wallet);
    const ack = await c.send([forged]);
    assert.equal(ack.ok, false);
    assert.equal(ack.error?.code, ErrorCode.BAD_SIGNATURE);
    assert.equal(ack.error?.index, 0);
  });

  describe('with the bridge stopped, acting as the meter', () => {
    let c: BridgeProtocolClient;
    let last: NonNullable<MeterListing['latest']>;
    const next = (seq: number, extra = 0): MeterReading => ({ meter, seq, timestamp: last.timestamp + (seq - last.seq) * 1000, importWh: last.importWh + (seq - last.seq) * 2 + extra, exportWh: last.exportWh, powerW: 400, flags: 0 });

    before(async () => {
      await bridge.stop('SIGTERM');
      last = (await latest())!;
      c = client(meterKey);
      assert.equal((await c.hello()).ok, true);
    });

    it('refuses a replayed seq with different content', async () => {
      const replay = c.sign({ ...next(last.seq), importWh: last.importWh + 5 });
      const ack = await c.send([replay]);
      assert.equal(ack.ok, false);
      assert.equal(ack.error?.code, ErrorCode.REPLAYED_SEQ);
    });

    it('refuses a decreasing counter', async () => {
      const ack = await c.send([c.sign({ ...next(last.seq + 1), importWh: last.importWh - 1 })]);
      assert.equal(ack.ok, false);
      assert.equal(ack.error?.code, ErrorCode.COUNTER_DECREASED);
    });

    it('stores nothing twice when a batch is resent after its ack was lost', async () => {
      const before = await count();
      const batch = [1, 2, 3, 4, 5].map((i) => c.sign(next(last.seq + i)));
      // Send and drop the connection before the ack can arrive, as a flaky link would.
      c.socket.emit('readings', { readings: batch });
      c.close();
      const again = client(meterKey);
      assert.equal((await again.hello()).ok, true);
      const ack = await again.send(batch);
      assert.equal(ack.ok, true, JSON.stringify(ack.error));
      assert.equal(ack.result!.accepted + ack.result!.duplicates, 5);
      assert.equal(ack.result!.lastSeq, last.seq + 5);
      assert.equal(await count(), before + 5);
      const third = await again.send(batch);
      assert.deepEqual(third.result, { accepted: 0, duplicates: 5, lastSeq: last.seq + 5 });
      assert.equal(await count(), before + 5);
    });
  });
});
