// Reference OrderBook: sorted arrays of plain orders, written to be obviously correct; the fast book is tested against it.
import type { FillSink, IncomingOrder, LevelVisitor, MatchOutcome, OrderBook, OrderBookFamily, OrderVisitor } from './book.ts';
import type { BookLevelView, OrderView, Side } from './types.ts';

interface RestingOrder { id: string; participant: string; side: Side; price: bigint; remainingWh: number; seq: number }

/** Priority comparison: negative when a goes before b. */
function before(side: Side, a: RestingOrder, b: RestingOrder): boolean {
  if (a.price !== b.price) return side === 'bid' ? a.price > b.price : a.price < b.price;
  return a.seq < b.seq;
}

export class ReferenceOrderBook implements OrderBook {
  private readonly bids: RestingOrder[] = [];
  private readonly asks: RestingOrder[] = [];
  /** `index` is the market-wide id → book map this book keeps up to date. */
  constructor(readonly slot: number, private readonly index: Map<string, ReferenceOrderBook> = new Map()) {}

  size(): number { return this.bids.length + this.asks.length; }

  private sideOf(side: Side): RestingOrder[] { return side === 'bid' ? this.bids : this.asks; }

  private view(o: RestingOrder): OrderView {
    return { id: o.id, participant: o.participant, slot: this.slot, side: o.side, price: o.price, remainingWh: o.remainingWh, seq: o.seq };
  }

  match(order: IncomingOrder, sink: FillSink): MatchOutcome {
    const opposite = order.side === 'bid' ? this.asks : this.bids;
    const crosses = (p: bigint): boolean => (order.side === 'bid' ? p <= order.price : p >= order.price);
    let remaining = order.quantityWh;
    let skippedOwn = false;
    let i = 0;
    while (remaining > 0 && i < opposite.length && crosses(opposite[i].price)) {
      const maker = opposite[i];
      if (maker.participant === order.participant) { skippedOwn = true; i++; continue; }
      const q = Math.min(remaining, maker.remainingWh);
      remaining -= q;
      maker.remainingWh -= q;
      sink.onFill(maker.id, maker.participant, maker.price, q, maker.remainingWh);
      if (maker.remainingWh === 0) { opposite.splice(i, 1); this.index.delete(maker.id); } else i++;
    }
    if (remaining === 0) return { remainingWh: 0, result: 'filled' };
    if (order.ioc) return { remainingWh: remaining, result: 'ioc' };
    if (skippedOwn) return { remainingWh: remaining, result: 'self_trade' };
    this.rest({ ...order, quantityWh: remaining });
    return { remainingWh: remaining, result: 'rested' };
  }

  rest(order: IncomingOrder): void {
    const list = this.sideOf(order.side);
    const resting: RestingOrder = { id: order.id, participant: order.participant, side: order.side, price: order.price, remainingWh: order.quantityWh, seq: order.seq };
    let i = 0;
    while (i < list.length && before(order.side, list[i], resting)) i++;
    list.splice(i, 0, resting);
    this.index.set(order.id, this);
  }

  private find(id: string): { list: RestingOrder[]; index: number } | null {
    for (const list of [this.bids, this.asks]) {
      const index = list.findIndex((o) => o.id === id);
      if (index >= 0) return { list, index };
    }
    return null;
  }

  cancel(id: string): OrderView | null {
    const at = this.find(id);
    if (!at) return null;
    const [o] = at.list.splice(at.index, 1);
    this.index.delete(id);
    return this.view(o);
  }

  reduce(id: string, remainingWh: number): boolean {
    const at = this.find(id);
    if (!at) return false;
    const o = at.list[at.index];
    if (!(remainingWh > 0 && remainingWh < o.remainingWh)) return false;
    o.remainingWh = remainingWh;
    return true;
  }

  get(id: string): OrderView | null {
    const at = this.find(id);
    return at ? this.view(at.list[at.index]) : null;
  }

  best(side: Side): bigint | null {
    const list = this.sideOf(side);
    return list.length ? list[0].price : null;
  }

  forEachLevel(side: Side, visit: LevelVisitor): void {
    const list = this.sideOf(side);
    let i = 0;
    while (i < list.length) {
      const price = list[i].price;
      let quantity = 0;
      let count = 0;
      while (i < list.length && list[i].price === price) { quantity += list[i].remainingWh; count++; i++; }
      if (visit(price, quantity, count) === false) return;
    }
  }

  forEachOrder(side: Side, visit: OrderVisitor): void {
    for (const o of this.sideOf(side)) if (visit(o.id, o.participant, o.price, o.remainingWh, o.seq) === false) return;
  }

  levels(side: Side, depth: number): BookLevelView[] {
    const out: BookLevelView[] = [];
    this.forEachLevel(side, (price, quantityWh, orders) => {
      if (out.length >= depth) return false;
      out.push({ price, quantityWh, orders });
      return true;
    });
    return out;
  }

  ordersOf(participant: string): OrderView[] {
    return [...this.bids, ...this.asks].filter((o) => o.participant === participant).sort((a, b) => a.seq - b.seq).map((o) => this.view(o));
  }

  crossesOwn(participant: string, side: Side, price: bigint, exceptId: string | null): boolean {
    const opposite = side === 'bid' ? this.asks : this.bids;
    return opposite.some((o) => o.participant === participant && o.id !== exceptId && (side === 'bid' ? price >= o.price : price <= o.price));
  }

  clear(): void {
    for (const o of [...this.bids, ...this.asks]) this.index.delete(o.id);
    this.bids.length = 0;
    this.asks.length = 0;
  }
}

/** Reference books sharing one id index. */
export class ReferenceBookFamily implements OrderBookFamily {
  private readonly index = new Map<string, ReferenceOrderBook>();
  open(slot: number): OrderBook { return new ReferenceOrderBook(slot, this.index); }
  locate(id: string): OrderBook | null { return this.index.get(id) ?? null; }
}
