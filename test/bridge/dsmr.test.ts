// DSMR P1: CRC-16/ARC, framing across arbitrary reads, parsing 2.2/4.2/5.0/e-MUCS, and the meter source on a socat pty.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { crc16Arc, crc16Modbus } from '../../firmware-bridge/src/crc16.ts';
import { TelegramFramer } from '../../firmware-bridge/src/dsmr/framer.ts';
import { parseTelegram, DsmrError, type DsmrTelegram } from '../../firmware-bridge/src/dsmr/parser.ts';
import { DsmrMeter } from '../../firmware-bridge/src/dsmr/source.ts';
import type { Measurement } from '../../firmware-bridge/src/devices/source.ts';
import { V2_2, V4_2, V5_0, BE_EMUCS, unpaddedCrcTelegram, crcArcBitwise } from './fixtures/dsmr-telegrams.ts';
import { ptyPair } from './peers/processes.ts';
import { cli, tempDir, waitFor } from './helpers.ts';

function parseOne(text: string, opts = {}): DsmrTelegram {
  const frames = new TelegramFramer().push(Buffer.from(text, 'latin1'));
  assert.equal(frames.length, 1);
  const f = frames[0];
  assert.ok(f.ok, !f.ok ? f.reason : '');
  return parseTelegram(f.telegram, opts);
}

