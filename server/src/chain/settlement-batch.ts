// Turns a delivery slot's trades and netted deltas into the outbox batch (trades root + packed netting).
import { packNetting, type NettedDelta } from '@gridmesh/contracts-abi';
import type { SettlementBatch } from './outbox-store.ts';
import { buildTradeTree, type ProvableTrade } from './trade-proof.ts';

/** Throws (RangeError) on input the contract would refuse: no trades, Σδ ≠ 0, a delta outside int96. */
export function buildSettlementBatch(slotId: number, trades: readonly ProvableTrade[], deltas: readonly NettedDelta[]): SettlementBatch {
  const { root } = buildTradeTree(trades);
  const packed = packNetting(deltas);
  if (packed.count === 0) throw new RangeError(`slot ${slotId}: no balance changes to settle`);
  return { slotId, tradesRoot: root, tradesCount: trades.length, accounts: packed.accounts, deltas: packed.deltas };
}
