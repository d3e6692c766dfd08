// One live market: the pure engine, its journal in the store (group commit before answering) and rebuild-by-replay on start.
import type { Address } from '@gridmesh/contracts-abi';
import {
  Market, commandToJson, parseCommand, worstCaseCost,
  type MarketCommand, type MarketEvent, type OrderView, type RejectReason, type RejectedEvent, type RiskChecks, type RiskOrder,
} from '../market/index.ts';
import type { MarketCommit, OrderRecord, SlotRecord, Store, TradeRecord } from '../store/index.ts';
import { engineConfig, type MarketSettings } from './market-settings.ts';

/** Free escrow and export capacity, supplied by the server (chain client or local ledger, and the meter registry). */
export interface RiskSources {
  /** Escrow balance of a participant in token base units (null = unknown participant → treated as 0). */
  escrowBalance(participant: Address): bigint | null;
  /** Sum of the export-capable meters' capacity (W) bound to the participant. */
  exportCapacityW(participant: Address): number;
}

/** What an accepted order needs beyond the engine's command: its signed fields, kept with the record. */
export interface OrderMeta {
  nonce: number;
  expiry: number;
  signature: OrderRecord['signature'];
  signer: Address;
  source: OrderRecord['source'];
  timeInForce: OrderRecord['timeInForce'];
}

export interface ExecuteResult {
  events: MarketEvent[];
  rejected: RejectedEvent | null;
  /** Orders whose record changed, after the change. */
  orders: OrderRecord[];
  trades: TradeRecord[];
  slots: SlotRecord[];
}

/** A command applied to the engine; `committed` settles once it (and every command applied before it) is durable. */
export interface AppliedCommand {
  result: ExecuteResult;
  committed: Promise<void>;
}

interface PendingCommit {
  change: MarketCommit;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export function emptySlot(market: string, slot: number, now: number): SlotRecord {
  return { market, slot, state: 'open', stateSince: now, tradeCount: 0, volumeWh: 0, turnover: '0', clearingPrice: null, settlement: null };
}

/** Cost in token base units of `quantityWh` at `price` per kWh, rounded up (what a buyer's escrow must cover). */
export const costOf = (price: bigint, quantityWh: number, gridFee = 0n) => worstCaseCost(price, quantityWh, gridFee);

export class MarketRuntime {
  market: Market;
  /** Open orders by id (records as stored). */
  private readonly open = new Map<string, OrderRecord>();
  /** Slot records of slots not yet settled. */
  private readonly slotRecords = new Map<number, SlotRecord>();
  /** Per participant: cost of bought energy in slots not yet settled (the escrow it still owes). */
  private readonly owed = new Map<string, bigint>();
  private readonly soldWh = new Map<string, number>();
  /**
   * Risk sums kept up to date as open orders change, so a risk check costs O(1) instead of listing the participant's
   * open orders (that listing was ~10 % of the event loop per order): per participant the escrow its open bids lock,
   * per `participant:slot` the Wh its open asks offer, and each open order's own share of those sums.
   */
  private readonly bidLocked = new Map<string, bigint>();
  private readonly askOpenWh = new Map<string, number>();
  private readonly bidShare = new Map<string, bigint>();
  private readonly askShare = new Map<string, number>();
  private queue: Promise<unknown> = Promise.resolve();
  private replaying = false;
  /** Applied commands waiting for the next group commit, in apply (= journal) order. */
  private pending: PendingCommit[] = [];
  private flushScheduled = false;
  private flushing: Promise<void> | null = null;
  /** Set when a commit failed: the engine is ahead of the store until the journal is replayed. */
  private broken = false;

  constructor(readonly settings: MarketSettings, private readonly store: Store, private readonly sources: RiskSources) {
    this.market = this.freshMarket();
  }

  private freshMarket(): Market {
    const self = this;
    const risk: RiskChecks = {
      checkBid: (order, ctx) => (self.replaying ? null : self.checkBid(order, ctx.replacing)),
      checkAsk: (order) => (self.replaying ? null : self.checkAsk(order)),
    };
    return new Market(engineConfig(this.settings), { risk });
  }

  /** Runs `task` after every earlier command has been applied AND committed (slot closure, shutdown drain). */
  serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => this.durable()).then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Runs the synchronous `task` (typically checks + `apply`) after every earlier command was applied, without waiting for
   * their commits: commands arriving in one event-loop turn are then committed together in one transaction.
   */
  pipelined<T>(task: () => T): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Resolves once every command applied so far has been committed (or refused by a failed commit). */
  async durable(): Promise<void> {
    while (this.flushing || this.pending.length > 0) {
      if (!this.flushing) this.startFlush();
      await this.flushing;
    }
  }

