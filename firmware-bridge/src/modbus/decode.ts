// Turns raw 16-bit registers into numbers: word order, signedness, float32, and "not implemented" sentinels.
import type { Decode, WordOrder } from './profile.ts';

const f32 = new DataView(new ArrayBuffer(4));

/** Reads a value at `offset` of a block; returns null for a sentinel meaning "not implemented" or a NaN. */
export function decodeRegisters(regs: ArrayLike<number>, offset: number, decode: Decode, order: WordOrder = 'high-first'): number | null {
  const w = (i: number) => regs[offset + i] & 0xffff;
  const pair = (): [number, number] => (order === 'high-first' ? [w(0), w(1)] : [w(1), w(0)]);
  switch (decode) {
    case 'uint16':
      return w(0);
    case 'int16':
      return w(0) >= 0x8000 ? w(0) - 0x10000 : w(0);
    case 'uint32':
    case 'acc32': {
      const [hi, lo] = pair();
      return hi * 0x10000 + lo;
    }
    case 'int32': {
      const [hi, lo] = pair();
      const u = hi * 0x10000 + lo;
      return u >= 0x80000000 ? u - 0x100000000 : u;
    }
    case 'float32': {
      const [hi, lo] = pair();
      f32.setUint16(0, hi);
      f32.setUint16(2, lo);
      const v = f32.getFloat32(0);
      return Number.isFinite(v) ? v : null;
    }
    case 'uint64': {
      const words = [w(0), w(1), w(2), w(3)];
      if (order === 'low-first') words.reverse();
      return ((words[0] * 0x10000 + words[1]) * 0x10000 + words[2]) * 0x10000 + words[3];
    }
  }
}

/** SunSpec "not implemented" values per type (spec: int16 0x8000, uint16 0xFFFF, acc32 0, sunssf 0x8000). */
export function sunspecValue(regs: ArrayLike<number>, offset: number, type: 'uint16' | 'int16' | 'acc32' | 'uint32' | 'float32'): number | null {
  const w0 = regs[offset] & 0xffff;
  if (type === 'int16') return w0 === 0x8000 ? null : w0 >= 0x8000 ? w0 - 0x10000 : w0;
  if (type === 'uint16') return w0 === 0xffff ? null : w0;
  const v = decodeRegisters(regs, offset, type === 'acc32' ? 'acc32' : type, 'high-first');
  if (type === 'acc32' && v === 0) return null;
  if (type === 'uint32' && v === 0xffffffff) return null;
  return v;
}

export function sunspecString(regs: ArrayLike<number>, offset: number, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) {
    const w = regs[offset + i] & 0xffff;
    s += String.fromCharCode(w >> 8, w & 0xff);
  }
  return s.replace(/\0+$/, '').trim();
}

/** Encodes a value into registers (used by the test peers and the benchmark to build register maps). */
export function encodeRegisters(value: number, decode: Decode, order: WordOrder = 'high-first'): number[] {
  let words: number[];
  switch (decode) {
    case 'uint16':
    case 'int16':
      return [value & 0xffff];
    case 'float32':
      f32.setFloat32(0, value);
      words = [f32.getUint16(0), f32.getUint16(2)];
      break;
    case 'uint32':
    case 'int32':
    case 'acc32': {
      const u = value < 0 ? value + 0x100000000 : value;
      words = [Math.floor(u / 0x10000) & 0xffff, u & 0xffff];
      break;
    }
    case 'uint64': {
      words = [];
      let v = BigInt(Math.round(value));
      for (let i = 0; i < 4; i++) {
        words.unshift(Number(v & 0xffffn));
        v >>= 16n;
      }
      return order === 'low-first' ? words.reverse() : words;
    }
  }
  return order === 'low-first' ? words.reverse() : words;
}
