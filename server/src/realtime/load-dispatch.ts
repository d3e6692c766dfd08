// Switches flexible loads: at gate closure, every buyer's bridges get a `dispatch` to run their relay through the bought slot.
import type { Namespace } from 'socket.io';
import type { Address, Dispatch } from '@gridmesh/contracts-abi';
import type { Registry } from '../registry/registry.ts';
import type { SlotRecord, TradeRecord } from '../store/market-port.ts';

export interface LoadDispatchDeps {
  bridges: Namespace;
  registry: Registry;
  slotMs: (market: string) => number;
  trades: (market: string, slot: number) => Promise<TradeRecord[]>;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** The dispatches for one closed slot: one per meter of each participant who bought energy in it. */
export function dispatchesFor(registry: Registry, trades: TradeRecord[], slot: number, slotEnd: number): Dispatch[] {
  const boughtWh = new Map<string, number>();
  for (const t of trades) boughtWh.set(t.buyer.toLowerCase(), (boughtWh.get(t.buyer.toLowerCase()) ?? 0) + t.quantityWh);
  const out: Dispatch[] = [];
  for (const home of registry.listHomes()) {
    const wh = boughtWh.get(home.owner.toLowerCase());
    if (wh) out.push({ meter: home.meter as Address, slot, slotEnd, on: true, reason: `bought ${wh} Wh from neighbours` });
  }
  return out;
}

/**
 * Returns the slot listener to register with the lifecycle. Trades of a slot are final once its gate has closed,
 * so that is when the buyers' loads are scheduled; the bridge keeps the window and switches at slot start and end.
 */
export function loadDispatcher(deps: LoadDispatchDeps): (market: string, slots: SlotRecord[]) => void {
  return (market, slots) => {
    for (const s of slots) {
      if (s.state !== 'gate_closed' || s.tradeCount === 0) continue;
      void deps
        .trades(market, s.slot)
        .then((trades) => {
          for (const d of dispatchesFor(deps.registry, trades, s.slot, s.slot + deps.slotMs(market))) {
            deps.bridges.to(`meter:${d.meter.toLowerCase()}`).emit('dispatch', d);
          }
        })
        .catch((err: unknown) => deps.log?.('load dispatch failed', { market, slot: s.slot, err: String(err) }));
    }
  };
}