describe('DSMR P1 telegrams', () => {
  it('CRC-16/ARC and Modbus CRC check values', () => {
    assert.equal(crc16Arc(Buffer.from('123456789')), 0xbb3d);
    assert.equal(crc16Modbus(Buffer.from('123456789')), 0x4b37);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => crc16Arc(b) === crcArcBitwise(Buffer.from(b))));
  });

  it('DSMR 2.2 (no CRC, gas value on the next line)', () => {
    const t = parseOne(V2_2);
    assert.equal(t.version, '2.2/3');
    assert.equal(t.crc, null);
    assert.equal(t.importWh, 123_456 + 234_567);
    assert.equal(t.exportWh, 12_345 + 23_456);
    assert.deepEqual(t.importWhByTariff, { '1': 123_456, '2': 234_567 });
    assert.equal(t.powerW, 1010);
    assert.equal(t.gas?.m3, 789.012);
    assert.equal(t.tariff, 1);
  });

  it('DSMR 4.2 (CRC, winter time stamp, per-phase power and current, gas)', () => {
    const t = parseOne(V4_2);
    assert.equal(t.version, '4.2');
    assert.equal(t.importWh, 1_581_123 + 1_435_706);
    assert.equal(t.exportWh, 0);
    assert.equal(t.powerW, 2027);
    assert.equal(t.timestamp, Date.UTC(2016, 10, 13, 19, 57, 57));
    assert.equal(t.dst, false);
    assert.deepEqual(t.phases, [{ powerW: 170, currentA: 0 }, { powerW: 1247, currentA: 6 }, { powerW: 610, currentA: 2 }]);
    assert.equal(t.gas?.m3, 981.443);
    assert.equal(t.gas?.timestamp, Date.UTC(2016, 10, 29, 19, 0, 0));
  });

  it('DSMR 5.0 (summer time, exporting: negative power, voltages)', () => {
    const t = parseOne(V5_0);
    assert.equal(t.version, '5.0');
    assert.equal(t.importWh, 4_567_891 + 3_210_987);
    assert.equal(t.exportWh, 1_111_222 + 2_222_333);
    assert.equal(t.powerW, -3150);
    assert.equal(t.dst, true);
    assert.equal(t.timestamp, Date.UTC(2023, 5, 15, 9, 30, 20));
    assert.deepEqual(t.phases.map((p) => p.powerW), [-1100, -1000, -1050]);
    assert.deepEqual(t.phases.map((p) => p.voltageV), [230.1, 231.2, 229.8]);
    assert.equal(t.gas?.m3, 12785.123);
  });

  it('Belgian e-MUCS (version in 0-0:96.1.4, gas 24.2.3 on channel 1, water channel skipped)', () => {
    const t = parseOne(BE_EMUCS);
    assert.match(t.version, /^BE 5/);
    assert.equal(t.importWh, 100_034 + 215_758);
    assert.equal(t.exportWh, 50_000 + 30_011);
    assert.equal(t.powerW, 1234);
    assert.equal(t.gas?.channel, 1);
    assert.equal(t.gas?.m3, 112.384);
    assert.equal(t.phases[0].currentA, 5.3);
  });

  it('accepts a CRC sent with 3 hex digits (unpadded), compared as a number', () => {
    const text = unpaddedCrcTelegram();
    assert.match(text, /![0-9A-F]{3}\r\n$/);
    assert.equal(parseOne(text).version, '5.0');
  });

  it('refuses a bad CRC and a DSMR 5 telegram without CRC; never guesses', () => {
    const corrupted = V5_0.replace('1-0:1.8.1(004567.891', '1-0:1.8.1(004567.991');
    assert.throws(() => parseOne(corrupted), (e: Error) => e instanceof DsmrError && /CRC mismatch/.test(e.message));
    const noCrc = V5_0.replace(/![0-9A-F]{4}\r\n$/, '!\r\n');
    assert.throws(() => parseOne(noCrc), /without CRC/);
    assert.throws(() => parseOne(V2_2, { requireCrc: true }), /without CRC/);
  });

  it('property: any split of a stream of telegrams (with noise before and glued telegrams) yields the same telegrams', () => {
    const all = [V2_2, V4_2, V5_0, BE_EMUCS];
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 40 }), fc.string({ maxLength: 30 }).map((s) => s.replace(/[/!]/g, '')), (picks, cuts, noise) => {
        const stream = Buffer.from(noise + picks.map((i) => all[i]).join(''), 'latin1');
        const framer = new TelegramFramer();
        const got: string[] = [];
        let pos = 0;
        let k = 0;
        while (pos < stream.length) {
          const n = cuts[k++ % cuts.length];
          for (const f of framer.push(stream.subarray(pos, pos + n))) {
            assert.ok(f.ok, !f.ok ? f.reason : '');
            got.push(parseTelegram(f.telegram).header);
          }
          pos += n;
        }
        assert.deepEqual(got, picks.map((i) => parseOne(all[i]).header));
      }),
      { numRuns: 200 },
    );
  });

  it('a telegram cut off by a new header is dropped and counted, the next one is read', () => {
    const framer = new TelegramFramer();
    const cut = V5_0.slice(0, 200);
    const out = framer.push(Buffer.from(cut + V4_2, 'latin1'));
    assert.equal(out.length, 2);
    assert.equal(out[0].ok, false);
    assert.ok(out[1].ok);
  });
});

