// Trade-rule engine (pure): from rules, forecasts and the rule orders already placed, the orders to place, amend or cancel.
import type { SlotForecast } from '../forecast/forecaster.ts';

export interface RuleMarket {
  name: string;
  slotMs: number;
  horizonMs: number;
  gateMs: number;
  tick: bigint;
  floor: bigint;
  cap: bigint;
}

/** A standing rule with prices as bigint (token base units per kWh); null = that side is off. */
export interface TradeRuleInput {
  participant: string;
  meter: string;
  market: string;
  minSellPrice: bigint | null;
  maxBuyPrice: bigint | null;
  enabled: boolean;
}

/** An order the rules placed earlier (open or done) in this market. */
export interface RuleOrderView {
  id: string;
  participant: string;
  slot: number;
  side: 'bid' | 'ask';
  price: bigint;
  remainingWh: number;
  filledWh: number;
  open: boolean;
}

export type RuleIntent =
  | { kind: 'place'; participant: string; market: string; slot: number; side: 'bid' | 'ask'; price: bigint; quantityWh: number; expiry: number }
  | { kind: 'amend'; orderId: string; participant: string; slot: number; side: 'bid' | 'ask'; price: bigint; remainingWh: number; change: { price?: bigint; quantityWh?: number }; expiry: number }
  | { kind: 'cancel'; orderId: string; participant: string; slot: number; reason: 'no-need' | 'side-flipped' | 'duplicate' | 'rule-disabled' };

export interface RuleEngineInput {
  now: number;
  market: RuleMarket;
  rules: readonly TradeRuleInput[];
  /** Forecast of a meter for a slot (null when there is nothing to go on: no order is placed). */
  forecast: (meter: string, slot: number) => SlotForecast | null;
  ruleOrders: readonly RuleOrderView[];
  /** Optional export limit per participant per slot (meter capacity × slot length), Wh. */
  exportCapacityWh?: ReadonlyMap<string, number>;
  options?: RuleEngineOptions;
}

export interface RuleEngineOptions {
  /** Below this the rules do not trade (default 10 Wh). */
  minQuantityWh?: number;
  /** An open order's quantity is amended only when it is off by more than max(this, 10 %) (default 20 Wh): avoids churn. */
  amendToleranceWh?: number;
}

/** Slots open for trading at `now`: start − horizon ≤ now < start − gate. */
export function openSlots(market: RuleMarket, now: number): number[] {
  const out: number[] = [];
  // The first slot start s with s − gate > now, then every slot whose trading has opened (s − horizon ≤ now).
  const first = Math.floor((now + market.gateMs) / market.slotMs) * market.slotMs + market.slotMs;
  for (let s = first; s - market.horizonMs <= now; s += market.slotMs) out.push(s);
  return out;
}

const lower = (a: string) => a.toLowerCase();
const ceilTick = (p: bigint, tick: bigint) => ((p + tick - 1n) / tick) * tick;
const floorTick = (p: bigint, tick: bigint) => (p / tick) * tick;

/** One participant's merged rule: several meters' forecasts add up; the most cautious prices apply. */
interface MergedRule { participant: string; meters: string[]; minSellPrice: bigint | null; maxBuyPrice: bigint | null }

function mergeRules(rules: readonly TradeRuleInput[], market: string): Map<string, MergedRule> {
  const out = new Map<string, MergedRule>();
  for (const r of rules) {
    if (!r.enabled || r.market !== market) continue;
    const p = lower(r.participant);
    const m = out.get(p) ?? { participant: p, meters: [], minSellPrice: null, maxBuyPrice: null };
    if (!m.meters.includes(lower(r.meter))) m.meters.push(lower(r.meter));
    if (r.minSellPrice !== null) m.minSellPrice = m.minSellPrice === null || r.minSellPrice > m.minSellPrice ? r.minSellPrice : m.minSellPrice;
    if (r.maxBuyPrice !== null) m.maxBuyPrice = m.maxBuyPrice === null || r.maxBuyPrice < m.maxBuyPrice ? r.maxBuyPrice : m.maxBuyPrice;
    out.set(p, m);
  }
  return out;
}

