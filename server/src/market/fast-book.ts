// Fast OrderBook: prices as integer tick indices, orders in one typed-array pool per market with intrusive FIFO lists
// per level, levels found through a paged tick table and kept in sorted arrays with the best level last; no per-order
// objects on the matching path.
import type { FillSink, IncomingOrder, LevelVisitor, MatchOutcome, OrderBook, OrderBookFamily, OrderVisitor } from './book.ts';
import { IdIndex, idHash } from './id-index.ts';
import type { BookLevelView, OrderView, Side } from './types.ts';

const NIL = -1;
const BID = 0;
const ASK = 1;
const PAGE_BITS = 12;
const PAGE_MASK = (1 << PAGE_BITS) - 1;

function grownI32(a: Int32Array, size: number): Int32Array<ArrayBuffer> { const b = new Int32Array(size); b.set(a); return b; }
function grownF64(a: Float64Array, size: number): Float64Array<ArrayBuffer> { const b = new Float64Array(size); b.set(a); return b; }

/**
 * The order pool shared by all fast books of one market: order fields in parallel typed arrays, the market-wide id
 * index, and participants interned to integers (each book links a participant's orders through pNext/pPrev).
 */
export class FastBookFamily implements OrderBookFamily {
  cap = 0;
  qty = new Float64Array(0);
  seq = new Float64Array(0);
  level = new Int32Array(0);
  book = new Int32Array(0);
  next = new Int32Array(0);
  prev = new Int32Array(0);
  part = new Int32Array(0);
  pNext = new Int32Array(0);
  pPrev = new Int32Array(0);
  ids: string[] = [];
  free = NIL;
  used = 0;
  /** Hash of each slot's id (kept so removal needs no rehash). */
  hash = new Int32Array(0);
  /** Open order id → pool slot, market-wide. */
  readonly index = new IdIndex(this.ids);
  readonly partIndex = new Map<string, number>();
  readonly partNames: string[] = [];
  readonly books: Array<FastOrderBook | null> = [];
  private readonly freeBookIndices: number[] = [];

  constructor(readonly floor: bigint, readonly tick: bigint) { this.grow(1024); }

  grow(size: number): void {
    this.qty = grownF64(this.qty, size);
    this.seq = grownF64(this.seq, size);
    this.level = grownI32(this.level, size);
    this.book = grownI32(this.book, size);
    this.next = grownI32(this.next, size);
    this.prev = grownI32(this.prev, size);
    this.part = grownI32(this.part, size);
    this.pNext = grownI32(this.pNext, size);
    this.pPrev = grownI32(this.pPrev, size);
    this.hash = grownI32(this.hash, size);
    this.cap = size;
  }

  participant(name: string): number {
    let p = this.partIndex.get(name);
    if (p === undefined) {
      p = this.partNames.length;
      this.partNames.push(name);
      this.partIndex.set(name, p);
    }
    return p;
  }

  open(slot: number): FastOrderBook {
    const index = this.freeBookIndices.length ? (this.freeBookIndices.pop() as number) : this.books.length;
    const book = new FastOrderBook(slot, this, index);
    this.books[index] = book;
    return book;
  }

  /** Called by a book once it is cleared, so its index can be reused. */
  release(index: number): void { this.books[index] = null; this.freeBookIndices.push(index); }

  /** Pool slot of open order `id`, or -1. */
  find(id: string): number { return this.index.get(id, idHash(id)); }

  /** Index an open order's id. */
  remember(id: string, o: number): void {
    const h = idHash(id);
    this.hash[o] = h;
    this.index.add(o, h);
  }

  /** Release a slot whose order is finished. */
  forget(o: number): void {
    this.index.remove(o, this.hash[o]);
    this.ids[o] = '';
    this.book[o] = NIL;
    this.next[o] = this.free;
    this.free = o;
  }

  /** Free every slot of book `b` and rebuild the id index from the orders that stay, in one pass over the pool. */
  releaseBook(b: number): void {
    this.index.reset();
    for (let o = 0; o < this.used; o++) {
      if (this.book[o] === b) {
        this.ids[o] = '';
        this.book[o] = NIL;
        this.next[o] = this.free;
        this.free = o;
      } else if (this.ids[o] !== '') this.index.add(o, this.hash[o]);
    }
  }

  locate(id: string): OrderBook | null {
    const o = this.find(id);
    return o === NIL ? null : this.books[this.book[o]];
  }
}

