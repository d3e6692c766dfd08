// MongoDB collections of the settlement port (mongoose): slot settlements, participant rows, reward accruals, reward epochs.
import { Schema, type Connection } from 'mongoose';
import type { Address } from '@gridmesh/contracts-abi';
import type { ParticipantSettlementRecord, RewardAccrualRecord, RewardEpochRecord, SettlementRepo, SlotSettlementRecord } from './settlement-repo.ts';

const key = (a: string) => a.toLowerCase();

interface SlotDoc extends Omit<SlotSettlementRecord, 'accounts'> { _id: string; accounts: string[] }
interface RowDoc { _id: string; market: string; slot: number; participant: string; row: ParticipantSettlementRecord }
interface AccrualDoc { _id: string; market: string; slot: number; account: string; kind: string; meter: string | null; basis: number; amount: string }

const slotSchema = new Schema<SlotDoc>(
  { _id: String, market: String, slot: Number, computedAt: Number, accounts: [String], deltas: [String], trades: Schema.Types.Mixed, community: { type: Schema.Types.Mixed, default: undefined } },
  { versionKey: false },
);
const rowSchema = new Schema<RowDoc>({ _id: String, market: String, slot: Number, participant: String, row: Schema.Types.Mixed }, { versionKey: false });
rowSchema.index({ participant: 1, slot: -1 });
rowSchema.index({ market: 1, slot: 1, participant: 1 });
const accrualSchema = new Schema<AccrualDoc>(
  { _id: String, market: String, slot: Number, account: String, kind: String, meter: { type: String, default: null }, basis: Number, amount: String },
  { versionKey: false },
);
accrualSchema.index({ account: 1, slot: -1 });
accrualSchema.index({ slot: 1 });

interface EpochDoc { _id: number; toSlot: number; root: string; entitlements: { account: string; cumulative: string }[]; createdAt: number }
const epochSchema = new Schema<EpochDoc>(
  { _id: Number, toSlot: Number, root: String, entitlements: [{ _id: false, account: String, cumulative: String }], createdAt: Number },
  { versionKey: false },
);

const slotId = (market: string, slot: number) => `${market}:${slot}`;

