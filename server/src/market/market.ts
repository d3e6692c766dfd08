// The Market: one book per delivery slot, command validation, slot window and gate closure, risk predicates, events out.
import type { BookKind, FillSink, IncomingOrder, OrderBook, OrderBookFamily } from './book.ts';
import { clearCall, indicative, type PriceRule } from './call-auction.ts';
import { marketConfig, parseK } from './config.ts';
import { FastBookFamily } from './fast-book.ts';
import { ReferenceBookFamily } from './reference-book.ts';
import type {
  AmendCommand, BookSnapshotView, CancelCommand, CloseCommand, Indicative, MarketCommand, MarketConfig, MarketEvent,
  OrderView, RejectReason, RiskChecks, RiskContext, SubmitCommand, TickCommand,
} from './types.ts';

export interface MarketOptions {
  /** Which OrderBook implementation backs each slot (default 'fast'; 'reference' exists for tests). */
  book?: BookKind;
  /** Risk predicates supplied by the server (escrow cover for bids, export capacity for asks). */
  risk?: RiskChecks;
  /** Emit `indicative` events after changes to a call book (default true). */
  indicativeEvents?: boolean;
}

const MAX_ID_LENGTH = 200;

function isTime(t: unknown): t is number { return typeof t === 'number' && Number.isSafeInteger(t); }
function isId(id: unknown): id is string { return typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH; }
function isQuantity(q: unknown): q is number { return typeof q === 'number' && Number.isSafeInteger(q) && q > 0; }

interface SlotState { book: OrderBook; lastIndicative: Indicative }

export class Market implements FillSink {
  readonly config: Readonly<MarketConfig>;
  private readonly risk: RiskChecks | undefined;
  private readonly indicativeEvents: boolean;
  private readonly rule: PriceRule;
  private readonly floorN: number;
  private readonly capN: number;
  private readonly tickN: number;
  private readonly slots = new Map<number, SlotState>();
  private readonly closedSlots = new Set<number>();
  /** The slot books and their shared open-order id index (ids are unique among the market's open orders). */
  private readonly books: OrderBookFamily;
  private arrivals = 0;
  private trades = 0;
  // Context of the order being matched, read by onFill.
  private out: MarketEvent[] = [];
  private taker: IncomingOrder | null = null;
  private takerSlot = 0;
  private now = 0;

  constructor(config: Partial<MarketConfig>, options: MarketOptions = {}) {
    this.config = Object.freeze(marketConfig(config));
    this.books = options.book === 'reference' ? new ReferenceBookFamily() : new FastBookFamily(this.config.floor, this.config.tick);
    this.risk = options.risk;
    this.indicativeEvents = options.indicativeEvents ?? true;
    const k = parseK(this.config.k);
    this.rule = { tick: this.config.tick, kNum: k.num, kDen: k.den };
    this.floorN = Number(this.config.floor);
    this.capN = Number(this.config.cap);
    this.tickN = Number(this.config.tick);
  }

  /** Number of trades so far; the next trade gets sequence number tradeSeq + 1. */
  get tradeSeq(): number { return this.trades; }

  /** Apply one command; returns the events it caused, in order. Never throws on bad input: it is rejected. */
  apply(command: MarketCommand): MarketEvent[] {
    const out: MarketEvent[] = [];
    this.out = out;
    const c = command as unknown as Record<string, unknown> | null;
    const type = c !== null && typeof c === 'object' ? c.type : undefined;
    switch (type) {
      case 'submit': this.submit(command as SubmitCommand, out); break;
      case 'cancel': this.cancel(command as CancelCommand, out); break;
      case 'amend': this.amend(command as AmendCommand, out); break;
      case 'close': this.closeCommand(command as CloseCommand, out); break;
      case 'tick': this.tick(command as TickCommand, out); break;
      default: {
        const id = c !== null && typeof c === 'object' && typeof c.id === 'string' ? c.id : null;
        const time = c !== null && typeof c === 'object' && isTime(c.time) ? c.time : null;
        out.push({ type: 'rejected', id, command: typeof type === 'string' ? type : 'unknown', reason: 'invalid_command', time });
      }
    }
    return out;
  }

  private reject(out: MarketEvent[], command: string, id: unknown, reason: RejectReason, time: unknown): void {
    out.push({ type: 'rejected', id: typeof id === 'string' ? id : null, command, reason, time: isTime(time) ? time : null });
  }

  /** Common price checks; null when the price is admissible. */
  private priceProblem(price: unknown): RejectReason | null {
    if (typeof price !== 'bigint') return 'invalid_price';
    // Doubles are exact here: cap ≤ 2^53 − 1, and any larger bigint still converts to something above cap.
    const p = Number(price);
    if (p < this.floorN || p > this.capN) return 'price_out_of_range';
    if ((p - this.floorN) % this.tickN !== 0) return 'off_tick';
    return null;
  }

