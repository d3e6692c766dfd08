// Chain outbox driver: sends stored slot batches (settleSlot) and reward roots (publishRewardRoot) with the operator key,
// confirms them, retries, survives restarts. The only sender with that key, so it owns the operator's nonces.
import { keccak256, type ContractTransaction, type FeeData, type JsonRpcProvider, type TransactionReceipt, type Wallet } from 'ethers';
import type { EnergyMarket } from '@gridmesh/contracts-abi';
import type { OutboxEntry, OutboxRef, OutboxTxState, RewardRootEntry, RewardRootPublication, SettlementBatch, SettlementOutboxStore } from './outbox-store.ts';

export interface OutboxEvents {
  confirmed?(entry: OutboxEntry): void;
  failed?(entry: OutboxEntry): void;
  rewardRootConfirmed?(entry: RewardRootEntry): void;
  rewardRootFailed?(entry: RewardRootEntry): void;
  /** A transient error (RPC down, timeout); the row will be retried after `retryInMs`. `ref` is null for a driver bug. */
  retry?(ref: OutboxRef | null, error: string, retryInMs: number): void;
}

/** A stored row the driver works on: which one it is and its transaction state. */
interface Job {
  ref: OutboxRef;
  /** Key of the retry schedule. */
  key: string;
  state: OutboxTxState;
}

const jobKey = (ref: OutboxRef) => (ref.kind === 'settleSlot' ? `slot:${ref.slotId}` : `epoch:${ref.epoch}`);
const slotJob = (e: OutboxEntry): Job => { const ref: OutboxRef = { kind: 'settleSlot', slotId: e.slotId }; return { ref, key: jobKey(ref), state: e }; };
const rootJob = (e: RewardRootEntry): Job => { const ref: OutboxRef = { kind: 'rewardRoot', epoch: e.epoch }; return { ref, key: jobKey(ref), state: e }; };

export interface SettlementOutboxOptions {
  store: SettlementOutboxStore;
  /** EnergyMarket connected to anything that can call views (the operator wallet's provider is used to send). */
  market: EnergyMarket;
  /** Operator wallet connected to the chain's provider; the outbox should be the only sender with this key. */
  operator: Wallet;
  confirmations?: number;
  /** Exponential backoff per batch after a transient error. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Batches broadcast before waiting for their receipts (distinct nonces, so a burst does not collide). */
  maxInFlight?: number;
  /** How long one pass waits for a receipt before moving on (the batch is looked at again later). Default 5000. */
  receiptWaitMs?: number;
  /** A sent transaction still not mined after this long is reported as an error (default 120000). */
  receiptTimeoutMs?: number;
  /** Delay before looking again at a batch waiting for inclusion or confirmations. Default 1000. */
  confirmPollMs?: number;
  /** Poll interval for receipts and for new work. */
  pollMs?: number;
  /** Fee data is reused this long (base fee moves at most 12.5% per block; maxFee is 2× base). Default 2000 ms. */
  feeCacheMs?: number;
  /** Block the market was deployed at (bounds the event search for slots settled by an earlier run). */
  fromBlock?: number;
  now?: () => number;
  events?: OutboxEvents;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Errors that mean "the node or the link failed", as opposed to "the contract refused". */
function isTransient(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  if (code === 'CALL_EXCEPTION') return !revertData(err);
  return true;
}

function revertData(err: unknown): string | undefined {
  const e = err as { data?: unknown; info?: { error?: { data?: unknown } } };
  const data = e.data ?? e.info?.error?.data;
  return typeof data === 'string' && data.length >= 10 ? data : undefined;
}

function isNonceConsumed(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  const message = String((err as Error).message ?? '');
  return code === 'NONCE_EXPIRED' || /nonce too low|nonce has already been used|already known|known transaction/i.test(message);
}

function describe(err: unknown): string {
  const e = err as { shortMessage?: string; message?: string };
  return (e.shortMessage ?? e.message ?? String(err)).slice(0, 500);
}

export class SettlementOutbox {
  private readonly store: SettlementOutboxStore;
  private readonly market: EnergyMarket;
  private readonly operator: Wallet;
  private readonly provider: JsonRpcProvider;
  private readonly confirmations: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly maxInFlight: number;
  private readonly receiptTimeoutMs: number;
  private readonly receiptWaitMs: number;
  private readonly confirmPollMs: number;
  private readonly pollMs: number;
  private readonly fromBlock: number;
  private readonly feeCacheMs: number;
  private fees: { at: number; data: FeeData } | undefined;
  private readonly now: () => number;
  private readonly events: OutboxEvents;
  private readonly retryAt = new Map<string, { at: number; delay: number }>();
  private nextNonce: number | undefined;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Set by enqueue/stop so a wake-up between two passes is not lost. */
  private woken = false;
  private idleWaiters: (() => void)[] = [];

