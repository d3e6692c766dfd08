// `gridmesh-bridge run --config FILE`: runs the bridge until SIGINT/SIGTERM, then closes sources, link and outbox cleanly.
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { BridgeRunner } from '../runner.ts';
import { CliError } from './errors.ts';

export async function runCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, strict: true, options: { config: { type: 'string' }, check: { type: 'boolean' } } });
  if (!values.config) throw new CliError('usage: gridmesh-bridge run --config FILE [--check]');
  const cfg = loadConfig(values.config);
  if (values.check) {
    process.stdout.write(JSON.stringify({ ok: true, devices: cfg.devices.map((d) => d.id) }) + '\n');
    return;
  }
  const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);
  const runner = new BridgeRunner(cfg, log);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    await runner.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  try {
    await runner.start();
  } catch (err) {
    await runner.stop().catch(() => {});
    throw new CliError((err as Error).message, 1);
  }
  log(`running ${cfg.devices.length} device(s) → ${cfg.server}`);
}
