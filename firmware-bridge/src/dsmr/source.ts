// DSMR P1 meter source: finds the line's serial settings, frames and parses telegrams, counts bad ones, emits normalised readings.
import type { Measurement, MeterSource, SourceHealth } from '../devices/source.ts';
import type { DsmrDeviceConfig } from '../config/schema.ts';
import { SerialLine } from '../serial-line.ts';
import { TelegramFramer } from './framer.ts';
import { parseTelegram, serialSettings, type DsmrTelegram } from './parser.ts';

type LineSettings = ReturnType<typeof serialSettings>;

/** What auto-detection tries, most common first: DSMR 5 / e-MUCS, DSMR 4, DSMR 2.2/3. */
export const DSMR_CANDIDATE_SETTINGS: readonly LineSettings[] = [serialSettings('5'), serialSettings('4'), serialSettings('2.2')];

const describeSettings = (s: LineSettings) => `${s.baudRate} ${s.dataBits}${s.parity[0].toUpperCase()}${s.stopBits}`;

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
  /** Auto-detection: the candidate being tried; null once a valid telegram fixed the settings (or they were configured). */
  private candidate: number | null = null;
  private probeTimer: NodeJS.Timeout | undefined;

  constructor(private readonly cfg: DsmrDeviceConfig, private readonly log: (m: string) => void) {
    this.id = cfg.id;
    // Users often do not know their meter's DSMR version, and a wrong baud rate or parity only shows as garbage.
    const auto = (cfg.dsmrVersion ?? 'auto') === 'auto' && cfg.baudRate === undefined && cfg.dataBits === undefined && cfg.parity === undefined;
    const s = auto ? DSMR_CANDIDATE_SETTINGS[0] : serialSettings(cfg.dsmrVersion === undefined || cfg.dsmrVersion === 'auto' ? '5' : cfg.dsmrVersion);
    if (auto) this.candidate = 0;
    this.line = new SerialLine({
      path: cfg.port,
      baudRate: cfg.baudRate ?? s.baudRate,
      dataBits: cfg.dataBits ?? s.dataBits,
      parity: cfg.parity ?? s.parity,
      stopBits: cfg.stopBits ?? s.stopBits,
      watchdogMs: cfg.watchdogMs ?? 60_000,
      onData: (chunk) => this.onData(chunk),
      onOpen: () => this.armProbe(),
      log,
    });
  }

  /** The line's settings now, e.g. "115200 8N1". */
  get serialSettings(): string {
    return describeSettings(this.line.settings as LineSettings);
  }

  /** Auto-detection: a candidate gets autoDetectMs from its port opening to produce one valid telegram. */
  private armProbe(): void {
    if (this.candidate === null) return;
    clearTimeout(this.probeTimer);
    this.probeTimer = setTimeout(() => this.nextCandidate(), this.cfg.autoDetectMs ?? 25_000);
  }

  private nextCandidate(): void {
    if (this.candidate === null) return;
    const tried = DSMR_CANDIDATE_SETTINGS[this.candidate];
    this.candidate = (this.candidate + 1) % DSMR_CANDIDATE_SETTINGS.length;
    const next = DSMR_CANDIDATE_SETTINGS[this.candidate];
    this.log(`no valid telegram at ${describeSettings(tried)} (${this.badTelegrams} bad so far); trying ${describeSettings(next)}`);
    this.line.reconfigure(next);
  }

  /** Feeds raw bytes (the serial line calls this; tests may too). */
  onData(chunk: Buffer): void {
    // 7-bit framing: the parity bit is not data. Some USB adapters pass it on in bit 7; a real telegram is 7-bit ASCII.
    if (this.line.settings.dataBits === 7) chunk = Buffer.from(chunk.map((b) => b & 0x7f));
    for (const f of this.framer.push(chunk)) {
      if (!f.ok) {
        this.bad(f.reason);
        continue;
      }
      let t: DsmrTelegram;
      try {
        // DSMR 4 and 5 (both at 115200) always carry a CRC; a 9600 baud meter (2.2/3) never does.
        const requireCrc = this.cfg.dsmrVersion === '4' || this.cfg.dsmrVersion === '5' || ((this.cfg.dsmrVersion ?? 'auto') === 'auto' && this.line.settings.baudRate === 115200);
        t = parseTelegram(f.telegram, { requireCrc });
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
    if (this.candidate !== null) {
      this.candidate = null;
      clearTimeout(this.probeTimer);
      this.log(`detected the P1 line's settings: ${this.serialSettings} (DSMR ${t.version})`);
    }
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
    clearTimeout(this.probeTimer);
    await this.line.stop();
  }

  health(): SourceHealth {
    const silentFor = this.lastTelegramAt ? Date.now() - this.lastTelegramAt : Infinity;
    const state = !this.line.isOpen || silentFor > 60_000 ? 'offline' : silentFor > 15_000 || this.recent[this.recent.length - 1] === false ? 'degraded' : 'ok';
    const message = !this.line.isOpen
      ? `port ${this.cfg.port} not open${this.line.lastError ? ': ' + this.line.lastError : ''}`
      : `${this.goodTelegrams} telegrams, ${this.badTelegrams} bad${this.lastError ? ` (last: ${this.lastError})` : ''} at ${this.serialSettings}${this.candidate !== null ? ' (still detecting)' : ''}`;
    return { state, message, badTelegrams: this.badTelegrams };
  }
}
