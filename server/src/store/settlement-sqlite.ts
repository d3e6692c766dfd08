// SQLite tables of the settlement port: slot settlements, participant rows and reward accruals (once per slot), reward epochs.
import type Database from 'better-sqlite3';
import type { Address } from '@gridmesh/contracts-abi';
import type { ParticipantSettlementRecord, RewardAccrualRecord, RewardEpochRecord, SettlementRepo, SlotSettlementRecord } from './settlement-repo.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS slot_settlements (
  market TEXT NOT NULL,
  slot INTEGER NOT NULL,
  computed_at INTEGER NOT NULL,
  accounts TEXT NOT NULL,
  deltas TEXT NOT NULL,
  trades TEXT NOT NULL,
  community TEXT,
  PRIMARY KEY (market, slot)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS participant_settlements (
  market TEXT NOT NULL,
  slot INTEGER NOT NULL,
  participant TEXT NOT NULL,
  row TEXT NOT NULL,
  PRIMARY KEY (market, slot, participant)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS participant_settlements_by_participant ON participant_settlements(participant, slot);
CREATE TABLE IF NOT EXISTS reward_accruals (
  market TEXT NOT NULL,
  slot INTEGER NOT NULL,
  account TEXT NOT NULL,
  kind TEXT NOT NULL,
  meter TEXT NOT NULL,
  basis INTEGER NOT NULL,
  amount TEXT NOT NULL,
  PRIMARY KEY (market, slot, account, kind, meter)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS reward_accruals_by_account ON reward_accruals(account, slot);
CREATE INDEX IF NOT EXISTS reward_accruals_by_slot ON reward_accruals(slot);
CREATE TABLE IF NOT EXISTS reward_epochs (
  epoch INTEGER PRIMARY KEY,
  to_slot INTEGER NOT NULL,
  root TEXT NOT NULL,
  entitlements TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
`;

const key = (a: string) => a.toLowerCase();

interface SlotRow { market: string; slot: number; computed_at: number; accounts: string; deltas: string; trades: string; community: string | null }
interface EpochRow { epoch: number; to_slot: number; root: string; entitlements?: string; created_at: number }
interface AccrualRow { market: string; slot: number; account: string; kind: string; meter: string; basis: number; amount: string }

const toSlot = (r: SlotRow): SlotSettlementRecord => ({
  market: r.market, slot: r.slot, computedAt: r.computed_at, accounts: JSON.parse(r.accounts), deltas: JSON.parse(r.deltas), trades: JSON.parse(r.trades),
  ...(r.community ? { community: JSON.parse(r.community) } : {}),
});
const toAccrual = (r: AccrualRow): RewardAccrualRecord => ({
  market: r.market, slot: r.slot, account: r.account as Address, kind: r.kind as RewardAccrualRecord['kind'],
  meter: r.meter ? (r.meter as Address) : null, basis: r.basis, amount: r.amount,
});

export function sqliteSettlementRepo(db: Database.Database): SettlementRepo {
  db.exec(SCHEMA);
  // Stores made before community metering was recorded get the column (their rows keep it null).
  const columns = db.prepare('PRAGMA table_info(slot_settlements)').all() as { name: string }[];
  if (!columns.some((c) => c.name === 'community')) db.exec('ALTER TABLE slot_settlements ADD COLUMN community TEXT');
  const q = {
    insertSlot: db.prepare(
      'INSERT OR IGNORE INTO slot_settlements(market,slot,computed_at,accounts,deltas,trades,community) VALUES (?,?,?,?,?,?,?)',
    ),
    insertRow: db.prepare('INSERT INTO participant_settlements(market,slot,participant,row) VALUES (?,?,?,?)'),
    insertAccrual: db.prepare('INSERT INTO reward_accruals(market,slot,account,kind,meter,basis,amount) VALUES (?,?,?,?,?,?,?)'),
    getSlot: db.prepare('SELECT * FROM slot_settlements WHERE market = ? AND slot = ?'),
    rowsOfSlot: db.prepare('SELECT row FROM participant_settlements WHERE market = ? AND slot = ? ORDER BY participant'),
    rowsOfParticipant: db.prepare(
      'SELECT row FROM participant_settlements WHERE participant = ? AND slot >= ? AND slot < ? AND (? IS NULL OR market = ?) ORDER BY slot DESC, market LIMIT ?',
    ),
    accrualsOf: db.prepare('SELECT * FROM reward_accruals WHERE account = ? AND slot >= ? AND slot < ? ORDER BY slot DESC, kind, meter LIMIT ?'),
    accrualAmounts: db.prepare('SELECT account, amount FROM reward_accruals WHERE slot < ?'),
    insertEpoch: db.prepare('INSERT OR IGNORE INTO reward_epochs(epoch,to_slot,root,entitlements,created_at) VALUES (?,?,?,?,?)'),
    getEpoch: db.prepare('SELECT * FROM reward_epochs WHERE epoch = ?'),
    epochs: db.prepare('SELECT * FROM reward_epochs ORDER BY epoch DESC LIMIT ?'),
    epochHeads: db.prepare('SELECT epoch, to_slot, root, created_at FROM reward_epochs ORDER BY epoch DESC LIMIT ?'),
  };
  const toEpoch = (r: EpochRow): RewardEpochRecord => ({
    epoch: r.epoch, toSlot: r.to_slot, root: r.root, entitlements: r.entitlements ? JSON.parse(r.entitlements) : [], createdAt: r.created_at,
  });

  const save = db.transaction((slot: SlotSettlementRecord, rows: ParticipantSettlementRecord[], rewards: RewardAccrualRecord[]) => {
    const info = q.insertSlot.run(slot.market, slot.slot, slot.computedAt, JSON.stringify(slot.accounts.map(key)), JSON.stringify(slot.deltas), JSON.stringify(slot.trades),
      slot.community ? JSON.stringify(slot.community) : null);
    if (info.changes === 0) return false;
    for (const r of rows) q.insertRow.run(r.market, r.slot, key(r.participant), JSON.stringify({ ...r, participant: key(r.participant) }));
    for (const a of rewards) q.insertAccrual.run(a.market, a.slot, key(a.account), a.kind, a.meter ? key(a.meter) : '', a.basis, a.amount);
    return true;
  });

  return {
    async save(slot, participants, rewards) {
      return { created: save(slot, participants, rewards) };
    },
    async get(market, slot) {
      const r = q.getSlot.get(market, slot) as SlotRow | undefined;
      return r ? toSlot(r) : null;
    },
    async participantsOf(market, slot) {
      return (q.rowsOfSlot.all(market, slot) as { row: string }[]).map((r) => JSON.parse(r.row));
    },
    async forParticipant(participant, range = {}) {
      const market = range.market ?? null;
      const rows = q.rowsOfParticipant.all(key(participant), range.from ?? 0, range.to ?? Number.MAX_SAFE_INTEGER, market, market, range.limit ?? 1000) as { row: string }[];
      return rows.map((r) => JSON.parse(r.row) as ParticipantSettlementRecord);
    },
    async rewards(account, range = {}) {
      return (q.accrualsOf.all(key(account), range.from ?? 0, range.to ?? Number.MAX_SAFE_INTEGER, range.limit ?? 1000) as AccrualRow[]).map(toAccrual);
    },
    async rewardTotals(toSlot) {
      const totals = new Map<string, bigint>();
      for (const r of q.accrualAmounts.all(toSlot ?? Number.MAX_SAFE_INTEGER) as { account: string; amount: string }[]) {
        totals.set(r.account, (totals.get(r.account) ?? 0n) + BigInt(r.amount));
      }
      return [...totals.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([account, v]) => ({ account: account as Address, cumulative: v.toString() }));
    },
    async saveRewardEpoch(e) {
      const leaves = e.entitlements.map((x) => ({ account: key(x.account), cumulative: x.cumulative }));
      return { created: q.insertEpoch.run(e.epoch, e.toSlot, e.root, JSON.stringify(leaves), e.createdAt).changes === 1 };
    },
    async rewardEpoch(epoch) {
      const r = q.getEpoch.get(epoch) as EpochRow | undefined;
      return r ? toEpoch(r) : null;
    },
    async rewardEpochs(options = {}) {
      const stmt = options.withEntitlements === false ? q.epochHeads : q.epochs;
      return (stmt.all(options.limit ?? 100) as EpochRow[]).map(toEpoch);
    },
  };
}
