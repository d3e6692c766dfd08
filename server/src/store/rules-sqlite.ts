// SQLite tables of the rules port: standing trade rules per (participant, meter) and delegated session keys.
import type Database from 'better-sqlite3';
import type { Address, Hex } from '@gridmesh/contracts-abi';
import type { DelegationRecord, RulesRepo, TradeRuleRecord } from './rules-repo.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS trade_rules (
  participant TEXT NOT NULL,
  meter TEXT NOT NULL,
  market TEXT NOT NULL,
  sell_min_price TEXT,
  buy_max_price TEXT,
  enabled INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (participant, meter)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS delegations (
  participant TEXT NOT NULL,
  delegate TEXT NOT NULL,
  expiry INTEGER NOT NULL,
  signature TEXT,
  encrypted_key TEXT,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER,
  PRIMARY KEY (participant, delegate)
) WITHOUT ROWID;
`;

const key = (a: string) => a.toLowerCase();

interface RuleRow { participant: string; meter: string; market: string; sell_min_price: string | null; buy_max_price: string | null; enabled: number; updated_at: number }
interface DelegationRow { participant: string; delegate: string; expiry: number; signature: string | null; encrypted_key: string | null; created_at: number; revoked_at: number | null }

const toRule = (r: RuleRow): TradeRuleRecord => ({
  participant: r.participant as Address, meter: r.meter as Address, market: r.market, minSellPrice: r.sell_min_price, maxBuyPrice: r.buy_max_price,
  enabled: r.enabled === 1, updatedAt: r.updated_at,
});
const toDelegation = (r: DelegationRow): DelegationRecord => ({
  participant: r.participant as Address, delegate: r.delegate as Address, expiry: r.expiry, signature: r.signature as Hex | null,
  encryptedKey: r.encrypted_key, createdAt: r.created_at, revokedAt: r.revoked_at,
});

export function sqliteRulesRepo(db: Database.Database): RulesRepo {
  db.exec(SCHEMA);
  const q = {
    upsertRule: db.prepare(
      `INSERT INTO trade_rules(participant,meter,market,sell_min_price,buy_max_price,enabled,updated_at) VALUES (?,?,?,?,?,?,?)
       ON CONFLICT(participant,meter) DO UPDATE SET market=excluded.market, sell_min_price=excluded.sell_min_price,
       buy_max_price=excluded.buy_max_price, enabled=excluded.enabled, updated_at=excluded.updated_at`,
    ),
    rule: db.prepare('SELECT * FROM trade_rules WHERE participant = ? AND meter = ?'),
    rulesOf: db.prepare('SELECT * FROM trade_rules WHERE participant = ? ORDER BY meter'),
    allRules: db.prepare('SELECT * FROM trade_rules ORDER BY participant, meter'),
    removeRule: db.prepare('DELETE FROM trade_rules WHERE participant = ? AND meter = ?'),
    putDelegation: db.prepare(
      `INSERT INTO delegations(participant,delegate,expiry,signature,encrypted_key,created_at,revoked_at) VALUES (?,?,?,?,?,?,?)
       ON CONFLICT(participant,delegate) DO UPDATE SET expiry=excluded.expiry, signature=excluded.signature,
       encrypted_key=excluded.encrypted_key, revoked_at=excluded.revoked_at`,
    ),
    delegation: db.prepare('SELECT * FROM delegations WHERE participant = ? AND delegate = ?'),
    delegationsOf: db.prepare('SELECT * FROM delegations WHERE participant = ? ORDER BY created_at, delegate'),
    allDelegations: db.prepare('SELECT * FROM delegations ORDER BY participant, created_at, delegate'),
    revoke: db.prepare('UPDATE delegations SET revoked_at = ? WHERE participant = ? AND delegate = ? AND revoked_at IS NULL'),
  };
  return {
    async upsertRule(r) {
      q.upsertRule.run(key(r.participant), key(r.meter), r.market, r.minSellPrice, r.maxBuyPrice, r.enabled ? 1 : 0, r.updatedAt);
      return toRule(q.rule.get(key(r.participant), key(r.meter)) as RuleRow);
    },
    async rule(participant, meter) {
      const r = q.rule.get(key(participant), key(meter)) as RuleRow | undefined;
      return r ? toRule(r) : null;
    },
    async rules(participant) {
      return ((participant ? q.rulesOf.all(key(participant)) : q.allRules.all()) as RuleRow[]).map(toRule);
    },
    async removeRule(participant, meter) {
      return q.removeRule.run(key(participant), key(meter)).changes > 0;
    },
    async putDelegation(d) {
      q.putDelegation.run(key(d.participant), key(d.delegate), d.expiry, d.signature, d.encryptedKey, d.createdAt, d.revokedAt);
      return toDelegation(q.delegation.get(key(d.participant), key(d.delegate)) as DelegationRow);
    },
    async delegation(participant, delegate) {
      const r = q.delegation.get(key(participant), key(delegate)) as DelegationRow | undefined;
      return r ? toDelegation(r) : null;
    },
    async delegations(participant) {
      return ((participant ? q.delegationsOf.all(key(participant)) : q.allDelegations.all()) as DelegationRow[]).map(toDelegation);
    },
    async revokeDelegation(participant, delegate, at) {
      return q.revoke.run(at, key(participant), key(delegate)).changes > 0;
    },
  };
}
