// Participant and meter registration: checks the EIP-712 signatures that prove wallet and meter ownership, keeps a directory.
import { verifyTypedData } from 'ethers';
import {
  ErrorCode, METER_ROLES, MeterBindingTypes, ParticipantTypes, gridmeshDomain,
  type Address, type MeterRegistration, type ParticipantRegistration, type WireError,
} from '@gridmesh/contracts-abi';
import type { MeterRecord, ParticipantRecord, Store } from '../store/index.ts';

export type RegistryOutcome<T> = { ok: true; created: boolean; record: T } | { ok: false; status: number; error: WireError };

/** What the live views need to know about a meter: whose home it is. */
export interface HomeEntry {
  meter: Address;
  owner: Address;
  name: string;
  role: string;
  capacityW: number;
  label: string | null;
}

function recovered(fn: () => string): string | null {
  try {
    return fn().toLowerCase();
  } catch {
    return null;
  }
}

export class Registry {
  private readonly homes = new Map<string, HomeEntry>();
  /** Sums per owner, rebuilt after a binding changes. */
  private capacity: Map<string, number> | null = null;

  constructor(private readonly store: Store, private readonly chainId: number, private readonly now: () => number = Date.now) {}

  /** Loads the directory from the store (at start-up). */
  async load(): Promise<void> {
    const [participants, meters] = await Promise.all([this.store.participants.list(), this.store.meters.list()]);
    const names = new Map(participants.map((p) => [p.address, p.name]));
    for (const m of meters) this.homes.set(m.meter, this.entry(m, names.get(m.owner) ?? m.owner));
    this.capacity = null;
  }

  home(meter: string): HomeEntry | undefined {
    return this.homes.get(meter.toLowerCase());
  }

  listHomes(): HomeEntry[] {
    return [...this.homes.values()];
  }

  /** Export capacity (W) of a participant's meters other than EV chargers: the ask risk check reads it per order. */
  exportCapacityW(owner: string): number {
    if (!this.capacity) {
      this.capacity = new Map();
      for (const h of this.homes.values()) if (h.role !== 'ev') this.capacity.set(h.owner, (this.capacity.get(h.owner) ?? 0) + h.capacityW);
    }
    return this.capacity.get(owner.toLowerCase()) ?? 0;
  }

  async registerParticipant(reg: ParticipantRegistration): Promise<RegistryOutcome<ParticipantRecord>> {
    const signer = recovered(() => verifyTypedData(gridmeshDomain(this.chainId), ParticipantTypes, { participant: reg.address, name: reg.name }, reg.signature));
    if (signer !== reg.address.toLowerCase()) {
      return { ok: false, status: 400, error: { code: ErrorCode.BAD_SIGNATURE, message: 'signature is not the participant’s EIP-712 Participant signature', fields: [{ field: '/signature', message: 'does not recover to /address' }] } };
    }
    const existing = await this.store.participants.get(reg.address);
    const record = await this.store.participants.upsert({ address: reg.address.toLowerCase() as Address, name: reg.name, createdAt: this.now() });
    for (const h of this.homes.values()) if (h.owner === record.address) h.name = record.name;
    return { ok: true, created: !existing, record };
  }

  async bindMeter(reg: MeterRegistration): Promise<RegistryOutcome<MeterRecord>> {
    const role = METER_ROLES.indexOf(reg.role);
    const signer = recovered(() =>
      verifyTypedData(gridmeshDomain(this.chainId), MeterBindingTypes, { meter: reg.meter, owner: reg.owner, role, capacityW: reg.capacityW, nonce: reg.nonce }, reg.signature),
    );
    if (signer !== reg.owner.toLowerCase()) {
      return { ok: false, status: 400, error: { code: ErrorCode.BAD_SIGNATURE, message: 'signature is not the owner’s EIP-712 MeterBinding signature', fields: [{ field: '/signature', message: 'does not recover to /owner' }] } };
    }
    const owner = await this.store.participants.get(reg.owner);
    if (!owner) {
      return { ok: false, status: 404, error: { code: ErrorCode.UNKNOWN_PARTICIPANT, message: `owner ${reg.owner} is not a registered participant`, fields: [{ field: '/owner', message: 'is not registered' }] } };
    }
    const current = await this.store.meters.get(reg.meter);
    if (current && current.owner === owner.address && reg.nonce <= current.nonce && reg.signature.toLowerCase() !== current.bindingSignature.toLowerCase()) {
      return { ok: false, status: 409, error: { code: ErrorCode.CONFLICT, message: `binding nonce ${reg.nonce} is not above the stored nonce ${current.nonce}`, fields: [{ field: '/nonce', message: 'must increase' }] } };
    }
    const result = await this.store.meters.bind({
      meter: reg.meter.toLowerCase() as Address, owner: owner.address, role: reg.role, capacityW: reg.capacityW,
      label: reg.label ?? null, nonce: reg.nonce, bindingSignature: reg.signature, createdAt: this.now(),
    });
    if (result.conflict) {
      return { ok: false, status: 409, error: { code: ErrorCode.CONFLICT, message: `meter ${reg.meter} is bound to another owner`, fields: [{ field: '/meter', message: 'is bound to another owner' }] } };
    }
    this.homes.set(result.record.meter, this.entry(result.record, owner.name));
    this.capacity = null;
    return { ok: true, created: result.created, record: result.record };
  }

  private entry(m: MeterRecord, name: string): HomeEntry {
    return { meter: m.meter, owner: m.owner, name, role: m.role, capacityW: m.capacityW, label: m.label };
  }
}