  constructor(o: SettlementOutboxOptions) {
    if (!o.operator.provider) throw new Error('SettlementOutbox: the operator wallet must be connected to a provider');
    this.store = o.store;
    this.market = o.market;
    this.operator = o.operator;
    this.provider = o.operator.provider as JsonRpcProvider;
    this.confirmations = Math.max(1, o.confirmations ?? 1);
    this.retryInitialMs = o.retryInitialMs ?? 500;
    this.retryMaxMs = o.retryMaxMs ?? 30_000;
    this.maxInFlight = o.maxInFlight ?? 16;
    this.receiptTimeoutMs = o.receiptTimeoutMs ?? 120_000;
    this.receiptWaitMs = o.receiptWaitMs ?? 5000;
    this.confirmPollMs = o.confirmPollMs ?? 1000;
    this.pollMs = o.pollMs ?? 50;
    this.fromBlock = o.fromBlock ?? 0;
    this.feeCacheMs = o.feeCacheMs ?? 2000;
    this.now = o.now ?? Date.now;
    this.events = o.events ?? {};
  }

  /** Commits the batch (before anything is sent) and wakes the driver. False when the slot was already queued. */
  enqueue(batch: SettlementBatch): boolean {
    const added = this.store.put(batch, this.now());
    this.kick();
    return added;
  }

  /** Commits a reward epoch's root (before anything is sent) and wakes the driver. False when the epoch was already queued. */
  enqueueRewardRoot(publication: RewardRootPublication): boolean {
    const added = this.store.putRewardRoot(publication, this.now());
    this.kick();
    return added;
  }

  private kick(): void {
    this.woken = true;
    this.wake?.();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await this.loop;
    this.loop = undefined;
  }

