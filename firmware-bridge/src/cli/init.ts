// `gridmesh-bridge init`: creates the device keystore and a commented, validated bridge.json; prints {meter, config}.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve, relative, isAbsolute } from 'node:path';
import { parseArgs } from 'node:util';
import { createKeystore, generatePasswordFile, resolvePassword } from '../keystore.ts';
import { renderConfig } from '../config/write.ts';
import { checkConfig } from '../config/load.ts';
import { parseJsonc } from '../config/jsonc.ts';
import { DEVICE_TYPES, type BridgeConfig, type DeviceConfig } from '../config/schema.ts';
import { CliError } from './errors.ts';

export const INIT_USAGE = `gridmesh-bridge init --dir DIR --server URL --device TYPE [options]
  --chain-id N            EIP-712 chain id (default 31337)
  --password-file FILE    keystore password file (else env GRIDMESH_KEYSTORE_PASSWORD)
  --generate-password     write a random password to DIR/keystore.password (0600) and use it
  --fast-kdf              cheap scrypt (tests/demo only)
  --id NAME               device id (default "meter")
  --interval-ms MS        reading interval (default 1000)
  simulated:  --sim-seed N --sim-pv-w W --sim-load-w W --sim-clock-offset-min M
  modbus-rtu: --port PATH --baud B --parity none|even|odd --unit U --profile NAME
  modbus-tcp: --host H --tcp-port N --unit U --profile NAME [--rtu-over-tcp]
  dsmr-p1:    --port PATH [--dsmr-version auto|2.2|3|4|5]
  firmata:    --port PATH --pulse-pin N [--impulses-per-kwh N] [--relay-pin N]`;

function intArg(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new CliError(`--${name} must be an integer, got ${JSON.stringify(v)}`);
  return Number(v);
}

export async function initCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      dir: { type: 'string' },
      server: { type: 'string' },
      device: { type: 'string' },
      'chain-id': { type: 'string' },
      'password-file': { type: 'string' },
      'generate-password': { type: 'boolean' },
      'fast-kdf': { type: 'boolean' },
      id: { type: 'string' },
      'interval-ms': { type: 'string' },
      'sim-seed': { type: 'string' },
      'sim-pv-w': { type: 'string' },
      'sim-load-w': { type: 'string' },
      'sim-clock-offset-min': { type: 'string' },
      port: { type: 'string' },
      baud: { type: 'string' },
      parity: { type: 'string' },
      unit: { type: 'string' },
      profile: { type: 'string' },
      host: { type: 'string' },
      'tcp-port': { type: 'string' },
      'rtu-over-tcp': { type: 'boolean' },
      'dsmr-version': { type: 'string' },
      'pulse-pin': { type: 'string' },
      'impulses-per-kwh': { type: 'string' },
      'relay-pin': { type: 'string' },
    },
  });
  if (!values.dir) throw new CliError(`--dir is required\n${INIT_USAGE}`);
  if (!values.server) throw new CliError(`--server is required\n${INIT_USAGE}`);
  const type = values.device ?? 'simulated';
  if (!(DEVICE_TYPES as string[]).includes(type)) throw new CliError(`--device must be one of ${DEVICE_TYPES.join(', ')}`);
  const dir = resolve(values.dir);
  mkdirSync(dir, { recursive: true });
  const configPath = join(dir, 'bridge.json');
  const keystorePath = join(dir, 'keystore.json');
  if (existsSync(configPath)) throw new CliError(`${configPath} already exists; refusing to overwrite`);
  if (existsSync(keystorePath)) throw new CliError(`${keystorePath} already exists; refusing to overwrite a device key`);

  let passwordFile = values['password-file'] ? resolve(values['password-file']) : undefined;
  if (values['generate-password']) {
    if (passwordFile) throw new CliError('give either --password-file or --generate-password');
    passwordFile = join(dir, 'keystore.password');
    generatePasswordFile(passwordFile);
  }
  const rel = (p: string) => {
    const r = relative(dir, p);
    return r.startsWith('..') || isAbsolute(r) ? p : r;
  };

  const common = { id: values.id ?? 'meter', type, intervalMs: intArg('interval-ms', values['interval-ms']) };
  let device: Record<string, unknown>;
  switch (type) {
    case 'simulated':
      device = {
        ...common,
        seed: intArg('sim-seed', values['sim-seed']) ?? Math.floor(Math.random() * 1_000_000),
        pvPeakW: intArg('sim-pv-w', values['sim-pv-w']) ?? 4000,
        loadBaseW: intArg('sim-load-w', values['sim-load-w']) ?? 400,
        clockOffsetMin: intArg('sim-clock-offset-min', values['sim-clock-offset-min']),
      };
      break;
    case 'modbus-rtu':
      device = { ...common, port: values.port, baudRate: intArg('baud', values.baud) ?? 9600, parity: values.parity ?? 'none', unit: intArg('unit', values.unit) ?? 1, profile: values.profile ?? 'sdm630' };
      break;
    case 'modbus-tcp':
      device = { ...common, host: values.host, port: intArg('tcp-port', values['tcp-port']) ?? 502, rtuOverTcp: values['rtu-over-tcp'] ?? false, unit: intArg('unit', values.unit) ?? 1, profile: values.profile ?? 'sunspec' };
      break;
    case 'dsmr-p1':
      device = { ...common, port: values.port, dsmrVersion: values['dsmr-version'] ?? 'auto' };
      break;
    default:
      device = { ...common, port: values.port, pulsePin: intArg('pulse-pin', values['pulse-pin']), impulsesPerKwh: intArg('impulses-per-kwh', values['impulses-per-kwh']) ?? 1000, relayPin: intArg('relay-pin', values['relay-pin']), relayOverride: 'auto' };
  }
  for (const k of Object.keys(device)) if (device[k] === undefined) delete device[k];

  const cfg: BridgeConfig = {
    server: values.server,
    chainId: intArg('chain-id', values['chain-id']) ?? 31337,
    keystore: 'keystore.json',
    ...(passwordFile ? { passwordFile: rel(passwordFile) } : {}),
    dataDir: 'data',
    outbox: { maxBytes: 100 * 1024 * 1024, batchSize: 500, ackTimeoutMs: 10_000 },
    link: { statusIntervalMs: 10_000, retryBaseMs: 1_000, retryMaxMs: 60_000 },
    devices: [device as unknown as DeviceConfig],
  };
  const text = renderConfig(cfg);
  const problems = checkConfig(parseJsonc(text));
  if (problems.length) throw new CliError(`invalid options:\n  ${problems.join('\n  ')}`);

  const password = resolvePassword(passwordFile);
  const wallet = await createKeystore(keystorePath, password, values['fast-kdf'] ?? false);
  writeFileSync(configPath, text, { flag: 'wx' });
  process.stdout.write(JSON.stringify({ meter: wallet.address, config: configPath }) + '\n');
}