/**
 * Decides, for every participant with rules and every slot open at `now`, what its rule orders should be:
 *   surplus forecast > 0 and a sell rule → one ask at the rule's minimum price (rounded up to the tick) for the surplus not yet sold;
 *   deficit forecast > 0 and a buy rule → one bid at the rule's maximum price (rounded down) for the deficit not yet bought;
 * and returns the intents that take the current rule orders there (place / amend / cancel). Pure and deterministic:
 * run it on every clock tick (or when forecasts change); an intent that fails is simply recomputed next time.
 */
export function decideRuleOrders(input: RuleEngineInput): RuleIntent[] {
  const { market, now } = input;
  const minQ = input.options?.minQuantityWh ?? 10;
  const tolerance = input.options?.amendToleranceWh ?? 20;
  const merged = mergeRules(input.rules, market.name);
  const slots = openSlots(market, now);

  // Rule orders by participant → slot → side.
  const orders = new Map<string, RuleOrderView[]>();
  for (const o of input.ruleOrders) {
    const k = `${lower(o.participant)}|${o.slot}`;
    const list = orders.get(k) ?? [];
    list.push(o);
    orders.set(k, list);
  }

  const intents: RuleIntent[] = [];
  const participants = new Set([...merged.keys(), ...input.ruleOrders.map((o) => lower(o.participant))]);
  for (const p of [...participants].sort()) {
    const rule = merged.get(p);
    for (const slot of slots) {
      const mine = (orders.get(`${p}|${slot}`) ?? []).slice().sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const open = mine.filter((o) => o.open && o.remainingWh > 0);
      if (!rule) {
        for (const o of open) intents.push({ kind: 'cancel', orderId: o.id, participant: p, slot, reason: 'rule-disabled' });
        continue;
      }
      let net = 0;
      let known = false;
      for (const m of rule.meters) {
        const f = input.forecast(m, slot);
        if (f) { net += f.netWh; known = true; }
      }
      let side: 'bid' | 'ask' | null = null;
      let price = 0n;
      let wanted = 0;
      if (known && net > 0 && rule.minSellPrice !== null) {
        const px = ceilTick(rule.minSellPrice > market.floor ? rule.minSellPrice : market.floor, market.tick);
        if (px <= market.cap) {
          side = 'ask';
          price = px;
          wanted = Math.min(net, input.exportCapacityWh?.get(p) ?? Number.MAX_SAFE_INTEGER);
        }
      } else if (known && net < 0 && rule.maxBuyPrice !== null) {
        const px = floorTick(rule.maxBuyPrice < market.cap ? rule.maxBuyPrice : market.cap, market.tick);
        if (px >= market.floor) {
          side = 'bid';
          price = px;
          wanted = -net;
        }
      }
      const filled = side ? mine.filter((o) => o.side === side).reduce((a, o) => a + o.filledWh, 0) : 0;
      const target = Math.max(0, wanted - filled);
      let kept: RuleOrderView | null = null;
      for (const o of open) {
        if (o.side !== side) {
          intents.push({ kind: 'cancel', orderId: o.id, participant: p, slot, reason: side ? 'side-flipped' : 'no-need' });
        } else if (kept) {
          intents.push({ kind: 'cancel', orderId: o.id, participant: p, slot, reason: 'duplicate' });
        } else kept = o;
      }
      if (!side) continue;
      if (target < minQ) {
        if (kept) intents.push({ kind: 'cancel', orderId: kept.id, participant: p, slot, reason: 'no-need' });
        continue;
      }
      if (!kept) {
        intents.push({ kind: 'place', participant: p, market: market.name, slot, side, price, quantityWh: target, expiry: slot });
        continue;
      }
      const change: { price?: bigint; quantityWh?: number } = {};
      if (kept.price !== price) change.price = price;
      if (Math.abs(kept.remainingWh - target) > Math.max(tolerance, Math.floor(target / 10))) change.quantityWh = target;
      if (change.price !== undefined || change.quantityWh !== undefined) {
        intents.push({ kind: 'amend', orderId: kept.id, participant: p, slot, side, price: kept.price, remainingWh: kept.remainingWh, change, expiry: slot });
      }
    }
  }
  // Orders of slots no longer open are left alone: the market expires them at gate closure.
  return intents;
}
