// The store port: everything the server persists goes through this interface (SQLite or MongoDB adapter).
import type { Address, Hex, MeterRole, PhaseTelemetry } from '@gridmesh/contracts-abi';
import type { SettlementRepo } from './settlement-repo.ts';
import type { RulesRepo } from './rules-repo.ts';

export type * from './settlement-repo.ts';
export type * from './rules-repo.ts';
import type { MarketRepo } from './market-port.ts';

export type * from './market-port.ts';

export interface ParticipantRecord {
  address: Address;
  name: string;
  createdAt: number;
}

export interface MeterRecord {
  meter: Address;
  owner: Address;
  role: MeterRole;
  capacityW: number;
  label: string | null;
  /** Binding nonce and the owner's EIP-712 `MeterBinding` signature, kept as proof. */
  nonce: number;
  bindingSignature: Hex;
  createdAt: number;
}

/** A verified reading as stored; the signature is kept so anyone can re-verify it later. */
export interface StoredReading {
  meter: Address;
  seq: number;
  timestamp: number;
  importWh: number;
  exportWh: number;
  powerW: number;
  flags: number;
  signature: Hex;
  phases: PhaseTelemetry[] | null;
  receivedAt: number;
}

export interface ReadingRange {
  from?: number;
  to?: number;
  limit?: number;
}

export interface ParticipantRepo {
  /** Creates or renames a participant; returns the stored record. */
  upsert(p: ParticipantRecord): Promise<ParticipantRecord>;
  get(address: Address): Promise<ParticipantRecord | null>;
  list(): Promise<ParticipantRecord[]>;
}

export interface MeterRepo {
  /** Binds a meter to an owner. A meter already bound to another owner is a conflict. */
  bind(m: MeterRecord): Promise<{ created: boolean; conflict: boolean; record: MeterRecord }>;
  get(meter: Address): Promise<MeterRecord | null>;
  list(): Promise<MeterRecord[]>;
}

export interface ReadingRepo {
  /**
   * Commits readings (already verified and checked for order by the caller) atomically.
   * Idempotent on (meter, seq): a row that already exists is left untouched and counted in `existing`.
   */
  insertMany(readings: StoredReading[]): Promise<{ inserted: number; existing: number }>;
  /**
   * Commits several batches (of different meters) in ONE transaction, with the counts per batch: ingestion groups
   * the batches that arrive in the same tick, so a busy server pays one commit for many batches. Optional: without
   * it ingestion calls insertMany per batch.
   */
  insertGroups?(groups: StoredReading[][]): Promise<{ inserted: number; existing: number }[]>;
  /** The readings of `meter` with the given seqs (for telling an identical resend from a replay). */
  getBySeq(meter: Address, seqs: number[]): Promise<StoredReading[]>;
  latest(meter: Address): Promise<StoredReading | null>;
  /** Readings with from ≤ timestamp < to, oldest first. */
  range(meter: Address, range: ReadingRange): Promise<StoredReading[]>;
  count(meter?: Address): Promise<number>;
}

export interface Store {
  readonly kind: 'sqlite' | 'mongodb';
  readonly participants: ParticipantRepo;
  readonly meters: MeterRepo;
  readonly readings: ReadingRepo;
  /** Market journal, orders, trades and slot states (see market-port.ts). */
  readonly market: MarketRepo;
  /** Delivery settlement results per participant per slot and reward accruals (see settlement-repo.ts). */
  readonly settlements: SettlementRepo;
  /** Standing trade rules and delegated session keys (see rules-repo.ts). */
  readonly rules: RulesRepo;
  close(): Promise<void>;
}