  /** Slot window: open `horizon` before start, closed from `gate` before start, or already closed. */
  private windowProblem(slot: number, time: number): RejectReason | null {
    if (this.closedSlots.has(slot)) return 'slot_closed';
    if (time < slot - this.config.horizonMs) return 'slot_not_open';
    if (time >= slot - this.config.gateMs) return 'gate_closed';
    return null;
  }

  private riskProblem(order: { id: string; participant: string; slot: number; side: 'bid' | 'ask'; price: bigint; quantityWh: number }, time: number, replacing: OrderView | null): RejectReason | null {
    const check = order.side === 'bid' ? this.risk?.checkBid : this.risk?.checkAsk;
    if (!check) return null;
    const ctx: RiskContext = {
      time,
      config: this.config,
      replacing,
      openOrders: () => this.openOrders(order.participant).filter((o) => o.id !== order.id),
    };
    return check.call(this.risk, order, ctx);
  }

  private submit(c: SubmitCommand, out: MarketEvent[]): void {
    const time = c.time;
    if (!isId(c.id)) return this.reject(out, 'submit', c.id, 'invalid_id', time);
    if (!isTime(time)) return this.reject(out, 'submit', c.id, 'invalid_time', time);
    if (!isId(c.participant)) return this.reject(out, 'submit', c.id, 'invalid_command', time);
    if (c.side !== 'bid' && c.side !== 'ask') return this.reject(out, 'submit', c.id, 'invalid_side', time);
    const priceProblem = this.priceProblem(c.price);
    if (priceProblem) return this.reject(out, 'submit', c.id, priceProblem, time);
    if (!isQuantity(c.quantityWh)) return this.reject(out, 'submit', c.id, 'invalid_quantity', time);
    if (!isTime(c.slot) || c.slot % this.config.slotMs !== 0) return this.reject(out, 'submit', c.id, 'invalid_slot', time);
    const tif = c.tif ?? 'gtc';
    if ((tif !== 'gtc' && tif !== 'ioc') || (tif === 'ioc' && this.config.mechanism === 'call')) return this.reject(out, 'submit', c.id, 'invalid_tif', time);
    if (this.books.locate(c.id) !== null) return this.reject(out, 'submit', c.id, 'duplicate_id', time);
    const windowProblem = this.windowProblem(c.slot, time);
    if (windowProblem) return this.reject(out, 'submit', c.id, windowProblem, time);
    const existing = this.slots.get(c.slot);
    if (this.config.mechanism === 'call' && existing && existing.book.crossesOwn(c.participant, c.side, c.price, null)) {
      return this.reject(out, 'submit', c.id, 'self_cross', time);
    }
    if (this.risk) {
      const riskProblem = this.riskProblem(c, time, null);
      if (riskProblem) return this.reject(out, 'submit', c.id, riskProblem, time);
    }
    const state = existing ?? this.openSlot(c.slot);
    out.push({ type: 'accepted', id: c.id, participant: c.participant, slot: c.slot, side: c.side, price: c.price, quantityWh: c.quantityWh, tif, time });
    const order: IncomingOrder = { id: c.id, participant: c.participant, side: c.side, price: c.price, quantityWh: c.quantityWh, seq: ++this.arrivals, ioc: tif === 'ioc' };
    this.enter(state, order, time, out);
  }

  /** Put an accepted order into its book: match (continuous) or collect (call). */
  private enter(state: SlotState, order: IncomingOrder, time: number, out: MarketEvent[]): void {
    if (this.config.mechanism === 'call') {
      state.book.rest(order);
      this.reportIndicative(state, time, out);
      return;
    }
    this.taker = order;
    this.takerSlot = state.book.slot;
    this.now = time;
    const outcome = state.book.match(order, this);
    this.taker = null;
    if (outcome.result === 'ioc' || outcome.result === 'self_trade') {
      out.push({ type: 'cancelled', id: order.id, slot: state.book.slot, remainingWh: outcome.remainingWh, cause: outcome.result, time });
    }
  }

  /** FillSink: one execution of the current taker against a resting order, at the resting price. */
  onFill(makerId: string, makerParticipant: string, price: bigint, quantityWh: number, makerRemainingWh: number): void {
    const taker = this.taker as IncomingOrder;
    const takerBuys = taker.side === 'bid';
    this.out.push({
      type: 'trade',
      seq: ++this.trades,
      slot: this.takerSlot,
      buy: takerBuys ? taker.id : makerId,
      sell: takerBuys ? makerId : taker.id,
      buyer: takerBuys ? taker.participant : makerParticipant,
      seller: takerBuys ? makerParticipant : taker.participant,
      price,
      quantityWh,
      time: this.now,
    });
  }

