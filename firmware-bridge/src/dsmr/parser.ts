// Parses a framed DSMR P1 telegram (2.2 … 5.0, Belgian e-MUCS): OBIS lines into import/export per tariff, power, phases, gas.
import { checkCrc, type RawTelegram } from './framer.ts';

export interface DsmrPhase {
  voltageV?: number;
  currentA?: number;
  powerW?: number;
}

export interface DsmrTelegram {
  header: string;
  /** "2.2"-style version: from 1-3:0.2.8 (NL/LU) or 0-0:96.1.4 (BE e-MUCS); "2.2/3" when absent. */
  version: string;
  crc: string | null;
  meterId?: string;
  /** Meter clock in ms since epoch (Europe/Amsterdam/Brussels local time with the S/W flag). */
  timestamp?: number;
  /** true when the meter flagged summer time (S). */
  dst?: boolean;
  tariff?: number;
  importWhByTariff: Record<string, number>;
  exportWhByTariff: Record<string, number>;
  importWh: number;
  exportWh: number;
  /** + import, − export. */
  powerW: number;
  phases: DsmrPhase[];
  gas?: { m3: number; timestamp?: number; channel: number };
}

export class DsmrError extends Error {}

interface CosemLine {
  obis: string;
  values: string[];
}

function splitLines(body: string): { header: string; lines: CosemLine[] } {
  const rows = body.replace(/!$/, '').split(/\r?\n/);
  const header = rows.shift() ?? '';
  const lines: CosemLine[] = [];
  for (const row of rows) {
    if (!row.trim()) continue;
    if (row.startsWith('(') && lines.length) {
      // DSMR 2.2/3 gas: the value continues on the next line.
      lines[lines.length - 1].values.push(...[...row.matchAll(/\(([^)]*)\)/g)].map((m) => m[1]));
      continue;
    }
    const m = /^(\d+-\d+:\d+\.\d+\.\d+)((?:\([^)]*\))+)\s*$/.exec(row);
    if (!m) throw new DsmrError(`malformed line ${JSON.stringify(row.slice(0, 60))}`);
    lines.push({ obis: m[1], values: [...m[2].matchAll(/\(([^)]*)\)/g)].map((x) => x[1]) });
  }
  return { header: header.slice(1), lines };
}

/** "001234.567*kWh" → Wh (also W/Wh integer meters, kW → W). */
function quantity(raw: string, base: 'Wh' | 'W' | 'V' | 'A' | 'm3'): number {
  const m = /^(-?\d+(?:\.\d+)?)(?:\*(.+))?$/.exec(raw.trim());
  if (!m) throw new DsmrError(`not a number: ${JSON.stringify(raw)}`);
  const n = Number(m[1]);
  const unit = (m[2] ?? base).toLowerCase();
  if (base === 'Wh') return unit === 'kwh' ? n * 1000 : unit === 'wh' ? n : unit === 'mwh' ? n * 1e6 : fail(raw, base);
  if (base === 'W') return unit === 'kw' ? n * 1000 : unit === 'w' ? n : fail(raw, base);
  if (base === 'V') return unit === 'v' ? n : fail(raw, base);
  if (base === 'A') return unit === 'a' ? n : fail(raw, base);
  return unit === 'm3' ? n : fail(raw, base);
}
function fail(raw: string, base: string): never {
  throw new DsmrError(`unexpected unit in ${JSON.stringify(raw)} (want ${base})`);
}

/** "YYMMDDhhmmssX": local time in NL/BE/LU; X = S (summer, UTC+2) or W (winter, UTC+1). */
export function dsmrTime(raw: string): { ms: number; dst: boolean } {
  const m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})([SW])$/.exec(raw);
  if (!m) throw new DsmrError(`bad timestamp ${JSON.stringify(raw)}`);
  const [, yy, mo, dd, hh, mi, ss, flag] = m;
  const dst = flag === 'S';
  const ms = Date.UTC(2000 + Number(yy), Number(mo) - 1, Number(dd), Number(hh), Number(mi), Number(ss)) - (dst ? 2 : 1) * 3_600_000;
  return { ms, dst };
}

/**
 * Parses a telegram. A CRC, when sent, must match (never guessed). From DSMR 4 on a CRC is mandatory;
 * `requireCrc` forces it (e.g. the configured version is 4 or 5).
 */
