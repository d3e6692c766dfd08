// Uniform-price call auction: hand-worked cases (arithmetic in the comments), brute-force volume, the [L, U]/k rule, rationing.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Market, type ClearedEvent, type MarketConfig, type MarketEvent, type TradeEvent } from '../../server/src/market/index.ts';
import { Ledger, SLOT0, commandsArb, runAll, serialise, smallConfig } from './helpers.ts';

type Step = [price: number, wh: number];
interface CallRun { cleared: ClearedEvent; trades: TradeEvent[]; events: MarketEvent[] }

/** Submit bids (b0, b1, …) then asks (s0, s1, …), each from its own participant, then close the slot. */
function clear(bids: Step[], asks: Step[], config: Partial<MarketConfig> = {}): CallRun {
  const m = new Market({ slotMs: 60_000, horizonMs: 10 * SLOT0, gateMs: 0, tick: 1n, floor: 0n, cap: 1000n, mechanism: 'call', ...config });
  let time = 1000;
  const events: MarketEvent[] = [];
  const submit = (side: 'bid' | 'ask', prefix: string, steps: Step[]) => steps.forEach(([price, wh], i) => {
    const ev = m.apply({ type: 'submit', id: `${prefix}${i}`, participant: `${prefix}${i}`, slot: SLOT0, side, price: BigInt(price), quantityWh: wh, time: ++time });
    assert.equal(ev[0].type, 'accepted');
    events.push(...ev);
  });
  submit('bid', 'b', bids);
  submit('ask', 's', asks);
  const closing = m.apply({ type: 'close', slot: SLOT0, time: ++time });
  events.push(...closing);
  const cleared = closing.find((e): e is ClearedEvent => e.type === 'cleared') as ClearedEvent;
  return { cleared, trades: closing.filter((e): e is TradeEvent => e.type === 'trade'), events };
}
const kWh = (prices: number[]): Step[] => prices.map((p) => [p, 1000]);
const result = (r: CallRun) => [r.cleared.price === null ? null : Number(r.cleared.price), r.cleared.volumeWh, Number(r.cleared.low), Number(r.cleared.high)];
const filled = (r: CallRun, id: string) => r.trades.filter((x) => x.buy === id || x.sell === id).reduce((s, x) => s + x.quantityWh, 0);

