// Spawns the real-line fixtures: a socat pseudo-terminal pair and protocol peer processes; each cleans up after itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { REPO, exited, waitFor } from '../helpers.ts';

export interface PtyPair {
  a: string;
  b: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `socat -d -d pty,raw,echo=0,link=A pty,raw,echo=0,link=B`: two serial ends of one null-modem line. */
export async function ptyPair(dir: string, name = 'tty'): Promise<PtyPair> {
  const a = join(dir, `${name}A`);
  const b = join(dir, `${name}B`);
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.resume();
  await waitFor(() => existsSync(a) && existsSync(b), 10_000, 'socat ptys');
  return {
    a,
    b,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = exited(child);
      child.kill('SIGTERM');
      await done;
    },
  };
}

export interface PeerEvent {
  event: string;
  [k: string]: unknown;
}

export interface Peer {
  child: ChildProcess;
  events: PeerEvent[];
  ready: PeerEvent;
  send(cmd: Record<string, unknown>): Promise<void>;
  stop(): Promise<void>;
}

/** Runs a peer script (TS, via tsx) with a JSON config; resolves once it prints {"event":"ready"}. */
export async function startPeer(script: string, config: unknown): Promise<Peer> {
  const file = join(REPO, 'test/bridge/peers', script);
  const [cmd, args] = script.endsWith('.py') ? ['python3', ['-u', file, String(config)]] : [process.execPath, ['--import', 'tsx', file, JSON.stringify(config)]];
  const child = spawn(cmd, args, {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const events: PeerEvent[] = [];
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line) as PeerEvent);
    } catch {
      /* not ours */
    }
  });
  const ready = await waitFor(() => events.find((e) => e.event === 'ready') ?? (child.exitCode !== null ? ({ event: 'died' } as PeerEvent) : undefined), 20_000, `${script} ready`);
  if (ready.event === 'died') throw new Error(`${script} exited: ${stderr}`);
  return {
    child,
    events,
    ready,
    async send(cmd) {
      const before = events.filter((e) => e.event === 'ack').length;
      child.stdin!.write(JSON.stringify(cmd) + '\n');
      await waitFor(() => events.filter((e) => e.event === 'ack').length > before, 5000, `peer ack of ${String(cmd.cmd)}`);
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = exited(child);
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await done;
      clearTimeout(t);
    },
  };
}
