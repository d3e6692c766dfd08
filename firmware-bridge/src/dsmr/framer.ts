// Frames DSMR P1 telegrams from a byte stream: from "/" to "!CRC\r\n", whatever the read boundaries; checks CRC-16/ARC.
import { crc16Arc } from '../crc16.ts';

export interface RawTelegram {
  /** From "/" up to and including "!" (latin-1 decoded, i.e. byte-exact). */
  body: string;
  /** CRC digits as sent (0–4 hex; meters may send them unpadded). */
  crc: string;
}

export type FrameOutcome = { ok: true; telegram: RawTelegram } | { ok: false; reason: string; fragment: string };

/** Longest telegram we accept (DSMR 5 with MBus channels and long messages stays well below 8 KiB). */
const MAX_TELEGRAM = 16 * 1024;

export class TelegramFramer {
  private buf = '';

  /** Feeds bytes; returns every telegram (or framing error) completed by them, oldest first. */
  push(chunk: Buffer | string): FrameOutcome[] {
    this.buf += typeof chunk === 'string' ? chunk : chunk.toString('latin1');
    const out: FrameOutcome[] = [];
    for (;;) {
      const start = this.buf.indexOf('/');
      if (start < 0) {
        // Nothing that could start a telegram: keep no garbage.
        this.buf = '';
        break;
      }
      if (start > 0) this.buf = this.buf.slice(start);
      const bang = this.buf.indexOf('!');
      const nextStart = this.buf.indexOf('/', 1);
      if (nextStart > 0 && (bang < 0 || nextStart < bang)) {
        // A new header before this telegram ended: the first one was cut off (e.g. the reader started mid-telegram).
        out.push({ ok: false, reason: 'incomplete telegram (a new one started before "!")', fragment: this.buf.slice(0, nextStart) });
        this.buf = this.buf.slice(nextStart);
        continue;
      }
      if (bang < 0) {
        if (this.buf.length > MAX_TELEGRAM) {
          out.push({ ok: false, reason: `no end of telegram within ${MAX_TELEGRAM} bytes`, fragment: this.buf.slice(0, 200) });
          this.buf = '';
        }
        break;
      }
      const tail = /^!([0-9A-Fa-f]{0,4})\r?\n/.exec(this.buf.slice(bang));
      if (!tail) {
        // Wait for the CRC digits and line end, unless what follows cannot be one.
        const after = this.buf.slice(bang + 1);
        if (/^[0-9A-Fa-f]{0,4}\r?$/.test(after)) break;
        out.push({ ok: false, reason: 'malformed telegram end (expected "!" CRC CRLF)', fragment: this.buf.slice(0, bang + 8) });
        this.buf = this.buf.slice(bang + 1);
        continue;
      }
      out.push({ ok: true, telegram: { body: this.buf.slice(0, bang + 1), crc: tail[1] } });
      this.buf = this.buf.slice(bang + tail[0].length);
    }
    return out;
  }
}

/** CRC-16/ARC over every byte from "/" to "!" inclusive; an unpadded value (e.g. "B9F") is compared numerically. */
export function checkCrc(t: RawTelegram): { ok: true; crc: number } | { ok: false; reason: string } {
  const bytes = Buffer.from(t.body, 'latin1');
  const computed = crc16Arc(bytes);
  const sent = parseInt(t.crc, 16);
  if (sent !== computed) {
    return { ok: false, reason: `CRC mismatch: telegram says ${t.crc}, computed ${computed.toString(16).toUpperCase().padStart(4, '0')}` };
  }
  return { ok: true, crc: computed };
}
