// `npm start`: the embedded default — server with SQLite, five simulated homes as separate bridge processes, dashboard URL.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Wallet } from 'ethers';
import type { Address } from '@gridmesh/contracts-abi';
import { configFromEnv } from '../config.ts';
import { startServer } from '../server.ts';
import { registerHome } from '../demo/owner-client.ts';
import { DEMO_HOMES } from '../demo/demo-homes.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const bridgeBin = join(repoRoot, 'firmware-bridge/bin/gridmesh-bridge.js');
const config = configFromEnv();
const homesDir = join(config.dataDir, 'homes');
mkdirSync(homesDir, { recursive: true });

// Demo keystores share one generated password kept in the data dir (a real home keeps its own, see firmware-bridge/README.md).
const passwordFile = join(homesDir, 'keystore-password');
if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });

interface PreparedHome {
  name: string;
  meter: Address;
  configPath: string;
  owner: Wallet;
}

function prepareHome(home: (typeof DEMO_HOMES)[number], serverUrl: string): PreparedHome {
  const dir = join(homesDir, `home-${home.index}`);
  const configPath = join(dir, 'bridge.json');
  const ownerPath = join(dir, 'owner.json');
  let meter: Address;
  if (!existsSync(configPath)) {
    const init = spawnSync(process.execPath, [
      bridgeBin, 'init', '--dir', dir, '--server', serverUrl, '--device', 'simulated', '--chain-id', String(config.chainId),
      '--password-file', passwordFile, '--fast-kdf', '--sim-seed', String(home.index), '--sim-pv-w', String(home.pvPeakW),
      '--sim-load-w', String(home.loadBaseW), '--interval-ms', '1000',
    ], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(`bridge init for ${home.name} failed: ${init.stderr || init.stdout}`);
    meter = JSON.parse(init.stdout.trim().split('\n').pop()!).meter as Address;
  } else {
    meter = (JSON.parse(readFileSync(join(dir, 'keystore.json'), 'utf8')) as { address: string }).address.replace(/^(0x)?/, '0x') as Address;
    // The server may listen on another port than last time: point the existing config at it.
    const text = readFileSync(configPath, 'utf8');
    const updated = text.replace(/("server"\s*:\s*)"[^"]*"/, `$1${JSON.stringify(serverUrl)}`);
    if (updated !== text) writeFileSync(configPath, updated);
  }
  // Demo only: the owner's wallet key is kept in plain text so a visitor can act as this home in the dashboard.
  if (!existsSync(ownerPath)) writeFileSync(ownerPath, JSON.stringify({ name: home.name, privateKey: Wallet.createRandom().privateKey }, null, 2), { mode: 0o600 });
  const owner = new Wallet((JSON.parse(readFileSync(ownerPath, 'utf8')) as { privateKey: string }).privateKey);
  return { name: home.name, meter, configPath, owner };
}

const children: ChildProcess[] = [];
let stopping = false;

function runBridge(home: PreparedHome): void {
  const child = spawn(process.execPath, [bridgeBin, 'run', '--config', home.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const prefix = `[${home.name}] `;
  const relay = (chunk: Buffer, out: NodeJS.WriteStream) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) out.write(prefix + line + '\n');
  };
  child.stdout?.on('data', (c: Buffer) => relay(c, process.stdout));
  child.stderr?.on('data', (c: Buffer) => relay(c, process.stderr));
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`${prefix}bridge exited (${signal ?? code}); restarting in 2 s`);
    if (!stopping) setTimeout(() => runBridge(home), 2000).unref();
  });
}

const server = await startServer(config, {
  info: (msg, fields) => { if (msg !== 'bridge authenticated') console.log(`[server] ${msg}${fields ? ' ' + JSON.stringify(fields) : ''}`); },
  error: (msg, fields) => console.error(`[server] ${msg}${fields ? ' ' + JSON.stringify(fields) : ''}`),
});

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)))));
  await server.close();
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

try {
  for (const home of DEMO_HOMES) {
    const prepared = prepareHome(home, server.url);
    await registerHome({ baseUrl: server.url, chainId: config.chainId, owner: prepared.owner, name: prepared.name, meter: prepared.meter, role: 'grid', capacityW: 17_250, label: 'grid connection' });
    runBridge(prepared);
  }
  console.log(`\n  gridmesh is running: open ${server.url}/ in your browser (Ctrl-C stops everything)\n`);
} catch (err) {
  console.error(`demo start-up failed: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
}
