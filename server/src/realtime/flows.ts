// Neighbourhood flows now: per-home power at the grid connection, seller→buyer flows of the slot being delivered, grid in/out.
import type { Address, LivePower } from '@gridmesh/contracts-abi';
import type { TradeRecord } from '../store/index.ts';

export interface HomeFlow { participant: Address; name: string; meter: Address; powerW: number }
export interface TradeFlow { seller: Address; buyer: Address; quantityWh: number; powerW: number; price: string }
export interface GridFlow { participant: Address; powerW: number }
export interface Flows {
  market: string;
  slot: number;
  time: number;
  homes: HomeFlow[];
  trades: TradeFlow[];
  toGrid: GridFlow[];
  fromGrid: GridFlow[];
  /**
   * Physical at the transformer: homes' imports are met first by neighbours' exports (net metering behind one
   * connection), so local = min(import, export) and the grid supplies or takes only the difference. `tradedW` is the part
   * of the imports contracted in this slot's trades (the market's share, ≤ localW unless homes miss their trades).
   */
  totals: {
    consumptionW: number; productionW: number; localW: number; gridImportW: number; gridExportW: number; selfSufficiency: number;
    tradedW: number; tradedShare: number;
  };
}

/**
 * Contracted trade power is the slot's energy spread evenly over the slot. What a seller exports beyond the power it
 * sold goes to the grid; what a buyer imports beyond the power it bought comes from the grid.
 */
export function computeFlows(market: string, slot: number, slotMs: number, time: number, homes: LivePower[], trades: TradeRecord[]): Flows {
  const gridHomes = homes.filter((h) => h.role === 'grid');
  const byPair = new Map<string, TradeFlow>();
  for (const t of trades) {
    const k = `${t.seller}>${t.buyer}`;
    const f = byPair.get(k) ?? { seller: t.seller, buyer: t.buyer, quantityWh: 0, powerW: 0, price: t.price };
    f.quantityWh += t.quantityWh;
    f.powerW = Math.round((f.quantityWh * 3_600_000) / slotMs);
    f.price = t.price;
    byPair.set(k, f);
  }
  const flows = [...byPair.values()];
  const power = new Map<string, number>();
  for (const h of gridHomes) power.set(h.owner, (power.get(h.owner) ?? 0) + h.powerW);
  const sold = new Map<string, number>();
  const bought = new Map<string, number>();
  for (const f of flows) {
    sold.set(f.seller, (sold.get(f.seller) ?? 0) + f.powerW);
    bought.set(f.buyer, (bought.get(f.buyer) ?? 0) + f.powerW);
  }
  const toGrid: GridFlow[] = [];
  const fromGrid: GridFlow[] = [];
  let consumptionW = 0;
  let productionW = 0;
  let tradedW = 0;
  for (const [participant, p] of power) {
    const exportW = Math.max(0, -p);
    const importW = Math.max(0, p);
    consumptionW += importW;
    productionW += exportW;
    const localIn = Math.min(importW, bought.get(participant) ?? 0);
    tradedW += localIn;
    toGrid.push({ participant: participant as Address, powerW: Math.max(0, exportW - (sold.get(participant) ?? 0)) });
    fromGrid.push({ participant: participant as Address, powerW: importW - localIn });
  }
  const localW = Math.min(consumptionW, productionW);
  const share = (w: number) => (consumptionW > 0 ? Math.round((w / consumptionW) * 1000) / 1000 : 1);
  return {
    market, slot, time,
    homes: gridHomes.map((h) => ({ participant: h.owner, name: h.name, meter: h.meter, powerW: h.powerW })),
    trades: flows, toGrid, fromGrid,
    totals: {
      consumptionW, productionW, localW, gridImportW: consumptionW - localW, gridExportW: productionW - localW, selfSufficiency: share(localW),
      tradedW, tradedShare: share(tradedW),
    },
  };
}
