// JSON Schema (draft 2020-12) of bridge.json and its device entries; validated with ajv, errors carry JSON paths.
const int = (minimum: number, maximum: number, description?: string) => ({ type: 'integer', minimum, maximum, ...(description ? { description } : {}) }) as const;

const deviceCommon = {
  id: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,40}$', description: 'name of the device in logs and status' },
  type: { type: 'string' },
  keystore: { type: 'string', minLength: 1, description: 'keystore of this meter; default: the top-level keystore' },
  intervalMs: int(100, 3_600_000, 'reading interval'),
  usage: { enum: ['grid', 'pv', 'battery', 'ev'], description: 'sign convention: pv/battery meters report production as export' },
} as const;

const serialLine = {
  port: { type: 'string', minLength: 1, description: 'serial device; prefer /dev/serial/by-id/… (survives renumbering)' },
  baudRate: { enum: [1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200] },
  parity: { enum: ['none', 'even', 'odd'] },
  dataBits: { enum: [7, 8] },
  stopBits: { enum: [1, 2] },
} as const;

const modbusCommon = {
  unit: int(1, 247, 'Modbus unit (slave) id'),
  profile: { type: 'string', pattern: '^[a-z0-9_-]+$', description: 'device profile name (profiles/<name>.json) or "sunspec"' },
  timeoutMs: int(50, 60_000),
  retries: int(0, 10),
  settleMs: int(0, 5_000, 'pause when the bus switches to another unit id'),
  maxRegisters: int(1, 125, 'largest block read the device accepts'),
  watchdogMs: int(1_000, 3_600_000, 'no successful poll for this long → close and reopen the port'),
  sunspecModel: int(1, 65534, 'SunSpec model to read when the device has several (default: a meter model, else the inverter)'),
} as const;

export const deviceSchemas = {
  simulated: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'type'],
    properties: {
      ...deviceCommon,
      seed: int(0, 2 ** 31 - 1),
      pvPeakW: int(0, 1_000_000),
      loadBaseW: int(0, 1_000_000),
      clockOffsetMin: int(-1440, 1440),
    },
  },
  'modbus-rtu': {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'type', 'port', 'unit', 'profile'],
    properties: { ...deviceCommon, ...serialLine, ...modbusCommon },
  },
  'modbus-tcp': {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'type', 'host', 'unit', 'profile'],
    properties: {
      ...deviceCommon,
      ...modbusCommon,
      host: { type: 'string', minLength: 1 },
      port: int(1, 65535),
      rtuOverTcp: { type: 'boolean', description: 'RTU framing over TCP (dumb RS485-Ethernet converters)' },
    },
  },
  'dsmr-p1': {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'type', 'port'],
    properties: {
      ...deviceCommon,
      ...serialLine,
      dsmrVersion: { enum: ['auto', '2.2', '3', '4', '5'], description: 'picks the serial settings (2.2/3: 9600 7E1, 4: 115200 7E1, 5: 115200 8N1); auto (the default) tries them in turn until a telegram is valid' },
      autoDetectMs: int(1_000, 600_000),
      watchdogMs: int(1_000, 3_600_000),
    },
  },
  firmata: {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'type', 'port', 'pulsePin'],
    properties: {
      ...deviceCommon,
      port: serialLine.port,
      baudRate: serialLine.baudRate,
      pulsePin: int(0, 127),
      impulsesPerKwh: int(1, 100_000),
      pullup: { type: 'boolean', description: 'use the internal pull-up (open-collector S0 outputs); the pulse is then active-low' },
      relayPin: int(0, 127),
      relayActiveLow: { type: 'boolean' },
      relayOverride: { enum: ['auto', 'on', 'off'], description: 'manual override of the relay: auto follows dispatch' },
      watchdogMs: int(1_000, 3_600_000),
    },
  },
} as const;

export type DeviceType = keyof typeof deviceSchemas;
export const DEVICE_TYPES = Object.keys(deviceSchemas) as DeviceType[];

export const bridgeConfigSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['server', 'chainId', 'keystore', 'devices'],
  properties: {
    $schema: { type: 'string' },
    server: { type: 'string', pattern: '^(https?|wss?)://', description: 'gridmesh server URL' },
    chainId: int(1, 2 ** 31 - 1),
    keystore: { type: 'string', minLength: 1 },
    passwordFile: { type: 'string', minLength: 1 },
    dataDir: { type: 'string', minLength: 1 },
    outbox: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxBytes: int(1024 * 1024, 2 ** 40, 'disk budget for unsent readings'),
        batchSize: int(1, 1000),
        ackTimeoutMs: int(100, 600_000),
      },
    },
    link: {
      type: 'object',
      additionalProperties: false,
      properties: {
        statusIntervalMs: int(1000, 3_600_000),
        retryBaseMs: int(10, 600_000),
        retryMaxMs: int(100, 3_600_000),
      },
    },
    devices: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['id', 'type'],
        properties: { id: deviceCommon.id, type: { enum: Object.keys(deviceSchemas) } },
      },
    },
  },
} as const;

interface DeviceBase {
  id: string;
  keystore?: string;
  intervalMs?: number;
  usage?: 'grid' | 'pv' | 'battery' | 'ev';
}
export interface SerialLine {
  port: string;
  baudRate?: number;
  parity?: 'none' | 'even' | 'odd';
  dataBits?: 7 | 8;
  stopBits?: 1 | 2;
}
export interface ModbusCommon {
  unit: number;
  profile: string;
  timeoutMs?: number;
  retries?: number;
  settleMs?: number;
  maxRegisters?: number;
  watchdogMs?: number;
  sunspecModel?: number;
}
export interface SimulatedDeviceConfig extends DeviceBase {
  type: 'simulated';
  seed?: number;
  pvPeakW?: number;
  loadBaseW?: number;
  clockOffsetMin?: number;
}
export interface ModbusRtuDeviceConfig extends DeviceBase, SerialLine, ModbusCommon {
  type: 'modbus-rtu';
}
export interface ModbusTcpDeviceConfig extends DeviceBase, ModbusCommon {
  type: 'modbus-tcp';
  host: string;
  port?: number;
  rtuOverTcp?: boolean;
}
export interface DsmrDeviceConfig extends DeviceBase, SerialLine {
  type: 'dsmr-p1';
  dsmrVersion?: 'auto' | '2.2' | '3' | '4' | '5';
  /** With auto-detection: how long each candidate setting gets to produce a valid telegram (default 25 s: DSMR 2.2 sends every 10 s). */
  autoDetectMs?: number;
  watchdogMs?: number;
}
export interface FirmataDeviceConfig extends DeviceBase {
  type: 'firmata';
  port: string;
  baudRate?: number;
  pulsePin: number;
  impulsesPerKwh?: number;
  pullup?: boolean;
  relayPin?: number;
  relayActiveLow?: boolean;
  relayOverride?: 'auto' | 'on' | 'off';
  watchdogMs?: number;
}
export type DeviceConfig = SimulatedDeviceConfig | ModbusRtuDeviceConfig | ModbusTcpDeviceConfig | DsmrDeviceConfig | FirmataDeviceConfig;

export interface BridgeConfig {
  $schema?: string;
  server: string;
  chainId: number;
  keystore: string;
  passwordFile?: string;
  dataDir?: string;
  outbox?: { maxBytes?: number; batchSize?: number; ackTimeoutMs?: number };
  link?: { statusIntervalMs?: number; retryBaseMs?: number; retryMaxMs?: number };
  devices: DeviceConfig[];
}
