// SunSpec discovery and reads: find the SunS marker, walk the model chain, read each model's points with their scale factors in one request.
import type { ModbusBus, RequestOptions } from './bus.ts';
import { ModbusException } from './bus.ts';
import { sunspecString, sunspecValue } from './decode.ts';
import type { SunSpecPoint, SunSpecProfile } from './profile.ts';

export const SUNS = [0x5375, 0x6e53];

export interface SunSpecModel {
  id: number;
  /** First data register (after the [id, length] header). */
  start: number;
  length: number;
}

export interface SunSpecDevice {
  base: number;
  models: SunSpecModel[];
}

export interface ModelRead {
  address: number;
  count: number;
  points: SunSpecPoint[];
}

/** Finds the SunS marker at the profile's bases and walks the model chain until 0xFFFF. */
export async function discoverSunSpec(bus: ModbusBus, unit: number, profile: SunSpecProfile, ro: RequestOptions = {}): Promise<SunSpecDevice> {
  for (const base of profile.bases) {
    let marker: number[];
    try {
      marker = await bus.read(unit, 'holding', base, 2, ro);
    } catch (err) {
      if (err instanceof ModbusException) continue;
      throw err;
    }
    if (marker[0] !== SUNS[0] || marker[1] !== SUNS[1]) continue;
    const models: SunSpecModel[] = [];
    let addr = base + 2;
    for (let i = 0; i < 64 && addr + 2 <= 0xffff; i++) {
      const [id, length] = await bus.read(unit, 'holding', addr, 2, ro);
      if (id === 0xffff || id === undefined) break;
      models.push({ id, start: addr + 2, length });
      addr += 2 + length;
    }
    return { base, models };
  }
  throw new Error(`unit ${unit}: no SunSpec marker "SunS" at ${profile.bases.join(', ')}`);
}

function pointRegs(p: SunSpecPoint): number {
  return p.type === 'string' ? p.length ?? 1 : p.type === 'acc32' || p.type === 'uint32' || p.type === 'float32' ? 2 : 1;
}

/**
 * Plans the reads of a model: a point and its scale factor always travel in the same request, so no value is ever
 * scaled with a factor from another moment (the source of the 10× spikes around sunrise).
 */
export function planModelReads(model: SunSpecModel, points: SunSpecPoint[], maxRegisters: number): ModelRead[] {
  // Groups: all points sharing a scale factor, together with it.
  const groups = new Map<string, { lo: number; hi: number; points: SunSpecPoint[] }>();
  for (const p of points) {
    if (p.offset + pointRegs(p) > model.length) continue;
    const key = p.sf !== undefined ? `sf${p.sf}` : `p${p.offset}`;
    const g = groups.get(key) ?? { lo: Infinity, hi: -Infinity, points: [] };
    g.lo = Math.min(g.lo, p.offset, p.sf ?? Infinity);
    g.hi = Math.max(g.hi, p.offset + pointRegs(p), p.sf !== undefined ? p.sf + 1 : -Infinity);
    g.points.push(p);
    groups.set(key, g);
  }
  const sorted = [...groups.values()].sort((a, b) => a.lo - b.lo);
  const reads: ModelRead[] = [];
  let cur: { lo: number; hi: number; points: SunSpecPoint[] } | undefined;
  for (const g of sorted) {
    if (g.hi - g.lo > maxRegisters) throw new Error(`model ${model.id}: a value and its scale factor span ${g.hi - g.lo} registers, more than the limit ${maxRegisters}`);
    if (cur && Math.max(cur.hi, g.hi) - cur.lo <= maxRegisters) {
      cur.hi = Math.max(cur.hi, g.hi);
      cur.points.push(...g.points);
    } else {
      cur = { lo: g.lo, hi: g.hi, points: [...g.points] };
      reads.push({ address: 0, count: 0, points: [] });
    }
    const last = reads[reads.length - 1];
    last.address = model.start + cur.lo;
    last.count = cur.hi - cur.lo;
    last.points = cur.points;
  }
  return reads;
}

/** Reads a model's points, applying each scale factor from the same block. Strings come back in `text`. */
export async function readModel(
  bus: ModbusBus,
  unit: number,
  model: SunSpecModel,
  points: SunSpecPoint[],
  maxRegisters: number,
  ro: RequestOptions = {},
): Promise<{ values: Record<string, number | null>; text: Record<string, string>; requests: number }> {
  const values: Record<string, number | null> = {};
  const text: Record<string, string> = {};
  const reads = planModelReads(model, points, maxRegisters);
  for (const r of reads) {
    const regs = await bus.read(unit, 'holding', r.address, r.count, ro);
    const at = (offset: number) => offset - (r.address - model.start);
    for (const p of r.points) {
      if (p.type === 'string') {
        text[p.name] = sunspecString(regs, at(p.offset), p.length ?? 1);
        continue;
      }
      const raw = sunspecValue(regs, at(p.offset), p.type);
      if (raw === null) {
        values[p.name] = null;
        continue;
      }
      if (p.sf === undefined) {
        values[p.name] = raw;
        continue;
      }
      const sfRaw = regs[at(p.sf)] & 0xffff;
      if (sfRaw === 0x8000) {
        values[p.name] = null;
        continue;
      }
      const sf = sfRaw >= 0x8000 ? sfRaw - 0x10000 : sfRaw;
      // Scale factors outside ±10 are corrupt reads, never real.
      values[p.name] = sf < -10 || sf > 10 ? null : Number((raw * 10 ** sf).toPrecision(12));
    }
  }
  return { values, text, requests: reads.length };
}
