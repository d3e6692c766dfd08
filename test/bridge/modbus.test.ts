// Modbus against real peers: modbus-serial servers over TCP and over a socat pty line; block reads, SunSpec, faults, reconnect, scan.
import assert from 'node:assert/strict';
import { BusRegistry, ModbusBus, BusError, type BusEndpoint } from '../../firmware-bridge/src/modbus/bus.ts';
import { ModbusMeter, ProfileReader } from '../../firmware-bridge/src/modbus/meter.ts';
import { listProfiles, loadProfile } from '../../firmware-bridge/src/modbus/profile.ts';
import { scanBus } from '../../firmware-bridge/src/modbus/scan.ts';
import type { ModbusRtuDeviceConfig, ModbusTcpDeviceConfig } from '../../firmware-bridge/src/config/schema.ts';
import { ptyPair, startPeer, type Peer, type PtyPair } from './peers/processes.ts';
import { tempDir } from './helpers.ts';

const quiet = () => {};
const busOpts = { timeoutMs: 300, retries: 2, settleMs: 20, watchdogMs: 30_000, log: quiet };
const requestsOf = (peer: Peer) => peer.events.filter((e) => e.event === 'request') as unknown as Array<{ unit: number; fn: string; address: number; count: number }>;

describe('modbus over TCP (modbus-serial ServerTCP peer)', function () {
  this.timeout(60_000);
  let peer: Peer;
  let buses: BusRegistry;
  before(async () => {
    peer = await startPeer('modbus-peer.ts', { transport: 'tcp', devices: { '1': 'sdm630', '2': 'sdm120', '3': 'sunspec-inverter', '4': 'sunspec-both', '6': 'sunspec-meter@50000', '7': 'sunspec-inverter@0' } });
  });
  after(async () => peer.stop());
  beforeEach(() => (buses = new BusRegistry()));

  const tcp = (unit: number, profile: string, extra: Partial<ModbusTcpDeviceConfig> = {}): ModbusTcpDeviceConfig => ({
    id: `u${unit}`, type: 'modbus-tcp', host: '127.0.0.1', port: peer.ready.port as number, unit, profile, ...extra,
  });

  it('reads a full SDM630 poll in block requests and normalises it', async () => {
    const meter = new ModbusMeter(tcp(1, 'sdm630'), { log: quiet, buses });
    const before = requestsOf(peer).length;
    const { reading } = await meter.read(1_700_000_000_000);
    const reqs = requestsOf(peer).slice(before);
    assert.equal(reqs.length, meter.reader.plan.length);
    assert.ok(reqs.length <= 3, `${reqs.length} requests`);
    assert.ok(reqs.every((r) => r.count <= 80 && r.fn === 'input'));
    assert.equal(reading.powerW, 2700);
    assert.equal(reading.importWh, 12345678);
    assert.equal(reading.exportWh, 2345500);
    assert.deepEqual(reading.phases, [
      { voltageV: 230.1, currentA: 5.25, powerW: 1200 },
      { voltageV: 231.2, currentA: 4.5, powerW: 1000 },
      { voltageV: 229.8, currentA: 3.125, powerW: 500 },
    ]);
    await meter.stop();
  });

  it('discovers a SunSpec inverter, walks the chain and scales each value with the factor from the same request', async () => {
    const meter = new ModbusMeter(tcp(3, 'sunspec'), { log: quiet, buses });
    const before = requestsOf(peer).length;
    const { reading, values } = await meter.read();
    assert.equal(values.text.manufacturer, 'gridmesh-sim');
    assert.equal(values.text.model, '103');
    assert.equal(reading.powerW, -7250, 'an inverter exports');
    assert.equal(reading.exportWh, 12345670);
    assert.equal(reading.importWh, 0);
    assert.deepEqual(reading.phases?.[0], { voltageV: 230.1, currentA: 10.52 });
    assert.equal(values.values.frequency, 50.01);
    // Every data read of model 103 covers its scale factors: W at 12 with W_SF at 13, WH at 22-23 with WH_SF at 24.
    const dataStart = 40002 + 2 + 66 + 2;
    const dataReads = requestsOf(peer).slice(before).filter((r) => r.address >= dataStart && r.count > 2);
    assert.ok(dataReads.length >= 1);
    for (const [value, sf] of [[12, 13], [22, 24], [8, 11], [1, 4]]) {
      assert.ok(dataReads.some((r) => r.address <= dataStart + value && r.address + r.count > dataStart + sf), `point ${value} read with its SF ${sf}`);
    }
    await meter.stop();
  });

  it('on a device with inverter and meter models reads the meter (import/export from TotWhImp/TotWhExp)', async () => {
    const meter = new ModbusMeter(tcp(4, 'sunspec'), { log: quiet, buses });
    const { reading, values } = await meter.read();
    assert.equal(values.text.model, '203');
    assert.equal(reading.powerW, 2700);
    assert.equal(reading.importWh, 12345678);
    assert.equal(reading.exportWh, 2345500);
    const inverter = new ModbusMeter(tcp(4, 'sunspec', { id: 'inv', sunspecModel: 103 }), { log: quiet, buses });
    assert.equal((await inverter.read()).reading.powerW, -7250);
    await meter.stop();
    await inverter.stop();
  });

  it('finds the SunSpec marker at 50000 and at 0 as well', async () => {
    for (const [unit, family] of [[6, '203'], [7, '103']] as const) {
      const meter = new ModbusMeter(tcp(unit, 'sunspec', { id: `s${unit}` }), { log: quiet, buses });
      const { values } = await meter.read();
      assert.equal(values.text.model, family);
      assert.equal(values.values.voltageL1, 230.1);
      await meter.stop();
    }
  });

  it('several devices on one connection: requests are serialised and each gets its own answer', async () => {
    const a = new ModbusMeter(tcp(1, 'sdm630'), { log: quiet, buses });
    const b = new ModbusMeter(tcp(2, 'sdm120'), { log: quiet, buses });
    assert.equal((a as unknown as { bus: ModbusBus }).bus, (b as unknown as { bus: ModbusBus }).bus, 'one shared bus');
    const [ra, rb] = await Promise.all([a.read(), b.read()]);
    assert.equal(ra.reading.powerW, 2700);
    assert.equal(rb.reading.powerW, 1200);
    assert.equal(rb.reading.phases?.length, 1);
    await a.stop();
    await b.stop();
  });

  it('loads EVERY device profile against the peer and reads a plausible reading', async () => {
    const peerMapFor: Record<string, number> = { sdm630: 1, sdm120: 2, sunspec: 4 };
    for (const name of listProfiles()) {
      const profile = loadProfile(name);
      assert.ok(peerMapFor[name], `profile ${name} needs a peer map in this test`);
      const meter = new ModbusMeter(tcp(peerMapFor[name], name, { id: name }), { log: quiet, buses });
      const { reading, values } = await meter.read();
      const v = values.values[profile.probe?.value ?? 'voltageL1'];
      assert.ok(typeof v === 'number' && v > 90 && v < 260, `${name}: voltage ${v}`);
      assert.ok(Number.isInteger(reading.importWh) && Number.isInteger(reading.exportWh));
      await meter.stop();
    }
  });

  it('an unreachable unit times out with an error, without crashing, and the bus keeps serving others', async () => {
    const bus = buses.acquire({ kind: 'tcp', host: '127.0.0.1', port: peer.ready.port as number, rtuOverTcp: false }, { ...busOpts, retries: 1, timeoutMs: 200 });
    await assert.rejects(bus.read(9, 'input', 0, 2), BusError);
    const ok = await new ProfileReader(bus, 1, loadProfile('sdm630')).poll();
    assert.equal(ok.values.power, 2700);
    await buses.release(bus);
  });

  it('scan finds the units that answer a plausible mains voltage', async () => {
    const bus = buses.acquire({ kind: 'tcp', host: '127.0.0.1', port: peer.ready.port as number, rtuOverTcp: false }, busOpts);
    const hits = await scanBus(bus, { from: 1, to: 5, timeoutMs: 150, delayMs: 0 });
    assert.deepEqual(hits.map((h) => h.unit), [1, 2, 3, 4]);
    assert.deepEqual(hits[0].profiles, ['sdm120', 'sdm630']);
    assert.equal(hits[0].voltageV, 230.1);
    assert.ok(hits[2].sunspec);
    await buses.release(bus);
  });
});