describe('call auction, hand-worked cases', () => {
  it('gsy PAC case C, 1..7 against 1..7: volume 4 kWh at 4', () => {
    // D(4) = bids {7,6,5,4} = 4 kWh, S(4) = asks {1,2,3,4} = 4 kWh. Marginal bid 4, marginal ask 4,
    // highest rejected bid 3, lowest rejected ask 5: L = max(4,3) = 4, U = min(4,5) = 4, price 4.
    assert.deepEqual(result(clear(kWh([1, 2, 3, 4, 5, 6, 7]), kWh([1, 2, 3, 4, 5, 6, 7]))), [4, 4000, 4, 4]);
  });

  it('gsy PAC case C, asks [2,3,3,5,6,7,8] against bids 1..7: 3 kWh, interval [4,5]; k = 0.5 floors to 4, k = 1 gives 5', () => {
    // Accepted bids 7,6,5 (3 kWh), accepted asks 2,3,3. Rejected bid 4, rejected ask 5.
    // L = max(3, 4) = 4; U = min(5, 5) = 5; k = 0.5: 4 + floor(0.5·1) = 4. k = 1: 5 (gsy's marginal-bid answer).
    assert.deepEqual(result(clear(kWh([1, 2, 3, 4, 5, 6, 7]), kWh([2, 3, 3, 5, 6, 7, 8]))), [4, 3000, 4, 5]);
    assert.deepEqual(result(clear(kWh([1, 2, 3, 4, 5, 6, 7]), kWh([2, 3, 3, 5, 6, 7, 8]), { k: '1' })), [5, 3000, 4, 5]);
  });

  it('gsy PAC case C, asks all 10 against bids [1,2,3,4,10,10,10]: 3 kWh at 10, shared pro-rata among 7 asks', () => {
    // V = 3000 Wh. The ask level 10 holds 7000 Wh: each gets 3000·1000/7000 = 428 Wh (remainder 4000 each);
    // 3000 − 7·428 = 4 Wh left go to the 4 earliest asks (equal remainders, ties by time): 429,429,429,429,428,428,428.
    const r = clear(kWh([1, 2, 3, 4, 10, 10, 10]), kWh([10, 10, 10, 10, 10, 10, 10]));
    assert.deepEqual(result(r), [10, 3000, 10, 10]);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((i) => filled(r, `s${i}`)), [429, 429, 429, 429, 428, 428, 428]);
  });

  it('gsy PAC case C, asks [1,2,5,5,5,6,7] against seven bids at 5: 5 kWh at 5, bids rationed 5/7 each', () => {
    // S(5) = 5 kWh, D(5) = 7 kWh: V = 5000. 5000·1000/7000 = 714 rem 2000 each; 5000 − 7·714 = 2 extra → b0, b1.
    const r = clear(kWh([5, 5, 5, 5, 5, 5, 5]), kWh([1, 2, 5, 5, 5, 6, 7]));
    assert.deepEqual(result(r), [5, 5000, 5, 5]);
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((i) => filled(r, `b${i}`)), [715, 715, 714, 714, 714, 714, 714]);
  });

  it("gsy's commented-out TODO 1, asks [2,3,6,7,7,7,7] vs bids [7,5,5,2,2,2,2]: 2 kWh (gsy's oracle under-clears 1 kWh at 7)", () => {
    // D(5) = {7,5,5} = 3 kWh, S(5) = {2,3} = 2 kWh → V = 2000; no price clears more (D(6) = 1, S(3) = 2, D(3) = 3).
    // Accepted bids 7 and half of the level 5 (two bids share 1000 Wh: 500 each); accepted asks 2, 3.
    // L = max(3, rejected bid 2) = 3; U = min(5, rejected ask 6) = 5; k = 0.5 → 4; k = 1 → 5 (gsy's intended (5, 2)).
    const r = clear(kWh([7, 5, 5, 2, 2, 2, 2]), kWh([2, 3, 6, 7, 7, 7, 7]));
    assert.deepEqual(result(r), [4, 2000, 3, 5]);
    assert.deepEqual([filled(r, 'b0'), filled(r, 'b1'), filled(r, 'b2')], [1000, 500, 500]);
    assert.deepEqual(result(clear(kWh([7, 5, 5, 2, 2, 2, 2]), kWh([2, 3, 6, 7, 7, 7, 7]), { k: '1' })), [5, 2000, 3, 5]);
  });

  it("gsy's commented-out TODO 2, asks [2,2,4,4,4,4,6] vs bids [6,6,6,6,2,2,2]: 4 kWh in [4,6]", () => {
    // D(4) = 4 kWh (the four 6s), S(4) = 6 kWh → V = 4000. Accepted asks: 2, 2 and 2000 of the 4000 Wh at 4 (500 each).
    // L = max(4, rejected bid 2) = 4; U = min(6, rejected ask 6) = 6; k = 0.5 → 5; k = 0 → 4 (gsy's intended (4, 4)).
    const r = clear(kWh([6, 6, 6, 6, 2, 2, 2]), kWh([2, 2, 4, 4, 4, 4, 6]));
    assert.deepEqual(result(r), [5, 4000, 4, 6]);
    assert.deepEqual([2, 3, 4, 5].map((i) => filled(r, `s${i}`)), [500, 500, 500, 500]);
    assert.deepEqual(result(clear(kWh([6, 6, 6, 6, 2, 2, 2]), kWh([2, 2, 4, 4, 4, 4, 6]), { k: '0' })), [4, 4000, 4, 6]);
  });

  it('chunky_pac: asks 1@2, 1@3, 1@6, 4@7 vs bids 1@7, 2@5, 4@2 clears 2 kWh (gsy PAC: 1 kWh at 7)', () => {
    // Same steps as TODO 1 but aggregated: V = 2000, [L, U] = [3, 5], k = 0.5 → 4. The bid 2@5 gets 1 kWh.
    const r = clear([[7, 1000], [5, 2000], [2, 4000]], [[2, 1000], [3, 1000], [6, 1000], [7, 4000]]);
    assert.deepEqual(result(r), [4, 2000, 3, 5]);
    assert.deepEqual([filled(r, 'b0'), filled(r, 'b1'), filled(r, 'b2')], [1000, 1000, 0]);
  });

  it('volume_greedy: bids 10@30, 10@15, asks 10@10, 10@25: 10 kWh at 20, the middle of the Walrasian range [15, 25]', () => {
    // Only one pair trades at a uniform price. L = max(accepted ask 10, rejected bid 15) = 15; U = min(30, 25) = 25.
    assert.deepEqual(result(clear([[30, 10_000], [15, 10_000]], [[10, 10_000], [25, 10_000]])), [20, 10_000, 15, 25]);
  });

  it('tie_partial: bids H1 5@20, H2 5@20 vs asks 3@10, 3@10 → 6 kWh at 15, pro-rata 3/3; time priority 5/1', () => {
    // L = 10 (accepted asks), U = 20 (accepted bids), no rejected levels: price 15. The bid level 20 (10 kWh) gets 6 kWh.
    const pro = clear([[20, 5000], [20, 5000]], [[10, 3000], [10, 3000]]);
    assert.deepEqual(result(pro), [15, 6000, 10, 20]);
    assert.deepEqual(pro.trades.map((x) => [x.buy, x.sell, x.quantityWh]), [['b0', 's0', 3000], ['b1', 's1', 3000]]);
    const time = clear([[20, 5000], [20, 5000]], [[10, 3000], [10, 3000]], { callRationing: 'time' });
    assert.deepEqual(time.trades.map((x) => [x.buy, x.sell, x.quantityWh]), [['b0', 's0', 3000], ['b0', 's1', 2000], ['b1', 's1', 1000]]);
  });

  it('gsy case D fill order: bids 9, 3, 3 kWh vs offers 1..5 kWh pair front to front in priority order', () => {
    // All 15 kWh clear (bids at 20, offers at 10, price 15). Bids in arrival order take offers in arrival order:
    // b0 ← s0 1, s1 2, s2 3, s3 3; b1 ← s3 1, s4 2; b2 ← s4 3 — the same seven fills gsy's test expects.
    const r = clear([[20, 9000], [20, 3000], [20, 3000]], [[10, 1000], [10, 2000], [10, 3000], [10, 4000], [10, 5000]]);
    assert.deepEqual(r.trades.map((x) => [x.buy, x.sell, x.quantityWh / 1000]), [
      ['b0', 's0', 1], ['b0', 's1', 2], ['b0', 's2', 3], ['b0', 's3', 3], ['b1', 's3', 1], ['b1', 's4', 2], ['b2', 's4', 3],
    ]);
  });

  it('price is floored to the tick but never below L', () => {
    // Tick 10: L = 100, U = 130 → 100 + floor(0.5·3)·10 = 110 (115 is off the grid).
    const r = clear([[130, 1000]], [[100, 1000]], { tick: 10n });
    assert.deepEqual(result(r), [110, 1000, 100, 130]);
  });

  it('nothing crosses: cleared with null price and volume 0, every order expires', () => {
    const r = clear([[5, 1000]], [[6, 1000]]);
    assert.deepEqual([r.cleared.price, r.cleared.volumeWh, r.trades.length], [null, 0, 0]);
    assert.deepEqual(r.events.filter((e) => e.type === 'expired').map((e) => (e as { id: string }).id), ['b0', 's0']);
  });

  it('reports the indicative price and volume after each change, and refuses IOC and self-crossing orders', () => {
    const m = new Market({ ...smallConfig(), mechanism: 'call' });
    const submit = (id: string, participant: string, side: 'bid' | 'ask', price: bigint, quantityWh: number, tif: 'gtc' | 'ioc' = 'gtc') =>
      m.apply({ type: 'submit', id, participant, slot: SLOT0, side, price, quantityWh, tif, time: 1000 });
    assert.deepEqual(submit('b1', 'alice', 'bid', 100n, 10).map((e) => e.type), ['accepted']);
    const ev = submit('a1', 'bob', 'ask', 60n, 4);
    assert.deepEqual(ev[1], { type: 'indicative', slot: SLOT0, price: 80n, volumeWh: 4, time: 1000 });
    assert.deepEqual(m.indicative(SLOT0), { price: 80n, volumeWh: 4, low: 60n, high: 100n });
    assert.equal((submit('x', 'carol', 'bid', 100n, 1, 'ioc')[0] as { reason: string }).reason, 'invalid_tif');
    assert.equal((submit('x', 'alice', 'ask', 100n, 1)[0] as { reason: string }).reason, 'self_cross');
    assert.equal(submit('a2', 'alice', 'ask', 110n, 1)[0].type, 'accepted');
  });
});

