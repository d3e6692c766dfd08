// Modbus meter source: polls a profile (block reads) or a discovered SunSpec device on a shared bus, and normalises to readings.
import type { PhaseTelemetry } from '@gridmesh/contracts-abi';
import type { Measurement, MeterSource, SourceHealth } from '../devices/source.ts';
import type { ModbusRtuDeviceConfig, ModbusTcpDeviceConfig } from '../config/schema.ts';
import { ModbusException, sharedBuses, type BusEndpoint, type BusRegistry, type ModbusBus, type RequestOptions } from './bus.ts';
import { decodeLength, loadProfile, type DeviceProfile, type RegisterProfile, type RegisterValue, type SunSpecProfile } from './profile.ts';
import { planBlocks, type ReadBlock } from './plan.ts';
import { decodeRegisters } from './decode.ts';
import { discoverSunSpec, readModel, type SunSpecDevice, type SunSpecModel } from './sunspec.ts';

export type ModbusDeviceConfig = ModbusRtuDeviceConfig | ModbusTcpDeviceConfig;

export interface PollResult {
  values: Record<string, number | null>;
  text: Record<string, string>;
  requests: number;
}

export function endpointFor(cfg: ModbusDeviceConfig, profile: DeviceProfile): BusEndpoint {
  if (cfg.type === 'modbus-rtu') {
    return {
      kind: 'rtu',
      path: cfg.port,
      baudRate: cfg.baudRate ?? profile.line.baudRate,
      parity: cfg.parity ?? profile.line.parity,
      dataBits: cfg.dataBits ?? profile.line.dataBits,
      stopBits: cfg.stopBits ?? profile.line.stopBits,
    };
  }
  return { kind: 'tcp', host: cfg.host, port: cfg.port ?? 502, rtuOverTcp: cfg.rtuOverTcp ?? false };
}

/** Reads a register profile or SunSpec device; knows nothing about signing or time. */
export class ProfileReader {
  private maxRegisters: number;
  private blocks: ReadBlock[] = [];
  private values: RegisterValue[] = [];
  private sunspec: SunSpecDevice | undefined;
  readonly dropped: string[] = [];

  constructor(
    readonly bus: ModbusBus,
    readonly unit: number,
    readonly profile: DeviceProfile,
    private readonly ro: RequestOptions & { maxRegisters?: number; sunspecModel?: number } = {},
    private readonly log: (m: string) => void = () => {},
  ) {
    this.maxRegisters = Math.min(ro.maxRegisters ?? profile.maxRegisters, profile.maxRegisters, 125);
    if (profile.kind === 'registers') {
      this.values = [...profile.values];
      this.replan();
    }
  }

  get plan(): ReadBlock[] {
    return this.blocks;
  }

  get limit(): number {
    return this.maxRegisters;
  }

  private replan(): void {
    this.blocks = planBlocks(this.values, this.profile as RegisterProfile, this.maxRegisters);
  }

  async poll(): Promise<PollResult> {
    return this.profile.kind === 'sunspec' ? this.pollSunSpec(this.profile) : this.pollRegisters(this.profile);
  }

  private async pollRegisters(p: RegisterProfile): Promise<PollResult> {
    for (let attempt = 0; attempt < 16; attempt++) {
      const values: Record<string, number | null> = {};
      let requests = 0;
      let replanned = false;
      for (const b of this.blocks) {
        let regs: number[];
        try {
          requests++;
          regs = await this.bus.read(this.unit, b.function, b.address, b.count, this.ro);
        } catch (err) {
          if (err instanceof ModbusException && err.code === 2) {
            this.shrink(b);
            replanned = true;
            break;
          }
          throw err;
        }
        for (const v of b.values) {
          const raw = decodeRegisters(regs, v.address - b.address, v.decode, v.wordOrder ?? p.wordOrder);
          values[v.name] = raw === null ? null : raw * (v.scale ?? 1);
        }
      }
      if (!replanned) return { values, text: {}, requests };
    }
    throw new Error(`unit ${this.unit}: the device keeps refusing the profile's registers`);
  }

  /** Exception 02 (illegal data address) on a block: halve the request size, or give up a single value the device lacks. */
  private shrink(b: ReadBlock): void {
    const longest = Math.max(...b.values.map((v) => decodeLength(v.decode)));
    if (b.values.length === 1 || b.count <= longest) {
      const v = b.values[0];
      this.values = this.values.filter((x) => x !== v);
      this.dropped.push(v.name);
      this.log(`unit ${this.unit} refuses register ${v.address} (${v.name}); value dropped from the poll`);
    } else {
      this.maxRegisters = Math.max(longest, Math.floor(b.count / 2));
      this.log(`unit ${this.unit} refused a ${b.count}-register read; block limit lowered to ${this.maxRegisters}`);
    }
    this.replan();
  }

