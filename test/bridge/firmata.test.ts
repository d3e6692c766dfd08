// Firmata: johnny-five over firmata-io against an emulated StandardFirmata board behind a socat pty — S0 pulses, gaps, relay.
import assert from 'node:assert/strict';
import { ReadingFlags, type Address } from '@gridmesh/contracts-abi';
import { FirmataMeter } from '../../firmware-bridge/src/firmata/source.ts';
import type { Measurement } from '../../firmware-bridge/src/devices/source.ts';
import type { FirmataDeviceConfig } from '../../firmware-bridge/src/config/schema.ts';
import { ptyPair, startPeer, type Peer, type PtyPair } from './peers/processes.ts';
import { tempDir, waitFor } from './helpers.ts';

const meterAddr = '0x00000000000000000000000000000000000000f1' as Address;

describe('firmata S0 pulse meter and relay (emulated StandardFirmata on a pty)', function () {
  this.timeout(90_000);
  let tmp: ReturnType<typeof tempDir>;
  let line: PtyPair | undefined;
  let board: Peer | undefined;
  let meter: FirmataMeter | undefined;

  const plug = async () => {
    line = await ptyPair(tmp.dir);
    board = await startPeer('firmata_board.py', line.a);
  };
  const unplug = async () => {
    await board?.stop();
    await line?.stop();
  };
  beforeEach(async () => {
    tmp = tempDir();
    await plug();
  });
  afterEach(async () => {
    await meter?.stop();
    meter = undefined;
    await unplug();
    tmp.cleanup();
  });

  function run(cfg: Partial<FirmataDeviceConfig>, resume?: Record<string, unknown>) {
    const readings: Measurement[] = [];
    const logs: string[] = [];
    meter = new FirmataMeter({ id: 's0', type: 'firmata', port: line!.b, pulsePin: 2, impulsesPerKwh: 1000, intervalMs: 100, ...cfg }, { resume, log: (m) => logs.push(m) });
    void meter.start((m) => readings.push(m));
    return { readings, logs };
  }
  const pulse = async (count: number, hz = 8, widthMs = 30) => {
    // Like the real firmware, the board reports pin changes only once the host switched reporting on for the port.
    await waitFor(() => board!.events.some((e) => e.event === 'report' && e.port === 0 && e.on), 10_000, 'digital reporting on');
    const before = board!.events.filter((e) => e.event === 'pulsed').length;
    await board!.send({ cmd: 'pulses', pin: 2, count, hz, widthMs });
    await waitFor(() => board!.events.filter((e) => e.event === 'pulsed').length > before, 30_000, 'pulse train');
  };
  const pinEvents = (pin: number) => board!.events.filter((e) => e.event === 'pin' && e.pin === pin).map((e) => e.value as number);

  it('counts S0 pulses into cumulative Wh with a power estimate, flagged as a relative counter', async () => {
    const { readings } = run({});
    await waitFor(() => meter!.health().state === 'ok', 20_000, 'board ready');
    await pulse(24, 8);
    await waitFor(() => readings.at(-1)?.importWh === 24, 5000, '24 Wh counted');
    const r = readings.at(-1)!;
    assert.equal(meter!.pulses, 24);
    assert.equal(r.flags & ReadingFlags.RELATIVE_COUNTER, ReadingFlags.RELATIVE_COUNTER);
    assert.equal(r.flags & ReadingFlags.GAP, 0, 'a fresh counter has no gap');
    // 8 pulses/s of 1 Wh each ≈ 28.8 kW while pulsing (averaged over the last 10 pulses, once there are 10).
    const peak = Math.max(...readings.filter((x) => x.importWh >= 10).map((x) => x.powerW));
    // Wide bounds: pulse arrival times jitter with the machine's load; a broken estimate is 0, 1 pulse/h or absurd.
    assert.ok(peak > 12_000 && peak < 80_000, `power ${peak} W`);
    for (let i = 1; i < readings.length; i++) assert.ok(readings[i].importWh >= readings[i - 1].importWh);
  });

  it('an open-collector output on a pulled-up pin (active low), 500 imp/kWh: 2 Wh per pulse', async () => {
    const { readings } = run({ pullup: true, impulsesPerKwh: 500 });
    await waitFor(() => meter!.health().state === 'ok', 20_000, 'board ready');
    await waitFor(() => board!.events.some((e) => e.event === 'mode' && e.pin === 2 && e.mode === 0x0b), 5000, 'PULLUP mode');
    await pulse(10, 10);
    await waitFor(() => readings.at(-1)?.importWh === 20, 5000, '20 Wh');
  });

  it('resumes the persisted count after a restart and flags the first reading as following a gap', async () => {
    const { readings } = run({}, { pulses: 1234, wh: 1234 });
    await waitFor(() => readings.length >= 2, 20_000, 'readings');
    assert.equal(readings[0].importWh, 1234);
    assert.equal(readings[0].flags & ReadingFlags.GAP, ReadingFlags.GAP);
    assert.equal(readings[1].flags & ReadingFlags.GAP, 0);
    await pulse(5, 10);
    await waitFor(() => readings.at(-1)?.importWh === 1239, 5000, 'count continues');
  });

  it('unplugged and replugged (board reset): reconnects, keeps the count, flags the gap', async () => {
    const { readings, logs } = run({});
    await waitFor(() => meter!.health().state === 'ok', 20_000, 'board ready');
    await pulse(3, 10);
    await waitFor(() => readings.at(-1)?.importWh === 3, 5000, '3 Wh');
    await unplug();
    await waitFor(() => meter!.health().state === 'offline', 10_000, 'offline');
    const n = readings.length;
    await plug();
    await waitFor(() => readings.length > n, 30_000, 'readings after reconnect');
    assert.equal(readings[n].flags & ReadingFlags.GAP, ReadingFlags.GAP);
    assert.equal(readings[n].importWh, 3);
    await pulse(2, 10);
    await waitFor(() => readings.at(-1)?.importWh === 5, 5000, 'count continues after replug');
    assert.ok(logs.some((l) => /lost/.test(l)));
  });

  it('switches the relay pin on for a dispatched slot and off when it ends', async () => {
    run({ relayPin: 7 });
    await waitFor(() => meter!.health().state === 'ok', 20_000, 'board ready');
    await waitFor(() => pinEvents(7).length >= 1, 5000, 'relay initialised');
    assert.equal(pinEvents(7).at(-1), 0, 'off without a dispatch');
    const now = Date.now();
    meter!.dispatch({ meter: meterAddr, slot: now - 1000, slotEnd: now + 1500, on: true, reason: 'bought energy' });
    await waitFor(() => pinEvents(7).at(-1) === 1, 5000, 'relay on');
    await waitFor(() => pinEvents(7).at(-1) === 0, 5000, 'relay off after the slot');
  });

  it('a manual override keeps the relay on whatever the dispatch says', async () => {
    run({ relayPin: 7, relayOverride: 'on' });
    await waitFor(() => pinEvents(7).at(-1) === 1, 20_000, 'relay on by override');
    meter!.dispatch({ meter: meterAddr, slot: Date.now() - 1000, slotEnd: Date.now() + 60_000, on: false });
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(pinEvents(7).at(-1), 1);
    assert.equal(meter!.desiredRelay(), true);
  });
});
