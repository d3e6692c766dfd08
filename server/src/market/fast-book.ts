// Fast OrderBook: prices mapped to integer tick indices, levels and orders in typed-array pools with intrusive
// FIFO lists, sorted arrays of active levels with the best level last; no per-order objects on the matching path.
import type { FillSink, IncomingOrder, LevelVisitor, MatchOutcome, OrderBook, OrderVisitor } from './book.ts';
import type { BookLevelView, OrderView, Side } from './types.ts';

const NIL = -1;
const BID = 0;
const ASK = 1;

function grownI32(a: Int32Array, size: number): Int32Array<ArrayBuffer> { const b = new Int32Array(size); b.set(a); return b; }
function grownF64(a: Float64Array, size: number): Float64Array<ArrayBuffer> { const b = new Float64Array(size); b.set(a); return b; }

export class FastOrderBook implements OrderBook {
  // Price grid: price = floor + tick·index, kept as doubles (exact below 2^53, which the config enforces).
  private readonly floorN: number;
  private readonly tickN: number;
  private readonly priceOfTick: bigint[] = [];

  // Order pool.
  private oCap = 0;
  private oQty = new Float64Array(0);
  private oSeq = new Float64Array(0);
  private oLevel = new Int32Array(0);
  private oNext = new Int32Array(0);
  private oPrev = new Int32Array(0);
  private oPart = new Int32Array(0);
  private oPNext = new Int32Array(0);
  private oPPrev = new Int32Array(0);
  private oIds: string[] = [];
  private oFree = NIL;
  private oUsed = 0;
  private count = 0;
  private readonly slotOfId = new Map<string, number>();

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
  private readonly levelOfTick: [Map<number, number>, Map<number, number>] = [new Map(), new Map()];
  // Active levels per side sorted so that the best is last: bids by ascending tick, asks by descending tick.
  private sorted: [Int32Array, Int32Array] = [new Int32Array(16), new Int32Array(16)];
  private sortedLen: [number, number] = [0, 0];

  // Participants interned to small integers, each with an intrusive list of its orders (arrival order).
  private readonly partIndex = new Map<string, number>();
  private readonly partNames: string[] = [];
  private pHead = new Int32Array(16);
  private pTail = new Int32Array(16);

  constructor(readonly slot: number, floor: bigint, tick: bigint) {
    this.floorN = Number(floor);
    this.tickN = Number(tick);
    this.growOrders(64);
    this.growLevels(32);
  }