/** Independent oracle: the largest volume any set of bids and asks can trade at one price, by enumerating subsets. */
function bruteForceVolume(bids: Step[], asks: Step[]): number {
  let best = 0;
  for (let bm = 1; bm < 1 << bids.length; bm++) {
    let minBid = Infinity;
    let demand = 0;
    bids.forEach(([p, q], i) => { if (bm & (1 << i)) { minBid = Math.min(minBid, p); demand += q; } });
    for (let am = 1; am < 1 << asks.length; am++) {
      let maxAsk = -Infinity;
      let supply = 0;
      asks.forEach(([p, q], i) => { if (am & (1 << i)) { maxAsk = Math.max(maxAsk, p); supply += q; } });
      if (minBid >= maxAsk) best = Math.max(best, Math.min(demand, supply));
    }
  }
  return best;
}

/** Largest remainder by hand: floor shares, then +1 to the biggest remainders, earlier order first on ties. */
function naiveProRata(quantities: number[], accepted: number): number[] {
  const total = quantities.reduce((a, b) => a + b, 0);
  const base = quantities.map((q) => Math.floor((accepted * q) / total));
  const rest = quantities.map((q, i) => ({ i, r: (accepted * q) % total }));
  rest.sort((a, b) => b.r - a.r || a.i - b.i);
  let left = accepted - base.reduce((a, b) => a + b, 0);
  for (const { i } of rest) { if (left-- <= 0) break; base[i]++; }
  return base;
}