  private async pollSunSpec(p: SunSpecProfile): Promise<PollResult> {
    let requests = 0;
    if (!this.sunspec) {
      this.sunspec = await discoverSunSpec(this.bus, this.unit, p, this.ro);
      this.log(`unit ${this.unit}: SunSpec at ${this.sunspec.base}, models ${this.sunspec.models.map((m) => m.id).join(', ')}`);
    }
    const chosen = this.chooseModel(p, this.sunspec.models);
    const text: Record<string, string> = {};
    const common = this.sunspec.models.find((m) => m.id === 1);
    if (common && !this.commonText) {
      const r = await readModel(this.bus, this.unit, common, p.layouts.common ?? [], this.maxRegisters, this.ro);
      requests += r.requests;
      this.commonText = r.text;
    }
    Object.assign(text, this.commonText ?? {});
    text.model = String(chosen.id);
    text.family = p.models[String(chosen.id)];
    const r = await readModel(this.bus, this.unit, chosen, p.layouts[p.models[String(chosen.id)]], this.maxRegisters, this.ro);
    return { values: r.values, text, requests: requests + r.requests };
  }

  private commonText: Record<string, string> | undefined;

  private chooseModel(p: SunSpecProfile, models: SunSpecModel[]): SunSpecModel {
    const known = models.filter((m) => m.id !== 1 && p.models[String(m.id)]);
    const wanted = this.ro.sunspecModel;
    const pick = wanted !== undefined ? known.find((m) => m.id === wanted) : known.find((m) => p.models[String(m.id)].startsWith('meter')) ?? known[0];
    if (!pick) throw new Error(`unit ${this.unit}: no supported SunSpec model${wanted ? ` ${wanted}` : ''} (device has ${models.map((m) => m.id).join(', ')})`);
    return pick;
  }

  /** Forget the discovered layout (after a reconnect the device may have been replaced). */
  rediscover(): void {
    this.sunspec = undefined;
    this.commonText = undefined;
  }
}

/** Turns profile values into the reading's fields; pv/battery usage reports production as export. */
export function normalise(values: Record<string, number | null>, family: string, usage: string): Omit<Measurement, 'timestamp' | 'flags'> {
  const v = (k: string) => (typeof values[k] === 'number' ? (values[k] as number) : undefined);
  let power: number | undefined;
  let importE: number | undefined;
  let exportE: number | undefined;
  if (family.startsWith('inverter')) {
    // An inverter only produces: its AC power and lifetime energy are export at its connection.
    power = v('acPower') !== undefined ? -Math.abs(v('acPower')!) : undefined;
    importE = 0;
    exportE = v('lifetimeEnergy');
  } else {
    power = v('power') ?? (v('powerL1') ?? 0) + (v('powerL2') ?? 0) + (v('powerL3') ?? 0);
    importE = v('importEnergy');
    exportE = v('exportEnergy');
    if (usage === 'pv' || usage === 'battery') {
      // A meter in the inverter's feed counts production as "import" from its own point of view (evcc does the same swap).
      [importE, exportE] = [exportE, importE];
      power = power === undefined ? undefined : -power;
    }
  }
  if (power === undefined) throw new Error('the device gave no power value');
  if (importE === undefined || exportE === undefined) throw new Error('the device gave no energy counters');
  const phases: PhaseTelemetry[] = [];
  for (const l of [1, 2, 3]) {
    const ph: PhaseTelemetry = {};
    if (v(`voltageL${l}`) !== undefined) ph.voltageV = Math.round(v(`voltageL${l}`)! * 10) / 10;
    if (v(`currentL${l}`) !== undefined) ph.currentA = Math.round(v(`currentL${l}`)! * 1000) / 1000;
    if (v(`powerL${l}`) !== undefined) ph.powerW = Math.round(v(`powerL${l}`)!);
    if (Object.keys(ph).length) phases.push(ph);
  }
  return { powerW: Math.round(power), importWh: Math.max(0, Math.round(importE)), exportWh: Math.max(0, Math.round(exportE)), ...(phases.length ? { phases } : {}) };
}

export interface ModbusMeterState {
  importWh: number;
  exportWh: number;
}

export class ModbusMeter implements MeterSource {
  readonly kind: string;
  readonly id: string;
  readonly reader: ProfileReader;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private failures = 0;
  private lastError = '';
  private rejected = 0;
  private last: (ModbusMeterState & { timestamp: number }) | undefined;
  private readonly bus: ModbusBus;

