// One Modbus connection (RTU serial, TCP, or RTU-over-TCP) shared by every device on it: serialised requests,
// per-request timeout and retries, settle delay on unit switch, reopen after errors and a stalled-bus watchdog.
import { realpathSync } from 'node:fs';
import ModbusSerial from 'modbus-serial';
import type { ModbusRTU } from 'modbus-serial/ModbusRTU.js';

// modbus-serial is CommonJS (`module.exports = ModbusRTU`); its typings describe an ES default export.
const ModbusClient = ModbusSerial as unknown as new () => ModbusRTU;

export type RegisterFunction = 'input' | 'holding';

export type BusEndpoint =
  | { kind: 'rtu'; path: string; baudRate: number; parity: 'none' | 'even' | 'odd'; dataBits: 7 | 8; stopBits: 1 | 2 }
  | { kind: 'tcp'; host: string; port: number; rtuOverTcp: boolean };

export interface BusOptions {
  timeoutMs: number;
  retries: number;
  /** Pause before talking to another unit id than the last one (RS485 meters need it; mbmd uses 200 ms). */
  settleMs: number;
  /** No successful request for this long while requests fail → close and reopen the port. */
  watchdogMs: number;
  log: (msg: string) => void;
}

export interface RequestOptions {
  timeoutMs?: number;
  retries?: number;
  settleMs?: number;
}

/** A Modbus exception response (the device answered, refusing the request): never retried as such. */
export class ModbusException extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

export class BusError extends Error {
  constructor(message: string, readonly transient: boolean) {
    super(message);
  }
}

export function endpointKey(e: BusEndpoint): string {
  return e.kind === 'rtu' ? `rtu:${e.path}` : `tcp:${e.host}:${e.port}:${e.rtuOverTcp ? 'rtu' : 'mbap'}`;
}