  private growOrders(size: number): void {
    this.oQty = grownF64(this.oQty, size);
    this.oSeq = grownF64(this.oSeq, size);
    this.oLevel = grownI32(this.oLevel, size);
    this.oNext = grownI32(this.oNext, size);
    this.oPrev = grownI32(this.oPrev, size);
    this.oPart = grownI32(this.oPart, size);
    this.oPNext = grownI32(this.oPNext, size);
    this.oPPrev = grownI32(this.oPPrev, size);
    this.oCap = size;
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

  private tickOf(price: bigint): number { return (Number(price) - this.floorN) / this.tickN; }

  private price(t: number): bigint {
    let p = this.priceOfTick[t];
    if (p === undefined) { p = BigInt(this.floorN + t * this.tickN); this.priceOfTick[t] = p; }
    return p;
  }

  private participant(name: string): number {
    let p = this.partIndex.get(name);
    if (p === undefined) {
      p = this.partNames.length;
      this.partNames.push(name);
      this.partIndex.set(name, p);
      if (p >= this.pHead.length) { this.pHead = grownI32(this.pHead, p * 2); this.pTail = grownI32(this.pTail, p * 2); }
      this.pHead[p] = NIL;
      this.pTail[p] = NIL;
    }
    return p;
  }

  size(): number { return this.count; }

  match(order: IncomingOrder, sink: FillSink): MatchOutcome {
    const side = order.side === 'bid' ? BID : ASK;
    const opp = 1 - side;
    const limit = this.tickOf(order.price);
    const part = this.participant(order.participant);
    let remaining = order.quantityWh;
    let skippedOwn = false;
    const sorted = this.sorted[opp];
    let k = this.sortedLen[opp] - 1;
    while (remaining > 0 && k >= 0) {
      const lv = sorted[k];
      const t = this.lTick[lv];
      if (side === BID ? t > limit : t < limit) break;
      let o = this.lHead[lv];
      let price: bigint | null = null;
      while (o !== NIL && remaining > 0) {
        const next = this.oNext[o];
        if (this.oPart[o] === part) { skippedOwn = true; o = next; continue; }
        const available = this.oQty[o];
        const q = remaining < available ? remaining : available;
        remaining -= q;
        this.oQty[o] = available - q;
        this.lQty[lv] -= q;
        if (price === null) price = this.price(t);
        sink.onFill(this.oIds[o], this.partNames[this.oPart[o]], price, q, available - q);
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
    this.insert(order.id, this.participant(order.participant), order.side === 'bid' ? BID : ASK, this.tickOf(order.price), order.quantityWh, order.seq);
  }

  private insert(id: string, part: number, side: number, t: number, quantity: number, seq: number): void {
    let o = this.oFree;
    if (o !== NIL) this.oFree = this.oNext[o];
    else {
      if (this.oUsed === this.oCap) this.growOrders(this.oCap * 2);
      o = this.oUsed++;
    }
    let lv = this.levelOfTick[side].get(t);
    if (lv === undefined) lv = this.addLevel(side, t);
    this.oQty[o] = quantity;
    this.oSeq[o] = seq;
    this.oLevel[o] = lv;
    this.oPart[o] = part;
    this.oIds[o] = id;
    // Append to the level's FIFO.
    const tail = this.lTail[lv];
    this.oPrev[o] = tail;
    this.oNext[o] = NIL;
    if (tail === NIL) this.lHead[lv] = o; else this.oNext[tail] = o;
    this.lTail[lv] = o;
    this.lQty[lv] += quantity;
    this.lCount[lv]++;
    // Append to the participant's list.
    const ptail = this.pTail[part];
    this.oPPrev[o] = ptail;
    this.oPNext[o] = NIL;
    if (ptail === NIL) this.pHead[part] = o; else this.oPNext[ptail] = o;
    this.pTail[part] = o;
    this.slotOfId.set(id, o);
    this.count++;
  }

  /** Take an order out of its level and participant lists and free its slot (the level is left to the caller). */
  private unlinkOrder(o: number, lv: number): void {
    const prev = this.oPrev[o];
    const next = this.oNext[o];
    if (prev === NIL) this.lHead[lv] = next; else this.oNext[prev] = next;
    if (next === NIL) this.lTail[lv] = prev; else this.oPrev[next] = prev;
    this.lCount[lv]--;
    const part = this.oPart[o];
    const pprev = this.oPPrev[o];
    const pnext = this.oPNext[o];
    if (pprev === NIL) this.pHead[part] = pnext; else this.oPNext[pprev] = pnext;
    if (pnext === NIL) this.pTail[part] = pprev; else this.oPPrev[pnext] = pprev;
    this.slotOfId.delete(this.oIds[o]);
    this.oIds[o] = '';
    this.oNext[o] = this.oFree;
    this.oFree = o;
    this.count--;
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
    this.levelOfTick[side].set(t, lv);
    // Insert into the sorted active-level array (best last); new levels usually land near the top.
    let arr = this.sorted[side];
    const len = this.sortedLen[side];
    if (len === arr.length) { arr = grownI32(arr, len * 2); this.sorted[side] = arr; }
    let lo = 0;
    let hi = len;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const mt = this.lTick[arr[mid]];
      if (side === BID ? mt < t : mt > t) lo = mid + 1; else hi = mid;
    }
    if (lo < len) arr.copyWithin(lo + 1, lo, len);
    arr[lo] = lv;
    this.sortedLen[side] = len + 1;
    return lv;
  }

  private removeLevelAt(side: number, k: number): void {
    const arr = this.sorted[side];
    const len = this.sortedLen[side];
    const lv = arr[k];
    if (k < len - 1) arr.copyWithin(k, k + 1, len);
    this.sortedLen[side] = len - 1;
    this.levelOfTick[side].delete(this.lTick[lv]);
    this.lHead[lv] = this.lFree;
    this.lFree = lv;
  }

  private removeLevel(side: number, lv: number): void {
    // Binary search by tick: bids ascending, asks descending.
    const arr = this.sorted[side];
    const t = this.lTick[lv];
    let lo = 0;
    let hi = this.sortedLen[side];
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const mt = this.lTick[arr[mid]];
      if (side === BID ? mt < t : mt > t) lo = mid + 1; else hi = mid;
    }
    this.removeLevelAt(side, lo);
  }

  private view(o: number): OrderView {
    const lv = this.oLevel[o];
    return {
      id: this.oIds[o],
      participant: this.partNames[this.oPart[o]],
      slot: this.slot,
      side: this.lSide[lv] === BID ? 'bid' : 'ask',
      price: this.price(this.lTick[lv]),
      remainingWh: this.oQty[o],
      seq: this.oSeq[o],
    };
  }

  cancel(id: string): OrderView | null {
    const o = this.slotOfId.get(id);
    if (o === undefined) return null;
    const v = this.view(o);
    const lv = this.oLevel[o];
    this.lQty[lv] -= this.oQty[o];
    this.unlinkOrder(o, lv);
    if (this.lCount[lv] === 0) this.removeLevel(this.lSide[lv], lv);
    return v;
  }

  reduce(id: string, remainingWh: number): boolean {
    const o = this.slotOfId.get(id);
    if (o === undefined || !(remainingWh > 0 && remainingWh < this.oQty[o])) return false;
    this.lQty[this.oLevel[o]] -= this.oQty[o] - remainingWh;
    this.oQty[o] = remainingWh;
    return true;
  }

  get(id: string): OrderView | null {
    const o = this.slotOfId.get(id);
    return o === undefined ? null : this.view(o);
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
    const s = side === 'bid' ? BID : ASK;
    const arr = this.sorted[s];
    for (let k = this.sortedLen[s] - 1; k >= 0; k--) {
      const lv = arr[k];
      const price = this.price(this.lTick[lv]);
      for (let o = this.lHead[lv]; o !== NIL; o = this.oNext[o]) {
        if (visit(this.oIds[o], this.partNames[this.oPart[o]], price, this.oQty[o], this.oSeq[o]) === false) return;
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
    const p = this.partIndex.get(participant);
    const out: OrderView[] = [];
    if (p === undefined) return out;
    for (let o = this.pHead[p]; o !== NIL; o = this.oPNext[o]) out.push(this.view(o));
    return out.sort((a, b) => a.seq - b.seq);
  }
}