export async function mongoSettlementRepo(conn: Connection): Promise<SettlementRepo> {
  const Slots = conn.model<SlotDoc>('SlotSettlement', slotSchema, 'slot_settlements');
  const Rows = conn.model<RowDoc>('ParticipantSettlement', rowSchema, 'participant_settlements');
  const Accruals = conn.model<AccrualDoc>('RewardAccrual', accrualSchema, 'reward_accruals');
  const Epochs = conn.model<EpochDoc>('RewardEpoch', epochSchema, 'reward_epochs');
  await Promise.all([Slots.init(), Rows.init(), Accruals.init(), Epochs.init()]);
  const toEpoch = (d: EpochDoc): RewardEpochRecord => ({
    epoch: d._id, toSlot: d.toSlot, root: d.root, createdAt: d.createdAt,
    entitlements: (d.entitlements ?? []).map((x) => ({ account: x.account as Address, cumulative: x.cumulative })),
  });

  const toSlot = (d: SlotDoc): SlotSettlementRecord => ({
    market: d.market, slot: d.slot, computedAt: d.computedAt, accounts: d.accounts as Address[], deltas: d.deltas, trades: d.trades,
    ...(d.community ? { community: d.community } : {}),
  });
  const toAccrual = (d: AccrualDoc): RewardAccrualRecord => ({
    market: d.market, slot: d.slot, account: d.account as Address, kind: d.kind as RewardAccrualRecord['kind'],
    meter: (d.meter ?? null) as Address | null, basis: d.basis, amount: d.amount,
  });

  return {
    async save(slot, participants, rewards) {
      const id = slotId(slot.market, slot.slot);
      if (await Slots.exists({ _id: id })) return { created: false };
      // Rows first (idempotent upserts of deterministic values), the slot document last as the commit marker:
      // a crash in between leaves no marker, and the next save rewrites the same rows and then commits.
      if (participants.length) {
        await Rows.bulkWrite(participants.map((r) => {
          const p = key(r.participant) as Address;
          return { replaceOne: { filter: { _id: `${id}:${p}` }, replacement: { _id: `${id}:${p}`, market: r.market, slot: r.slot, participant: p, row: { ...r, participant: p } }, upsert: true } };
        }), { ordered: false });
      }
      if (rewards.length) {
        await Accruals.bulkWrite(rewards.map((a) => {
          const _id = `${id}:${key(a.account)}:${a.kind}:${a.meter ? key(a.meter) : ''}`;
          return { replaceOne: { filter: { _id }, replacement: { _id, market: a.market, slot: a.slot, account: key(a.account), kind: a.kind, meter: a.meter ? key(a.meter) : null, basis: a.basis, amount: a.amount }, upsert: true } };
        }), { ordered: false });
      }
      try {
        await Slots.create({
          _id: id, market: slot.market, slot: slot.slot, computedAt: slot.computedAt, accounts: slot.accounts.map(key), deltas: slot.deltas, trades: slot.trades,
          ...(slot.community ? { community: slot.community } : {}),
        });
        return { created: true };
      } catch (err) {
        if ((err as { code?: number }).code === 11000) return { created: false };
        throw err;
      }
    },
    async get(market, slot) {
      const d = await Slots.findById(slotId(market, slot)).lean<SlotDoc>();
      return d ? toSlot(d) : null;
    },
    async participantsOf(market, slot) {
      if (!(await Slots.exists({ _id: slotId(market, slot) }))) return [];
      const docs = await Rows.find({ market, slot }).sort({ participant: 1 }).lean<RowDoc[]>();
      return docs.map((d) => d.row);
    },
    async forParticipant(participant, range = {}) {
      const filter: Record<string, unknown> = { participant: key(participant), slot: { $gte: range.from ?? 0, $lt: range.to ?? Number.MAX_SAFE_INTEGER } };
      if (range.market) filter.market = range.market;
      const docs = await Rows.find(filter).sort({ slot: -1, market: 1 }).limit(range.limit ?? 1000).lean<RowDoc[]>();
      return docs.map((d) => d.row);
    },
    async rewards(account, range = {}) {
      const docs = await Accruals.find({ account: key(account), slot: { $gte: range.from ?? 0, $lt: range.to ?? Number.MAX_SAFE_INTEGER } })
        .sort({ slot: -1, kind: 1, meter: 1 }).limit(range.limit ?? 1000).lean<AccrualDoc[]>();
      return docs.map(toAccrual);
    },
    async rewardTotals(toSlot) {
      const totals = new Map<string, bigint>();
      const cursor = Accruals.find({ slot: { $lt: toSlot ?? Number.MAX_SAFE_INTEGER } }, { account: 1, amount: 1 }).lean<AccrualDoc[]>().cursor();
      for await (const d of cursor) totals.set(d.account, (totals.get(d.account) ?? 0n) + BigInt(d.amount));
      return [...totals.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([account, v]) => ({ account: account as Address, cumulative: v.toString() }));
    },
    async saveRewardEpoch(e) {
      try {
        await Epochs.create({ _id: e.epoch, toSlot: e.toSlot, root: e.root, createdAt: e.createdAt, entitlements: e.entitlements.map((x) => ({ account: key(x.account), cumulative: x.cumulative })) });
        return { created: true };
      } catch (err) {
        if ((err as { code?: number }).code === 11000) return { created: false };
        throw err;
      }
    },
    async rewardEpoch(epoch) {
      const d = await Epochs.findById(epoch).lean<EpochDoc>();
      return d ? toEpoch(d) : null;
    },
    async rewardEpochs(options = {}) {
      const query = Epochs.find({}).sort({ _id: -1 }).limit(options.limit ?? 100);
      if (options.withEntitlements === false) query.select({ entitlements: 0 });
      return (await query.lean<EpochDoc[]>()).map(toEpoch);
    },
  };
}