export class FastOrderBook implements OrderBook {
  private readonly floorN: number;
  private readonly tickN: number;
  private readonly priceOfTick: bigint[] = [];
  private count = 0;

  // Level pool.
  private lCap = 0;
  private lTick = new Int32Array(0);
  private lSide = new Int32Array(0);
  private lHead = new Int32Array(0);
  private lTail = new Int32Array(0);
  private lQty = new Float64Array(0);
  private lCount = new Int32Array(0);
  private lFree = NIL;
  private lUsed = 0;
  // tick → level + 1 (0 = none), one paged table per side; pages of 4096 ticks are allocated when first touched.
  private readonly pages: [Array<Int32Array | undefined>, Array<Int32Array | undefined>] = [[], []];
  // Active levels per side sorted so that the best is last: bids by ascending tick, asks by descending tick.
  private readonly sorted: [Int32Array, Int32Array] = [new Int32Array(16), new Int32Array(16)];
  private readonly sortedLen: [number, number] = [0, 0];
  // Each participant's orders in this book, by arrival: first/last pool slot + 1 (0 = none), indexed by participant.
  private pHead = new Int32Array(16);
  private pTail = new Int32Array(16);

  constructor(readonly slot: number, private readonly pool: FastBookFamily, private readonly index: number) {
    this.floorN = Number(pool.floor);
    this.tickN = Number(pool.tick);
    this.growLevels(32);
  }

  private growLevels(size: number): void {
    this.lTick = grownI32(this.lTick, size);
    this.lSide = grownI32(this.lSide, size);
    this.lHead = grownI32(this.lHead, size);
    this.lTail = grownI32(this.lTail, size);
    this.lQty = grownF64(this.lQty, size);
    this.lCount = grownI32(this.lCount, size);
    this.lCap = size;
  }

  /** Tick index of a price; the Market has validated range and grid, this guards direct users of the book. */
  private tickOf(price: bigint): number {
    const t = (Number(price) - this.floorN) / this.tickN;
    if (!Number.isInteger(t) || t < 0) throw new RangeError(`price ${price} is not on the book's tick grid`);
    return t;
  }

  private price(t: number): bigint {
    let p = this.priceOfTick[t];
    if (p === undefined) { p = BigInt(this.floorN + t * this.tickN); this.priceOfTick[t] = p; }
    return p;
  }

  private levelAt(side: number, t: number): number {
    const page = this.pages[side][t >>> PAGE_BITS];
    return page === undefined ? NIL : page[t & PAGE_MASK] - 1;
  }

  private setLevelAt(side: number, t: number, lv: number): void {
    let page = this.pages[side][t >>> PAGE_BITS];
    if (page === undefined) { page = new Int32Array(1 << PAGE_BITS); this.pages[side][t >>> PAGE_BITS] = page; }
    page[t & PAGE_MASK] = lv + 1;
  }

  size(): number { return this.count; }

  match(order: IncomingOrder, sink: FillSink): MatchOutcome {
    const pool = this.pool;
    const side = order.side === 'bid' ? BID : ASK;
    const opp = 1 - side;
    const limit = this.tickOf(order.price);
    const part = pool.participant(order.participant);
    let remaining = order.quantityWh;
    let skippedOwn = false;
    const sorted = this.sorted[opp];
    let k = this.sortedLen[opp] - 1;
    while (remaining > 0 && k >= 0) {
      const lv = sorted[k];
      const t = this.lTick[lv];
      if (side === BID ? t > limit : t < limit) break;
      let o = this.lHead[lv];
      const price = this.price(t);
      while (o !== NIL && remaining > 0) {
        const next = pool.next[o];
        if (pool.part[o] === part) { skippedOwn = true; o = next; continue; }
        const available = pool.qty[o];
        const q = remaining < available ? remaining : available;
        remaining -= q;
        pool.qty[o] = available - q;
        this.lQty[lv] -= q;
        sink.onFill(pool.ids[o], pool.partNames[pool.part[o]], price, q, available - q);
        if (available === q) this.unlinkOrder(o, lv);
        o = next;
      }
      if (this.lCount[lv] === 0) this.removeLevelAt(opp, k);
      k--;
    }
    if (remaining === 0) return { remainingWh: 0, result: 'filled' };
    if (order.ioc) return { remainingWh: remaining, result: 'ioc' };
    if (skippedOwn) return { remainingWh: remaining, result: 'self_trade' };
    this.insert(order.id, part, side, limit, remaining, order.seq);
    return { remainingWh: remaining, result: 'rested' };
  }

