// Uniform-price call auction over one book: volume-maximising crossing, the [L, U] interval and k rule, rationing at the margin.
import type { OrderBook } from './book.ts';
import type { CallRationing, Indicative, Side } from './types.ts';

export interface PriceRule { tick: bigint; kNum: bigint; kDen: bigint }

/** Where supply and demand cross: the volume and the marginal levels on each side. */
interface Crossing {
  volumeWh: number;
  price: bigint | null;
  low: bigint | null;
  high: bigint | null;
  /** Marginal (lowest accepted) bid price and the Wh accepted at that level; likewise the highest accepted ask. */
  marginalBid: bigint;
  marginalBidWh: number;
  marginalAsk: bigint;
  marginalAskWh: number;
}

function levelsOf(book: OrderBook, side: Side): { prices: bigint[]; quantities: number[] } {
  const prices: bigint[] = [];
  const quantities: number[] = [];
  book.forEachLevel(side, (price, quantityWh) => { prices.push(price); quantities.push(quantityWh); });
  return { prices, quantities };
}

/**
 * Merit-order crossing: the highest bid steps meet the lowest ask steps while bid ≥ ask. For divisible orders this
 * greedy walk reaches max over p of min(D(p), S(p)), the largest volume any single uniform price can clear.
 */
function cross(book: OrderBook, rule: PriceRule): Crossing | null {
  const bids = levelsOf(book, 'bid');
  const asks = levelsOf(book, 'ask');
  const nb = bids.prices.length;
  const na = asks.prices.length;
  let i = 0;
  let j = 0;
  let bidLeft = nb ? bids.quantities[0] : 0;
  let askLeft = na ? asks.quantities[0] : 0;
  let volume = 0;
  let lastBid = -1;
  let lastAsk = -1;
  while (i < nb && j < na && bids.prices[i] >= asks.prices[j]) {
    const q = bidLeft < askLeft ? bidLeft : askLeft;
    volume += q;
    bidLeft -= q;
    askLeft -= q;
    lastBid = i;
    lastAsk = j;
    if (bidLeft === 0 && ++i < nb) bidLeft = bids.quantities[i];
    if (askLeft === 0 && ++j < na) askLeft = asks.quantities[j];
  }
  if (volume === 0) return null;
  const bm = bids.prices[lastBid];
  const am = asks.prices[lastAsk];
  // Wh accepted at the marginal levels: whatever of the volume the better levels did not take.
  let better = 0;
  for (let x = 0; x < lastBid; x++) better += bids.quantities[x];
  const marginalBidWh = volume - better;
  better = 0;
  for (let x = 0; x < lastAsk; x++) better += asks.quantities[x];
  const marginalAskWh = volume - better;
  // L = max(highest accepted ask, highest fully rejected bid); U = min(lowest accepted bid, lowest fully rejected ask).
  const rejectedBid = lastBid + 1 < nb ? bids.prices[lastBid + 1] : null;
  const rejectedAsk = lastAsk + 1 < na ? asks.prices[lastAsk + 1] : null;
  const low = rejectedBid !== null && rejectedBid > am ? rejectedBid : am;
  const high = rejectedAsk !== null && rejectedAsk < bm ? rejectedAsk : bm;
  // price = L + k·(U − L) rounded down to the tick; L and U are on the grid, so this never goes below L.
  const steps = (high - low) / rule.tick;
  const price = low + ((steps * rule.kNum) / rule.kDen) * rule.tick;
  return { volumeWh: volume, price, low, high, marginalBid: bm, marginalBidWh, marginalAsk: am, marginalAskWh };
}

/** The result the book would clear at now (for the dashboard), without allocating to orders. */
export function indicative(book: OrderBook, rule: PriceRule): Indicative {
  const c = cross(book, rule);
  return c ? { price: c.price, volumeWh: c.volumeWh, low: c.low, high: c.high } : { price: null, volumeWh: 0, low: null, high: null };
}

/** One side after clearing, in priority order: the accepted orders with their Wh, and the orders with Wh left over. */
export interface SideAllocation {
  ids: string[];
  participants: string[];
  acceptedWh: number[];
  expiredIds: string[];
  expiredWh: number[];
}

