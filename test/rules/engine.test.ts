// Trade-rule engine properties: prices within the rule and the market, only open slots, a fixpoint after applying its intents.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideRuleOrders, openSlots, type RuleIntent, type RuleMarket, type RuleOrderView, type TradeRuleInput } from '../../server/src/rules/engine.ts';
import type { SlotForecast } from '../../server/src/forecast/forecaster.ts';

const market: RuleMarket = { name: 'default', slotMs: 900_000, horizonMs: 4 * 3_600_000, gateMs: 300_000, tick: 1000n, floor: 50_000n, cap: 400_000n };
const P = ['0x' + '1'.repeat(40), '0x' + '2'.repeat(40), '0x' + '3'.repeat(40)];
const meterOf = (p: string) => '0x' + p.slice(2, 4) + 'e'.repeat(38);

const forecastOf = (net: number, slot: number): SlotForecast => ({ slot, netWh: net, surplusWh: Math.max(0, net), deficitWh: Math.max(0, -net), basis: 'blend', profileDays: 7 });

/** Applies intents the way the order service would (an amend sets the open quantity; cancel closes). */
function apply(orders: RuleOrderView[], intents: RuleIntent[]): RuleOrderView[] {
  let next = orders.map((o) => ({ ...o }));
  let n = 0;
  for (const i of intents) {
    if (i.kind === 'place') next.push({ id: `new-${n++}-${i.participant}-${i.slot}`, participant: i.participant, slot: i.slot, side: i.side, price: i.price, remainingWh: i.quantityWh, filledWh: 0, open: true });
    if (i.kind === 'cancel') next = next.map((o) => (o.id === i.orderId ? { ...o, open: false } : o));
    if (i.kind === 'amend') next = next.map((o) => (o.id === i.orderId ? { ...o, price: i.change.price ?? o.price, remainingWh: i.change.quantityWh ?? o.remainingWh } : o));
  }
  return next;
}

const scenario = fc.record({
  now: fc.integer({ min: 1_700_000_000_000, max: 1_700_100_000_000 }),
  rules: fc.array(fc.record({
    who: fc.integer({ min: 0, max: 2 }),
    sell: fc.option(fc.bigInt({ min: 0n, max: 500_000n }), { nil: null }),
    buy: fc.option(fc.bigInt({ min: 0n, max: 500_000n }), { nil: null }),
    enabled: fc.boolean(),
  }), { maxLength: 4 }),
  nets: fc.array(fc.integer({ min: -3000, max: 3000 }), { minLength: 32, maxLength: 32 }),
  existing: fc.array(fc.record({ who: fc.integer({ min: 0, max: 2 }), k: fc.integer({ min: -2, max: 20 }), side: fc.constantFrom('bid' as const, 'ask' as const), price: fc.bigInt({ min: 0n, max: 400n }).map((x) => x * 1000n), rem: fc.integer({ min: 1, max: 4000 }), filled: fc.integer({ min: 0, max: 2000 }), open: fc.boolean() }), { maxLength: 12 }),
}).map(({ now, rules, nets, existing }) => {
  const rs: TradeRuleInput[] = rules.map((r) => ({ participant: P[r.who], meter: meterOf(P[r.who]), market: 'default', minSellPrice: r.sell, maxBuyPrice: r.buy, enabled: r.enabled }));
  const first = openSlots(market, now)[0];
  const ruleOrders: RuleOrderView[] = existing.map((e, i) => ({ id: `o${String(i).padStart(3, '0')}`, participant: P[e.who], slot: first + e.k * market.slotMs, side: e.side, price: e.price, remainingWh: e.rem, filledWh: e.filled, open: e.open }));
  const forecast = (meter: string, slot: number) => forecastOf(nets[(Math.floor(slot / market.slotMs) + meter.charCodeAt(3)) % nets.length], slot);
  return { now, rules: rs, ruleOrders, forecast };
});

