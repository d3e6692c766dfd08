// Units on every number: power (W/kW), energy (Wh/kWh), prices (ct/kWh from token base units), token amounts (6 decimals).

/** GridToken has 6 decimals; a price is token base units per kWh. 1 ct = 10_000 base units. */
export const TOKEN_DECIMALS = 6;
export const BASE_PER_CENT = 10_000n;
export const TOKEN_SYMBOL = 'GRID';

export function fmtW(w: number): string {
  const a = Math.abs(w);
  if (a >= 1_000_000) return `${(w / 1_000_000).toFixed(2)} MW`;
  if (a >= 1000) return `${(w / 1000).toFixed(2)} kW`;
  return `${Math.round(w)} W`;
}

export function fmtWh(wh: number): string {
  const a = Math.abs(wh);
  if (a >= 1_000_000) return `${(wh / 1_000_000).toFixed(3)} MWh`;
  if (a >= 1000) return `${(wh / 1000).toFixed(3)} kWh`;
  return `${Math.round(wh)} Wh`;
}

export const fmtKWh = (wh: number): string => `${(wh / 1000).toFixed(3)} kWh`;

/** Token base units per kWh → "12.34 ct/kWh" (exact: base units are integers, 10 000 per cent). */
export function fmtPrice(base: string | bigint | null | undefined): string {
  if (base === null || base === undefined || base === '') return '— ct/kWh';
  return `${centsString(BigInt(base))} ct/kWh`;
}

/** Base units per kWh → decimal cents string without trailing zeros beyond 2 places. */
export function centsString(base: bigint): string {
  const neg = base < 0n;
  const abs = neg ? -base : base;
  const whole = abs / BASE_PER_CENT;
  const frac = (abs % BASE_PER_CENT).toString().padStart(4, '0').replace(/0+$/, '');
  const fracOut = frac.length < 2 ? frac.padEnd(2, '0') : frac;
  return `${neg ? '-' : ''}${whole}.${fracOut}`;
}

/** Cents per kWh typed by a person ("12.5") → base units per kWh, or null when not a number with ≤ 4 decimals. */
export function parseCents(text: string): bigint | null {
  const m = /^\s*(\d+)(?:[.,](\d{0,4}))?\s*$/.exec(text);
  if (!m) return null;
  return BigInt(m[1]) * BASE_PER_CENT + BigInt((m[2] ?? '').padEnd(4, '0') || '0');
}

/** kWh typed by a person → integer Wh, or null. */
export function parseKWh(text: string): number | null {
  const m = /^\s*(\d+)(?:[.,](\d{0,3}))?\s*$/.exec(text);
  if (!m) return null;
  return Number(m[1]) * 1000 + Number((m[2] ?? '').padEnd(3, '0') || '0');
}

/** Token amount in base units (6 decimals) → "1.234567 GRID€" trimmed to at most `digits` decimals (rounded down). */
export function fmtToken(base: string | bigint | null | undefined, digits = 2): string {
  if (base === null || base === undefined || base === '') return `— ${TOKEN_SYMBOL}`;
  const v = BigInt(base);
  const neg = v < 0n;
  const abs = neg ? -v : v;
  const unit = 10n ** BigInt(TOKEN_DECIMALS);
  const whole = abs / unit;
  const frac = (abs % unit).toString().padStart(TOKEN_DECIMALS, '0').slice(0, digits);
  return `${neg ? '−' : ''}${whole.toLocaleString('en')}${digits > 0 ? '.' + frac : ''} ${TOKEN_SYMBOL}`;
}

/** Reward token amount (18 decimals) → "0.0123 GMR". */
export function fmtReward(base: string | bigint | null | undefined, digits = 4): string {
  if (base === null || base === undefined || base === '') return '— GMR';
  const v = BigInt(base);
  const unit = 10n ** 18n;
  const frac = (v % unit).toString().padStart(18, '0').slice(0, digits);
  return `${(v / unit).toLocaleString('en')}.${frac} GMR`;
}

/** Token amount typed by a person ("12.5") → base units, or null. */
export function parseToken(text: string): bigint | null {
  const m = /^\s*(\d+)(?:[.,](\d{0,6}))?\s*$/.exec(text);
  if (!m) return null;
  return BigInt(m[1]) * 10n ** BigInt(TOKEN_DECIMALS) + BigInt((m[2] ?? '').padEnd(TOKEN_DECIMALS, '0') || '0');
}

/** Cost in base units of `wh` at `pricePerKWh` base units, rounded up (a bid's worst case). */
export function costOf(pricePerKWh: bigint, wh: number): bigint {
  return (pricePerKWh * BigInt(wh) + 999n) / 1000n;
}

export const fmtPct = (share: number | null): string => (share === null || !Number.isFinite(share) ? '— %' : `${(share * 100).toFixed(0)} %`);

export function fmtTime(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
}
export function fmtTimeS(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}
/** Countdown in minutes and seconds ("6 min 42 s"). */
export function fmtCountdown(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}
export function fmtAge(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(0)} s`;
  return `${(ms / 60_000).toFixed(0)} min`;
}
export const shortAddr = (a: string): string => `${a.slice(0, 6)}…${a.slice(-4)}`;
