// Starts `npm start`'s demo (server/src/cli/demo.ts) as a real process for browser tests; restartable on the same port and data dir.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot, waitFor } from '../helpers/processes.ts';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface DemoProcess {
  url: string;
  port: number;
  output(): string;
  stop(): Promise<void>;
}

/** Spawns the demo with a temp data dir; `port` 0 picks a free port (pass the old one to restart in place). */
export async function startDemo(dataDir: string, port = 0, extraEnv: Record<string, string> = {}): Promise<DemoProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'server/src/cli/demo.ts')], {
    env: { ...process.env, PORT: String(port), GRIDMESH_DATA_DIR: dataDir, MONGODB_URI: '', ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
  };
  try {
    const url = await waitFor('the demo to print its URL', () => {
      if (child.exitCode !== null) throw new Error(`demo exited with ${child.exitCode}: ${out}`);
      return /open (http:\/\/\S+?)\/? in your browser/.exec(out)?.[1];
    }, 90_000);
    return { url, port: Number(new URL(url).port), output: () => out, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