export interface CallClearing extends Indicative {
  bids: SideAllocation;
  asks: SideAllocation;
}

/**
 * Share `acceptedWh` among orders of one level: pro-rata to quantity with the largest remainder (ties to the earlier
 * order), or strictly by arrival. Exact integer arithmetic (bigint) so large books never round.
 */
export function rationLevel(quantities: number[], seqs: number[], acceptedWh: number, mode: CallRationing): number[] {
  const n = quantities.length;
  const out = new Array<number>(n).fill(0);
  if (mode === 'time') {
    const order = [...quantities.keys()].sort((a, b) => seqs[a] - seqs[b]);
    let left = acceptedWh;
    for (const x of order) { const q = Math.min(left, quantities[x]); out[x] = q; left -= q; }
    return out;
  }
  let total = 0n;
  for (const q of quantities) total += BigInt(q);
  const r = BigInt(acceptedWh);
  const remainders = new Array<bigint>(n);
  let given = 0;
  for (let x = 0; x < n; x++) {
    const share = r * BigInt(quantities[x]);
    out[x] = Number(share / total);
    remainders[x] = share % total;
    given += out[x];
  }
  const byRemainder = [...quantities.keys()].sort((a, b) => (remainders[a] === remainders[b] ? seqs[a] - seqs[b] : remainders[b] > remainders[a] ? 1 : -1));
  for (let x = 0; x < acceptedWh - given; x++) out[byRemainder[x]]++;
  return out;
}

/**
 * One walk over a side, best first: levels better than the margin clear in full, the marginal level is rationed when
 * the walk leaves it, everything after it is left over. A single pass matters: the orders of a level lie scattered
 * in the pool, so each pass over 10^5 orders costs cache misses.
 */
function allocateSide(book: OrderBook, side: Side, marginal: bigint | null, marginalWh: number, mode: CallRationing): SideAllocation {
  const a: SideAllocation = { ids: [], participants: [], acceptedWh: [], expiredIds: [], expiredWh: [] };
  const mIds: string[] = [];
  const mParticipants: string[] = [];
  const mQuantities: number[] = [];
  const mSeqs: number[] = [];
  let rationed = false;
  const ration = (): void => {
    rationed = true;
    const shares = rationLevel(mQuantities, mSeqs, marginalWh, mode);
    for (let x = 0; x < mIds.length; x++) {
      if (shares[x] > 0) { a.ids.push(mIds[x]); a.participants.push(mParticipants[x]); a.acceptedWh.push(shares[x]); }
      if (mQuantities[x] > shares[x]) { a.expiredIds.push(mIds[x]); a.expiredWh.push(mQuantities[x] - shares[x]); }
    }
  };
  book.forEachOrder(side, (id, participant, price, remainingWh, seq) => {
    if (marginal !== null && !rationed) {
      if (price === marginal) {
        mIds.push(id);
        mParticipants.push(participant);
        mQuantities.push(remainingWh);
        mSeqs.push(seq);
        return;
      }
      if (side === 'bid' ? price > marginal : price < marginal) {
        a.ids.push(id);
        a.participants.push(participant);
        a.acceptedWh.push(remainingWh);
        return;
      }
      ration();
    }
    a.expiredIds.push(id);
    a.expiredWh.push(remainingWh);
  });
  if (marginal !== null && !rationed) ration();
  return a;
}

/** Clear the book once: the uniform price, and the accepted orders of each side in priority order. */
export function clearCall(book: OrderBook, rule: PriceRule, mode: CallRationing): CallClearing {
  const c = cross(book, rule);
  return {
    price: c ? c.price : null,
    volumeWh: c ? c.volumeWh : 0,
    low: c ? c.low : null,
    high: c ? c.high : null,
    bids: allocateSide(book, 'bid', c ? c.marginalBid : null, c ? c.marginalBidWh : 0, mode),
    asks: allocateSide(book, 'ask', c ? c.marginalAsk : null, c ? c.marginalAskWh : 0, mode),
  };
}
