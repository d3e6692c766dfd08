// JSON shapes of the API (server/API.md) built from store records and the live engine: OrderInfo, Trade, SlotInfo, BookSnapshot.
import type { BookSnapshot, TradeMessage } from '@gridmesh/contracts-abi';
import type { OrderRecord, SlotRecord, TradeRecord } from '../store/index.ts';
import type { MarketRuntime } from './market-runtime.ts';
import type { MarketSettings } from './market-settings.ts';

export type OrderInfo = Omit<OrderRecord, 'signature' | 'signer'>;

export function orderInfo(o: OrderRecord): OrderInfo {
  const { signature: _s, signer: _k, ...info } = o;
  return info;
}

export function tradeMessage(t: TradeRecord): TradeMessage {
  return { id: t.id, market: t.market, slot: t.slot, seq: t.seq, buyOrder: t.buyOrder, sellOrder: t.sellOrder, buyer: t.buyer, seller: t.seller, price: t.price, quantityWh: t.quantityWh, time: t.time };
}

export interface SlotInfo {
  market: string; slot: number; end: number; state: SlotRecord['state']; stateSince: number; opensAt: number; gateAt: number; meteringEndsAt: number;
  tradeCount: number; volumeWh: number; vwap: string | null; clearingPrice: string | null; settlement: SlotRecord['settlement'];
}

export function slotInfo(r: SlotRecord, s: MarketSettings): SlotInfo {
  return {
    market: r.market, slot: r.slot, end: r.slot + s.slotMs, state: r.state, stateSince: r.stateSince, opensAt: r.slot - s.horizonMs,
    gateAt: r.slot - s.gateMs, meteringEndsAt: r.slot + s.slotMs + s.graceMs, tradeCount: r.tradeCount, volumeWh: r.volumeWh,
    vwap: r.volumeWh > 0 ? (BigInt(r.turnover) / BigInt(r.volumeWh)).toString() : null, clearingPrice: r.clearingPrice, settlement: r.settlement,
  };
}

export function bookSnapshot(rt: MarketRuntime, slot: number, seq: number, depth = 10): BookSnapshot & { state: string } {
  const book = rt.market.bookSnapshot(slot, depth);
  const state = rt.slotRecord(slot)?.state ?? 'closed';
  const level = (l: { price: bigint; quantityWh: number; orders: number }) => ({ price: l.price.toString(), quantityWh: l.quantityWh, orders: l.orders });
  const snap: BookSnapshot & { state: string } = { market: rt.settings.id, slot, seq, state, bids: book.bids.map(level), asks: book.asks.map(level) };
  if (rt.settings.mechanism === 'call') {
    const ind = rt.market.indicative(slot);
    snap.indicative = { price: ind?.price == null ? null : ind.price.toString(), volumeWh: ind?.volumeWh ?? 0 };
  }
  return snap;
}
