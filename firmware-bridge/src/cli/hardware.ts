// Hardware subcommands: list-ports, probe (one normalised reading), scan (Modbus unit ids), dsmr-parse (telegrams → JSON).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CliError } from './errors.ts';

function intArg(name: string, v: string | undefined, fallback?: number): number | undefined {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) throw new CliError(`--${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

export async function listPortsCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, strict: true, options: { json: { type: 'boolean' } } });
  const { SerialPort } = await import('serialport');
  const { readdirSync, realpathSync } = await import('node:fs');
  const ports = await SerialPort.list();
  // Map each device to its stable /dev/serial/by-id name, which survives replugging and renumbering.
  const byId = new Map<string, string>();
  try {
    for (const f of readdirSync('/dev/serial/by-id')) byId.set(realpathSync(`/dev/serial/by-id/${f}`), `/dev/serial/by-id/${f}`);
  } catch {
    /* no USB serial devices */
  }
  const list = ports.map((p) => ({ path: p.path, byId: byId.get(p.path) ?? null, vendorId: p.vendorId ?? null, productId: p.productId ?? null, manufacturer: p.manufacturer ?? null, serialNumber: p.serialNumber ?? null }));
  if (values.json) {
    process.stdout.write(JSON.stringify(list) + '\n');
    return;
  }
  if (!list.length) {
    process.stdout.write('no serial ports found (is the adapter plugged in? see README "Connect your meter")\n');
    return;
  }
  for (const p of list) process.stdout.write(`${p.byId ?? p.path}  ${p.vendorId ?? '----'}:${p.productId ?? '----'}  ${p.manufacturer ?? ''}${p.byId ? `  (${p.path})` : ''}\n`);
}

const modbusOptions = {
  device: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  baud: { type: 'string' },
  parity: { type: 'string' },
  'data-bits': { type: 'string' },
  'stop-bits': { type: 'string' },
  unit: { type: 'string' },
  profile: { type: 'string' },
  'rtu-over-tcp': { type: 'boolean' },
  'timeout-ms': { type: 'string' },
  'dsmr-version': { type: 'string' },
  'sunspec-model': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
} as const;

export async function probeCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, strict: true, options: modbusOptions });
  const device = values.device;
  if (device === 'modbus-rtu' || device === 'modbus-tcp') {
    const { ModbusMeter } = await import('../modbus/meter.ts');
    const { BusRegistry } = await import('../modbus/bus.ts');
    const { ProfileError } = await import('../modbus/profile.ts');
    const common = { id: 'probe', unit: intArg('unit', values.unit, 1)!, profile: values.profile ?? (device === 'modbus-tcp' ? 'sunspec' : 'sdm630'), timeoutMs: intArg('timeout-ms', values['timeout-ms'], 1000), retries: 2, sunspecModel: intArg('sunspec-model', values['sunspec-model']) };
    let cfg;
    if (device === 'modbus-rtu') {
      if (!values.port) throw new CliError('probe --device modbus-rtu needs --port /dev/serial/by-id/…');
      const parity = values.parity as 'none' | 'even' | 'odd' | undefined;
      if (parity && !['none', 'even', 'odd'].includes(parity)) throw new CliError('--parity must be none, even or odd');
      cfg = { ...common, type: 'modbus-rtu' as const, port: values.port, baudRate: intArg('baud', values.baud), parity, dataBits: intArg('data-bits', values['data-bits']) as 7 | 8 | undefined, stopBits: intArg('stop-bits', values['stop-bits']) as 1 | 2 | undefined };
    } else {
      if (!values.host) throw new CliError('probe --device modbus-tcp needs --host H [--port N]');
      cfg = { ...common, type: 'modbus-tcp' as const, host: values.host, port: intArg('port', values.port, 502), rtuOverTcp: values['rtu-over-tcp'] ?? false };
    }
    const buses = new BusRegistry();
    let meter;
    try {
      meter = new ModbusMeter(cfg, { log: (m) => process.stderr.write(m + '\n'), buses });
    } catch (err) {
      if (err instanceof ProfileError) throw new CliError(err.message);
      throw err;
    }
    try {
      const { reading, values: raw } = await meter.read();
      process.stdout.write(JSON.stringify({ device, unit: cfg.unit, profile: cfg.profile, reading, values: raw.values, info: raw.text, requests: raw.requests }) + '\n');
    } catch (err) {
      throw new CliError(`probe failed: ${(err as Error).message}`, 1);
    } finally {
      await meter.stop();
    }
    return;
  }
  if (device === 'dsmr-p1') {
    if (!values.port) throw new CliError('probe --device dsmr-p1 needs --port /dev/serial/by-id/…');
    const version = (values['dsmr-version'] ?? 'auto') as 'auto' | '2.2' | '3' | '4' | '5';
    if (!['auto', '2.2', '3', '4', '5'].includes(version)) throw new CliError('--dsmr-version must be auto, 2.2, 3, 4 or 5');
    const { DsmrMeter } = await import('../dsmr/source.ts');
    const baudRate = intArg('baud', values.baud);
    const meter = new DsmrMeter({ id: 'probe', type: 'dsmr-p1', port: values.port, dsmrVersion: version, ...(baudRate === undefined ? {} : { baudRate }), autoDetectMs: 12_000 }, (m) => process.stderr.write(m + '\n'));
    // Auto-detection tries three settings: give each its window.
    const timeoutMs = intArg('timeout-ms', values['timeout-ms'], version === 'auto' && baudRate === undefined ? 40_000 : 30_000)!;
    try {
      const reading = await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new CliError(`no valid telegram within ${timeoutMs} ms (${meter.health().message}); check the cable (P1 needs an inverting cable) and that the meter's P1 port is enabled`, 1)), timeoutMs);
        void meter.start((m) => {
          clearTimeout(t);
          resolve(m);
        });
      });
      process.stdout.write(JSON.stringify({ device, serial: meter.serialSettings, reading, telegram: meter.last }) + '\n');
    } finally {
      await meter.stop();
    }
    return;
  }
  throw new CliError('usage: gridmesh-bridge probe --device modbus-rtu --port P [--baud B] --unit U --profile NAME\n       gridmesh-bridge probe --device modbus-tcp --host H [--port N] [--rtu-over-tcp] --unit U [--profile sunspec]\n       gridmesh-bridge probe --device dsmr-p1 --port P [--dsmr-version auto|2.2|3|4|5]');
}

