// Metering per slot from cumulative registers: interpolation at boundaries, telescoping across slots, gaps → not metered.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReadingFlags } from '@gridmesh/contracts-abi';
import { meterParticipantSlot, meterSlot, registerAt, type RegisterReading } from '../../server/src/settlement/index.ts';

const SLOT = 60_000;

/** Random meter history: increasing timestamps, never-decreasing registers. */
const historyArb = fc.array(fc.record({ dt: fc.integer({ min: 1, max: 40_000 }), dImport: fc.integer({ min: 0, max: 500 }), dExport: fc.integer({ min: 0, max: 500 }) }), { minLength: 2, maxLength: 80 })
  .map((steps) => {
    let t = 0;
    let imp = 1_000_000;
    let exp = 500;
    return steps.map((s): RegisterReading => {
      t += s.dt;
      imp += s.dImport;
      exp += s.dExport;
      return { timestamp: t, importWh: imp, exportWh: exp };
    });
  });

describe('metering', () => {
  it('interpolates linearly between the readings around a boundary (floored Wh)', () => {
    const rs = [{ timestamp: 0, importWh: 100, exportWh: 0 }, { timestamp: 60_000, importWh: 160, exportWh: 30 }];
    assert.deepEqual(registerAt(rs, 30_000).value, { importWh: 130, exportWh: 15 });
    assert.deepEqual(registerAt(rs, 20_000).value, { importWh: 120, exportWh: 10 });
    assert.deepEqual(registerAt(rs, 1).value, { importWh: 100, exportWh: 0 });
    assert.deepEqual(registerAt(rs, 60_000).value, { importWh: 160, exportWh: 30 });
  });

  it('consecutive slots add up exactly to the register difference between the outer boundaries (no Wh lost or doubled)', () => {
    fc.assert(fc.property(historyArb, fc.integer({ min: 0, max: 30_000 }), (rs, offset) => {
      const first = rs[0].timestamp + offset;
      const slots = Math.floor((rs[rs.length - 1].timestamp - first) / SLOT);
      fc.pre(slots >= 1);
      const window = { maxBoundaryGapMs: Number.MAX_SAFE_INTEGER };
      let exp = 0;
      let imp = 0;
      for (let k = 0; k < slots; k++) {
        const m = meterSlot(rs, first + k * SLOT, first + (k + 1) * SLOT, window);
        assert.ok(m.metered);
        assert.ok(m.exportWh >= 0 && m.importWh >= 0);
        exp += m.exportWh;
        imp += m.importWh;
      }
      const a = registerAt(rs, first, Number.MAX_SAFE_INTEGER).value!;
      const b = registerAt(rs, first + slots * SLOT, Number.MAX_SAFE_INTEGER).value!;
      assert.equal(exp, b.exportWh - a.exportWh);
      assert.equal(imp, b.importWh - a.importWh);
    }));
  });

  it('no reading after the slot end within the window → not metered, 0 Wh, flagged', () => {
    const rs = [{ timestamp: 0, importWh: 0, exportWh: 0 }, { timestamp: 30_000, importWh: 0, exportWh: 400 }];
    const m = meterSlot(rs, 0, 60_000, { maxBoundaryGapMs: 40_000 });
    assert.deepEqual(m, { metered: false, importWh: 0, exportWh: 0, flags: ['no-reading-after-end'] });
    const late = [...rs, { timestamp: 65_000, importWh: 0, exportWh: 800 }];
    const ok = meterSlot(late, 0, 60_000, { maxBoundaryGapMs: 40_000 });
    assert.equal(ok.metered, true);
    assert.equal(ok.exportWh, 400 + Math.floor((400 * 30_000) / 35_000));
  });

  it('a reading too far before the start is not used; GAP-flagged readings are flagged', () => {
    const rs = [
      { timestamp: 0, importWh: 0, exportWh: 0 },
      { timestamp: 100_000, importWh: 0, exportWh: 100, flags: ReadingFlags.GAP },
      { timestamp: 130_000, importWh: 0, exportWh: 200 },
    ];
    assert.deepEqual(meterSlot(rs, 60_000, 120_000, { maxBoundaryGapMs: 30_000 }).flags, ['no-reading-before-start', 'gap']);
    const m = meterSlot(rs, 100_000, 120_000, { maxBoundaryGapMs: 30_000 });
    assert.equal(m.metered, true);
    assert.deepEqual(m.flags, ['gap']);
    assert.equal(m.exportWh, 66);
  });

  it('a home with two grid meters sums them; one unmetered meter makes the home unmetered', () => {
    const a = [{ timestamp: 0, importWh: 0, exportWh: 0 }, { timestamp: 60_000, importWh: 10, exportWh: 100 }];
    const b = [{ timestamp: 0, importWh: 0, exportWh: 0 }, { timestamp: 60_000, importWh: 5, exportWh: 50 }];
    assert.deepEqual(meterParticipantSlot([a, b], 0, 60_000), { metered: true, importWh: 15, exportWh: 150, flags: [] });
    assert.equal(meterParticipantSlot([a, b.slice(0, 1)], 0, 60_000).metered, false);
    assert.equal(meterParticipantSlot([], 0, 60_000).metered, false);
  });
});
