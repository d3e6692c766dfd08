// Declarative device profiles (profiles/*.json): schema, loading, and the normalised measurement names they map to.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { RegisterFunction } from './bus.ts';

export const PROFILES_DIR = resolve(import.meta.dirname, '../../profiles');

export type Decode = 'uint16' | 'int16' | 'uint32' | 'int32' | 'float32' | 'uint64' | 'acc32';
export type WordOrder = 'high-first' | 'low-first';

/** Names the bridge turns into a MeterReading; any other value name is extra telemetry (shown by `probe`). */
export const MEASUREMENTS = [
  'voltageL1', 'voltageL2', 'voltageL3', 'currentL1', 'currentL2', 'currentL3', 'powerL1', 'powerL2', 'powerL3',
  'power', 'importEnergy', 'exportEnergy', 'frequency', 'acPower', 'lifetimeEnergy',
] as const;

export interface RegisterValue {
  name: string;
  address: number;
  decode: Decode;
  function?: RegisterFunction;
  wordOrder?: WordOrder;
  /** Multiplier to the canonical unit (kWh → Wh: 1000; 0.1 V units: 0.1). */
  scale?: number;
  unit?: string;
}

export interface LineDefaults {
  baudRate: number;
  parity: 'none' | 'even' | 'odd';
  dataBits: 7 | 8;
  stopBits: 1 | 2;
}

interface ProfileBase {
  $comment?: string;
  name: string;
  products: string[];
  line: LineDefaults;
  maxRegisters: number;
  settleMs?: number;
  probe?: { value: string; min: number; max: number };
}

export interface RegisterProfile extends ProfileBase {
  kind: 'registers';
  phases: 1 | 3;
  function: RegisterFunction;
  wordOrder: WordOrder;
  /** Largest gap of unused registers worth reading through instead of a new request (default: from the bus cost model). */
  maxGap?: number;
  values: RegisterValue[];
}

export interface SunSpecPoint {
  name: string;
  offset: number;
  type: 'uint16' | 'int16' | 'acc32' | 'uint32' | 'float32' | 'string';
  /** Offset of this point's scale factor in the same model. */
  sf?: number;
  length?: number;
}

export interface SunSpecProfile extends ProfileBase {
  kind: 'sunspec';
  bases: number[];
  models: Record<string, string>;
  layouts: Record<string, SunSpecPoint[]>;
}

export type DeviceProfile = RegisterProfile | SunSpecProfile;

const line = {
  type: 'object',
  additionalProperties: false,
  required: ['baudRate', 'parity', 'dataBits', 'stopBits'],
  properties: { baudRate: { type: 'integer' }, parity: { enum: ['none', 'even', 'odd'] }, dataBits: { enum: [7, 8] }, stopBits: { enum: [1, 2] } },
} as const;
const base = {
  $comment: { type: 'string' },
  name: { type: 'string', pattern: '^[a-z0-9_-]+$' },
  kind: { enum: ['registers', 'sunspec'] },
  products: { type: 'array', items: { type: 'string' }, minItems: 1 },
  line,
  maxRegisters: { type: 'integer', minimum: 1, maximum: 125 },
  settleMs: { type: 'integer', minimum: 0 },
  probe: { type: 'object', additionalProperties: false, required: ['value', 'min', 'max'], properties: { value: { type: 'string' }, min: { type: 'number' }, max: { type: 'number' } } },
} as const;

export const registerProfileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind', 'products', 'line', 'maxRegisters', 'phases', 'function', 'wordOrder', 'values'],
  properties: {
    ...base,
    phases: { enum: [1, 3] },
    function: { enum: ['input', 'holding'] },
    wordOrder: { enum: ['high-first', 'low-first'] },
    maxGap: { type: 'integer', minimum: 0, maximum: 125 },
    values: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'address', 'decode'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9]*$' },
          address: { type: 'integer', minimum: 0, maximum: 65535 },
          decode: { enum: ['uint16', 'int16', 'uint32', 'int32', 'float32', 'uint64', 'acc32'] },
          function: { enum: ['input', 'holding'] },
          wordOrder: { enum: ['high-first', 'low-first'] },
          scale: { type: 'number' },
          unit: { type: 'string' },
        },
      },
    },
  },
} as const;

