// Firmata S0 pulse meter and relay: johnny-five over firmata-io on a serial port; pulses → cumulative Wh (persisted),
// readings flagged after a gap, a relay pin switched for dispatched slots or by manual override.
import { realpathSync } from 'node:fs';
import five from 'johnny-five';
import firmataIo from 'firmata-io';
import { SerialPort } from 'serialport';
import { ReadingFlags, type Dispatch } from '@gridmesh/contracts-abi';
import type { Measurement, MeterSource, SourceHealth } from '../devices/source.ts';
import type { FirmataDeviceConfig } from '../config/schema.ts';
import { explainSerialError } from '../serial-line.ts';

/** The subset of the johnny-five Board we use (its typings are not shipped). */
interface J5Board {
  on(event: 'ready' | 'error' | 'close' | 'exit', cb: (err?: Error) => void): void;
  pinMode(pin: number, mode: number): void;
  digitalRead(pin: number, cb: (value: number) => void): void;
  digitalWrite(pin: number, value: number): void;
  io: { MODES: Record<string, number>; removeAllListeners(ev?: string): void };
}
const Board = (five as unknown as { Board: new (opts: Record<string, unknown>) => J5Board }).Board;
const Firmata = (firmataIo as unknown as { Firmata: new (transport: unknown, opts: Record<string, unknown>) => unknown }).Firmata;

export interface FirmataState {
  pulses: number;
  /** Whole Wh already counted and the pulses not yet making a whole Wh, so nothing is lost to rounding. */
  wh: number;
}

interface DispatchWindow {
  from: number;
  to: number;
  on: boolean;
}

export class FirmataMeter implements MeterSource {
  readonly kind = 'firmata';
  readonly id: string;
  private port: SerialPort | undefined;
  private board: J5Board | undefined;
  private ready = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private relayTimer: NodeJS.Timeout | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastLevel: number | undefined;
  private pulseTimes: number[] = [];
  private gapPending: boolean;
  private lastError = '';
  private windows: DispatchWindow[] = [];
  relayOn: boolean | undefined;
  pulses: number;
  connects = 0;
  private readonly ipk: number;

  constructor(private readonly cfg: FirmataDeviceConfig, private readonly ctx: { resume?: Record<string, unknown>; log: (m: string) => void }) {
    this.id = cfg.id;
    this.ipk = cfg.impulsesPerKwh ?? 1000;
    const r = ctx.resume as Partial<FirmataState> | undefined;
    this.pulses = typeof r?.pulses === 'number' ? r.pulses : 0;
    // A restart always loses the pulses while we were away: the first reading says so.
    this.gapPending = !!r;
  }

  /** Cumulative Wh from the pulse count (integer; the remainder stays in the count). */
  energyWh(): number {
    return Math.floor((this.pulses * 1000) / this.ipk);
  }

  /**
   * Power from the mean interval of the last pulses (single intervals jitter with the board's loop and USB latency);
   * when pulses stop it decays as 1/t since the last one, so a switched-off load falls towards 0.
   */
  powerW(now: number): number {
    const whPerPulse = 1000 / this.ipk;
    const t = this.pulseTimes;
    const n = t.length;
    if (n === 0) return 0;
    const since = now - t[n - 1];
    const mean = n >= 2 ? (t[n - 1] - t[0]) / (n - 1) : Infinity;
    const dt = Math.max(mean === Infinity ? since : mean, since);
    if (dt > 3_600_000 || dt <= 0) return 0;
    return Math.round((whPerPulse * 3_600_000) / dt);
  }

  private open(): void {
    if (this.stopped) return;
    let path = this.cfg.port;
    try {
      path = realpathSync(path);
    } catch {
      /* reported by open */
    }
    const port = new SerialPort({ path, baudRate: this.cfg.baudRate ?? 57600, autoOpen: false });
    this.port = port;
    port.on('error', (err) => (this.lastError = err.message));
    port.on('close', () => {
      if (this.port !== port) return;
      this.ready = false;
      this.gapPending = true;
      this.ctx.log(`${this.cfg.port} closed (${this.lastError || 'unplugged'}); pulses until it is back are lost — readings flagged GAP`);
      this.scheduleReopen();
    });
    // johnny-five waits for the io's "connect", which firmata-io emits on the transport's "open": wire them before opening.
    const io = new Firmata(port, { reportVersionTimeout: 3000 }) as { on(ev: 'error', cb: (e: Error) => void): void };
    io.on('error', (e) => (this.lastError = e?.message ?? 'firmata error'));
    const board = new Board({ io, repl: false, debug: false, sigint: false, timeout: 15_000 });
    this.board = board;
    board.on('ready', () => this.onReady(board));
    board.on('error', (e) => {
      this.lastError = e?.message ?? 'board error';
      this.ctx.log(`board: ${this.lastError}`);
    });
    port.open((err) => {
      if (err) {
        this.lastError = explainSerialError(err);
        if (this.failures === 0 || this.failures % 20 === 0) this.ctx.log(`cannot open ${this.cfg.port}: ${this.lastError}`);
        this.scheduleReopen();
      }
    });
  }

