// SlotSettler that runs delivery settlement (settlement module) and hands the netted batch to the chain outbox (chain module).
import type { Address } from '@gridmesh/contracts-abi';
import type { SlotSettlementInfo, TradeRecord } from '../store/index.ts';
import { SettlementService, type SettlementServiceOptions } from '../settlement/index.ts';
import { buildSettlementBatch, type OutboxEntry, type SettlementOutbox, type SettlementOutboxStore } from '../chain/index.ts';
import type { Store } from '../store/index.ts';
import type { MarketSettings } from '../orders/market-settings.ts';
import type { SlotSettler } from './slot-lifecycle.ts';

/** Reward policy of the embedded default: 1 reward token per kWh delivered, 0.01 per bridge-slot of full uptime. */
export const DEFAULT_REWARDS: SettlementServiceOptions['rewards'] = { deliveryPerKWh: 10n ** 18n, uptimePerSlot: 10n ** 16n, readingIntervalMs: 1000 };

const infoOf = (e: OutboxEntry): SlotSettlementInfo => ({ status: e.status, txHash: e.txHash, tradesRoot: e.tradesRoot, attempts: e.attempts });

export interface ChainSettlerDeps {
  store: Store;
  outbox: SettlementOutbox | null;
  outboxStore: SettlementOutboxStore | null;
  now: () => number;
  rewards?: SettlementServiceOptions['rewards'];
  escrowOf?: (participant: Address) => Promise<bigint | null>;
  /** Told once a slot's participant settlements exist (for the participant rooms). */
  onSettled?: (market: string, slot: number) => void;
  /** Runs after a slot's settlement (and rewards) are stored, before its batch is queued: reward epochs hook in here. */
  afterSettle?: (market: string, slot: number) => Promise<unknown>;
}

/**
 * Settlement is stored once per slot by the settlement service, and the outbox keeps one batch per slot, so calling
 * `settle` again after a crash yields the same batch and never a second debit (the contract also refuses a second
 * settleSlot). Without a chain (outbox null) a settled slot is final once computed.
 */
export class ChainSettler implements SlotSettler {
  private readonly service: SettlementService;

  constructor(private readonly deps: ChainSettlerDeps) {
    this.service = new SettlementService(deps.store, { rewards: deps.rewards ?? DEFAULT_REWARDS, ...(deps.escrowOf ? { escrowOf: deps.escrowOf } : {}) });
  }

  async settle(market: MarketSettings, slot: number, trades: TradeRecord[]): Promise<SlotSettlementInfo> {
    const outcome = await this.service.settleSlot(market, slot, trades, this.deps.now());
    this.deps.onSettled?.(market.id, slot);
    // A failed epoch check must not hold up the slot's own settlement; it is tried again after the next slot.
    await this.deps.afterSettle?.(market.id, slot).catch(() => undefined);
    const { outbox, outboxStore } = this.deps;
    if (!outbox || !outboxStore || trades.length === 0) {
      return { status: 'confirmed', txHash: null, tradesRoot: null, attempts: 0 };
    }
    const existing = outboxStore.get(slot);
    if (existing) return infoOf(existing);
    const batch = buildSettlementBatch(slot, trades.map((t) => ({ id: t.id, slot: t.slot, seq: t.seq, buyer: t.buyer, seller: t.seller, price: BigInt(t.price), quantityWh: t.quantityWh })), outcome.nettedDeltas);
    outbox.enqueue(batch);
    const entry = outboxStore.get(slot);
    return entry ? infoOf(entry) : { status: 'pending', txHash: null, tradesRoot: batch.tradesRoot, attempts: 0 };
  }

  async status(_market: MarketSettings, slot: number): Promise<SlotSettlementInfo | null> {
    const entry = this.deps.outboxStore?.get(slot);
    return entry ? infoOf(entry) : null;
  }
}
