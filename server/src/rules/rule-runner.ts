// Runs the trade rules against the live system: forecasts from stored readings, rule orders from the store, intents signed by delegates.
import type { Address, OrderAmend, OrderSubmission } from '@gridmesh/contracts-abi';
import type { Store } from '../store/index.ts';
import { forecastSlot, slotHistory, type ForecastConfig, type SlotForecast } from '../forecast/forecaster.ts';
import { decideRuleOrders, openSlots, type RuleIntent, type RuleMarket, type RuleOrderView, type TradeRuleInput } from './engine.ts';
import type { DelegationService } from './delegation.ts';

/** How the runner reaches the order service (part of the server composition): rule orders go through the normal path. */
export interface RuleOrderPort {
  /** OrderService.submit(body, { kind: 'rule' }). */
  submit(body: OrderSubmission): Promise<unknown>;
  /** OrderService.amend(orderId, body, { kind: 'rule' }). */
  amend(orderId: string, body: OrderAmend): Promise<unknown>;
  /** OrderService.cancel(orderId, { kind: 'rule' }). */
  cancel(orderId: string): Promise<unknown>;
}

export interface RuleRunReport {
  placed: number;
  amended: number;
  cancelled: number;
  failed: { intent: RuleIntent; error: string }[];
  /** Participants with enabled rules but no authorised server-held session key. */
  noDelegation: string[];
}

const DAY_MS = 86_400_000;

/**
 * One runner per market. Keeps per-meter slot histories in memory and extends them incrementally from the store,
 * so a run costs only the readings since the last run. Call `run(now)` on each clock tick (e.g. every slot/4).
 */
export class RuleRunner {
  private readonly histories = new Map<string, { map: Map<number, number>; doneTo: number }>();

  constructor(
    private readonly store: Store,
    private readonly market: RuleMarket,
    private readonly delegations: DelegationService,
    private readonly orders: RuleOrderPort,
    private readonly forecastConfig: Omit<ForecastConfig, 'slotMs'> = {},
    /** Export capacity (W) of a participant, as the market's ask check counts it; asks are clamped to it per slot. */
    private readonly exportCapacityW?: (participant: Address) => number,
  ) {}

  /** Per-slot net energies of `meter` up to the last slot ended by `now` (8 days back at most). */
  private async history(meter: string, now: number): Promise<Map<number, number>> {
    const slotMs = this.market.slotMs;
    const days = (this.forecastConfig.days ?? 7) + 1;
    const end = Math.floor(now / slotMs) * slotMs;
    let h = this.histories.get(meter);
    if (!h) this.histories.set(meter, (h = { map: new Map(), doneTo: end - days * DAY_MS }));
    if (h.doneTo < end) {
      const gap = slotMs;
      const readings = await this.store.readings.range(meter as Address, { from: h.doneTo - gap, to: end + gap, limit: 1_000_000 });
      for (const s of slotHistory(readings, h.doneTo, end, slotMs, gap)) h.map.set(s.slot, s.netWh);
      // A slot whose end reading has not arrived yet is retried next run.
      let doneTo = h.doneTo;
      for (let s = h.doneTo; s + slotMs <= end; s += slotMs) {
        if (h.map.has(s) || s + slotMs + gap < now) doneTo = s + slotMs; else break;
      }
      h.doneTo = doneTo;
      for (const k of h.map.keys()) if (k < end - days * DAY_MS) h.map.delete(k);
    }
    return h.map;
  }

  /** Forecasts for every rule meter and open slot at `now` (also what the API can show a participant). */
  async forecasts(now: number, meters: string[]): Promise<Map<string, SlotForecast>> {
    const out = new Map<string, SlotForecast>();
    const slots = openSlots(this.market, now);
    for (const meter of meters) {
      const history = await this.history(meter.toLowerCase(), now);
      for (const slot of slots) out.set(`${meter.toLowerCase()}|${slot}`, forecastSlot(history, slot, now, { ...this.forecastConfig, slotMs: this.market.slotMs }));
    }
    return out;
  }

  async run(now: number): Promise<RuleRunReport> {
    const report: RuleRunReport = { placed: 0, amended: 0, cancelled: 0, failed: [], noDelegation: [] };
    const records = (await this.store.rules.rules()).filter((r) => r.market === this.market.name);
    const rules: TradeRuleInput[] = records.map((r) => ({
      participant: r.participant, meter: r.meter, market: r.market, enabled: r.enabled,
      minSellPrice: r.minSellPrice === null ? null : BigInt(r.minSellPrice), maxBuyPrice: r.maxBuyPrice === null ? null : BigInt(r.maxBuyPrice),
    }));
    const forecasts = await this.forecasts(now, [...new Set(rules.filter((r) => r.enabled).map((r) => r.meter.toLowerCase()))]);
    const slots = openSlots(this.market, now);
    const ruleOrders: RuleOrderView[] = [];
    for (const p of new Set(records.map((r) => r.participant.toLowerCase()))) {
      for (const o of await this.store.market.orders({ participant: p as Address, market: this.market.name, fromSlot: slots[0], status: 'all', limit: 10_000 })) {
        if (o.source !== 'rule') continue;
        ruleOrders.push({ id: o.id, participant: o.participant, slot: o.slot, side: o.side, price: BigInt(o.price), remainingWh: o.remainingWh, filledWh: o.filledWh, open: o.status === 'open' });
      }
    }
    const capacity = this.exportCapacityW
      ? new Map([...new Set(rules.map((r) => r.participant.toLowerCase()))].map((p) => [p, Math.floor((this.exportCapacityW!(p as Address) * this.market.slotMs) / 3_600_000)]))
      : undefined;
    const intents = decideRuleOrders({
      now, market: this.market, rules, ruleOrders, forecast: (meter, slot) => forecasts.get(`${meter.toLowerCase()}|${slot}`) ?? null,
      ...(capacity ? { exportCapacityWh: capacity } : {}),
    });
    for (const intent of intents) {
      try {
        if (intent.kind === 'cancel') {
          await this.orders.cancel(intent.orderId);
          report.cancelled++;
          continue;
        }
        const signer = this.delegations.signerFor(intent.participant, now);
        if (!signer) {
          if (!report.noDelegation.includes(intent.participant)) report.noDelegation.push(intent.participant);
          continue;
        }
        if (intent.kind === 'place') {
          await this.orders.submit(signer.submission({ participant: intent.participant as Address, market: intent.market, slot: intent.slot, side: intent.side, price: intent.price, quantityWh: intent.quantityWh, expiry: intent.expiry }, now));
          report.placed++;
        } else {
          await this.orders.amend(intent.orderId, signer.amendment({ participant: intent.participant as Address, market: this.market.name, slot: intent.slot, side: intent.side, price: intent.price, remainingWh: intent.remainingWh }, intent.change, intent.expiry, now));
          report.amended++;
        }
      } catch (err) {
        report.failed.push({ intent, error: err instanceof Error ? err.message : String(err) });
      }
    }
    return report;
  }
}