const stepsArb = (max: number) => fc.array(fc.tuple(fc.integer({ min: 0, max: 12 }).map((x) => x * 10), fc.integer({ min: 1, max: 30 })), { maxLength: max });

describe('call auction, properties', () => {
  it('volume equals the brute-force maximum; price follows [L, U] and k exactly; rationing at the margin is largest-remainder', () => {
    fc.assert(fc.property(stepsArb(6), stepsArb(6), fc.constantFrom('0', '0.25', '0.5', '0.7', '1'), (bids, asks, k) => {
      const r = clear(bids, asks, { tick: 10n, k });
      assert.equal(r.cleared.volumeWh, bruteForceVolume(bids, asks));
      const tradedBy = (id: string) => filled(r, id);
      assert.equal(r.trades.reduce((s, x) => s + x.quantityWh, 0), r.cleared.volumeWh);
      if (r.cleared.volumeWh === 0) { assert.equal(r.cleared.price, null); return; }
      const price = Number(r.cleared.price);
      // Levels (price steps) with some accepted volume vs none, on each side.
      const bidLevelTraded = new Map<number, number>();
      bids.forEach(([p], i) => bidLevelTraded.set(p, (bidLevelTraded.get(p) ?? 0) + tradedBy(`b${i}`)));
      const askLevelTraded = new Map<number, number>();
      asks.forEach(([p], i) => askLevelTraded.set(p, (askLevelTraded.get(p) ?? 0) + tradedBy(`s${i}`)));
      const acceptedBids = [...bidLevelTraded].filter(([, v]) => v > 0).map(([p]) => p);
      const rejectedBids = [...bidLevelTraded].filter(([, v]) => v === 0).map(([p]) => p);
      const acceptedAsks = [...askLevelTraded].filter(([, v]) => v > 0).map(([p]) => p);
      const rejectedAsks = [...askLevelTraded].filter(([, v]) => v === 0).map(([p]) => p);
      const L = Math.max(...acceptedAsks, ...rejectedBids);
      const U = Math.min(...acceptedBids, ...rejectedAsks);
      assert.equal(Number(r.cleared.low), L);
      assert.equal(Number(r.cleared.high), U);
      const [kn, kd] = k === '0' ? [0, 1] : k === '1' ? [1, 1] : [Number(k.slice(2)), 10 ** (k.length - 2)];
      assert.equal(price, L + Math.floor((Math.floor((U - L) / 10) * kn) / kd) * 10);
      for (const x of r.trades) assert.equal(Number(x.price), price);
      for (const p of acceptedBids) assert.ok(p >= price);
      for (const p of acceptedAsks) assert.ok(p <= price);
      for (const p of rejectedBids) assert.ok(p <= price, 'a rejected bid would have bought at the price');
      for (const p of rejectedAsks) assert.ok(p >= price, 'a rejected ask would have sold at the price');
      // At most one partially filled level per side, and it is shared by largest remainder.
      for (const [steps, prefix, levels] of [[bids, 'b', bidLevelTraded], [asks, 's', askLevelTraded]] as const) {
        const partial = [...levels].filter(([p, v]) => v > 0 && v < steps.filter(([q]) => q === p).reduce((s, [, w]) => s + w, 0));
        assert.ok(partial.length <= 1);
        for (const [p, v] of partial) {
          const members = steps.map((s, i) => [i, s] as const).filter(([, s]) => s[0] === p);
          assert.deepEqual(members.map(([i]) => tradedBy(`${prefix}${i}`)), naiveProRata(members.map(([, s]) => s[1]), v));
        }
      }
    }), { numRuns: 1000 });
  });

  it('fast and reference books clear identically on random command streams; invariants hold', () => {
    fc.assert(fc.property(commandsArb({ ioc: false, maxLength: 100 }), fc.constantFrom<'pro-rata' | 'time'>('pro-rata', 'time'), (commands, callRationing) => {
      const config = smallConfig({ mechanism: 'call', callRationing });
      const fast = runAll(new Market(config, { book: 'fast' }), commands);
      const reference = runAll(new Market(config, { book: 'reference' }), commands);
      assert.equal(serialise(fast), serialise(reference));
      const ledger = new Ledger(0n, 200n);
      for (const e of fast) ledger.observe(e);
      ledger.checkConservation();
      const cleared = fast.find((e): e is ClearedEvent => e.type === 'cleared');
      for (const e of fast) if (e.type === 'trade' && e.slot === SLOT0) assert.equal(e.price, cleared?.price);
    }), { numRuns: 300 });
  });
});
