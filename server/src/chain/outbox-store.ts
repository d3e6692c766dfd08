// Port of the settlement outbox: what the driver needs from persistence (one row per delivery slot batch).

/** One slot's settlement as sent to EnergyMarket.settleSlot (packed netting, see packNetting in contracts-abi). */
export interface SettlementBatch {
  /** Delivery slot start, ms since epoch (the contract's slotId). */
  slotId: number;
  /** Root of the slot's trades tree (StandardMerkleTree over TRADE_LEAF_ENCODING). */
  tradesRoot: string;
  tradesCount: number;
  /** Packed 20-byte accounts, ascending. */
  accounts: string;
  /** Packed 12-byte int96 deltas, same order, Σ = 0. */
  deltas: string;
}

export type OutboxStatus = 'pending' | 'sent' | 'confirmed' | 'failed';

export interface OutboxEntry extends SettlementBatch {
  status: OutboxStatus;
  /** Send attempts so far (broadcasts and refused estimates). */
  attempts: number;
  txHash: string | null;
  nonce: number | null;
  /** Signed transaction, stored before broadcast so a restart re-broadcasts the very same transaction. */
  rawTx: string | null;
  gasUsed: bigint | null;
  blockNumber: number | null;
  /** Confirmed because the chain already had the slot (an earlier send won); no second debit happened. */
  alreadySettled: boolean;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface SentMark {
  txHash: string;
  nonce: number;
  rawTx: string;
  attempts: number;
}

export interface ConfirmedMark {
  txHash: string | null;
  gasUsed: bigint | null;
  blockNumber: number | null;
  alreadySettled: boolean;
}

export interface SettlementOutboxStore {
  /** Stores a new batch as pending; returns false (and changes nothing) when the slot is already in the outbox. */
  put(batch: SettlementBatch, now: number): boolean;
  get(slotId: number): OutboxEntry | undefined;
  /** Pending and sent batches, oldest slot first. */
  listUnconfirmed(): OutboxEntry[];
  /** Most recent batches first, for the operator's settlement view. */
  listRecent(limit: number): OutboxEntry[];
  markSent(slotId: number, sent: SentMark, now: number): void;
  markConfirmed(slotId: number, confirmed: ConfirmedMark, now: number): void;
  /** Permanent failure (the contract refuses the batch): kept for the operator, no longer retried. */
  markFailed(slotId: number, error: string, attempts: number, now: number): void;
  /** Transient error: the batch stays unconfirmed; `resetToPending` also forgets the signed transaction. */
  recordError(slotId: number, error: string, attempts: number, now: number, resetToPending: boolean): void;
  /** Operator action: a failed batch becomes pending again. */
  requeue(slotId: number, now: number): void;
}