export function describeEndpoint(e: BusEndpoint): string {
  return e.kind === 'rtu'
    ? `${e.path} ${e.baudRate} ${e.dataBits}${e.parity[0].toUpperCase()}${e.stopBits}`
    : `${e.rtuOverTcp ? 'rtu-over-tcp' : 'modbus-tcp'}://${e.host}:${e.port}`;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The fix people need for the errors they actually hit, next to the error. */
export function explainOpenError(err: NodeJS.ErrnoException, e: BusEndpoint): string {
  const msg = err.message ?? String(err);
  if (err.code === 'EACCES' || /permission denied/i.test(msg)) return `${msg} — add the user to the dialout group (sudo usermod -aG dialout $USER, then log in again) or run the service with SupplementaryGroups=dialout`;
  if (err.code === 'ENOENT' || /No such file/i.test(msg)) return `${msg} — the adapter is not plugged in or was renumbered; use its /dev/serial/by-id/… path (gridmesh-bridge list-ports)`;
  if (err.code === 'ECONNREFUSED' && e.kind === 'tcp') return `${msg} — nothing listens there, or the inverter accepts one Modbus TCP client only and another holds it`;
  return msg;
}

export class ModbusBus {
  readonly key: string;
  private client: ModbusRTU | undefined;
  private opening: Promise<ModbusRTU> | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private lastUnit = -1;
  private lastSuccess = Date.now();
  private openFailures = 0;
  private nextOpenAt = 0;
  private closed = false;
  requests = 0;
  failures = 0;
  reopens = 0;
  refs = 0;

  constructor(readonly endpoint: BusEndpoint, readonly opts: BusOptions) {
    this.key = endpointKey(endpoint);
  }

  get isOpen(): boolean {
    return !!this.client?.isOpen;
  }

  private async open(): Promise<ModbusRTU> {
    if (this.client?.isOpen) return this.client;
    if (this.opening) return this.opening;
    const wait = this.nextOpenAt - Date.now();
    if (wait > 0) throw new BusError(`${describeEndpoint(this.endpoint)} is closed; next attempt in ${wait} ms`, true);
    this.opening = (async () => {
      const client = new ModbusClient();
      const e = this.endpoint;
      try {
        if (e.kind === 'rtu') {
          // by-id symlinks survive renumbering; resolve on every (re)open so a replugged adapter is found again.
          let path = e.path;
          try {
            path = realpathSync(e.path);
          } catch {
            /* open reports the missing device */
          }
          await client.connectRTUBuffered(path, { baudRate: e.baudRate, parity: e.parity, dataBits: e.dataBits, stopBits: e.stopBits });
        } else if (e.rtuOverTcp) {
          // Raw RTU frames (with CRC, no MBAP header) over the socket: modbus-serial calls this port "telnet".
          await client.connectTelnet(e.host, { port: e.port });
        } else {
          await client.connectTCP(e.host, { port: e.port });
        }
      } catch (err) {
        this.openFailures++;
        // Exponential back-off on a missing adapter / refused socket: 0.5 s … 30 s.
        this.nextOpenAt = Date.now() + Math.min(30_000, 500 * 2 ** Math.min(this.openFailures - 1, 6));
        try {
          client.close(() => {});
        } catch {
          /* already closed */
        }
        throw new BusError(explainOpenError(err as NodeJS.ErrnoException, e), true);
      }
      this.openFailures = 0;
      this.lastUnit = -1;
      this.lastSuccess = Date.now();
      client.on('close', () => {
        if (this.client === client) this.client = undefined;
      });
      // An unplugged adapter surfaces as an 'error' event (EIO on write): never let it become an uncaught exception.
      (client as unknown as { on(ev: 'error', cb: (err: Error) => void): void }).on('error', (err: Error) => {
        this.opts.log(`${describeEndpoint(this.endpoint)}: ${err.message}`);
        if (this.client === client) void this.reset(`port error: ${err.message}`);
      });
      const port = (client as unknown as { _port?: { on?: (ev: string, cb: (err: Error) => void) => void } })._port;
      port?.on?.('error', (err: Error) => this.opts.log(`${describeEndpoint(this.endpoint)}: ${err.message}`));
      this.client = client;
      this.opts.log(`opened ${describeEndpoint(e)}`);
      return client;
    })();
    try {
      return await this.opening;
    } finally {
      this.opening = undefined;
    }
  }

  /** Closes the port; the next request reopens it. */
  async reset(reason: string): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    this.reopens++;
    this.opts.log(`closing ${describeEndpoint(this.endpoint)} to reopen: ${reason}`);
    await new Promise<void>((r) => {
      try {
        client.close(() => r());
      } catch {
        r();
      }
      setTimeout(r, 1000).unref();
    });
  }

  /** Reads `count` registers; requests from every device on the bus run one at a time. */
  read(unit: number, fn: RegisterFunction, address: number, count: number, ro: RequestOptions = {}): Promise<number[]> {
    const task = this.chain.then(() => this.readNow(unit, fn, address, count, ro));
    this.chain = task.catch(() => undefined);
    return task;
  }

  private async readNow(unit: number, fn: RegisterFunction, address: number, count: number, ro: RequestOptions): Promise<number[]> {
    if (this.closed) throw new BusError('bus closed', false);
    const retries = ro.retries ?? this.opts.retries;
    let lastErr: Error | undefined;
    for (let attempt = 0; attempt <= retries; attempt++) {
      let client: ModbusRTU;
      try {
        client = await this.open();
      } catch (err) {
        throw err;
      }
      const settle = ro.settleMs ?? this.opts.settleMs;
      if (unit !== this.lastUnit && this.lastUnit !== -1 && settle > 0) await sleep(settle);
      // After a failure, give a late answer time to drain before the next frame.
      if (attempt > 0) await sleep(Math.max(settle, 50));
      client.setID(unit);
      client.setTimeout(ro.timeoutMs ?? this.opts.timeoutMs);
      this.lastUnit = unit;
      this.requests++;
      try {
        const res = fn === 'input' ? await client.readInputRegisters(address, count) : await client.readHoldingRegisters(address, count);
        this.lastSuccess = Date.now();
        return res.data;
      } catch (err) {
        this.failures++;
        const e = err as Error & { modbusCode?: number; errno?: string };
        if (typeof e.modbusCode === 'number') throw new ModbusException(e.modbusCode, `unit ${unit}: ${e.message}`);
        lastErr = e;
        if (!client.isOpen || /Port Not Open|not open/i.test(e.message)) {
          await this.reset(`port error: ${e.message}`);
        }
        if (Date.now() - this.lastSuccess > this.opts.watchdogMs) {
          await this.reset(`no answer for ${Math.round((Date.now() - this.lastSuccess) / 1000)} s (watchdog)`);
          this.lastSuccess = Date.now();
        }
      }
    }
    throw new BusError(`unit ${unit} ${fn} ${address}+${count}: ${lastErr?.message ?? 'failed'}`, true);
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain.catch(() => {});
    await this.reset('closing');
  }
}

/** Shares one bus per port/host among the devices of a bridge (reference counted). */
export class BusRegistry {
  private readonly buses = new Map<string, ModbusBus>();

  acquire(endpoint: BusEndpoint, opts: BusOptions): ModbusBus {
    const key = endpointKey(endpoint);
    let bus = this.buses.get(key);
    if (!bus) {
      bus = new ModbusBus(endpoint, opts);
      this.buses.set(key, bus);
    } else if (JSON.stringify(bus.endpoint) !== JSON.stringify(endpoint)) {
      throw new Error(`devices on ${key} disagree on the line settings (${describeEndpoint(bus.endpoint)} vs ${describeEndpoint(endpoint)})`);
    }
    bus.refs++;
    return bus;
  }

  async release(bus: ModbusBus): Promise<void> {
    if (--bus.refs > 0) return;
    this.buses.delete(bus.key);
    await bus.close();
  }
}

export const sharedBuses = new BusRegistry();
