// Plans block reads for a profile: contiguous runs of registers, one request each, split at the device's register limit.
import { decodeLength, type RegisterProfile, type RegisterValue } from './profile.ts';
import type { RegisterFunction } from './bus.ts';

export interface ReadBlock {
  function: RegisterFunction;
  address: number;
  count: number;
  values: RegisterValue[];
}

/**
 * Bytes a new request costs on an RTU line beyond its data: request (8) + response header/CRC (5),
 * two 3.5-character inter-frame gaps (7) and a typical turnaround of ~10 character times.
 * Reading through a gap of g unused registers costs 2·g bytes, so gaps up to 15 registers are cheaper to read through.
 */
export const REQUEST_OVERHEAD_BYTES = 8 + 5 + 7 + 10;
export const DEFAULT_MAX_GAP = Math.floor(REQUEST_OVERHEAD_BYTES / 2);

export function planBlocks(values: RegisterValue[], profile: Pick<RegisterProfile, 'function' | 'maxGap'>, maxRegisters: number): ReadBlock[] {
  const maxGap = profile.maxGap ?? DEFAULT_MAX_GAP;
  const byFn = new Map<RegisterFunction, RegisterValue[]>();
  for (const v of values) {
    const fn = v.function ?? profile.function;
    if (!byFn.has(fn)) byFn.set(fn, []);
    byFn.get(fn)!.push(v);
  }
  const blocks: ReadBlock[] = [];
  for (const [fn, vals] of byFn) {
    vals.sort((a, b) => a.address - b.address);
    let cur: ReadBlock | undefined;
    for (const v of vals) {
      const len = decodeLength(v.decode);
      if (len > maxRegisters) throw new Error(`value ${v.name} needs ${len} registers, more than the limit ${maxRegisters}`);
      const end = v.address + len;
      if (cur && v.address - (cur.address + cur.count) <= maxGap && end - cur.address <= maxRegisters) {
        cur.count = Math.max(cur.count, end - cur.address);
        cur.values.push(v);
      } else {
        cur = { function: fn, address: v.address, count: len, values: [v] };
        blocks.push(cur);
      }
    }
  }
  return blocks;
}

/** Bytes on the wire for one RTU read of `count` registers: request 8, response 5 + 2·count. */
export function rtuBytes(count: number): { request: number; response: number } {
  return { request: 8, response: 5 + 2 * count };
}

/**
 * Bus time of a poll at a given line setting: every byte costs (1 start + data + parity + stop) bits,
 * each frame is followed by a 3.5-character silent interval, and the device needs `turnaroundMs` to answer.
 */
export function busTimeMs(counts: number[], baud: number, bitsPerChar = 10, turnaroundMs = 10): number {
  const charMs = (bitsPerChar / baud) * 1000;
  const gapMs = baud > 19200 ? 1.75 : 3.5 * charMs;
  let total = 0;
  for (const c of counts) {
    const b = rtuBytes(c);
    total += (b.request + b.response) * charMs + 2 * gapMs + turnaroundMs;
  }
  return total;
}
