// A participant's standing trade rules over REST: validated, only for meters it owns, stored as one set per participant.
import { ErrorCode, validate, type Address, type TradeRule, type TradeRulesUpdate, type WireError } from '@gridmesh/contracts-abi';
import type { Store, TradeRuleRecord } from '../store/index.ts';

export class RulesError extends Error {
  constructor(readonly status: number, readonly body: WireError) {
    super(body.message);
    this.name = 'RulesError';
  }
}

const lower = (a: string) => a.toLowerCase() as Address;

export function toTradeRule(r: TradeRuleRecord): TradeRule {
  return { meter: r.meter, market: r.market, enabled: r.enabled, minSellPrice: r.minSellPrice, maxBuyPrice: r.maxBuyPrice };
}

export class TradeRulesService {
  constructor(private readonly store: Store, private readonly defaultMarket: string) {}

  async list(participant: string): Promise<TradeRule[]> {
    return (await this.store.rules.rules(lower(participant))).map(toTradeRule);
  }

  /**
   * Replaces the participant's rule set with `body` (TradeRulesUpdate): 400 naming the field for a bad body or a meter
   * given twice, 404 for an unknown meter, 403 for a meter bound to someone else. Rules of meters left out are removed.
   */
  async replace(participant: string, body: unknown, now: number): Promise<TradeRule[]> {
    const checked = validate<TradeRulesUpdate>('TradeRulesUpdate', body);
    if (!checked.ok) throw new RulesError(400, checked.error);
    const p = lower(participant);
    const seen = new Set<string>();
    for (const [i, r] of checked.value.rules.entries()) {
      const m = lower(r.meter);
      if (seen.has(m)) throw new RulesError(400, { code: ErrorCode.VALIDATION, message: `meter ${m} appears twice`, fields: [{ field: `/rules/${i}/meter`, message: 'appears twice' }] });
      seen.add(m);
      const bound = await this.store.meters.get(m);
      if (!bound) throw new RulesError(404, { code: ErrorCode.NOT_FOUND, message: `meter ${m} is not registered`, fields: [{ field: `/rules/${i}/meter`, message: 'is not registered' }] });
      if (lower(bound.owner) !== p) throw new RulesError(403, { code: ErrorCode.FORBIDDEN, message: `meter ${m} is bound to another participant`, fields: [{ field: `/rules/${i}/meter`, message: 'is not yours' }] });
    }
    for (const old of await this.store.rules.rules(p)) if (!seen.has(lower(old.meter))) await this.store.rules.removeRule(p, old.meter);
    for (const r of checked.value.rules) {
      await this.store.rules.upsertRule({
        participant: p, meter: lower(r.meter), market: r.market ?? this.defaultMarket, enabled: r.enabled,
        minSellPrice: r.minSellPrice ?? null, maxBuyPrice: r.maxBuyPrice ?? null, updatedAt: now,
      });
    }
    return this.list(p);
  }
}
