// Settlement outbox driver: sends stored slot batches to EnergyMarket.settleSlot, confirms them, retries, survives restarts.
import { keccak256, type FeeData, type JsonRpcProvider, type TransactionReceipt, type Wallet } from 'ethers';
import type { EnergyMarket } from '@gridmesh/contracts-abi';
import type { OutboxEntry, SettlementBatch, SettlementOutboxStore } from './outbox-store.ts';

export interface OutboxEvents {
  confirmed?(entry: OutboxEntry): void;
  failed?(entry: OutboxEntry): void;
  /** A transient error (RPC down, timeout); the batch will be retried after `retryInMs`. */
  retry?(slotId: number, error: string, retryInMs: number): void;
}

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
  private readonly retryAt = new Map<number, { at: number; delay: number }>();
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
    this.woken = true;
    this.wake?.();
    return added;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.woken = true;
    this.wake?.();
    await this.loop;
    this.loop = undefined;
  }

  /** Resolves once no batch is pending or sent (failed ones do not count). */
  whenIdle(): Promise<void> {
    if (this.store.listUnconfirmed().length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      try {
        await this.step();
      } catch (err) {
        // Only unexpected bugs land here; per-batch errors are handled inside step().
        this.events.retry?.(-1, describe(err), this.retryInitialMs);
        await sleep(this.retryInitialMs);
      }
      // Re-read synchronously: a batch enqueued while step() was finishing must not count as idle.
      const open = this.store.listUnconfirmed();
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

  private nextDueInMs(open: OutboxEntry[]): number {
    if (open.length === 0) return 1000;
    const now = this.now();
    let soonest = Infinity;
    for (const e of open) soonest = Math.min(soonest, (this.retryAt.get(e.slotId)?.at ?? now) - now);
    return Math.max(soonest, 0) || 0;
  }

  /** One pass: re-check sent batches, send due pending ones (up to maxInFlight), wait for their receipts. */
  private async step(): Promise<void> {
    const now = this.now();
    const due = this.store
      .listUnconfirmed()
      .filter((e) => (this.retryAt.get(e.slotId)?.at ?? 0) <= now)
      .slice(0, this.maxInFlight);
    // Sent ones first, in nonce order: a stored transaction must reach the node before any newer nonce.
    due.sort((a, b) => (a.status === b.status ? (a.nonce ?? 0) - (b.nonce ?? 0) || a.slotId - b.slotId : a.status === 'sent' ? -1 : 1));
    const inFlight: OutboxEntry[] = [];
    for (const entry of due) {
      try {
        const flying = entry.status === 'sent' ? await this.resume(entry) : await this.send(entry, await this.feeData());
        if (flying) inFlight.push(flying);
      } catch (err) {
        this.transientError(entry, err, false);
      }
    }
    await Promise.all(
      inFlight.map(async (entry) => {
        try {
          const receipt = await this.waitForInclusion(entry.txHash as string);
          if (!receipt) {
            // Not mined yet: look again on a later pass so new slots are not held up behind it.
            const age = this.now() - (this.store.get(entry.slotId)?.updatedAt ?? this.now());
            if (age > this.receiptTimeoutMs) throw new Error(`transaction ${entry.txHash} not mined ${Math.round(age / 1000)} s after sending`);
            this.recheckLater(entry.slotId);
            return;
          }
          if (this.confirmations > 1 && (await this.provider.getBlockNumber()) - receipt.blockNumber + 1 < this.confirmations) {
            this.recheckLater(entry.slotId);
            return;
          }
          await this.onReceipt(entry, receipt);
        } catch (err) {
          this.transientError(entry, err, false);
        }
      }),
    );
  }

  private async feeData(): Promise<FeeData> {
    if (!this.fees || this.now() - this.fees.at > this.feeCacheMs) this.fees = { at: this.now(), data: await this.provider.getFeeData() };
    return this.fees.data;
  }

  private transientError(entry: OutboxEntry, err: unknown, resetToPending: boolean): void {
    const previous = this.retryAt.get(entry.slotId)?.delay ?? 0;
    const delay = Math.min(this.retryMaxMs, previous ? previous * 2 : this.retryInitialMs);
    const jittered = Math.round(delay * (0.75 + Math.random() * 0.5));
    this.retryAt.set(entry.slotId, { at: this.now() + jittered, delay });
    this.nextNonce = undefined; // re-read from the chain: the failure may have left a gap or consumed a nonce
    this.fees = undefined; // an underpriced transaction is one cause of errors
    const current = this.store.get(entry.slotId) ?? entry;
    this.store.recordError(entry.slotId, describe(err), current.attempts, this.now(), resetToPending);
    this.events.retry?.(entry.slotId, describe(err), jittered);
  }

  /** Local nonce counter (a burst gets consecutive nonces without a round trip); re-read from the chain after any error. */
  private async operatorNonce(): Promise<number> {
    this.nextNonce ??= await this.provider.getTransactionCount(this.operator.address, 'pending');
    return this.nextNonce;
  }

  /** A pending batch: estimate (a slot already on chain reverts SlotAlreadySettled), sign, store, then broadcast. */
  private async send(entry: OutboxEntry, fees: FeeData): Promise<OutboxEntry | undefined> {
    const attempts = entry.attempts + 1;
    let gasLimit: bigint;
    try {
      gasLimit = await this.market.settleSlot.estimateGas(entry.slotId, entry.tradesRoot, entry.tradesCount, entry.accounts, entry.deltas, {
        from: this.operator.address,
      });
    } catch (err) {
      if (isTransient(err)) throw err;
      return await this.refused(entry, err, attempts);
    }
    const nonce = await this.operatorNonce();
    const populated = await this.market.settleSlot.populateTransaction(entry.slotId, entry.tradesRoot, entry.tradesCount, entry.accounts, entry.deltas);
    const feeFields =
      fees.maxFeePerGas !== null && fees.maxPriorityFeePerGas !== null
        ? { maxFeePerGas: fees.maxFeePerGas, maxPriorityFeePerGas: fees.maxPriorityFeePerGas }
        : { gasPrice: fees.gasPrice };
    const tx = await this.operator.populateTransaction({ ...populated, ...feeFields, nonce, gasLimit: (gasLimit * 12n) / 10n });
    const rawTx = await this.operator.signTransaction(tx);
    const txHash = keccak256(rawTx);
    // Stored before broadcast: after a crash the same transaction (same nonce, same hash) is re-broadcast.
    this.store.markSent(entry.slotId, { txHash, nonce, rawTx, attempts }, this.now());
    this.nextNonce = nonce + 1;
    const sent = this.store.get(entry.slotId) as OutboxEntry;
    await this.broadcast(sent);
    return sent;
  }

  private async broadcast(entry: OutboxEntry): Promise<void> {
    try {
      await this.provider.broadcastTransaction(entry.rawTx as string);
    } catch (err) {
      if (!isNonceConsumed(err)) throw err;
      // Either this very transaction is already known/mined (fine), or another one used the nonce.
      const known = await this.provider.getTransaction(entry.txHash as string);
      if (known) return;
      const receipt = await this.provider.getTransactionReceipt(entry.txHash as string);
      if (receipt) return;
      this.nextNonce = undefined;
      this.store.recordError(entry.slotId, `nonce ${entry.nonce} used by another transaction; re-signing`, entry.attempts, this.now(), true);
      throw err;
    }
  }

  /** A batch stored as sent (maybe by an earlier run): find its receipt, or re-broadcast the stored transaction. */
  private async resume(entry: OutboxEntry): Promise<OutboxEntry | undefined> {
    const receipt = await this.provider.getTransactionReceipt(entry.txHash as string);
    if (receipt) return entry;
    const known = await this.provider.getTransaction(entry.txHash as string);
    if (known) return entry;
    if (await this.market.slotSettled(entry.slotId)) {
      await this.confirmFromChain(entry);
      return undefined;
    }
    await this.broadcast(entry);
    return entry;
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

  /** A sent batch waiting for inclusion or confirmations: no error, no backoff growth, just a later look. */
  private recheckLater(slotId: number): void {
    this.retryAt.set(slotId, { at: this.now() + this.confirmPollMs, delay: 0 });
  }

  private async onReceipt(entry: OutboxEntry, receipt: TransactionReceipt): Promise<void> {
    if (receipt.status === 1) {
      this.retryAt.delete(entry.slotId);
      this.store.markConfirmed(
        entry.slotId,
        { txHash: receipt.hash, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber, alreadySettled: false },
        this.now(),
      );
      this.events.confirmed?.(this.store.get(entry.slotId) as OutboxEntry);
      return;
    }
    // Reverted on chain: most likely a concurrent earlier send settled the slot first.
    if (await this.market.slotSettled(entry.slotId)) {
      await this.confirmFromChain(entry);
      return;
    }
    this.retryAt.delete(entry.slotId);
    this.store.markFailed(entry.slotId, `transaction ${receipt.hash} reverted`, entry.attempts, this.now());
    this.events.failed?.(this.store.get(entry.slotId) as OutboxEntry);
  }

  /** The slot is settled on chain already: confirm, taking hash and gas from its SlotSettled event when found. */
  private async confirmFromChain(entry: OutboxEntry): Promise<void> {
    let mark = { txHash: null as string | null, gasUsed: null as bigint | null, blockNumber: null as number | null };
    try {
      const logs = await this.market.queryFilter(this.market.filters.SlotSettled(entry.slotId), this.fromBlock);
      const log = logs[0];
      if (log) {
        const receipt = await this.provider.getTransactionReceipt(log.transactionHash);
        mark = { txHash: log.transactionHash, gasUsed: receipt?.gasUsed ?? null, blockNumber: log.blockNumber };
      }
    } catch {
      // The event is only bookkeeping; slotSettled() already proved the slot is done.
    }
    // Settled by our own stored transaction (e.g. mined just before a crash) is not a duplicate.
    const alreadySettled = mark.txHash === null || mark.txHash !== entry.txHash;
    this.retryAt.delete(entry.slotId);
    this.store.markConfirmed(entry.slotId, { ...mark, alreadySettled }, this.now());
    this.events.confirmed?.(this.store.get(entry.slotId) as OutboxEntry);
  }

  private async refused(entry: OutboxEntry, err: unknown, attempts: number): Promise<undefined> {
    const data = revertData(err);
    const parsed = data ? this.market.interface.parseError(data) : null;
    if (parsed?.name === 'SlotAlreadySettled') {
      await this.confirmFromChain(entry);
      return undefined;
    }
    this.retryAt.delete(entry.slotId);
    this.store.markFailed(entry.slotId, `contract refused the batch: ${parsed ? `${parsed.name}(${parsed.args.join(', ')})` : describe(err)}`, attempts, this.now());
    this.events.failed?.(this.store.get(entry.slotId) as OutboxEntry);
    return undefined;
  }
}
