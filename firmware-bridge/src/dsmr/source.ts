// DSMR P1 meter source: frames and parses telegrams from the serial port, counts bad ones, emits normalised readings.
import type { Measurement, MeterSource, SourceHealth } from '../devices/source.ts';
import type { DsmrDeviceConfig } from '../config/schema.ts';
import { SerialLine } from '../serial-line.ts';
import { TelegramFramer } from './framer.ts';
import { parseTelegram, serialSettings, type DsmrTelegram } from './parser.ts';

export class DsmrMeter implements MeterSource {
  readonly kind = 'dsmr-p1';
  readonly id: string;
  private readonly line: SerialLine;
  private readonly framer = new TelegramFramer();
  private emit: ((m: Measurement, state?: Record<string, unknown>) => void) | undefined;
  private lastEmit = 0;
  private lastTelegramAt = 0;
  badTelegrams = 0;
  goodTelegrams = 0;
  private recent: boolean[] = [];
  private lastError = '';
  last: DsmrTelegram | undefined;

  constructor(private readonly cfg: DsmrDeviceConfig, private readonly log: (m: string) => void) {
    this.id = cfg.id;
    const s = serialSettings(cfg.dsmrVersion ?? '5');
    this.line = new SerialLine({
      path: cfg.port,
      baudRate: cfg.baudRate ?? s.baudRate,
      dataBits: cfg.dataBits ?? s.dataBits,
      parity: cfg.parity ?? s.parity,
      stopBits: cfg.stopBits ?? s.stopBits,
      watchdogMs: cfg.watchdogMs ?? 60_000,
      onData: (chunk) => this.onData(chunk),
      log,
    });
  }

  /** Feeds raw bytes (the serial line calls this; tests may too). */
  onData(chunk: Buffer): void {
    for (const f of this.framer.push(chunk)) {
      if (!f.ok) {
        this.bad(f.reason);
        continue;
      }
      let t: DsmrTelegram;
      try {
        t = parseTelegram(f.telegram, { requireCrc: this.cfg.dsmrVersion === '4' || this.cfg.dsmrVersion === '5' });
      } catch (err) {
        this.bad((err as Error).message);
        continue;
      }
      this.good(t);
    }
  }

  private bad(reason: string): void {
    this.badTelegrams++;
    this.lastError = reason;
    this.track(false);
    // Count every bad telegram, log only a few: a bad cable produces them by the thousand.
    if (this.badTelegrams <= 3 || this.badTelegrams % 100 === 0) this.log(`bad telegram #${this.badTelegrams}: ${reason}`);
  }

  private track(ok: boolean): void {
    this.recent.push(ok);
    if (this.recent.length > 100) this.recent.shift();
    const failRate = this.recent.filter((x) => !x).length / this.recent.length;
    if (this.recent.length >= 20 && failRate > 0.2 && !ok && this.badTelegrams % 20 === 0) {
      this.log(`ALARM: ${Math.round(failRate * 100)} % of recent telegrams are bad — check the cable, baud rate and parity`);
    }
  }

  private good(t: DsmrTelegram): void {
    this.goodTelegrams++;
    this.track(true);
    this.last = t;
    this.lastTelegramAt = Date.now();
    const now = Date.now();
    if (now - this.lastEmit < (this.cfg.intervalMs ?? 0)) return;
    this.lastEmit = now;
    const phases = t.phases.map((p) => ({ ...p }));
    this.emit?.({ timestamp: now, importWh: t.importWh, exportWh: t.exportWh, powerW: t.powerW, flags: 0, ...(phases.length ? { phases } : {}) });
  }

  async start(emit: (m: Measurement, state?: Record<string, unknown>) => void): Promise<void> {
    this.emit = emit;
    this.line.start();
  }

  async stop(): Promise<void> {
    this.emit = undefined;
    await this.line.stop();
  }

  health(): SourceHealth {
    const silentFor = this.lastTelegramAt ? Date.now() - this.lastTelegramAt : Infinity;
    const state = !this.line.isOpen || silentFor > 60_000 ? 'offline' : silentFor > 15_000 || this.recent[this.recent.length - 1] === false ? 'degraded' : 'ok';
    const message = !this.line.isOpen
      ? `port ${this.cfg.port} not open${this.line.lastError ? ': ' + this.line.lastError : ''}`
      : `${this.goodTelegrams} telegrams, ${this.badTelegrams} bad${this.lastError ? ` (last: ${this.lastError})` : ''}`;
    return { state, message, badTelegrams: this.badTelegrams };
  }
}