describe('modbus on a device that refuses long reads (exception 02)', function () {
  this.timeout(30_000);
  it('shrinks the block size until the device accepts it, and still reads every value', async () => {
    const peer = await startPeer('modbus-peer.ts', { transport: 'tcp', devices: { '1': 'sdm630' }, maxRegisters: 10 });
    const buses = new BusRegistry();
    try {
      const logs: string[] = [];
      const meter = new ModbusMeter({ id: 'm', type: 'modbus-tcp', host: '127.0.0.1', port: peer.ready.port as number, unit: 1, profile: 'sdm630' }, { log: (m) => logs.push(m), buses });
      const { reading } = await meter.read();
      assert.equal(reading.powerW, 2700);
      assert.equal(reading.importWh, 12345678);
      assert.ok(meter.reader.limit <= 10);
      assert.ok(meter.reader.plan.every((b) => b.count <= 10));
      assert.ok(logs.some((l) => /block limit lowered/.test(l)));
      await meter.stop();
    } finally {
      await peer.stop();
    }
  });
});

describe('modbus RTU over a socat pty line (modbus-serial ServerSerial peer)', function () {
  this.timeout(90_000);
  let tmp: ReturnType<typeof tempDir>;
  let line: PtyPair;
  let peer: Peer;
  let buses: BusRegistry;
  const rtu = (unit: number, profile: string, extra: Partial<ModbusRtuDeviceConfig> = {}): ModbusRtuDeviceConfig => ({
    id: `u${unit}`, type: 'modbus-rtu', port: line.b, baudRate: 9600, unit, profile, timeoutMs: 500, retries: 2, settleMs: 20, ...extra,
  });
  const startLine = async () => {
    line = await ptyPair(tmp.dir);
    peer = await startPeer('modbus-peer.ts', { transport: 'serial', path: line.a, baudRate: 9600, devices: { '1': 'sdm630', '2': 'sdm120' } });
  };
  before(async () => {
    tmp = tempDir();
    await startLine();
  });
  after(async () => {
    await peer?.stop();
    await line?.stop();
    tmp.cleanup();
  });
  beforeEach(() => (buses = new BusRegistry()));

  it('reads SDM630 and SDM120 sharing one RS485 line', async () => {
    const a = new ModbusMeter(rtu(1, 'sdm630'), { log: quiet, buses });
    const b = new ModbusMeter(rtu(2, 'sdm120'), { log: quiet, buses });
    const [ra, rb] = await Promise.all([a.read(), b.read()]);
    assert.equal(ra.reading.powerW, 2700);
    assert.equal(ra.reading.importWh, 12345678);
    assert.equal(rb.reading.powerW, 1200);
    await a.stop();
    await b.stop();
  });

  it('waits at least the settle delay before talking to another unit on the bus', async () => {
    const a = new ModbusMeter(rtu(1, 'sdm630', { settleMs: 300 }), { log: quiet, buses });
    const b = new ModbusMeter(rtu(2, 'sdm120', { settleMs: 300 }), { log: quiet, buses });
    const from = peer.events.length;
    await Promise.all([a.read(), b.read(), a.read()]);
    const reqs = peer.events.slice(from).filter((e) => e.event === 'request') as unknown as Array<{ unit: number; at: number }>;
    let switches = 0;
    for (let i = 1; i < reqs.length; i++) {
      if (reqs[i].unit !== reqs[i - 1].unit) {
        switches++;
        assert.ok(reqs[i].at - reqs[i - 1].at >= 300, `unit ${reqs[i - 1].unit}→${reqs[i].unit} after ${reqs[i].at - reqs[i - 1].at} ms`);
      }
    }
    assert.ok(switches >= 2, `${switches} unit switches`);
    await a.stop();
    await b.stop();
  });

  it('a CRC-corrupted response is retried; with no retries left it is an error, not a crash', async () => {
    const meter = new ModbusMeter(rtu(1, 'sdm630'), { log: quiet, buses });
    await peer.send({ cmd: 'corrupt', count: 1 });
    assert.equal((await meter.read()).reading.powerW, 2700, 'retry after the bad CRC');
    const strict = new ModbusMeter(rtu(1, 'sdm630', { id: 'strict', retries: 0 }), { log: quiet, buses });
    await peer.send({ cmd: 'corrupt', count: 1 });
    await assert.rejects(strict.read(), /CRC/);
    assert.equal((await strict.read()).reading.powerW, 2700, 'the next poll works');
    await meter.stop();
    await strict.stop();
  });

  it('a timeout is retried; a device silent beyond the retries gives an error and the next poll recovers', async () => {
    const meter = new ModbusMeter(rtu(1, 'sdm630', { timeoutMs: 200, retries: 1 }), { log: quiet, buses });
    await peer.send({ cmd: 'silence', count: 1 });
    assert.equal((await meter.read()).reading.powerW, 2700);
    await peer.send({ cmd: 'silence', count: 2 });
    await assert.rejects(meter.read(), /Timed out|ETIMEDOUT/i);
    assert.equal((await meter.read()).reading.powerW, 2700);
    await meter.stop();
  });

  it('a stalled bus (no answer for longer than the watchdog) is closed and reopened, then serves again', async () => {
    const logs: string[] = [];
    const meter = new ModbusMeter(rtu(1, 'sdm630', { timeoutMs: 150, retries: 0, watchdogMs: 1000 }), { log: (m) => logs.push(m), buses });
    assert.equal((await meter.read()).reading.powerW, 2700);
    await peer.send({ cmd: 'silence', count: 12 });
    const until = Date.now() + 8000;
    while (!logs.some((l) => /watchdog/.test(l)) && Date.now() < until) await meter.read().catch(() => undefined);
    assert.ok(logs.some((l) => /watchdog/.test(l)), 'watchdog fired');
    let power: number | undefined;
    for (let i = 0; i < 30 && power === undefined; i++) power = await meter.read().then((r) => r.reading.powerW, () => undefined);
    assert.equal(power, 2700);
    assert.ok(logs.filter((l) => /^opened /.test(l)).length >= 2, 'reopened');
    await meter.stop();
  });

  it('the far side closed (adapter unplugged) and reopened → the bridge reconnects', async () => {
    const logs: string[] = [];
    const meter = new ModbusMeter(rtu(1, 'sdm630', { timeoutMs: 200, retries: 0 }), { log: (m) => logs.push(m), buses });
    assert.equal((await meter.read()).reading.powerW, 2700);
    await peer.stop();
    await line.stop();
    await assert.rejects(meter.read());
    await startLine();
    let reading: number | undefined;
    for (let i = 0; i < 40 && reading === undefined; i++) {
      try {
        reading = (await meter.read()).reading.powerW;
      } catch {
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    assert.equal(reading, 2700);
    assert.ok(logs.filter((l) => /^opened /.test(l)).length >= 2, 'port reopened');
    await meter.stop();
  });
});

describe('modbus RTU over TCP (gateway framing)', function () {
  this.timeout(30_000);
  it('speaks RTU frames over a TCP socket to a serial peer behind socat', async () => {
    const tmp = tempDir();
    const line = await ptyPair(tmp.dir);
    const peer = await startPeer('modbus-peer.ts', { transport: 'serial', path: line.a, baudRate: 9600, devices: { '1': 'sdm630' } });
    // A dumb RS485-Ethernet converter: TCP port ↔ the serial line, bytes passed through unchanged.
    const { spawn } = await import('node:child_process');
    const net = await import('node:net');
    const port = await new Promise<number>((r) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => r(p));
      });
    });
    const gateway = spawn('socat', [`tcp-listen:${port},bind=127.0.0.1,reuseaddr,fork`, `file:${line.b},rawer,echo=0`], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const endpoint: BusEndpoint = { kind: 'tcp', host: '127.0.0.1', port, rtuOverTcp: true };
      const buses = new BusRegistry();
      const meter = new ModbusMeter({ id: 'gw', type: 'modbus-tcp', host: endpoint.host, port, rtuOverTcp: true, unit: 1, profile: 'sdm630' }, { log: quiet, buses });
      assert.equal((await meter.read()).reading.powerW, 2700);
      await meter.stop();
    } finally {
      gateway.kill('SIGTERM');
      await peer.stop();
      await line.stop();
      tmp.cleanup();
    }
  });
});
