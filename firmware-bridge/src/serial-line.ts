// A serial port that stays open: reopens after unplug/close with back-off, re-resolving /dev/serial/by-id links, plus a silence watchdog.
import { realpathSync } from 'node:fs';
import { SerialPort } from 'serialport';

export interface SerialLineOptions {
  path: string;
  baudRate: number;
  dataBits: 7 | 8;
  parity: 'none' | 'even' | 'odd';
  stopBits: 1 | 2;
  /** No data for this long → close and reopen (a stalled USB adapter or ser2net link). */
  watchdogMs: number;
  onData: (chunk: Buffer) => void;
  onOpen?: () => void;
  log: (msg: string) => void;
}

export class SerialLine {
  private port: SerialPort | undefined;
  private stopped = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  lastDataAt = 0;
  opens = 0;
  lastError = '';

  constructor(private readonly o: SerialLineOptions) {}

  get isOpen(): boolean {
    return !!this.port?.isOpen;
  }

  start(): void {
    this.stopped = false;
    this.open();
    this.watchdog = setInterval(() => {
      if (this.port?.isOpen && Date.now() - this.lastDataAt > this.o.watchdogMs) {
        this.o.log(`no data on ${this.o.path} for ${Math.round((Date.now() - this.lastDataAt) / 1000)} s: reopening`);
        this.lastDataAt = Date.now();
        this.port.close(() => {});
      }
    }, Math.min(1000, this.o.watchdogMs));
  }

  private open(): void {
    if (this.stopped) return;
    let path = this.o.path;
    try {
      path = realpathSync(this.o.path);
    } catch {
      /* the open error says it */
    }
    const port = new SerialPort({ path, baudRate: this.o.baudRate, dataBits: this.o.dataBits, parity: this.o.parity, stopBits: this.o.stopBits, autoOpen: false });
    this.port = port;
    port.open((err) => {
      if (err) {
        this.lastError = explainSerialError(err);
        if (this.failures === 0 || this.failures % 20 === 0) this.o.log(`cannot open ${this.o.path}: ${this.lastError}`);
        this.scheduleReopen();
        return;
      }
      this.failures = 0;
      this.opens++;
      this.lastDataAt = Date.now();
      this.lastError = '';
      this.o.log(`opened ${this.o.path} (${this.o.baudRate} ${this.o.dataBits}${this.o.parity[0].toUpperCase()}${this.o.stopBits})`);
      this.o.onOpen?.();
    });
    port.on('data', (chunk: Buffer) => {
      this.lastDataAt = Date.now();
      this.o.onData(chunk);
    });
    port.on('error', (err) => {
      this.lastError = err.message;
    });
    port.on('close', () => {
      if (this.port === port && !this.stopped) {
        this.o.log(`${this.o.path} closed: ${this.lastError || 'device gone'}; reopening`);
        this.scheduleReopen();
      }
    });
  }

  private scheduleReopen(): void {
    if (this.stopped || this.retryTimer) return;
    const wait = Math.min(30_000, 250 * 2 ** Math.min(this.failures++, 7));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.open();
    }, wait);
  }

  /** Current line settings (they change with reconfigure). */
  get settings(): Pick<SerialLineOptions, 'baudRate' | 'dataBits' | 'parity' | 'stopBits'> {
    return { baudRate: this.o.baudRate, dataBits: this.o.dataBits, parity: this.o.parity, stopBits: this.o.stopBits };
  }

  /** New baud rate / framing: closes the port and opens it again at once with them (a port still retrying picks them up). */
  reconfigure(settings: Pick<SerialLineOptions, 'baudRate' | 'dataBits' | 'parity' | 'stopBits'>): void {
    Object.assign(this.o, settings);
    const port = this.port;
    if (this.stopped || !port?.isOpen) return;
    // Detached first, so its close is not taken for an unplugged device (no back-off, no "reopening" log).
    this.port = undefined;
    port.close(() => this.open());
  }

  write(data: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.port?.isOpen) return reject(new Error(`${this.o.path} is not open`));
      this.port.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    const port = this.port;
    this.port = undefined;
    if (port?.isOpen) await new Promise<void>((r) => port.close(() => r()));
  }
}

export function explainSerialError(err: Error & { code?: string }): string {
  const msg = err.message;
  if (/permission denied|EACCES/i.test(msg)) return `${msg} — add the user to the dialout group (sudo usermod -aG dialout $USER) or give the service SupplementaryGroups=dialout`;
  if (/No such file|ENOENT|cannot open/i.test(msg)) return `${msg} — is the cable plugged in? Prefer its /dev/serial/by-id/… path (gridmesh-bridge list-ports)`;
  return msg;
}