  private cancel(c: CancelCommand, out: MarketEvent[]): void {
    if (!isId(c.id)) return this.reject(out, 'cancel', c.id, 'invalid_id', c.time);
    if (!isTime(c.time)) return this.reject(out, 'cancel', c.id, 'invalid_time', c.time);
    const book = this.books.locate(c.id);
    if (!book) return this.reject(out, 'cancel', c.id, 'unknown_order', c.time);
    const view = book.cancel(c.id) as OrderView;
    out.push({ type: 'cancelled', id: c.id, slot: book.slot, remainingWh: view.remainingWh, cause: 'user', time: c.time });
    if (this.config.mechanism === 'call') this.reportIndicative(this.slots.get(book.slot) as SlotState, c.time, out);
  }

  private amend(c: AmendCommand, out: MarketEvent[]): void {
    const time = c.time;
    if (!isId(c.id)) return this.reject(out, 'amend', c.id, 'invalid_id', time);
    if (!isTime(time)) return this.reject(out, 'amend', c.id, 'invalid_time', time);
    if (c.price === undefined && c.quantityWh === undefined) return this.reject(out, 'amend', c.id, 'no_change', time);
    if (c.price !== undefined) {
      const priceProblem = this.priceProblem(c.price);
      if (priceProblem) return this.reject(out, 'amend', c.id, priceProblem, time);
    }
    if (c.quantityWh !== undefined && !isQuantity(c.quantityWh)) return this.reject(out, 'amend', c.id, 'invalid_quantity', time);
    const book = this.books.locate(c.id);
    if (!book) return this.reject(out, 'amend', c.id, 'unknown_order', time);
    const old = book.get(c.id) as OrderView;
    const windowProblem = this.windowProblem(old.slot, time);
    if (windowProblem) return this.reject(out, 'amend', c.id, windowProblem, time);
    const price = c.price ?? old.price;
    const quantityWh = c.quantityWh ?? old.remainingWh;
    if (price === old.price && quantityWh === old.remainingWh) return this.reject(out, 'amend', c.id, 'no_change', time);
    const state = this.slots.get(old.slot) as SlotState;
    if (price === old.price && quantityWh < old.remainingWh) {
      // A pure reduction keeps time priority and needs no risk check: it only lowers the commitment.
      book.reduce(c.id, quantityWh);
      out.push({ type: 'amended', id: c.id, slot: old.slot, price, quantityWh, priorityKept: true, time });
      this.reportIndicative(state, time, out);
      return;
    }
    if (this.config.mechanism === 'call' && book.crossesOwn(old.participant, old.side, price, c.id)) {
      return this.reject(out, 'amend', c.id, 'self_cross', time);
    }
    if (this.risk) {
      const riskProblem = this.riskProblem({ id: c.id, participant: old.participant, slot: old.slot, side: old.side, price, quantityWh }, time, old);
      if (riskProblem) return this.reject(out, 'amend', c.id, riskProblem, time);
    }
    // Any other change loses priority: the order leaves the book and re-enters as the newest arrival (and may trade).
    book.cancel(c.id);
    out.push({ type: 'amended', id: c.id, slot: old.slot, price, quantityWh, priorityKept: false, time });
    this.enter(state, { id: c.id, participant: old.participant, side: old.side, price, quantityWh, seq: ++this.arrivals, ioc: false }, time, out);
  }

  private closeCommand(c: CloseCommand, out: MarketEvent[]): void {
    if (!isTime(c.time)) return this.reject(out, 'close', null, 'invalid_time', c.time);
    if (!isTime(c.slot) || c.slot % this.config.slotMs !== 0) return this.reject(out, 'close', null, 'invalid_slot', c.time);
    if (this.closedSlots.has(c.slot)) return this.reject(out, 'close', null, 'slot_closed', c.time);
    this.closeSlot(c.slot, c.time, out);
  }

  private tick(c: TickCommand, out: MarketEvent[]): void {
    if (!isTime(c.time)) return this.reject(out, 'tick', null, 'invalid_time', c.time);
    const due = [...this.slots.keys()].filter((slot) => c.time >= slot - this.config.gateMs).sort((a, b) => a - b);
    for (const slot of due) this.closeSlot(slot, c.time, out);
  }