  rest(order: IncomingOrder): void {
    this.insert(order.id, this.pool.participant(order.participant), order.side === 'bid' ? BID : ASK, this.tickOf(order.price), order.quantityWh, order.seq);
  }

  private insert(id: string, part: number, side: number, t: number, quantity: number, seq: number): void {
    const pool = this.pool;
    let o = pool.free;
    if (o !== NIL) pool.free = pool.next[o];
    else {
      if (pool.used === pool.cap) pool.grow(pool.cap * 2);
      o = pool.used++;
    }
    let lv = this.levelAt(side, t);
    if (lv === NIL) lv = this.addLevel(side, t);
    pool.qty[o] = quantity;
    pool.seq[o] = seq;
    pool.level[o] = lv;
    pool.book[o] = this.index;
    pool.part[o] = part;
    pool.ids[o] = id;
    // Append to the level's FIFO.
    const tail = this.lTail[lv];
    pool.prev[o] = tail;
    pool.next[o] = NIL;
    if (tail === NIL) this.lHead[lv] = o; else pool.next[tail] = o;
    this.lTail[lv] = o;
    this.lQty[lv] += quantity;
    this.lCount[lv]++;
    // Append to the participant's list.
    if (part >= this.pHead.length) { const size = Math.max(part + 1, this.pHead.length * 2); this.pHead = grownI32(this.pHead, size); this.pTail = grownI32(this.pTail, size); }
    const ptail = this.pTail[part] - 1;
    pool.pPrev[o] = ptail;
    pool.pNext[o] = NIL;
    if (ptail === NIL) this.pHead[part] = o + 1; else pool.pNext[ptail] = o;
    this.pTail[part] = o + 1;
    pool.remember(id, o);
    this.count++;
  }

  /** Take an order out of its level and participant lists and free its slot (the level is left to the caller). */
  private unlinkOrder(o: number, lv: number): void {
    const pool = this.pool;
    const prev = pool.prev[o];
    const next = pool.next[o];
    if (prev === NIL) this.lHead[lv] = next; else pool.next[prev] = next;
    if (next === NIL) this.lTail[lv] = prev; else pool.prev[next] = prev;
    this.lCount[lv]--;
    const part = pool.part[o];
    const pprev = pool.pPrev[o];
    const pnext = pool.pNext[o];
    if (pprev === NIL) this.pHead[part] = pnext + 1; else pool.pNext[pprev] = pnext;
    if (pnext === NIL) this.pTail[part] = pprev + 1; else pool.pPrev[pnext] = pprev;
    pool.forget(o);
    this.count--;
  }