describe('DSMR P1 meter on a serial line (socat pty at the version\'s settings)', function () {
  this.timeout(60_000);
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  const cases: Array<{ name: string; version: '2.2' | '4' | '5'; text: string; baudRate: number; dataBits: 7 | 8; parity: 'even' | 'none' }> = [
    { name: 'DSMR 2.2 at 9600 7E1', version: '2.2', text: V2_2, baudRate: 9600, dataBits: 7, parity: 'even' },
    { name: 'DSMR 4.2 at 115200 7E1', version: '4', text: V4_2, baudRate: 115200, dataBits: 7, parity: 'even' },
    { name: 'DSMR 5.0 at 115200 8N1', version: '5', text: V5_0, baudRate: 115200, dataBits: 8, parity: 'none' },
    { name: 'e-MUCS at 115200 8N1', version: '5', text: BE_EMUCS, baudRate: 115200, dataBits: 8, parity: 'none' },
  ];
  for (const c of cases) {
    it(`${c.name}: split across reads, glued to the next, and a bad CRC refused and counted`, async () => {
      const line = await ptyPair(tmp.dir);
      const meterPort = new SerialPort({ path: line.a, baudRate: c.baudRate, dataBits: c.dataBits, parity: c.parity, stopBits: 1, autoOpen: false });
      const readings: Measurement[] = [];
      const logs: string[] = [];
      const meter = new DsmrMeter({ id: 'p1', type: 'dsmr-p1', port: line.b, dsmrVersion: c.version }, (m) => logs.push(m));
      try {
        await new Promise<void>((r, j) => meterPort.open((e) => (e ? j(e) : r())));
        await meter.start((m) => readings.push(m));
        await waitFor(() => logs.some((l) => l.startsWith('opened')), 5000, 'bridge port open');
        const write = (s: string) => new Promise<void>((r) => meterPort.write(Buffer.from(s, 'latin1'), () => meterPort.drain(() => r())));
        const expected = parseOne(c.text);
        // 1: split in the middle of an OBIS line, with a pause between the halves.
        await write(c.text.slice(0, 97));
        await new Promise((r) => setTimeout(r, 150));
        await write(c.text.slice(97));
        await waitFor(() => readings.length === 1, 5000, 'first reading');
        // 2: a corrupted copy glued to a good one in one write.
        const bad = c.version === '2.2' ? c.text.replace('1-0:1.8.1(', '1-0:1.8.1(\x85') : c.text.replace(/!([0-9A-F]{4})/, (_m, crc: string) => '!' + ((parseInt(crc, 16) ^ 1).toString(16).toUpperCase().padStart(4, '0')));
        await write(bad + c.text);
        await waitFor(() => readings.length === 2, 5000, 'second reading');
        assert.equal(meter.badTelegrams, 1);
        for (const r of readings) {
          assert.equal(r.importWh, expected.importWh);
          assert.equal(r.exportWh, expected.exportWh);
          assert.equal(r.powerW, expected.powerW);
        }
        assert.equal(meter.health().badTelegrams, 1);
      } finally {
        await meter.stop();
        if (meterPort.isOpen) await new Promise((r) => meterPort.close(r));
        await line.stop();
      }
    });
  }
});

/** The speed the bridge set on its end of the pty, read by another process as `stty` would show it. */
async function ptySpeed(path: string): Promise<number> {
  const { stdout } = await promisify(execFile)('stty', ['-F', path, 'speed']);
  return Number(stdout.trim());
}

/** A telegram as an 8-bit reader sees a 7E1 sender's bytes: even parity in bit 7 (a 7-bit reader drops it). */
const as7E1 = (text: string) => Buffer.from(Buffer.from(text, 'latin1').map((b) => {
  let ones = 0;
  for (let x = b; x; x >>= 1) ones += x & 1;
  return ones % 2 ? b | 0x80 : b;
}));

