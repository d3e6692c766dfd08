// Port of the chain outbox: what the driver needs from persistence (one row per slot batch, one per reward-root epoch).

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

/** The transaction state every outbox row carries, whatever it sends. */
export interface OutboxTxState {
  status: OutboxStatus;
  /** Send attempts so far (broadcasts and refused estimates). */
  attempts: number;
  txHash: string | null;
  nonce: number | null;
  /** Signed transaction, stored before broadcast so a restart re-broadcasts the very same transaction. */
  rawTx: string | null;
  gasUsed: bigint | null;
  blockNumber: number | null;
  /**
   * Confirmed without this row's transaction: the chain already had the slot (an earlier send won; no second debit
   * happened), or a later reward epoch was already published (this root is superseded; claims use the later one).
   */
  alreadySettled: boolean;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface OutboxEntry extends SettlementBatch, OutboxTxState {}

/** One reward epoch's root for EnergyMarket.publishRewardRoot(epoch, root). */
export interface RewardRootPublication {
  /** Contract epoch number, strictly increasing. */
  epoch: number;
  root: string;
  /** The epoch covers reward accruals of slots < toSlot (ms). */
  toSlot: number;
}

export interface RewardRootEntry extends RewardRootPublication, OutboxTxState {}

/** Which row a mark is for: a slot's settlement batch or an epoch's reward root. */
export type OutboxRef = { kind: 'settleSlot'; slotId: number } | { kind: 'rewardRoot'; epoch: number };

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
  /** Stores a reward root as pending; false (and nothing changes) when the epoch is already in the outbox. */
  putRewardRoot(publication: RewardRootPublication, now: number): boolean;
  getRewardRoot(epoch: number): RewardRootEntry | undefined;
  /** Pending and sent reward roots, oldest epoch first. */
  listUnconfirmedRewardRoots(): RewardRootEntry[];
  /** Most recent epochs first. */
  listRecentRewardRoots(limit: number): RewardRootEntry[];
  markSent(ref: OutboxRef, sent: SentMark, now: number): void;
  markConfirmed(ref: OutboxRef, confirmed: ConfirmedMark, now: number): void;
  /** Permanent failure (the contract refuses the transaction): kept for the operator, no longer retried. */
  markFailed(ref: OutboxRef, error: string, attempts: number, now: number): void;
  /** Transient error: the row stays unconfirmed; `resetToPending` also forgets the signed transaction. */
  recordError(ref: OutboxRef, error: string, attempts: number, now: number, resetToPending: boolean): void;
  /** Operator action: a failed row becomes pending again. */
  requeue(ref: OutboxRef, now: number): void;
}
