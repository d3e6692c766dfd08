// Simulated PV home: solar bell by time of day, load curve, seeded per home, counters integrate power without loss.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReadingFlags } from '@gridmesh/contracts-abi';
import { homePower, integrate, SimulatedMeter, type SimulatedState } from '../../firmware-bridge/src/devices/simulated.ts';

/** A local time today at hh:mm (the model uses host-local time of day). */
function at(h: number, m = 0, s = 0): number {
  const d = new Date(2026, 5, 21, h, m, s);
  return d.getTime();
}
const home = { seed: 42, pvPeakW: 5000, loadBaseW: 400, clockOffsetMin: 0 };

describe('simulated home', () => {
  it('produces no PV at night and PV around noon on the same day', () => {
    assert.equal(homePower(home, at(2)).pvW, 0);
    assert.equal(homePower(home, at(23, 30)).pvW, 0);
    const noon = homePower(home, at(13));
    assert.ok(noon.pvW > 0.2 * home.pvPeakW, `noon PV ${noon.pvW}`);
    assert.ok(noon.pvW <= home.pvPeakW * 1.03);
  });

  it('net power at the connection is load − pv', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 86_400_000 * 3 }), (off) => {
        const p = homePower(home, at(0) + off);
        assert.equal(p.netW, p.loadW - p.pvW);
        assert.ok(p.loadW > 0);
        assert.ok(p.pvW >= 0);
      }),
    );
  });

  it('the bell rises in the morning and falls in the afternoon (clear-sky shape)', () => {
    const avg = (h: number) => {
      let s = 0;
      for (let i = 0; i < 30; i++) s += homePower({ ...home, seed: 1000 + i }, at(h)).pvW;
      return s / 30;
    };
    assert.ok(avg(8) < avg(10) && avg(10) < avg(13), 'rising');
    assert.ok(avg(13) > avg(16) && avg(16) > avg(18), 'falling');
  });

  it('homes with different seeds differ, and power changes every second', () => {
    const t = at(12);
    assert.notEqual(homePower({ ...home, seed: 1 }, t).netW, homePower({ ...home, seed: 2 }, t).netW);
    let changes = 0;
    for (let s = 0; s < 300; s++) if (homePower(home, t + s * 1000).netW !== homePower(home, t + (s + 1) * 1000).netW) changes++;
    assert.ok(changes >= 290, `${changes} of 300 seconds changed`);
    // Also at night (no PV): the load alone moves.
    changes = 0;
    for (let s = 0; s < 300; s++) if (homePower(home, at(2) + s * 1000).netW !== homePower(home, at(2) + (s + 1) * 1000).netW) changes++;
    assert.ok(changes >= 280, `${changes} of 300 night seconds changed`);
  });

  it('counters are integers, never decrease, and carry the fraction so nothing is lost', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5_000 }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 0, max: 86_400_000 }), (steps, start) => {
        let s: SimulatedState = { importWh: 1000, exportWh: 0, importFrac: 0, exportFrac: 0, lastTs: at(0) + start };
        const startTs = s.lastTs;
        let expectedImport = 0;
        let expectedExport = 0;
        for (const dt of steps) {
          const before = s;
          const to = s.lastTs + dt;
          const p = homePower(home, s.lastTs + dt / 2).netW;
          if (p > 0) expectedImport += (p * dt) / 3_600_000;
          else expectedExport -= (p * dt) / 3_600_000;
          s = integrate(home, s, to);
          assert.ok(Number.isInteger(s.importWh) && Number.isInteger(s.exportWh));
          assert.ok(s.importWh >= before.importWh && s.exportWh >= before.exportWh);
        }
        assert.ok(s.lastTs > startTs);
        // Whole Wh + carried fraction equals the exact integral of the steps (up to float rounding).
        assert.ok(Math.abs(s.importWh - 1000 + s.importFrac - expectedImport) < 1e-6);
        assert.ok(Math.abs(s.exportWh + s.exportFrac - expectedExport) < 1e-6);
      }),
      { numRuns: 50 },
    );
  });

  it('a meter resumes from persisted counters and integrates an outage', () => {
    let now = at(12);
    const m1 = new SimulatedMeter({ id: 'h', ...home, intervalMs: 1000, now: () => now });
    const first = m1.measure(now);
    now += 3_600_000;
    const m2 = new SimulatedMeter({ id: 'h', ...home, intervalMs: 1000, resume: first.state, now: () => now });
    const second = m2.measure(now);
    assert.ok(second.reading.importWh >= first.reading.importWh);
    assert.ok(second.reading.exportWh > first.reading.exportWh, 'an hour of noon sun exports energy');
    assert.equal(second.reading.flags & ReadingFlags.SIMULATED, ReadingFlags.SIMULATED);
  });
});
