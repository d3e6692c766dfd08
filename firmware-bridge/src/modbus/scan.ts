// Finds Modbus unit ids on a bus: a unit counts as found when a profile's probe value reads as a plausible mains voltage.
import type { ModbusBus } from './bus.ts';
import { BusError, ModbusException } from './bus.ts';
import { decodeRegisters } from './decode.ts';
import { listProfiles, loadProfile, type RegisterProfile } from './profile.ts';
import { SUNS } from './sunspec.ts';

export interface ScanHit {
  unit: number;
  profiles: string[];
  voltageV?: number;
  sunspec?: boolean;
}

export interface ScanOptions {
  from?: number;
  to?: number;
  timeoutMs?: number;
  /** Pause between unit ids (mbmd: 40 ms). */
  delayMs?: number;
  onProgress?: (unit: number) => void;
}

export async function scanBus(bus: ModbusBus, o: ScanOptions = {}): Promise<ScanHit[]> {
  const registerProfiles = listProfiles()
    .map((n) => loadProfile(n))
    .filter((p): p is RegisterProfile => p.kind === 'registers' && !!p.probe);
  // Probe each distinct (function, address, decode) once per unit: SDM120 and SDM630 share theirs.
  const probes = new Map<string, { fn: RegisterProfile['function']; address: number; profile: RegisterProfile[] }>();
  for (const p of registerProfiles) {
    const v = p.values.find((x) => x.name === p.probe!.value)!;
    const key = `${v.function ?? p.function}:${v.address}:${v.decode}:${v.wordOrder ?? p.wordOrder}`;
    const hit = probes.get(key) ?? { fn: v.function ?? p.function, address: v.address, profile: [] };
    hit.profile.push(p);
    probes.set(key, hit);
  }
  const ro = { timeoutMs: o.timeoutMs ?? 200, retries: 0, settleMs: o.delayMs ?? 40 };
  const found: ScanHit[] = [];
  for (let unit = o.from ?? 1; unit <= (o.to ?? 247); unit++) {
    o.onProgress?.(unit);
    const hit: ScanHit = { unit, profiles: [] };
    for (const probe of probes.values()) {
      try {
        const regs = await bus.read(unit, probe.fn, probe.address, 2, ro);
        for (const p of probe.profile) {
          const v = p.values.find((x) => x.name === p.probe!.value)!;
          const raw = decodeRegisters(regs, 0, v.decode, v.wordOrder ?? p.wordOrder);
          const volts = raw === null ? null : raw * (v.scale ?? 1);
          if (volts !== null && volts >= p.probe!.min && volts <= p.probe!.max) {
            hit.profiles.push(p.name);
            hit.voltageV = Math.round(volts * 10) / 10;
          }
        }
      } catch (err) {
        if (!(err instanceof BusError || err instanceof ModbusException)) throw err;
      }
    }
    try {
      const m = await bus.read(unit, 'holding', 40000, 2, ro);
      if (m[0] === SUNS[0] && m[1] === SUNS[1]) {
        hit.sunspec = true;
        hit.profiles.push('sunspec');
      }
    } catch (err) {
      if (!(err instanceof BusError || err instanceof ModbusException)) throw err;
    }
    if (hit.profiles.length) found.push(hit);
  }
  return found;
}