export const sunspecProfileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind', 'products', 'line', 'maxRegisters', 'bases', 'models', 'layouts'],
  properties: {
    ...base,
    bases: { type: 'array', items: { type: 'integer', minimum: 0, maximum: 65535 }, minItems: 1 },
    models: { type: 'object', additionalProperties: { type: 'string' } },
    layouts: {
      type: 'object',
      additionalProperties: {
        type: 'array',
        items: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'offset', 'type'],
          properties: {
            name: { type: 'string' },
            offset: { type: 'integer', minimum: 0 },
            type: { enum: ['uint16', 'int16', 'acc32', 'uint32', 'float32', 'string'] },
            sf: { type: 'integer', minimum: 0 },
            length: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
  },
} as const;

const ajv = new Ajv2020({ allErrors: true, strict: true });
const validateRegisters = ajv.compile(registerProfileSchema);
const validateSunSpec = ajv.compile(sunspecProfileSchema);

export class ProfileError extends Error {}

export function decodeLength(d: Decode): number {
  return d === 'uint16' || d === 'int16' ? 1 : d === 'uint64' ? 4 : 2;
}

/** Validates a parsed profile: schema, duplicate names, overlapping registers, layouts that exist. */
export function checkProfile(input: unknown, source = 'profile'): DeviceProfile {
  const kind = (input as { kind?: string })?.kind;
  const v = kind === 'sunspec' ? validateSunSpec : validateRegisters;
  if (!v(input)) {
    const problems = (v.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
    throw new ProfileError(`${source}: invalid profile:\n  ${problems.join('\n  ')}`);
  }
  const p = input as DeviceProfile;
  if (p.kind === 'registers') {
    const names = new Set<string>();
    const used = new Map<string, string>();
    for (const val of p.values) {
      if (names.has(val.name)) throw new ProfileError(`${source}: value ${val.name} defined twice`);
      names.add(val.name);
      const fn = val.function ?? p.function;
      for (let r = val.address; r < val.address + decodeLength(val.decode); r++) {
        const k = `${fn}:${r}`;
        if (used.has(k)) throw new ProfileError(`${source}: ${val.name} overlaps ${used.get(k)} at ${fn} register ${r}`);
        used.set(k, val.name);
      }
    }
    if (p.probe && !names.has(p.probe.value)) throw new ProfileError(`${source}: probe value ${p.probe.value} is not defined`);
  } else {
    for (const [model, layout] of Object.entries(p.models)) if (!p.layouts[layout]) throw new ProfileError(`${source}: model ${model} uses unknown layout ${layout}`);
  }
  return p;
}

export function listProfiles(dir = PROFILES_DIR): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort();
}

const cache = new Map<string, DeviceProfile>();
export function loadProfile(name: string, dir = PROFILES_DIR): DeviceProfile {
  const key = `${dir}:${name}`;
  const hit = cache.get(key);
  if (hit) return hit;
  if (!/^[a-z0-9_-]+$/.test(name)) throw new ProfileError(`profile name ${JSON.stringify(name)} is not valid`);
  const file = join(dir, `${name}.json`);
  if (!existsSync(file)) throw new ProfileError(`no device profile ${JSON.stringify(name)}; available: ${listProfiles(dir).join(', ')}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ProfileError(`${file}: ${(err as Error).message}`);
  }
  const p = checkProfile(parsed, file);
  if (p.name !== name) throw new ProfileError(`${file}: "name" must be ${JSON.stringify(name)} (the file name)`);
  cache.set(key, p);
  return p;
}
