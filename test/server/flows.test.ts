// Neighbourhood flows now: physical self-sufficiency behind the transformer versus the share contracted in trades.
import assert from 'node:assert/strict';
import type { Address, LivePower } from '@gridmesh/contracts-abi';
import { computeFlows } from '../../server/src/realtime/flows.ts';
import type { TradeRecord } from '../../server/src/store/index.ts';

const addr = (n: number) => ('0x' + n.toString(16).padStart(40, '0')) as Address;
const home = (n: number, powerW: number): LivePower => ({
  meter: addr(0x100 + n), owner: addr(n), name: `home ${n}`, role: 'grid', powerW, importWh: 0, exportWh: 0, timestamp: 0, seq: 1, verified: true,
});
const SLOT = 1_800_000_000_000;

describe('neighbourhood flows', () => {
  it('without trades, imports met by neighbours\' exports still count as local; the grid takes only the difference', () => {
    const f = computeFlows('m', SLOT, 60_000, SLOT + 1, [home(1, -3000), home(2, 1000), home(3, 1000)], []);
    assert.equal(f.totals.consumptionW, 2000);
    assert.equal(f.totals.productionW, 3000);
    assert.equal(f.totals.localW, 2000);
    assert.equal(f.totals.selfSufficiency, 1);
    assert.deepEqual([f.totals.gridImportW, f.totals.gridExportW], [0, 1000]);
    assert.deepEqual([f.totals.tradedW, f.totals.tradedShare], [0, 0]);
    assert.equal(f.trades.length, 0);
  });

  it('a trade shows as a seller → buyer flow at its average power and as the traded share', () => {
    const trade: TradeRecord = { id: 't', market: 'm', slot: SLOT, seq: 1, buyer: addr(2), seller: addr(1), price: '200000', quantityWh: 10, time: SLOT - 1 } as TradeRecord;
    const f = computeFlows('m', SLOT, 60_000, SLOT + 1, [home(1, -1000), home(2, 1500), home(3, 500)], [trade]);
    assert.deepEqual(f.trades.map((t) => [t.seller, t.buyer, t.powerW]), [[addr(1), addr(2), 600]]);
    assert.equal(f.totals.localW, 1000);
    assert.equal(f.totals.selfSufficiency, 0.5);
    assert.equal(f.totals.tradedW, 600);
    assert.equal(f.totals.tradedShare, 0.3);
    assert.deepEqual([f.totals.gridImportW, f.totals.gridExportW], [1000, 0]);
  });
});
