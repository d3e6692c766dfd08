// Measures the forecaster on the bridge's simulated homes over several days: MAE / MAPE per home vs. naive baselines.
import assert from 'node:assert/strict';
import { integrate, type SimulatedState } from '@gridmesh/firmware-bridge/devices/simulated.ts';
import { DEMO_HOMES } from '../../server/src/demo/demo-homes.ts';
import { baselines, forecastSlot, slotHistory } from '../../server/src/forecast/forecaster.ts';
import type { RegisterReading } from '../../server/src/settlement/metering.ts';

const SLOT = 15 * 60_000;
const DAY = 86_400_000;
const DAYS = 14;
const EVAL_FROM_DAY = 7;
const READING_EVERY = 5 * 60_000;
/** Slots with |actual| below this are left out of MAPE (a percentage of ~0 Wh says nothing). */
const MAPE_FLOOR_WH = 50;

interface Errors { abs: number; n: number; ape: number; nApe: number }
const add = (e: Errors, forecast: number, actual: number) => {
  e.abs += Math.abs(forecast - actual);
  e.n++;
  if (Math.abs(actual) >= MAPE_FLOOR_WH) { e.ape += Math.abs(forecast - actual) / Math.abs(actual); e.nApe++; }
};
const fresh = (): Errors => ({ abs: 0, n: 0, ape: 0, nApe: 0 });
const mae = (e: Errors) => e.abs / e.n;
const mape = (e: Errors) => (100 * e.ape) / e.nApe;

/** Readings of a simulated home every 5 minutes, integrated along the bridge's own power curve (seeds differ from the ones the defaults were tuned on). */
function simulateReadings(home: (typeof DEMO_HOMES)[number], start: number): RegisterReading[] {
  const o = { seed: home.index * 104_729, pvPeakW: home.pvPeakW, loadBaseW: home.loadBaseW, clockOffsetMin: 0 };
  let state: SimulatedState = { importWh: 1_000_000, exportWh: 0, importFrac: 0, exportFrac: 0, lastTs: start };
  const out: RegisterReading[] = [];
  for (let t = start; t <= start + DAYS * DAY; t += READING_EVERY) {
    state = integrate(o, state, t);
    out.push({ timestamp: t, importWh: state.importWh, exportWh: state.exportWh });
  }
  return out;
}

describe('forecast accuracy on the simulated homes', function () {
  this.timeout(120_000);

  it('prints MAE / MAPE per home at gate-closure lead and 6 h lead vs. persistence and same-slot-yesterday', () => {
    const start = Date.UTC(2026, 5, 1);
    const leads = [{ name: 'gate (5 min)', ms: 5 * 60_000 }, { name: '6 h', ms: 6 * 3_600_000 }];
    const total = new Map<string, Errors>();
    const rows: string[] = [];
    for (const home of DEMO_HOMES) {
      const history = new Map(slotHistory(simulateReadings(home, start), start, start + DAYS * DAY, SLOT).map((s) => [s.slot, s.netWh]));
      for (const lead of leads) {
        const e = { blend: fresh(), persistence: fresh(), yesterday: fresh() };
        for (let slot = start + EVAL_FROM_DAY * DAY; slot < start + DAYS * DAY; slot += SLOT) {
          const actual = history.get(slot);
          if (actual === undefined) continue;
          const now = slot - lead.ms;
          add(e.blend, forecastSlot(history, slot, now, { slotMs: SLOT }).netWh, actual);
          add(e.persistence, baselines.persistence(history, slot, now, SLOT), actual);
          add(e.yesterday, baselines.yesterday(history, slot), actual);
        }
        for (const [k, v] of Object.entries(e)) {
          const key = `${lead.name}/${k}`;
          const t = total.get(key) ?? fresh();
          t.abs += v.abs; t.n += v.n; t.ape += v.ape; t.nApe += v.nApe;
          total.set(key, t);
        }
        rows.push(`| ${home.name} (PV ${home.pvPeakW} W) | ${lead.name} | ${mae(e.blend).toFixed(0)} / ${mape(e.blend).toFixed(0)} % | ${mae(e.persistence).toFixed(0)} / ${mape(e.persistence).toFixed(0)} % | ${mae(e.yesterday).toFixed(0)} / ${mape(e.yesterday).toFixed(0)} % |`);
      }
    }
    console.log(`\n      forecast error, ${DAYS - EVAL_FROM_DAY} evaluated days of 15-min slots (MAE Wh per slot / MAPE over slots with |actual| ≥ ${MAPE_FLOOR_WH} Wh)`);
    console.log('      | home | lead | blend (ours) | persistence | same slot yesterday |');
    console.log('      |---|---|---|---|---|');
    for (const r of rows) console.log('      ' + r);
    for (const lead of leads) {
      const b = total.get(`${lead.name}/blend`)!;
      const p = total.get(`${lead.name}/persistence`)!;
      const y = total.get(`${lead.name}/yesterday`)!;
      console.log(`      | all homes | ${lead.name} | ${mae(b).toFixed(0)} / ${mape(b).toFixed(0)} % | ${mae(p).toFixed(0)} / ${mape(p).toFixed(0)} % | ${mae(y).toFixed(0)} / ${mape(y).toFixed(0)} % |`);
      // The method must at least beat the same-slot-yesterday baseline it builds on.
      assert.ok(mae(b) < mae(y), `${lead.name}: blend MAE ${mae(b)} should beat yesterday ${mae(y)}`);
    }
  });
});
