// Loads and validates bridge.json: unknown keys and wrong types are reported by JSON path, paths resolved against the file.
import { readFileSync, existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { parseJsonc, JsoncError } from './jsonc.ts';
import { bridgeConfigSchema, deviceSchemas, type BridgeConfig, type DeviceType } from './schema.ts';

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
const validateTop = ajv.compile(bridgeConfigSchema);
const validateDevice = Object.fromEntries(Object.entries(deviceSchemas).map(([k, s]) => [k, ajv.compile(s)])) as Record<DeviceType, ReturnType<typeof ajv.compile>>;

export class ConfigError extends Error {
  constructor(message: string, readonly problems: string[] = []) {
    super(message);
  }
}

function describe(e: ErrorObject, prefix = ''): string {
  let path = prefix + (e.instancePath || '');
  if (e.keyword === 'additionalProperties') return `${path}/${(e.params as { additionalProperty: string }).additionalProperty}: unknown key`;
  if (e.keyword === 'required') return `${path}/${(e.params as { missingProperty: string }).missingProperty}: is required`;
  if (e.keyword === 'enum') return `${path || '/'}: must be one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
  if (!path) path = '/';
  return `${path}: ${e.message}`;
}

/** Validates a parsed config object; returns the problems as `JSON-path: message` lines. */
export function checkConfig(input: unknown): string[] {
  const problems: string[] = [];
  if (!validateTop(input)) problems.push(...(validateTop.errors ?? []).map((e) => describe(e)));
  const devices = (input as { devices?: unknown }).devices;
  if (Array.isArray(devices)) {
    const ids = new Set<string>();
    devices.forEach((d, i) => {
      const type = (d as { type?: string })?.type;
      if (type && type in validateDevice) {
        const v = validateDevice[type as DeviceType];
        if (!v(d)) problems.push(...(v.errors ?? []).map((e) => describe(e, `/devices/${i}`)));
      }
      const id = (d as { id?: string })?.id;
      if (id && ids.has(id)) problems.push(`/devices/${i}/id: duplicate device id ${JSON.stringify(id)}`);
      if (id) ids.add(id);
    });
  }
  return [...new Set(problems)];
}

/** Reads, validates and resolves relative paths (keystore, passwordFile, dataDir) against the config's folder. */
export function loadConfig(file: string): BridgeConfig {
  if (!existsSync(file)) throw new ConfigError(`config file ${file} does not exist (create one with gridmesh-bridge init)`);
  let parsed: unknown;
  try {
    parsed = parseJsonc(readFileSync(file, 'utf8'));
  } catch (err) {
    if (err instanceof JsoncError) throw new ConfigError(`${file}: not valid JSON: ${err.message}`);
    throw err;
  }
  const problems = checkConfig(parsed);
  if (problems.length) throw new ConfigError(`${file}: invalid config:\n  ${problems.join('\n  ')}`, problems);
  const cfg = parsed as BridgeConfig;
  const base = dirname(resolve(file));
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  cfg.keystore = abs(cfg.keystore);
  if (cfg.passwordFile) cfg.passwordFile = abs(cfg.passwordFile);
  cfg.dataDir = abs(cfg.dataDir ?? 'data');
  for (const d of cfg.devices) if (d.keystore) d.keystore = abs(d.keystore);
  return cfg;
}
