// Runs a bridge: opens keys, sources and the outbox, signs each measurement, commits it, and streams it through the link.
import { writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Address, Dispatch } from '@gridmesh/contracts-abi';
import type { BridgeConfig } from './config/schema.ts';
import { openKeystore, resolvePassword } from './keystore.ts';
import { ReadingSigner } from './signer.ts';
import { Outbox } from './outbox.ts';
import { BridgeLink } from './link.ts';
import { createSource } from './devices/factory.ts';
import type { Measurement, MeterSource } from './devices/source.ts';

export interface DeviceRuntime {
  id: string;
  kind: string;
  meter: Address;
  source: MeterSource;
  signer: ReadingSigner;
  link: BridgeLink;
  last?: Measurement & { seq: number };
}

export interface StatusFile {
  pid: number;
  updatedAt: number;
  server: string;
  devices: Array<{
    id: string;
    type: string;
    meter: Address;
    link: string;
    linkError?: string;
    source: ReturnType<MeterSource['health']>;
    outboxDepth: number;
    quarantined: number;
    sent: number;
    last?: DeviceRuntime['last'];
  }>;
  outbox: { depth: number; dropped: number };
}

export const OUTBOX_FILE = 'outbox.sqlite';
export const STATUS_FILE = 'status.json';

export class BridgeRunner {
  readonly devices: DeviceRuntime[] = [];
  outbox!: Outbox;
  private statusTimer: NodeJS.Timeout | undefined;

  constructor(readonly cfg: BridgeConfig, private readonly log: (msg: string) => void = (m) => console.error(m)) {}

  async start(): Promise<void> {
    const cfg = this.cfg;
    const dataDir = cfg.dataDir!;
    mkdirSync(dataDir, { recursive: true });
    const password = resolvePassword(cfg.passwordFile);
    this.outbox = new Outbox(join(dataDir, OUTBOX_FILE), { maxBytes: cfg.outbox?.maxBytes, log: this.log });
    const meters = new Set<string>();
    for (const dev of cfg.devices) {
      const wallet = await openKeystore(dev.keystore ?? cfg.keystore, password);
      const meter = wallet.address as Address;
      if (meters.has(meter)) throw new Error(`devices share meter key ${meter}: each device needs its own keystore (device ${dev.id})`);
      meters.add(meter);
      const signer = new ReadingSigner(wallet, cfg.chainId);
      const stateKey = `state:${dev.id}`;
      const saved = this.outbox.getMeta(stateKey);
      const source = await createSource(dev, { resume: saved ? (JSON.parse(saved) as Record<string, unknown>) : undefined, log: (m) => this.log(`[${dev.id}] ${m}`) });
      const runtime: DeviceRuntime = {
        id: dev.id,
        kind: dev.type,
        meter,
        source,
        signer,
        link: new BridgeLink({
          serverUrl: cfg.server,
          signer,
          outbox: this.outbox,
          batchSize: cfg.outbox?.batchSize,
          ackTimeoutMs: cfg.outbox?.ackTimeoutMs,
          statusIntervalMs: cfg.link?.statusIntervalMs,
          retryBaseMs: cfg.link?.retryBaseMs,
          retryMaxMs: cfg.link?.retryMaxMs,
          agent: `gridmesh-bridge/${dev.type}`,
          status: () => {
            const h = source.health();
            return { sourceState: h.state, badTelegrams: h.badTelegrams, message: h.message.slice(0, 500) };
          },
          onDispatch: (d: Dispatch) => this.dispatch(runtime, d),
          log: (m) => this.log(`[${dev.id}] ${m}`),
        }),
      };
      this.devices.push(runtime);
      this.log(`[${dev.id}] ${dev.type} meter ${meter}`);
    }
    for (const d of this.devices) {
      d.link.start();
      await d.source.start((m, state) => this.record(d, m, state));
    }
    this.statusTimer = setInterval(() => this.writeStatus(), 2000);
    this.writeStatus();
  }

  /** Sign and commit in one transaction (with the device's state), before anything goes on the wire. */
  private record(d: DeviceRuntime, m: Measurement, state?: Record<string, unknown>): void {
    const signer = d.signer;
    const extra = state ? { [`state:${d.id}`]: JSON.stringify(state) } : undefined;
    try {
      const [signed] = this.outbox.append(d.meter, [m], (r) => signer.sign(r), extra);
      d.last = { ...m, seq: signed.seq };
    } catch (err) {
      // Disk full or the database locked: the reading is lost, the bridge is not; say so loudly.
      this.log(`[${d.id}] cannot store a reading: ${(err as Error).message}`);
    }
  }

  private dispatch(d: DeviceRuntime, msg: Dispatch): void {
    const target = d.source as MeterSource & { dispatch?: (m: Dispatch) => void };
    if (!target.dispatch) throw new Error(`device ${d.id} (${d.kind}) has no switchable load`);
    target.dispatch(msg);
  }

  status(): StatusFile {
    return {
      pid: process.pid,
      updatedAt: Date.now(),
      server: this.cfg.server,
      devices: this.devices.map((d) => ({
        id: d.id,
        type: d.kind,
        meter: d.meter,
        link: d.link.state,
        linkError: d.link.lastError,
        source: d.source.health(),
        outboxDepth: this.outbox.depth(d.meter),
        quarantined: this.outbox.quarantineCount(d.meter),
        sent: d.link.sentReadings,
        last: d.last,
      })),
      outbox: { depth: this.outbox.depth(), dropped: this.outbox.dropped() },
    };
  }

  private writeStatus(): void {
    const file = join(this.cfg.dataDir!, STATUS_FILE);
    try {
      writeFileSync(file + '.tmp', JSON.stringify(this.status(), null, 2));
      renameSync(file + '.tmp', file);
    } catch (err) {
      this.log(`cannot write status file: ${(err as Error).message}`);
    }
  }

  async stop(): Promise<void> {
    if (this.statusTimer) clearInterval(this.statusTimer);
    for (const d of this.devices) {
      await d.source.stop().catch(() => {});
      d.link.stop();
    }
    this.writeStatus();
    this.outbox?.close();
  }
}