describe('trade-rule engine', () => {
  it('open slots are exactly those with start − horizon ≤ now < start − gate', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 41 }), (now) => {
      const slots = openSlots(market, now);
      const isOpen = (s: number) => s - market.horizonMs <= now && now < s - market.gateMs;
      assert.ok(slots.length >= Math.floor((market.horizonMs - market.gateMs) / market.slotMs));
      slots.forEach((s, i) => assert.ok(s % market.slotMs === 0 && isOpen(s) && (i === 0 || s - slots[i - 1] === market.slotMs)));
      assert.ok(!isOpen(slots[0] - market.slotMs) && !isOpen(slots[slots.length - 1] + market.slotMs));
    }));
  });

  it('orders stay within the rule and the market, only in open slots, and applying the intents reaches a fixpoint', () => {
    fc.assert(fc.property(scenario, ({ now, rules, ruleOrders, forecast }) => {
      const intents = decideRuleOrders({ now, market, rules, forecast, ruleOrders });
      const open = new Set(openSlots(market, now));
      for (const i of intents) {
        assert.ok(open.has(i.slot), 'only open slots are touched');
        if (i.kind === 'cancel') continue;
        const price = i.kind === 'place' ? i.price : (i.change.price ?? i.price);
        assert.ok(price >= market.floor && price <= market.cap && price % market.tick === 0n);
        const mine = rules.filter((r) => r.participant === i.participant && r.enabled);
        assert.ok(mine.length > 0, 'no rule, no order');
        if (i.side === 'ask') for (const r of mine) if (r.minSellPrice !== null) assert.ok(price >= r.minSellPrice);
        if (i.side === 'bid') for (const r of mine) if (r.maxBuyPrice !== null) assert.ok(price <= r.maxBuyPrice);
        if (i.kind === 'place') {
          const net = forecast(meterOf(i.participant), i.slot).netWh;
          assert.ok(i.side === 'ask' ? net > 0 && i.quantityWh <= net : net < 0 && i.quantityWh <= -net);
          assert.ok(i.quantityWh >= 10);
        }
      }
      const after = apply([...ruleOrders], intents);
      assert.deepEqual(decideRuleOrders({ now, market, rules, forecast, ruleOrders: after }), []);
    }), { numRuns: 300 });
  });

  it('example: sells surplus at the minimum price, amends on a new forecast, cancels when the deficit flips the side', () => {
    const now = 1_700_000_000_000;
    const slot = openSlots(market, now)[0];
    const rules: TradeRuleInput[] = [{ participant: P[0], meter: meterOf(P[0]), market: 'default', minSellPrice: 120_500n, maxBuyPrice: 300_000n, enabled: true }];
    const only = (net: number) => (_m: string, s: number) => (s === slot ? forecastOf(net, s) : null);
    const placed = decideRuleOrders({ now, market, rules, forecast: only(800), ruleOrders: [] });
    assert.deepEqual(placed, [{ kind: 'place', participant: P[0], market: 'default', slot, side: 'ask', price: 121_000n, quantityWh: 800, expiry: slot }]);
    const capped = decideRuleOrders({ now, market, rules, forecast: only(800), ruleOrders: [], exportCapacityWh: new Map([[P[0], 500]]) });
    assert.equal(capped[0].kind === 'place' && capped[0].quantityWh, 500, 'asks never exceed the export capacity of a slot');
    const open: RuleOrderView[] = [{ id: 'a', participant: P[0], slot, side: 'ask', price: 121_000n, remainingWh: 500, filledWh: 300, open: true }];
    assert.deepEqual(decideRuleOrders({ now, market, rules, forecast: only(1300), ruleOrders: open }).map((i) => i.kind === 'amend' && i.change), [{ quantityWh: 1000 }]);
    const flipped = decideRuleOrders({ now, market, rules, forecast: only(-900), ruleOrders: open });
    assert.deepEqual(flipped.map((i) => i.kind), ['cancel', 'place']);
    assert.deepEqual(flipped[1], { kind: 'place', participant: P[0], market: 'default', slot, side: 'bid', price: 300_000n, quantityWh: 900, expiry: slot });
    assert.deepEqual(decideRuleOrders({ now, market, rules: [{ ...rules[0], enabled: false }], forecast: only(800), ruleOrders: open }).map((i) => i.kind === 'cancel' && i.reason), ['rule-disabled']);
  });
});
