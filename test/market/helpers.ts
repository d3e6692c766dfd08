// Shared test helpers for the market engine: random command streams and an independent ledger that checks every event.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Market, eventToJson, type MarketCommand, type MarketConfig, type MarketEvent, type Side } from '../../server/src/market/index.ts';

export const SLOT_MS = 60_000;
/** First slot used by the tests; times in the tests run from 1000 ms, long before its gate. */
export const SLOT0 = 60 * SLOT_MS;
export const PARTICIPANTS = ['alice', 'bob', 'carol'];

/** A small config: prices 0..200 on a tick of 10, slots SLOT0 and the next one open from the start of the tests. */
export function smallConfig(overrides: Partial<MarketConfig> = {}): Partial<MarketConfig> {
  return { slotMs: SLOT_MS, horizonMs: 10 * SLOT0, gateMs: 0, tick: 10n, floor: 0n, cap: 200n, mechanism: 'continuous', ...overrides };
}

type Spec =
  | { kind: 'submit'; participant: number; slot: number; side: Side; priceStep: number; quantity: number; ioc: boolean; offTick: boolean }
  | { kind: 'cancel'; target: number }
  | { kind: 'amend'; target: number; priceStep: number | null; quantity: number | null };

const specArb: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 7, arbitrary: fc.record({ kind: fc.constant('submit' as const), participant: fc.nat(2), slot: fc.nat(1), side: fc.constantFrom<Side>('bid', 'ask'), priceStep: fc.integer({ min: -1, max: 21 }), quantity: fc.integer({ min: 1, max: 60 }), ioc: fc.boolean(), offTick: fc.integer({ min: 0, max: 19 }).map((x) => x === 0) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('cancel' as const), target: fc.nat(60) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('amend' as const), target: fc.nat(60), priceStep: fc.option(fc.integer({ min: 0, max: 20 })), quantity: fc.option(fc.integer({ min: 1, max: 60 })) }) },
);

/** Random command streams: mostly submits around the middle of the price range, with cancels, amends and a final close. */
export function commandsArb(opts: { ioc: boolean; maxLength?: number }): fc.Arbitrary<MarketCommand[]> {
  return fc.array(specArb, { minLength: 1, maxLength: opts.maxLength ?? 80 }).map((specs) => {
    const commands: MarketCommand[] = [];
    specs.forEach((s, i) => {
      const time = 1000 + i;
      if (s.kind === 'submit') {
        commands.push({ type: 'submit', id: `o${i}`, participant: PARTICIPANTS[s.participant], slot: SLOT0 + s.slot * SLOT_MS, side: s.side, price: BigInt(s.priceStep * 10 + (s.offTick ? 5 : 0)), quantityWh: s.quantity, tif: opts.ioc && s.ioc ? 'ioc' : 'gtc', time });
      } else if (s.kind === 'cancel') {
        commands.push({ type: 'cancel', id: `o${s.target}`, time });
      } else {
        const amend: MarketCommand = { type: 'amend', id: `o${s.target}`, time };
        if (s.priceStep !== null) amend.price = BigInt(s.priceStep * 10);
        if (s.quantity !== null) amend.quantityWh = s.quantity;
        commands.push(amend);
      }
    });
    commands.push({ type: 'close', slot: SLOT0, time: 1000 + specs.length });
    return commands;
  });
}

export function runAll(market: Market, commands: MarketCommand[], afterEach?: (m: Market, events: MarketEvent[]) => void): MarketEvent[] {
  const all: MarketEvent[] = [];
  for (const c of commands) {
    const events = market.apply(c);
    all.push(...events);
    afterEach?.(market, events);
  }
  return all;
}

export function serialise(events: MarketEvent[]): string {
  return events.map(eventToJson).join('\n');
}

interface LedgerOrder { participant: string; side: Side; limit: bigint; open: number }

/**
 * Follows the event stream order by order, independently of the engine: every fill must fit the open quantity,
 * every trade must respect both limits and [floor, cap], nobody trades with itself, and at the end each side's
 * accepted energy equals traded + cancelled/expired + still open.
 */
export class Ledger {
  readonly orders = new Map<string, LedgerOrder>();
  acceptedWh = { bid: 0, ask: 0 };
  tradedWh = 0;
  droppedWh = { bid: 0, ask: 0 };
  amendDeltaWh = { bid: 0, ask: 0 };
  constructor(private readonly floor: bigint, private readonly cap: bigint) {}

  observe(e: MarketEvent): void {
    switch (e.type) {
      case 'accepted':
        assert.ok(!this.orders.has(e.id), `id ${e.id} accepted twice while open`);
        this.orders.set(e.id, { participant: e.participant, side: e.side, limit: e.price, open: e.quantityWh });
        this.acceptedWh[e.side] += e.quantityWh;
        break;
      case 'trade': {
        const buy = this.orders.get(e.buy);
        const sell = this.orders.get(e.sell);
        assert.ok(buy && sell, `trade ${e.seq} names unknown orders`);
        assert.equal(buy.side, 'bid');
        assert.equal(sell.side, 'ask');
        assert.notEqual(e.buyer, e.seller, 'self-trade');
        assert.equal(buy.participant, e.buyer);
        assert.equal(sell.participant, e.seller);
        assert.ok(e.quantityWh > 0 && e.quantityWh <= buy.open && e.quantityWh <= sell.open, 'fill exceeds open quantity');
        assert.ok(e.price <= buy.limit && e.price >= sell.limit, 'trade price outside the limits');
        assert.ok(e.price >= this.floor && e.price <= this.cap, 'trade price outside [floor, cap]');
        buy.open -= e.quantityWh;
        sell.open -= e.quantityWh;
        this.tradedWh += e.quantityWh;
        if (buy.open === 0) this.orders.delete(e.buy);
        if (sell.open === 0) this.orders.delete(e.sell);
        break;
      }
      case 'amended': {
        const o = this.orders.get(e.id);
        assert.ok(o, `amend of unknown ${e.id}`);
        this.amendDeltaWh[o.side] += e.quantityWh - o.open;
        o.open = e.quantityWh;
        o.limit = e.price;
        break;
      }
      case 'cancelled':
      case 'expired': {
        const o = this.orders.get(e.id);
        assert.ok(o, `${e.type} of unknown ${e.id}`);
        assert.equal(e.remainingWh, o.open, `${e.type} ${e.id} reports a different open quantity`);
        this.droppedWh[o.side] += o.open;
        this.orders.delete(e.id);
        break;
      }
      default:
    }
  }

  /** Energy conservation per side. */
  checkConservation(): void {
    for (const side of ['bid', 'ask'] as const) {
      let open = 0;
      for (const o of this.orders.values()) if (o.side === side) open += o.open;
      assert.equal(this.acceptedWh[side] + this.amendDeltaWh[side], this.tradedWh + this.droppedWh[side] + open, `energy not conserved on the ${side} side`);
    }
  }
}