  constructor(
    private readonly cfg: ModbusDeviceConfig,
    private readonly ctx: { resume?: Record<string, unknown>; log: (m: string) => void; buses?: BusRegistry },
  ) {
    this.kind = cfg.type;
    this.id = cfg.id;
    const profile = loadProfile(cfg.profile);
    const isRtuLine = cfg.type === 'modbus-rtu' || (cfg.type === 'modbus-tcp' && cfg.rtuOverTcp);
    this.bus = (ctx.buses ?? sharedBuses).acquire(endpointFor(cfg, profile), {
      timeoutMs: cfg.timeoutMs ?? 500,
      retries: cfg.retries ?? 2,
      settleMs: cfg.settleMs ?? (isRtuLine ? profile.settleMs ?? 200 : 0),
      watchdogMs: cfg.watchdogMs ?? 30_000,
      log: ctx.log,
    });
    this.reader = new ProfileReader(this.bus, cfg.unit, profile, {
      timeoutMs: cfg.timeoutMs,
      retries: cfg.retries,
      settleMs: cfg.settleMs,
      maxRegisters: cfg.maxRegisters,
      sunspecModel: cfg.sunspecModel,
    }, ctx.log);
    const r = ctx.resume as Partial<ModbusMeterState> | undefined;
    if (r && typeof r.importWh === 'number' && typeof r.exportWh === 'number') this.last = { importWh: r.importWh, exportWh: r.exportWh, timestamp: 0 };
  }

  /** One poll → one measurement (or an error). Counters never go backwards: float32 jitter is clamped, absurd jumps refused. */
  async read(now = Date.now()): Promise<{ reading: Measurement; state: ModbusMeterState; values: PollResult }> {
    const res = await this.reader.poll();
    const family = res.text.family ?? 'meter';
    const n = normalise(res.values, family, this.cfg.usage ?? (family.startsWith('inverter') ? 'pv' : 'grid'));
    if (this.last && this.last.timestamp > 0) {
      const hours = Math.max(now - this.last.timestamp, 1000) / 3_600_000;
      // 1 MW for the elapsed time is beyond any home: such a jump is a corrupt read (e.g. a scale factor from another moment).
      const limit = 1_000_000 * hours + 1000;
      if (n.importWh - this.last.importWh > limit || n.exportWh - this.last.exportWh > limit) {
        this.rejected++;
        throw new Error(`implausible counter jump (import ${this.last.importWh}→${n.importWh} Wh, export ${this.last.exportWh}→${n.exportWh} Wh); reading refused`);
      }
    }
    if (this.last) {
      n.importWh = Math.max(n.importWh, this.last.importWh);
      n.exportWh = Math.max(n.exportWh, this.last.exportWh);
    }
    const reading: Measurement = { timestamp: now, flags: 0, ...n };
    const state = { importWh: n.importWh, exportWh: n.exportWh };
    return { reading, state, values: res };
  }

  async start(emit: (m: Measurement, state?: Record<string, unknown>) => void): Promise<void> {
    this.running = true;
    const interval = this.cfg.intervalMs ?? 1000;
    const tick = async () => {
      if (!this.running) return;
      const started = Date.now();
      try {
        const { reading, state } = await this.read(started);
        if (!this.running) return;
        this.last = { ...state, timestamp: reading.timestamp };
        if (this.failures >= 3) this.ctx.log(`unit ${this.cfg.unit} answers again`);
        this.failures = 0;
        this.lastError = '';
        emit(reading, state as unknown as Record<string, unknown>);
      } catch (err) {
        this.failures++;
        this.lastError = (err as Error).message;
        if (this.failures === 1 || this.failures % 30 === 0) this.ctx.log(`poll failed (${this.failures}×): ${this.lastError}`);
        if (this.failures % 10 === 0) this.reader.rediscover();
      }
      if (this.running) this.timer = setTimeout(() => void tick(), Math.max(0, interval - (Date.now() - started)));
    };
    void tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await (this.ctx.buses ?? sharedBuses).release(this.bus);
  }

  health(): SourceHealth {
    const state = this.failures === 0 ? 'ok' : this.failures < 3 ? 'degraded' : 'offline';
    const msg = this.failures ? `${this.failures} failed polls: ${this.lastError}` : `unit ${this.cfg.unit} ${this.cfg.profile} ok (${this.bus.requests} requests, ${this.bus.failures} failed, ${this.bus.reopens} reopens)`;
    return { state, message: msg, badTelegrams: this.rejected };
  }
}
