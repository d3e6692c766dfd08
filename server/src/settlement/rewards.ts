// Reward accrual (pure): tokens per kWh of verified local delivery, and uptime per bridge; cumulative entitlements per epoch.
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { REWARD_LEAF_ENCODING } from '@gridmesh/contracts-abi';
import type { ParticipantSlotSettlement } from './delivery.ts';

export interface RewardPolicy {
  /** Reward token base units (18 decimals) per kWh delivered by a seller and verified by its metering. */
  deliveryPerKWh: bigint;
  /** Reward token base units per bridge per slot at 100 % of expected readings arriving signed and valid. */
  uptimePerSlot: bigint;
  /** Expected interval between readings of a bridge (ms); expected readings per slot = slotMs / readingIntervalMs. */
  readingIntervalMs: number;
}

/** What one bridge delivered in a slot: how many signed, valid readings with a timestamp inside [slot, slot + slotMs). */
export interface BridgeUptime {
  meter: string;
  owner: string;
  validReadings: number;
}

export type RewardKind = 'delivery' | 'uptime';

export interface RewardAccrual {
  slot: number;
  account: string;
  kind: RewardKind;
  /** The bridge the uptime reward is for; null for delivery rewards. */
  meter: string | null;
  /** Delivered Wh (delivery) or valid readings (uptime): the basis of the amount, for display and audit. */
  basis: number;
  amount: bigint;
}

export interface RewardEntitlement {
  account: string;
  /** Cumulative reward token base units since the start: the contract pays the difference to what was claimed. */
  cumulative: bigint;
}

/**
 * Rewards of one slot. Delivery: floor(deliveryPerKWh × deliveredWh / 1000) per seller with delivered energy (only metered
 * sellers deliver). Uptime: floor(uptimePerSlot × min(valid, expected) / expected) per bridge, to the bridge's owner.
 * Rewards are minted on claim, so rounding down only keeps the issue within the policy; nothing needs to balance.
 */
export function accrueSlotRewards(
  slot: number,
  slotMs: number,
  settlements: readonly Pick<ParticipantSlotSettlement, 'participant' | 'deliveredWh' | 'metered'>[],
  bridges: readonly BridgeUptime[],
  policy: RewardPolicy,
): RewardAccrual[] {
  if (!(policy.readingIntervalMs > 0)) throw new RangeError('readingIntervalMs must be positive');
  const out: RewardAccrual[] = [];
  for (const s of settlements) {
    if (!s.metered || s.deliveredWh <= 0) continue;
    const amount = (policy.deliveryPerKWh * BigInt(s.deliveredWh)) / 1000n;
    if (amount > 0n) out.push({ slot, account: s.participant.toLowerCase(), kind: 'delivery', meter: null, basis: s.deliveredWh, amount });
  }
  const expected = Math.max(1, Math.floor(slotMs / policy.readingIntervalMs));
  for (const b of bridges) {
    const valid = Math.min(Math.max(0, Math.floor(b.validReadings)), expected);
    const amount = (policy.uptimePerSlot * BigInt(valid)) / BigInt(expected);
    if (amount > 0n) out.push({ slot, account: b.owner.toLowerCase(), kind: 'uptime', meter: b.meter.toLowerCase(), basis: valid, amount });
  }
  return out.sort((a, b) => (a.account < b.account ? -1 : a.account > b.account ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : (a.meter ?? '') < (b.meter ?? '') ? -1 : 1));
}

/** Sums accruals into cumulative entitlements per account, sorted by account (the epoch's Merkle leaves). */
export function cumulativeEntitlements(accruals: Iterable<Pick<RewardAccrual, 'account' | 'amount'>>): RewardEntitlement[] {
  const totals = new Map<string, bigint>();
  for (const a of accruals) totals.set(a.account.toLowerCase(), (totals.get(a.account.toLowerCase()) ?? 0n) + a.amount);
  return [...totals.entries()]
    .filter(([, v]) => v > 0n)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([account, cumulative]) => ({ account, cumulative }));
}

export interface RewardEpochTree {
  /** Root for EnergyMarket.publishRewardRoot(epoch, root). */
  root: string;
  entitlements: RewardEntitlement[];
  /** Proof for EnergyMarket.claim(cumulative, proof) of `account`, or null if it has no entitlement. */
  proof(account: string): string[] | null;
}

/** StandardMerkleTree over ["address account","uint256 cumulativeAmount"], the leaf EnergyMarket._claim checks. */
export function rewardEpochTree(entitlements: readonly RewardEntitlement[]): RewardEpochTree {
  if (entitlements.length === 0) throw new RangeError('an epoch tree needs at least one entitlement');
  const values = entitlements.map((e) => [e.account.toLowerCase(), e.cumulative.toString()]);
  const tree = StandardMerkleTree.of(values, [...REWARD_LEAF_ENCODING]);
  const index = new Map(values.map((v, i) => [v[0], i]));
  return {
    root: tree.root,
    entitlements: [...entitlements],
    proof(account) {
      const i = index.get(account.toLowerCase());
      return i === undefined ? null : tree.getProof(i);
    },
  };
}
