// Test helpers that start real gridmesh processes (server, bridge CLI) and always clean them up.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SERVER_NODE_FLAGS } from '../../server/src/cli/node-flags.ts';

export const repoRoot = resolve(import.meta.dirname, '../..');
export const bridgeBin = join(repoRoot, 'firmware-bridge/bin/gridmesh-bridge.js');
const serveEntry = join(repoRoot, 'server/src/cli/serve.ts');

export function tempDir(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `gridmesh-${prefix}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface RunningProcess {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

function track(child: ChildProcess): RunningProcess {
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    output: () => out,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}

export interface ServerProcess extends RunningProcess {
  url: string;
}

/** Starts `server/src/cli/serve.ts` on an ephemeral port and resolves once it listens. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, '--import', 'tsx', serveEntry], {
    env: { ...process.env, PORT: '0', MONGODB_URI: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc = track(child);
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${proc.output()}`)), 30_000);
    const onData = () => {
      const m = /"url":"(http:\/\/[^"]+)"/.exec(proc.output());
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolveUrl(m[1]);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${proc.output()}`)));
  });
  return { ...proc, url };
}

/** `gridmesh-bridge init` for a simulated home; returns the meter address and config path. */
export function initSimulatedBridge(dir: string, serverUrl: string, opts: { seed?: number; intervalMs?: number } = {}): { meter: `0x${string}`; config: string; passwordFile: string } {
  mkdirSync(dir, { recursive: true });
  const passwordFile = join(dir, '..', `${dir.split('/').pop()}.password`);
  writeFileSync(passwordFile, 'test-password');
  const res = spawnSync(process.execPath, [
    bridgeBin, 'init', '--dir', dir, '--server', serverUrl, '--device', 'simulated', '--chain-id', '31337', '--password-file', passwordFile,
    '--fast-kdf', '--sim-seed', String(opts.seed ?? 1), '--interval-ms', String(opts.intervalMs ?? 250),
  ], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`bridge init failed: ${res.stderr}${res.stdout}`);
  const line = JSON.parse(res.stdout.trim().split('\n').pop()!) as { meter: `0x${string}`; config: string };
  return { ...line, passwordFile };
}

export function runBridge(config: string): RunningProcess {
  return track(spawn(process.execPath, [bridgeBin, 'run', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, everyMs = 150): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