  private enqueueCommit(change: MarketCommit): Promise<void> {
    if (this.broken) return Promise.reject(new Error('the market is being rebuilt from its journal after a failed commit'));
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ change, resolve, reject });
      if (!this.flushScheduled && !this.flushing) {
        this.flushScheduled = true;
        // After this I/O turn: every command applied in it shares the transaction.
        setImmediate(() => this.startFlush());
      }
    });
  }

  private startFlush(): void {
    this.flushScheduled = false;
    if (this.flushing || this.pending.length === 0) return;
    this.flushing = this.flush().finally(() => {
      this.flushing = null;
      if (this.pending.length > 0 && !this.flushScheduled) { this.flushScheduled = true; setImmediate(() => this.startFlush()); }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    const repo = this.store.market;
    let done = 0;
    try {
      // commitMany even for one command: the store may commit groups from a writer thread, and all of a process's order
      // commits then queue there instead of contending for SQLite's write lock from two threads.
      if (repo.commitMany) {
        await repo.commitMany(batch.map((p) => p.change));
        done = batch.length;
      } else {
        for (const p of batch) { await repo.commit(p.change); done += 1; }
      }
    } catch (err) {
      // Later commands were applied on top of the failed ones: refuse them all and rebuild memory from what is durable.
      for (const p of batch.slice(0, done)) p.resolve();
      const refused = [...batch.slice(done), ...this.pending];
      this.pending = [];
      this.broken = true;
      for (const p of refused) p.reject(err);
      void this.pipelined(async () => {
        try { await this.load(); } finally { this.broken = false; }
      }).catch(() => undefined);
      return;
    }
    for (const p of batch) p.resolve();
  }

  /** Rebuild books of slots not yet closed by replaying their journal through a fresh engine (no risk checks: they held when accepted). */
  async load(): Promise<void> {
    this.market = this.freshMarket();
    this.open.clear();
    this.slotRecords.clear();
    this.owed.clear();
    this.soldWh.clear();
    const live = await this.store.market.slotsInState(this.settings.id, ['open', 'gate_closed', 'delivering', 'metering', 'settling']);
    for (const s of live) this.slotRecords.set(s.slot, s);
    const openSlots = live.filter((s) => s.state === 'open').map((s) => s.slot);
    const entries = await this.store.market.journal(this.settings.id, openSlots);
    this.replaying = true;
    try {
      for (const e of entries) this.market.apply(parseCommand(JSON.parse(e.command)));
    } finally {
      this.replaying = false;
    }
    this.bidLocked.clear();
    this.askOpenWh.clear();
    this.bidShare.clear();
    this.askShare.clear();
    for (const o of await this.store.market.orders({ market: this.settings.id, status: 'open', limit: 1_000_000 })) {
      if (this.market.order(o.id)) this.setOpen(o);
    }
    for (const s of live) {
      for (const t of await this.store.market.trades({ market: this.settings.id, from: s.slot, to: s.slot + 1 })) this.noteTrade(t);
    }
  }

  private noteTrade(t: TradeRecord): void {
    this.owed.set(t.buyer, (this.owed.get(t.buyer) ?? 0n) + costOf(BigInt(t.price), t.quantityWh, this.settings.gridFee));
    const k = `${t.seller}:${t.slot}`;
    this.soldWh.set(k, (this.soldWh.get(k) ?? 0) + t.quantityWh);
  }

  /** Records `o` as the open version of its order (or forgets the order when `o` is no longer open), keeping the risk sums. */
  private setOpen(o: OrderRecord): void {
    const bid = this.bidShare.get(o.id);
    if (bid !== undefined) {
      const left = (this.bidLocked.get(o.participant) ?? 0n) - bid;
      if (left === 0n) this.bidLocked.delete(o.participant); else this.bidLocked.set(o.participant, left);
      this.bidShare.delete(o.id);
    }
    const ask = this.askShare.get(o.id);
    if (ask !== undefined) {
      const k = `${o.participant}:${o.slot}`;
      const left = (this.askOpenWh.get(k) ?? 0) - ask;
      if (left === 0) this.askOpenWh.delete(k); else this.askOpenWh.set(k, left);
      this.askShare.delete(o.id);
    }
    if (o.status !== 'open') {
      this.open.delete(o.id);
      return;
    }
    this.open.set(o.id, o);
    if (o.side === 'bid') {
      const cost = costOf(BigInt(o.price), o.remainingWh, this.settings.gridFee);
      this.bidShare.set(o.id, cost);
      this.bidLocked.set(o.participant, (this.bidLocked.get(o.participant) ?? 0n) + cost);
    } else {
      const k = `${o.participant}:${o.slot}`;
      this.askShare.set(o.id, o.remainingWh);
      this.askOpenWh.set(k, (this.askOpenWh.get(k) ?? 0) + o.remainingWh);
    }
  }

  /** Escrow a participant has not committed to open bids or to bought energy awaiting settlement. */
  freeEscrow(participant: Address, exceptOrder: string | null = null): { balance: bigint; locked: bigint; owed: bigint; free: bigint } {
    const p = participant.toLowerCase() as Address;
    const balance = this.sources.escrowBalance(p) ?? 0n;
    let locked = this.bidLocked.get(p) ?? 0n;
    if (exceptOrder !== null && this.open.get(exceptOrder)?.participant === p) locked -= this.bidShare.get(exceptOrder) ?? 0n;
    const owed = this.owed.get(p) ?? 0n;
    return { balance, locked, owed, free: balance - locked - owed };
  }

  private checkBid(order: RiskOrder, replacing: OrderView | null): RejectReason | null {
    const { free } = this.freeEscrow(order.participant as Address, replacing?.id ?? null);
    return costOf(order.price, order.quantityWh, this.settings.gridFee) <= free ? null : 'insufficient_escrow';
  }

  private checkAsk(order: RiskOrder): RejectReason | null {
    const capacityWh = Math.floor((this.sources.exportCapacityW(order.participant as Address) * this.settings.slotMs) / 3_600_000);
    let committed = (this.soldWh.get(`${order.participant}:${order.slot}`) ?? 0) + (this.askOpenWh.get(`${order.participant}:${order.slot}`) ?? 0);
    // The order being replaced (amend: same id) does not count against its own new version.
    if (this.open.get(order.id)?.slot === order.slot) committed -= this.askShare.get(order.id) ?? 0;
    return committed + order.quantityWh <= capacityWh ? null : 'export_capacity';
  }

  /** Apply one command, commit it with everything it changed, then return the effects. Rejections change nothing. */
  async execute(command: MarketCommand, meta: OrderMeta | null, slotHint: number): Promise<ExecuteResult> {
    const { result, committed } = this.apply(command, meta, slotHint);
    await committed;
    return result;
  }

  /**
   * Apply one command to the engine and memory now and queue its commit (journal row, nonce, orders, trades, slot totals)
   * for the next group commit. Call only inside `pipelined`/`serial`; answer the sender only after `committed` resolves.
   */
  apply(command: MarketCommand, meta: OrderMeta | null, slotHint: number): AppliedCommand {
    const events = this.market.apply(command);
    const rejected = (events.find((e) => e.type === 'rejected') as RejectedEvent | undefined) ?? null;
    if (rejected) return { result: { events, rejected, orders: [], trades: [], slots: [] }, committed: Promise.resolve() };
    const time = (command as { time: number }).time;
    const changedOrders = new Map<string, OrderRecord>();
    const trades: TradeRecord[] = [];
    const changedSlots = new Map<number, SlotRecord>();
    const slotOf = (slot: number): SlotRecord => {
      const s = changedSlots.get(slot) ?? { ...(this.slotRecords.get(slot) ?? emptySlot(this.settings.id, slot, time)) };
      changedSlots.set(slot, s);
      return s;
    };
    const orderOf = (id: string): OrderRecord | null => {
      const o = changedOrders.get(id) ?? (this.open.has(id) ? { ...this.open.get(id)! } : null);
      if (o) changedOrders.set(id, o);
      return o;
    };
    for (const e of events) {
      switch (e.type) {
        case 'accepted': {
          if (!meta) throw new Error('accepted order without its signed fields');
          changedOrders.set(e.id, {
            id: e.id, market: this.settings.id, slot: e.slot, participant: e.participant as Address, side: e.side, price: e.price.toString(),
            quantityWh: e.quantityWh, filledWh: 0, remainingWh: e.quantityWh, timeInForce: meta.timeInForce, status: 'open', nonce: meta.nonce,
            expiry: meta.expiry, signature: meta.signature, signer: meta.signer, source: meta.source, createdAt: e.time, updatedAt: e.time,
          });
          // A slot's first order creates its record; later ones leave it as it is (no row to rewrite per order).
          if (!this.slotRecords.has(e.slot)) slotOf(e.slot);
          break;
        }
        case 'trade': {
          const s = slotOf(e.slot);
          s.tradeCount += 1;
          s.volumeWh += e.quantityWh;
          s.turnover = (BigInt(s.turnover) + e.price * BigInt(e.quantityWh)).toString();
          trades.push({
            id: `${this.settings.id}-${e.slot}-${s.tradeCount}`, market: this.settings.id, slot: e.slot, seq: s.tradeCount, buyOrder: e.buy,
            sellOrder: e.sell, buyer: e.buyer as Address, seller: e.seller as Address, price: e.price.toString(), quantityWh: e.quantityWh, time: e.time,
          });
          for (const id of [e.buy, e.sell]) {
            const o = orderOf(id);
            if (!o) continue;
            o.filledWh += e.quantityWh;
            o.remainingWh -= e.quantityWh;
            if (o.remainingWh === 0) o.status = 'filled';
            o.updatedAt = e.time;
          }
          break;
        }
        case 'cancelled': {
          const o = orderOf(e.id);
          if (o) { o.status = 'cancelled'; o.remainingWh = e.remainingWh; o.updatedAt = e.time; }
          break;
        }
        case 'expired': {
          const o = orderOf(e.id);
          if (o) { o.status = 'expired'; o.remainingWh = e.remainingWh; o.updatedAt = e.time; }
          break;
        }
        case 'amended': {
          const o = orderOf(e.id);
          if (o) {
            o.price = e.price.toString();
            o.remainingWh = e.quantityWh;
            o.quantityWh = o.filledWh + e.quantityWh;
            o.updatedAt = e.time;
            if (meta) { o.nonce = meta.nonce; o.expiry = meta.expiry; o.signature = meta.signature; o.signer = meta.signer; }
          }
          break;
        }
        case 'cleared': {
          slotOf(e.slot).clearingPrice = e.price === null ? null : e.price.toString();
          break;
        }
        case 'closed': {
          const s = slotOf(e.slot);
          if (s.state === 'open') { s.state = 'gate_closed'; s.stateSince = e.time; }
          break;
        }
        default:
          break;
      }
    }
    const slot = (command as { slot?: number }).slot ?? slotHint;
    const change: MarketCommit = {
      entry: { market: this.settings.id, slot, command: commandToJson(command), time },
      ...(meta && (command.type === 'submit' || command.type === 'amend') ? { nonce: { participant: this.participantOf(command, changedOrders) as Address, nonce: meta.nonce } } : {}),
      orders: [...changedOrders.values()],
      trades,
      slots: [...changedSlots.values()],
    };
    // Memory moves with the engine (the next command's risk checks see this one); a failed commit rebuilds both from the journal.
    for (const o of change.orders) this.setOpen(o);
    for (const t of trades) this.noteTrade(t);
    for (const s of change.slots) this.slotRecords.set(s.slot, s);
    const committed = this.enqueueCommit(change);
    return { result: { events, rejected: null, orders: change.orders, trades, slots: change.slots }, committed };
  }

  private participantOf(command: MarketCommand, changed: Map<string, OrderRecord>): string {
    if (command.type === 'submit') return command.participant;
    const id = (command as { id: string }).id;
    return (changed.get(id) ?? this.open.get(id))?.participant ?? '';
  }

  get storeRef(): Store { return this.store; }

  openOrder(id: string): OrderRecord | null { return this.open.get(id) ?? null; }
  openOrdersOf(participant: Address): OrderRecord[] {
    const p = participant.toLowerCase();
    return [...this.open.values()].filter((o) => o.participant === p);
  }
  slotRecord(slot: number): SlotRecord | null { return this.slotRecords.get(slot) ?? null; }
  liveSlots(): SlotRecord[] { return [...this.slotRecords.values()].sort((a, b) => a.slot - b.slot); }

  /** Store a lifecycle state change of a slot (not a market command). */
  async saveSlot(record: SlotRecord): Promise<void> {
    await this.store.market.upsertSlot(record);
    if (record.state === 'settled') {
      this.slotRecords.delete(record.slot);
      await this.forgetSettled(record.slot);
    } else this.slotRecords.set(record.slot, record);
  }

  /** Once a slot is settled its buyers' debts are paid on chain (the escrow balance reflects them): stop counting them. */
  private async forgetSettled(slot: number): Promise<void> {
    for (const t of await this.store.market.trades({ market: this.settings.id, from: slot, to: slot + 1 })) {
      const left = (this.owed.get(t.buyer) ?? 0n) - costOf(BigInt(t.price), t.quantityWh, this.settings.gridFee);
      if (left > 0n) this.owed.set(t.buyer, left);
      else this.owed.delete(t.buyer);
      this.soldWh.delete(`${t.seller}:${t.slot}`);
    }
  }
}