  private onReady(board: J5Board): void {
    if (this.board !== board) return;
    this.failures = 0;
    this.connects++;
    this.ready = true;
    this.lastError = '';
    // The Arduino resets when the port opens (DTR): whatever it counted before is gone, and so are the pulses in between.
    if (this.connects > 1) this.gapPending = true;
    this.lastLevel = undefined;
    const modes = board.io.MODES;
    board.pinMode(this.cfg.pulsePin, this.cfg.pullup ? modes.PULLUP : modes.INPUT);
    board.digitalRead(this.cfg.pulsePin, (level) => this.onLevel(level));
    if (this.cfg.relayPin !== undefined) {
      board.pinMode(this.cfg.relayPin, modes.OUTPUT);
      this.relayOn = undefined;
      this.applyRelay();
    }
    this.ctx.log(`board ready on ${this.cfg.port}: S0 on pin ${this.cfg.pulsePin} (${this.ipk} imp/kWh)${this.cfg.relayPin !== undefined ? `, relay on pin ${this.cfg.relayPin}` : ''}`);
  }

  private onLevel(level: number): void {
    const active = this.cfg.pullup ? 0 : 1;
    // StandardFirmata reports a whole port on any change: count only transitions into the active level.
    if (level === active && this.lastLevel !== undefined && this.lastLevel !== active) {
      this.pulses++;
      this.pulseTimes.push(Date.now());
      if (this.pulseTimes.length > 10 || (this.pulseTimes.length > 2 && this.pulseTimes[this.pulseTimes.length - 1] - this.pulseTimes[0] > 300_000)) this.pulseTimes.shift();
    }
    this.lastLevel = level;
  }

  private scheduleReopen(): void {
    if (this.stopped || this.reopenTimer) return;
    const wait = Math.min(30_000, 250 * 2 ** Math.min(this.failures++, 7));
    this.reopenTimer = setTimeout(() => {
      this.reopenTimer = undefined;
      this.open();
    }, wait);
  }

  /** Server dispatch: switch the flexible load on (or off) for the slot [slot, slotEnd). */
  dispatch(d: Dispatch): void {
    if (this.cfg.relayPin === undefined) throw new Error(`device ${this.id} has no relay pin`);
    this.windows = this.windows.filter((w) => w.to > Date.now() && !(w.from === d.slot && w.to === d.slotEnd));
    this.windows.push({ from: d.slot, to: d.slotEnd, on: d.on });
    this.ctx.log(`dispatch: relay ${d.on ? 'on' : 'off'} for slot ${new Date(d.slot).toISOString()}–${new Date(d.slotEnd).toISOString()}${d.reason ? ` (${d.reason})` : ''}`);
    this.applyRelay();
  }

  /** What the relay should be now: the manual override wins, otherwise the dispatched slot covering now. */
  desiredRelay(now = Date.now()): boolean {
    const o = this.cfg.relayOverride ?? 'auto';
    if (o !== 'auto') return o === 'on';
    return this.windows.some((w) => w.from <= now && now < w.to && w.on);
  }

  private applyRelay(): void {
    if (this.cfg.relayPin === undefined || !this.ready || !this.board) return;
    const want = this.desiredRelay();
    if (want === this.relayOn) return;
    const level = want !== !!this.cfg.relayActiveLow ? 1 : 0;
    this.board.digitalWrite(this.cfg.relayPin, level);
    this.relayOn = want;
    this.ctx.log(`relay pin ${this.cfg.relayPin} ${want ? 'ON' : 'OFF'}${this.cfg.relayOverride && this.cfg.relayOverride !== 'auto' ? ' (manual override)' : ''}`);
  }

  measure(now = Date.now()): { reading: Measurement; state: FirmataState } | undefined {
    if (!this.ready) return undefined;
    let flags = ReadingFlags.RELATIVE_COUNTER;
    if (this.gapPending) {
      flags |= ReadingFlags.GAP;
      this.gapPending = false;
    }
    const wh = this.energyWh();
    const p = this.powerW(now);
    const producer = this.cfg.usage === 'pv' || this.cfg.usage === 'battery';
    const reading: Measurement = { timestamp: now, importWh: producer ? 0 : wh, exportWh: producer ? wh : 0, powerW: producer ? -p : p, flags };
    return { reading, state: { pulses: this.pulses, wh } };
  }

  async start(emit: (m: Measurement, state?: Record<string, unknown>) => void): Promise<void> {
    this.stopped = false;
    this.open();
    this.timer = setInterval(() => {
      const m = this.measure();
      if (m) emit(m.reading, m.state as unknown as Record<string, unknown>);
    }, this.cfg.intervalMs ?? 1000);
    this.relayTimer = setInterval(() => {
      this.windows = this.windows.filter((w) => w.to > Date.now());
      this.applyRelay();
    }, 500);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.relayTimer) clearInterval(this.relayTimer);
    if (this.reopenTimer) clearTimeout(this.reopenTimer);
    const port = this.port;
    this.port = undefined;
    this.board = undefined;
    this.ready = false;
    if (port?.isOpen) await new Promise<void>((r) => port.close(() => r()));
  }

  health(): SourceHealth {
    return {
      state: this.ready ? 'ok' : 'offline',
      message: this.ready ? `${this.pulses} pulses (${this.energyWh()} Wh), relay ${this.relayOn === undefined ? 'n/a' : this.relayOn ? 'on' : 'off'}` : `board not connected${this.lastError ? ': ' + this.lastError : ''}`,
      badTelegrams: 0,
    };
  }
}
