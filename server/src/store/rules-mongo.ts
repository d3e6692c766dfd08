// MongoDB collections of the rules port (mongoose): trade rules and delegated session keys.
import { Schema, type Connection } from 'mongoose';
import type { Address, Hex } from '@gridmesh/contracts-abi';
import type { DelegationRecord, RulesRepo, TradeRuleRecord } from './rules-repo.ts';

const key = (a: string) => a.toLowerCase();

interface RuleDoc extends Omit<TradeRuleRecord, 'participant' | 'meter'> { _id: string; participant: string; meter: string }
interface DelegationDoc extends Omit<DelegationRecord, 'participant' | 'delegate'> { _id: string; participant: string; delegate: string }

const ruleSchema = new Schema<RuleDoc>(
  { _id: String, participant: { type: String, index: true }, meter: String, market: String, minSellPrice: { type: String, default: null }, maxBuyPrice: { type: String, default: null }, enabled: Boolean, updatedAt: Number },
  { versionKey: false },
);
const delegationSchema = new Schema<DelegationDoc>(
  {
    _id: String, participant: { type: String, index: true }, delegate: String, expiry: Number, signature: { type: String, default: null },
    encryptedKey: { type: String, default: null }, createdAt: Number, revokedAt: { type: Number, default: null },
  },
  { versionKey: false },
);

const toRule = (d: RuleDoc): TradeRuleRecord => ({
  participant: d.participant as Address, meter: d.meter as Address, market: d.market, minSellPrice: d.minSellPrice ?? null, maxBuyPrice: d.maxBuyPrice ?? null,
  enabled: d.enabled, updatedAt: d.updatedAt,
});
const toDelegation = (d: DelegationDoc): DelegationRecord => ({
  participant: d.participant as Address, delegate: d.delegate as Address, expiry: d.expiry, signature: (d.signature ?? null) as Hex | null,
  encryptedKey: d.encryptedKey ?? null, createdAt: d.createdAt, revokedAt: d.revokedAt ?? null,
});

export async function mongoRulesRepo(conn: Connection): Promise<RulesRepo> {
  const Rules = conn.model<RuleDoc>('TradeRule', ruleSchema, 'trade_rules');
  const Delegations = conn.model<DelegationDoc>('Delegation', delegationSchema, 'delegations');
  await Promise.all([Rules.init(), Delegations.init()]);
  return {
    async upsertRule(r) {
      const p = key(r.participant);
      const m = key(r.meter);
      const doc = { _id: `${p}:${m}`, participant: p, meter: m, market: r.market, minSellPrice: r.minSellPrice, maxBuyPrice: r.maxBuyPrice, enabled: r.enabled, updatedAt: r.updatedAt };
      await Rules.replaceOne({ _id: doc._id }, doc, { upsert: true });
      return toRule(doc);
    },
    async rule(participant, meter) {
      const d = await Rules.findById(`${key(participant)}:${key(meter)}`).lean<RuleDoc>();
      return d ? toRule(d) : null;
    },
    async rules(participant) {
      const docs = await Rules.find(participant ? { participant: key(participant) } : {}).sort({ participant: 1, meter: 1 }).lean<RuleDoc[]>();
      return docs.map(toRule);
    },
    async removeRule(participant, meter) {
      const res = await Rules.deleteOne({ _id: `${key(participant)}:${key(meter)}` });
      return res.deletedCount > 0;
    },
    async putDelegation(d) {
      const p = key(d.participant);
      const g = key(d.delegate);
      const existing = await Delegations.findById(`${p}:${g}`).lean<DelegationDoc>();
      const doc = {
        _id: `${p}:${g}`, participant: p, delegate: g, expiry: d.expiry, signature: d.signature, encryptedKey: d.encryptedKey,
        createdAt: existing?.createdAt ?? d.createdAt, revokedAt: d.revokedAt,
      };
      await Delegations.replaceOne({ _id: doc._id }, doc, { upsert: true });
      return toDelegation(doc);
    },
    async delegation(participant, delegate) {
      const d = await Delegations.findById(`${key(participant)}:${key(delegate)}`).lean<DelegationDoc>();
      return d ? toDelegation(d) : null;
    },
    async delegations(participant) {
      const docs = await Delegations.find(participant ? { participant: key(participant) } : {}).sort({ participant: 1, createdAt: 1, delegate: 1 }).lean<DelegationDoc[]>();
      return docs.map(toDelegation);
    },
    async revokeDelegation(participant, delegate, at) {
      const res = await Delegations.updateOne({ _id: `${key(participant)}:${key(delegate)}`, revokedAt: null }, { $set: { revokedAt: at } });
      return res.modifiedCount > 0;
    },
  };
}