  /** Gate closure: a call book clears once; every order still open expires; the slot refuses orders from now on. */
  private closeSlot(slot: number, time: number, out: MarketEvent[]): void {
    const state = this.slots.get(slot);
    this.closedSlots.add(slot);
    this.slots.delete(slot);
    if (!state) {
      if (this.config.mechanism === 'call') out.push({ type: 'cleared', slot, price: null, volumeWh: 0, low: null, high: null, time });
      out.push({ type: 'closed', slot, time });
      return;
    }
    const book = state.book;
    if (this.config.mechanism === 'call') {
      const result = clearCall(book, this.rule, this.config.callRationing);
      out.push({ type: 'cleared', slot, price: result.price, volumeWh: result.volumeWh, low: result.low, high: result.high, time });
      if (result.price !== null) this.pairTrades(slot, result.price, result.bids, result.asks, time, out);
      for (const side of [result.bids, result.asks]) {
        for (let x = 0; x < side.expiredIds.length; x++) out.push({ type: 'expired', id: side.expiredIds[x], slot, remainingWh: side.expiredWh[x], time });
      }
    } else {
      for (const side of ['bid', 'ask'] as const) {
        book.forEachOrder(side, (id, _participant, _price, remainingWh) => {
          out.push({ type: 'expired', id, slot, remainingWh, time });
        });
      }
    }
    book.clear();
    out.push({ type: 'closed', slot, time });
  }

  /** Turn call allocations into bilateral trades: accepted bids and asks, both in priority order, paired front to front. */
  private pairTrades(slot: number, price: bigint, bids: ReturnType<typeof clearCall>['bids'], asks: ReturnType<typeof clearCall>['asks'], time: number, out: MarketEvent[]): void {
    let b = 0;
    let a = 0;
    let bidLeft = 0;
    let askLeft = 0;
    for (;;) {
      while (bidLeft === 0 && b < bids.ids.length) { bidLeft = bids.acceptedWh[b]; if (bidLeft === 0) b++; }
      while (askLeft === 0 && a < asks.ids.length) { askLeft = asks.acceptedWh[a]; if (askLeft === 0) a++; }
      if (bidLeft === 0 || askLeft === 0) break;
      const q = bidLeft < askLeft ? bidLeft : askLeft;
      out.push({ type: 'trade', seq: ++this.trades, slot, buy: bids.ids[b], sell: asks.ids[a], buyer: bids.participants[b], seller: asks.participants[a], price, quantityWh: q, time });
      bidLeft -= q;
      askLeft -= q;
      if (bidLeft === 0) b++;
      if (askLeft === 0) a++;
    }
  }

  private openSlot(slot: number): SlotState {
    const book = this.books.open(slot);
    const state: SlotState = { book, lastIndicative: { price: null, volumeWh: 0, low: null, high: null } };
    this.slots.set(slot, state);
    return state;
  }

  private reportIndicative(state: SlotState, time: number, out: MarketEvent[]): void {
    if (this.config.mechanism !== 'call' || !this.indicativeEvents) return;
    const now = indicative(state.book, this.rule);
    const last = state.lastIndicative;
    if (last.price === now.price && last.volumeWh === now.volumeWh) return;
    state.lastIndicative = now;
    out.push({ type: 'indicative', slot: state.book.slot, price: now.price, volumeWh: now.volumeWh, time });
  }

  // ---- queries (never change state) ----

  /** Aggregated book of a slot: bids descending, asks ascending, at most `depth` levels each. */
  bookSnapshot(slot: number, depth = 10): BookSnapshotView {
    const state = this.slots.get(slot);
    if (!state) return { slot, bids: [], asks: [] };
    return { slot, bids: state.book.levels('bid', depth), asks: state.book.levels('ask', depth) };
  }

  /** What a call book would clear at now; null for an unknown slot. For a continuous book it reports the crossing too (normally none). */
  indicative(slot: number): Indicative | null {
    const state = this.slots.get(slot);
    return state ? indicative(state.book, this.rule) : null;
  }

  /** A participant's open orders across all open slots, by slot then arrival. */
  openOrders(participant: string): OrderView[] {
    const out: OrderView[] = [];
    for (const slot of [...this.slots.keys()].sort((a, b) => a - b)) out.push(...(this.slots.get(slot) as SlotState).book.ordersOf(participant));
    return out;
  }

  /** One open order, or null. */
  order(id: string): OrderView | null {
    const book = this.books.locate(id);
    return book ? book.get(id) : null;
  }

  /** Slots that currently hold a book (open, with at least one order so far), ascending. */
  openSlots(): number[] { return [...this.slots.keys()].sort((a, b) => a - b); }

  /** True once a slot passed gate closure (by `close` or `tick`). */
  isClosed(slot: number): boolean { return this.closedSlots.has(slot); }
}