  /** Resolves once no batch or reward root is pending or sent (failed ones do not count). */
  whenIdle(): Promise<void> {
    if (this.openJobs().length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Pending and sent rows of both kinds. */
  private openJobs(): Job[] {
    return [...this.store.listUnconfirmed().map(slotJob), ...this.store.listUnconfirmedRewardRoots().map(rootJob)];
  }

  /** The row's current stored state (marks change it). */
  private reload(job: Job): Job {
    const state = job.ref.kind === 'settleSlot' ? this.store.get(job.ref.slotId) : this.store.getRewardRoot(job.ref.epoch);
    return state ? { ...job, state } : job;
  }

  private describeJob(job: Job): string {
    return job.ref.kind === 'settleSlot' ? `slot ${job.ref.slotId}` : `reward epoch ${job.ref.epoch}`;
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      try {
        await this.step();
      } catch (err) {
        // Only unexpected bugs land here; per-row errors are handled inside step().
        this.events.retry?.(null, describe(err), this.retryInitialMs);
        await sleep(this.retryInitialMs);
      }
      // Re-read synchronously: a row enqueued while step() was finishing must not count as idle.
      const open = this.openJobs();
      if (open.length === 0) {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
      if (!this.running) break;
      const dueIn = this.nextDueInMs(open);
      if (dueIn > 0 && !this.woken) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(dueIn, 1000));
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      this.wake = undefined;
    }
  }

  private nextDueInMs(open: Job[]): number {
    if (open.length === 0) return 1000;
    const now = this.now();
    let soonest = Infinity;
    for (const j of open) soonest = Math.min(soonest, (this.retryAt.get(j.key)?.at ?? now) - now);
    return Math.max(soonest, 0) || 0;
  }

  /** One pass: re-check sent rows, send due pending ones (up to maxInFlight), wait for their receipts. */
  private async step(): Promise<void> {
    const now = this.now();
    const due = this.openJobs()
      .filter((j) => (this.retryAt.get(j.key)?.at ?? 0) <= now)
      // Sent ones first, in nonce order: a stored transaction must reach the node before any newer nonce. Pending ones
      // in the order they were stored (a reward root after the slots it covers).
      .sort((a, b) =>
        a.state.status === b.state.status
          ? (a.state.nonce ?? 0) - (b.state.nonce ?? 0) || a.state.createdAt - b.state.createdAt || (a.key < b.key ? -1 : 1)
          : a.state.status === 'sent' ? -1 : 1)
      .slice(0, this.maxInFlight);
    const inFlight: Job[] = [];
    for (const job of due) {
      try {
        const flying = job.state.status === 'sent' ? await this.resume(job) : await this.send(job, await this.feeData());
        if (flying) inFlight.push(flying);
      } catch (err) {
        this.transientError(job, err, false);
      }
    }
    await Promise.all(
      inFlight.map(async (job) => {
        try {
          const receipt = await this.waitForInclusion(job.state.txHash as string);
          if (!receipt) {
            // Not mined yet: look again on a later pass so new rows are not held up behind it.
            const age = this.now() - (this.reload(job).state.updatedAt ?? this.now());
            if (age > this.receiptTimeoutMs) throw new Error(`transaction ${job.state.txHash} not mined ${Math.round(age / 1000)} s after sending`);
            this.recheckLater(job);
            return;
          }
          if (this.confirmations > 1 && (await this.provider.getBlockNumber()) - receipt.blockNumber + 1 < this.confirmations) {
            this.recheckLater(job);
            return;
          }
          await this.onReceipt(job, receipt);
        } catch (err) {
          this.transientError(job, err, false);
        }
      }),
    );
  }

  private async feeData(): Promise<FeeData> {
    if (!this.fees || this.now() - this.fees.at > this.feeCacheMs) this.fees = { at: this.now(), data: await this.provider.getFeeData() };
    return this.fees.data;
  }

  private transientError(job: Job, err: unknown, resetToPending: boolean): void {
    const previous = this.retryAt.get(job.key)?.delay ?? 0;
    const delay = Math.min(this.retryMaxMs, previous ? previous * 2 : this.retryInitialMs);
    const jittered = Math.round(delay * (0.75 + Math.random() * 0.5));
    this.retryAt.set(job.key, { at: this.now() + jittered, delay });
    this.nextNonce = undefined; // re-read from the chain: the failure may have left a gap or consumed a nonce
    this.fees = undefined; // an underpriced transaction is one cause of errors
    this.store.recordError(job.ref, describe(err), this.reload(job).state.attempts, this.now(), resetToPending);
    this.events.retry?.(job.ref, describe(err), jittered);
  }

  /** Local nonce counter (a burst gets consecutive nonces without a round trip); re-read from the chain after any error. */
  private async operatorNonce(): Promise<number> {
    this.nextNonce ??= await this.provider.getTransactionCount(this.operator.address, 'pending');
    return this.nextNonce;
  }

  /** The contract call of a row: settleSlot for a slot batch, publishRewardRoot for an epoch. */
  private async call(job: Job, mode: 'estimate'): Promise<bigint>;
  private async call(job: Job, mode: 'populate'): Promise<ContractTransaction>;
  private async call(job: Job, mode: 'estimate' | 'populate'): Promise<bigint | ContractTransaction> {
    const from = { from: this.operator.address };
    if (job.ref.kind === 'settleSlot') {
      const e = job.state as OutboxEntry;
      const args = [e.slotId, e.tradesRoot, e.tradesCount, e.accounts, e.deltas] as const;
      return mode === 'estimate' ? this.market.settleSlot.estimateGas(...args, from) : this.market.settleSlot.populateTransaction(...args);
    }
    const r = job.state as RewardRootEntry;
    return mode === 'estimate' ? this.market.publishRewardRoot.estimateGas(r.epoch, r.root, from) : this.market.publishRewardRoot.populateTransaction(r.epoch, r.root);
  }

  /** Whether the chain already holds what the row would send (the slot settled; this or a later epoch published). */
  private async doneOnChain(job: Job): Promise<boolean> {
    if (job.ref.kind === 'settleSlot') return this.market.slotSettled(job.ref.slotId);
    return (await this.market.rewardEpoch()) >= BigInt(job.ref.epoch);
  }

  /** A pending row: estimate (a slot already on chain reverts SlotAlreadySettled), sign, store, then broadcast. */
  private async send(job: Job, fees: FeeData): Promise<Job | undefined> {
    const attempts = job.state.attempts + 1;
    let gasLimit: bigint;
    try {
      gasLimit = await this.call(job, 'estimate');
    } catch (err) {
      if (isTransient(err)) throw err;
      return await this.refused(job, err, attempts);
    }
    const nonce = await this.operatorNonce();
    const populated = await this.call(job, 'populate');
    const feeFields =
      fees.maxFeePerGas !== null && fees.maxPriorityFeePerGas !== null
        ? { maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas }
        : { gasPrice: fees.gasPrice };
    const tx = await this.operator.populateTransaction({ ...populated, ...feeFields, nonce, gasLimit: (gasLimit * 12n) / 10n });
    const rawTx = await this.operator.signTransaction(tx);
    const txHash = keccak256(rawTx);
    // Stored before broadcast: after a crash the same transaction (same nonce, same hash) is re-broadcast.
    this.store.markSent(job.ref, { txHash, nonce, rawTx, attempts }, this.now());
    this.nextNonce = nonce + 1;
    const sent = this.reload(job);
    await this.broadcast(sent);
    return sent;
  }

  private async broadcast(job: Job): Promise<void> {
    const { rawTx, txHash } = job.state;
    try {
      await this.provider.broadcastTransaction(rawTx as string);
    } catch (err) {
      if (!isNonceConsumed(err)) throw err;
      // Either this very transaction is already known/mined (fine), or another one used the nonce.
      const known = await this.provider.getTransaction(txHash as string);
      if (known) return;
      const receipt = await this.provider.getTransactionReceipt(txHash as string);
      if (receipt) return;
      this.nextNonce = undefined;
      this.store.recordError(job.ref, `nonce ${job.state.nonce} used by another transaction; re-signing`, job.state.attempts, this.now(), true);
      throw err;
    }
  }

  /** A row stored as sent (maybe by an earlier run): find its receipt, or re-broadcast the stored transaction. */
  private async resume(job: Job): Promise<Job | undefined> {
    const txHash = job.state.txHash as string;
    const receipt = await this.provider.getTransactionReceipt(txHash);
    if (receipt) return job;
    const known = await this.provider.getTransaction(txHash);
    if (known) return job;
    if (await this.doneOnChain(job)) {
      await this.confirmFromChain(job);
      return undefined;
    }
    await this.broadcast(job);
    return job;
  }

  /** Polls for the receipt up to receiptWaitMs; null if the transaction is not in a block yet. */
  private async waitForInclusion(txHash: string): Promise<TransactionReceipt | null> {
    const deadline = this.now() + this.receiptWaitMs;
    for (;;) {
      const receipt = await this.provider.getTransactionReceipt(txHash);
      if (receipt || this.now() > deadline) return receipt;
      await sleep(this.pollMs);
    }
  }

  /** A sent row waiting for inclusion or confirmations: no error, no backoff growth, just a later look. */
  private recheckLater(job: Job): void {
    this.retryAt.set(job.key, { at: this.now() + this.confirmPollMs, delay: 0 });
  }

  private emit(job: Job, outcome: 'confirmed' | 'failed'): void {
    if (job.ref.kind === 'settleSlot') {
      const e = this.store.get(job.ref.slotId) as OutboxEntry;
      if (outcome === 'confirmed') this.events.confirmed?.(e); else this.events.failed?.(e);
    } else {
      const e = this.store.getRewardRoot(job.ref.epoch) as RewardRootEntry;
      if (outcome === 'confirmed') this.events.rewardRootConfirmed?.(e); else this.events.rewardRootFailed?.(e);
    }
  }

  private async onReceipt(job: Job, receipt: TransactionReceipt): Promise<void> {
    if (receipt.status === 1) {
      this.retryAt.delete(job.key);
      this.store.markConfirmed(job.ref, { txHash: receipt.hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber, alreadySettled: false }, this.now());
      this.emit(job, 'confirmed');
      return;
    }
    // Reverted on chain: most likely a concurrent earlier send settled the slot (or published the epoch) first.
    if (await this.doneOnChain(job)) {
      await this.confirmFromChain(job);
      return;
    }
    this.retryAt.delete(job.key);
    this.store.markFailed(job.ref, `transaction ${receipt.hash} reverted`, job.state.attempts, this.now());
    this.emit(job, 'failed');
  }

  /** The chain already holds the row's effect: confirm, taking hash and gas from its event when found. */
  private async confirmFromChain(job: Job): Promise<void> {
    let mark = { txHash: null as string | null, gasUsed: null as bigint | null, blockNumber: null as number | null };
    try {
      const filter = job.ref.kind === 'settleSlot' ? this.market.filters.SlotSettled(job.ref.slotId) : this.market.filters.RewardRootPublished(job.ref.epoch);
      const logs = await this.market.queryFilter(filter, this.fromBlock);
      const log = logs[0];
      if (log) {
        const receipt = await this.provider.getTransactionReceipt(log.transactionHash);
        mark = { txHash: log.transactionHash, gasUsed: receipt?.gasUsed ?? null, blockNumber: log.blockNumber };
      }
    } catch {
      // The event is only bookkeeping; doneOnChain() already proved the effect is there.
    }
    // Done by our own stored transaction (e.g. mined just before a crash) is not a duplicate; no event for an epoch
    // means a later epoch superseded it.
    const alreadySettled = mark.txHash === null || mark.txHash !== job.state.txHash;
    this.retryAt.delete(job.key);
    this.store.markConfirmed(job.ref, { ...mark, alreadySettled }, this.now());
    this.emit(job, 'confirmed');
  }

  private async refused(job: Job, err: unknown, attempts: number): Promise<undefined> {
    const data = revertData(err);
    const parsed = data ? this.market.interface.parseError(data) : null;
    if (parsed?.name === 'SlotAlreadySettled' || parsed?.name === 'EpochNotIncreasing') {
      await this.confirmFromChain(job);
      return undefined;
    }
    this.retryAt.delete(job.key);
    const what = job.ref.kind === 'settleSlot' ? 'the batch' : 'the reward root';
    this.store.markFailed(job.ref, `contract refused ${what} of ${this.describeJob(job)}: ${parsed ? `${parsed.name}(${parsed.args.join(', ')})` : describe(err)}`, attempts, this.now());
    this.emit(job, 'failed');
    return undefined;
  }
}