export async function scanCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, strict: true, options: modbusOptions });
  const { BusRegistry } = await import('../modbus/bus.ts');
  const { scanBus } = await import('../modbus/scan.ts');
  let endpoint;
  if (values.host) endpoint = { kind: 'tcp' as const, host: values.host, port: intArg('port', values.port, 502)!, rtuOverTcp: values['rtu-over-tcp'] ?? false };
  else if (values.port) endpoint = { kind: 'rtu' as const, path: values.port, baudRate: intArg('baud', values.baud, 9600)!, parity: (values.parity ?? 'none') as 'none', dataBits: 8 as const, stopBits: 1 as const };
  else throw new CliError('usage: gridmesh-bridge scan --port /dev/serial/by-id/… [--baud 9600] | --host H [--port 502] [--from 1 --to 247]');
  const buses = new BusRegistry();
  const bus = buses.acquire(endpoint, { timeoutMs: 200, retries: 0, settleMs: 40, watchdogMs: 3_600_000, log: (m) => process.stderr.write(m + '\n') });
  try {
    const hits = await scanBus(bus, { from: intArg('from', values.from, 1), to: intArg('to', values.to, 247), timeoutMs: intArg('timeout-ms', values['timeout-ms'], 200) });
    for (const h of hits) process.stdout.write(JSON.stringify(h) + '\n');
    if (!hits.length) process.stderr.write('no unit answered with a plausible mains voltage (check A/B wiring, baud rate and parity)\n');
  } finally {
    await buses.release(bus);
  }
}

export async function dsmrParseCommand(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({ args: argv, strict: true, allowPositionals: true, options: { 'require-crc': { type: 'boolean' } } });
  const src = positionals[0] ?? '-';
  let input: Buffer;
  try {
    input = src === '-' ? readFileSync(0) : readFileSync(src);
  } catch (err) {
    throw new CliError(`cannot read ${src}: ${(err as Error).message}`, 2);
  }
  const { TelegramFramer } = await import('../dsmr/framer.ts');
  const { parseTelegram } = await import('../dsmr/parser.ts');
  const frames = new TelegramFramer().push(input);
  let errors = 0;
  let n = 0;
  for (const f of frames) {
    n++;
    if (!f.ok) {
      errors++;
      process.stderr.write(`telegram ${n}: ${f.reason}\n`);
      continue;
    }
    try {
      process.stdout.write(JSON.stringify(parseTelegram(f.telegram, { requireCrc: values['require-crc'] })) + '\n');
    } catch (err) {
      errors++;
      process.stderr.write(`telegram ${n}: ${(err as Error).message}\n`);
    }
  }
  if (!frames.length) throw new CliError('no telegram found (expected "/" … "!CRC")', 1);
  if (errors) process.exit(1);
}