describe('DSMR P1 serial settings auto-detection (socat pty; the fake meter answers only at its own baud rate)', function () {
  this.timeout(60_000);
  const meters: Array<{ name: string; text: string; baudRate: number; sevenBit: boolean; expect: string }> = [
    { name: 'DSMR 2.2 at 9600 7E1', text: V2_2, baudRate: 9600, sevenBit: true, expect: '9600 7E1' },
    { name: 'DSMR 4.2 at 115200 7E1', text: V4_2, baudRate: 115200, sevenBit: true, expect: '115200 7E1' },
    { name: 'DSMR 5.0 at 115200 8N1', text: V5_0, baudRate: 115200, sevenBit: false, expect: '115200 8N1' },
  ];
  for (const m of meters) {
    it(`${m.name}: garbage at the other settings, then the line locks on and reads telegrams`, async () => {
      const tmp = tempDir();
      const line = await ptyPair(tmp.dir);
      const meterPort = new SerialPort({ path: line.a, baudRate: 115200, autoOpen: false });
      const logs: string[] = [];
      const readings: Measurement[] = [];
      const meter = new DsmrMeter({ id: 'p1', type: 'dsmr-p1', port: line.b, autoDetectMs: 1500 }, (l) => logs.push(l));
      let sending = true;
      try {
        await new Promise<void>((r, j) => meterPort.open((e) => (e ? j(e) : r())));
        await meter.start((x) => readings.push(x));
        const telegram = m.sevenBit ? as7E1(m.text) : Buffer.from(m.text, 'latin1');
        // A UART at the wrong baud rate decodes noise; at the right one, the meter's framing.
        const pump = (async () => {
          while (sending) {
            const bytes = (await ptySpeed(line.b).catch(() => 0)) === m.baudRate ? telegram : randomBytes(200);
            await new Promise<void>((r) => meterPort.write(bytes, () => meterPort.drain(() => r())));
            await new Promise((r) => setTimeout(r, 250));
          }
        })();
        await waitFor(() => readings.length >= 2, 30_000, 'readings after detection');
        sending = false;
        await pump;
        assert.equal(meter.serialSettings, m.expect);
        assert.ok(logs.some((l) => l.startsWith(`detected the P1 line's settings: ${m.expect}`)), logs.join('\n'));
        const expected = parseOne(m.text);
        assert.equal(readings[0].importWh, expected.importWh);
        assert.equal(readings[0].powerW, expected.powerW);
        assert.match(meter.health().message, new RegExp(`at ${m.expect}$`));
      } finally {
        sending = false;
        await meter.stop();
        if (meterPort.isOpen) await new Promise((r) => meterPort.close(r));
        await line.stop();
        tmp.cleanup();
      }
    });
  }
});

describe('DSMR P1 line watchdog', function () {
  this.timeout(30_000);
  it('a port that goes silent is closed and reopened, and telegrams are read again afterwards', async () => {
    const tmp = tempDir();
    const line = await ptyPair(tmp.dir);
    const meterPort = new SerialPort({ path: line.a, baudRate: 115200, autoOpen: false });
    const logs: string[] = [];
    const readings: Measurement[] = [];
    const meter = new DsmrMeter({ id: 'p1', type: 'dsmr-p1', port: line.b, dsmrVersion: '5', watchdogMs: 1000 }, (m) => logs.push(m));
    try {
      await new Promise<void>((r, j) => meterPort.open((e) => (e ? j(e) : r())));
      await meter.start((m) => readings.push(m));
      await waitFor(() => logs.some((l) => /no data on .* reopening/.test(l)), 10_000, 'watchdog');
      await waitFor(() => logs.filter((l) => l.startsWith('opened')).length >= 2, 10_000, 'reopened');
      meterPort.write(Buffer.from(V5_0, 'latin1'));
      await waitFor(() => readings.length === 1, 5000, 'reading after the reopen');
    } finally {
      await meter.stop();
      if (meterPort.isOpen) await new Promise((r) => meterPort.close(r));
      await line.stop();
      tmp.cleanup();
    }
  });
});

describe('gridmesh-bridge dsmr-parse', function () {
  this.timeout(30_000);
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('prints one JSON object per telegram from a file or stdin', () => {
    const file = join(tmp.dir, 'p1.txt');
    writeFileSync(file, 'garbage' + V4_2 + V5_0, 'latin1');
    const r = cli(['dsmr-parse', file]);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { version: string; importWh: number });
    assert.deepEqual(lines.map((l) => l.version), ['4.2', '5.0']);
    const s = cli(['dsmr-parse', '-'], {}, BE_EMUCS);
    assert.equal(s.status, 0, s.stderr);
    assert.equal((JSON.parse(s.stdout) as { importWh: number }).importWh, 315_792);
  });

  it('exits 1 naming the reason on a CRC error', () => {
    const r = cli(['dsmr-parse', '-'], {}, V5_0.replace('230.1*V', '230.2*V'));
    assert.equal(r.status, 1);
    assert.match(r.stderr, /CRC mismatch/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