export function parseTelegram(raw: RawTelegram, opts: { requireCrc?: boolean } = {}): DsmrTelegram {
  if (/[^\x00-\x7f]/.test(raw.body)) throw new DsmrError('telegram contains non-ASCII bytes (noise on the line)');
  const { header, lines } = splitLines(raw.body);
  const get = (obis: string) => lines.find((l) => l.obis === obis);
  const versionLine = get('1-3:0.2.8') ?? get('0-0:96.1.4');
  let version = '2.2/3';
  if (versionLine) {
    const v = versionLine.values[0];
    version = v.length === 5 ? `BE ${v.slice(0, 1)}.${v.slice(1, 3)}` : `${v.slice(0, 1)}.${v.slice(1)}`;
  }
  const modern = !!versionLine && (versionLine.obis === '0-0:96.1.4' || Number(versionLine.values[0].slice(0, 1)) >= 4);
  if (raw.crc) {
    const c = checkCrc(raw);
    if (!c.ok) throw new DsmrError(c.reason);
  } else if (modern || opts.requireCrc) {
    throw new DsmrError(`DSMR ${version} telegram without CRC`);
  }
  const t: DsmrTelegram = {
    header,
    version,
    crc: raw.crc || null,
    importWhByTariff: {},
    exportWhByTariff: {},
    importWh: 0,
    exportWh: 0,
    powerW: 0,
    phases: [],
  };
  const meterId = get('0-0:96.1.1');
  if (meterId) t.meterId = meterId.values[0];
  const time = get('0-0:1.0.0');
  if (time) {
    const tm = dsmrTime(time.values[0]);
    t.timestamp = tm.ms;
    t.dst = tm.dst;
  }
  const tariff = get('0-0:96.14.0');
  if (tariff) t.tariff = Number(tariff.values[0]);
  for (const l of lines) {
    const e = /^1-0:([12])\.8\.([0-4])$/.exec(l.obis);
    if (!e) continue;
    const wh = Math.round(quantity(l.values[0], 'Wh'));
    (e[1] === '1' ? t.importWhByTariff : t.exportWhByTariff)[e[2]] = wh;
  }
  // Total = sum of tariff registers; 1.8.0/2.8.0 only when the meter sends no per-tariff registers.
  const total = (by: Record<string, number>) => {
    const tariffs = Object.entries(by).filter(([k]) => k !== '0');
    return tariffs.length ? tariffs.reduce((a, [, v]) => a + v, 0) : by['0'] ?? 0;
  };
  t.importWh = total(t.importWhByTariff);
  t.exportWh = total(t.exportWhByTariff);
  if (!Object.keys(t.importWhByTariff).length) throw new DsmrError('telegram has no import register (1-0:1.8.x)');
  const pIn = get('1-0:1.7.0');
  const pOut = get('1-0:2.7.0');
  t.powerW = Math.round((pIn ? quantity(pIn.values[0], 'W') : 0) - (pOut ? quantity(pOut.values[0], 'W') : 0));
  for (const [i, [plus, minus, volt, amp]] of [
    ['21', '22', '32', '31'],
    ['41', '42', '52', '51'],
    ['61', '62', '72', '71'],
  ].entries()) {
    const ph: DsmrPhase = {};
    const p = get(`1-0:${plus}.7.0`);
    const n = get(`1-0:${minus}.7.0`);
    if (p || n) ph.powerW = Math.round((p ? quantity(p.values[0], 'W') : 0) - (n ? quantity(n.values[0], 'W') : 0));
    const v = get(`1-0:${volt}.7.0`);
    if (v) ph.voltageV = quantity(v.values[0], 'V');
    const a = get(`1-0:${amp}.7.0`);
    if (a) ph.currentA = quantity(a.values[0], 'A');
    if (Object.keys(ph).length) t.phases[i] = ph;
  }
  t.phases = t.phases.filter(Boolean);
  // Gas: the first M-Bus channel whose device type is 3 (gas).
  for (let ch = 1; ch <= 4; ch++) {
    const type = get(`0-${ch}:24.1.0`);
    if (type && Number(type.values[0]) !== 3) continue;
    const g = get(`0-${ch}:24.2.1`) ?? get(`0-${ch}:24.2.3`);
    if (g && g.values.length >= 2) {
      t.gas = { m3: quantity(g.values[1], 'm3'), timestamp: dsmrTime(g.values[0]).ms, channel: ch };
      break;
    }
    const old = get(`0-${ch}:24.3.0`);
    if (old && old.values.length >= 7) {
      // 2.2: (timestamp)(00)(60)(1)(0-1:24.2.1)(m3) + (value) on the next line.
      const stamp = /^\d{12}$/.test(old.values[0]) ? Date.UTC(2000 + Number(old.values[0].slice(0, 2)), Number(old.values[0].slice(2, 4)) - 1, Number(old.values[0].slice(4, 6)), Number(old.values[0].slice(6, 8)), Number(old.values[0].slice(8, 10))) - 3_600_000 : undefined;
      t.gas = { m3: Number(old.values[6]), ...(stamp !== undefined ? { timestamp: stamp } : {}), channel: ch };
      break;
    }
  }
  return t;
}

/** Serial settings per DSMR version (P1 companion standard): 2.2/3 9600 7E1, 4 115200 7E1, 5 115200 8N1. */
export function serialSettings(version: '2.2' | '3' | '4' | '5'): { baudRate: number; dataBits: 7 | 8; parity: 'even' | 'none'; stopBits: 1 } {
  if (version === '2.2' || version === '3') return { baudRate: 9600, dataBits: 7, parity: 'even', stopBits: 1 };
  if (version === '4') return { baudRate: 115200, dataBits: 7, parity: 'even', stopBits: 1 };
  return { baudRate: 115200, dataBits: 8, parity: 'none', stopBits: 1 };
}