  /** Position of tick t in a side's sorted array (bids ascending, asks descending). */
  private position(side: number, t: number): number {
    const arr = this.sorted[side];
    let lo = 0;
    let hi = this.sortedLen[side];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const mt = this.lTick[arr[mid]];
      if (side === BID ? mt < t : mt > t) lo = mid + 1; else hi = mid;
    }
    return lo;
  }

  private addLevel(side: number, t: number): number {
    let lv = this.lFree;
    if (lv !== NIL) this.lFree = this.lHead[lv];
    else {
      if (this.lUsed === this.lCap) this.growLevels(this.lCap * 2);
      lv = this.lUsed++;
    }
    this.lTick[lv] = t;
    this.lSide[lv] = side;
    this.lHead[lv] = NIL;
    this.lTail[lv] = NIL;
    this.lQty[lv] = 0;
    this.lCount[lv] = 0;
    this.setLevelAt(side, t, lv);
    let arr = this.sorted[side];
    const len = this.sortedLen[side];
    if (len === arr.length) { arr = grownI32(arr, len * 2); this.sorted[side] = arr; }
    const at = this.position(side, t);
    if (at < len) arr.copyWithin(at + 1, at, len);
    arr[at] = lv;
    this.sortedLen[side] = len + 1;
    return lv;
  }

  private removeLevelAt(side: number, k: number): void {
    const arr = this.sorted[side];
    const len = this.sortedLen[side];
    const lv = arr[k];
    if (k < len - 1) arr.copyWithin(k, k + 1, len);
    this.sortedLen[side] = len - 1;
    this.setLevelAt(side, this.lTick[lv], NIL);
    this.lHead[lv] = this.lFree;
    this.lFree = lv;
  }

  private view(o: number): OrderView {
    const pool = this.pool;
    const lv = pool.level[o];
    return {
      id: pool.ids[o],
      participant: pool.partNames[pool.part[o]],
      slot: this.slot,
      side: this.lSide[lv] === BID ? 'bid' : 'ask',
      price: this.price(this.lTick[lv]),
      remainingWh: pool.qty[o],
      seq: pool.seq[o],
    };
  }

  private own(id: string): number {
    const o = this.pool.find(id);
    return o !== NIL && this.pool.book[o] === this.index ? o : NIL;
  }

  cancel(id: string): OrderView | null {
    const o = this.own(id);
    if (o === NIL) return null;
    const v = this.view(o);
    const lv = this.pool.level[o];
    this.lQty[lv] -= this.pool.qty[o];
    this.unlinkOrder(o, lv);
    if (this.lCount[lv] === 0) {
      const side = this.lSide[lv];
      this.removeLevelAt(side, this.position(side, this.lTick[lv]));
    }
    return v;
  }

  reduce(id: string, remainingWh: number): boolean {
    const o = this.own(id);
    if (o === NIL || !(remainingWh > 0 && remainingWh < this.pool.qty[o])) return false;
    this.lQty[this.pool.level[o]] -= this.pool.qty[o] - remainingWh;
    this.pool.qty[o] = remainingWh;
    return true;
  }

  get(id: string): OrderView | null {
    const o = this.own(id);
    return o === NIL ? null : this.view(o);
  }

  best(side: Side): bigint | null {
    const s = side === 'bid' ? BID : ASK;
    const len = this.sortedLen[s];
    return len ? this.price(this.lTick[this.sorted[s][len - 1]]) : null;
  }

  forEachLevel(side: Side, visit: LevelVisitor): void {
    const s = side === 'bid' ? BID : ASK;
    const arr = this.sorted[s];
    for (let k = this.sortedLen[s] - 1; k >= 0; k--) {
      const lv = arr[k];
      if (visit(this.price(this.lTick[lv]), this.lQty[lv], this.lCount[lv]) === false) return;
    }
  }

  forEachOrder(side: Side, visit: OrderVisitor): void {
    const pool = this.pool;
    const s = side === 'bid' ? BID : ASK;
    const arr = this.sorted[s];
    for (let k = this.sortedLen[s] - 1; k >= 0; k--) {
      const lv = arr[k];
      const price = this.price(this.lTick[lv]);
      for (let o = this.lHead[lv]; o !== NIL; o = pool.next[o]) {
        if (visit(pool.ids[o], pool.partNames[pool.part[o]], price, pool.qty[o], pool.seq[o]) === false) return;
      }
    }
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
    const pool = this.pool;
    const p = pool.partIndex.get(participant);
    const out: OrderView[] = [];
    if (p === undefined) return out;
    if (p >= this.pHead.length) return out;
    for (let o = this.pHead[p] - 1; o !== NIL; o = pool.pNext[o]) out.push(this.view(o));
    return out.sort((a, b) => a.seq - b.seq);
  }

  crossesOwn(participant: string, side: Side, price: bigint, exceptId: string | null): boolean {
    const pool = this.pool;
    const p = pool.partIndex.get(participant);
    if (p === undefined) return false;
    const t = this.tickOf(price);
    const opp = side === 'bid' ? ASK : BID;
    if (p >= this.pHead.length) return false;
    for (let o = this.pHead[p] - 1; o !== NIL; o = pool.pNext[o]) {
      if (pool.ids[o] === exceptId) continue;
      const lv = pool.level[o];
      if (this.lSide[lv] !== opp) continue;
      const ot = this.lTick[lv];
      if (side === 'bid' ? t >= ot : t <= ot) return true;
    }
    return false;
  }

  clear(): void {
    if (this.count > this.pool.index.size >>> 1) {
      // The book holds most open orders (the usual gate closure): one sequential sweep over the pool beats chasing
      // the level lists through scattered slots.
      this.pool.releaseBook(this.index);
    } else {
      for (const s of [BID, ASK]) {
        const arr = this.sorted[s];
        for (let k = this.sortedLen[s] - 1; k >= 0; k--) {
          // The whole book goes: only the shared pool and id index need the orders released.
          for (let o = this.lHead[arr[k]]; o !== NIL;) { const next = this.pool.next[o]; this.pool.forget(o); o = next; }
        }
      }
    }
    this.sortedLen[BID] = 0;
    this.sortedLen[ASK] = 0;
    this.count = 0;
    this.pool.release(this.index);
  }
}
