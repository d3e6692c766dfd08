// Properties of the flow diagram's split of metered power into neighbour flows and the residual grid exchange (web/src/charts/flows-diagram.ts).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allocateFlows, type FlowHome, type NeighbourFlow } from '../../web/src/charts/flows-diagram.ts';

const homesArb = fc.uniqueArray(fc.record({ meter: fc.stringMatching(/^[0-9a-f]{4}$/), powerW: fc.integer({ min: -8000, max: 8000 }) }), { selector: (h) => h.meter, minLength: 2, maxLength: 12 })
  .map((hs) => hs.map((h): FlowHome => ({ ...h, name: h.meter, online: true })));

const scenario = homesArb.chain((homes) =>
  fc.tuple(
    fc.constant(homes),
    fc.array(fc.record({ from: fc.constantFrom(...homes.map((h) => h.meter)), to: fc.constantFrom(...homes.map((h) => h.meter)), powerW: fc.integer({ min: 0, max: 9000 }) }), { maxLength: 20 })
      .map((fs) => fs.filter((f) => f.from !== f.to).map((f): NeighbourFlow => ({ ...f, price: '150000' }))),
  ),
);

describe('flows diagram: allocation of metered power', () => {
  it('property: a flow never exceeds its contract, the seller’s export or the buyer’s import', () => {
    fc.assert(fc.property(scenario, ([homes, contracted]) => {
      const { flows } = allocateFlows(homes, contracted);
      const power = new Map(homes.map((h) => [h.meter, h.powerW]));
      const out = new Map<string, number>();
      const into = new Map<string, number>();
      flows.forEach((f, i) => {
        assert.ok(f.powerW >= 0 && f.powerW <= contracted[i].powerW + 1e-9);
        out.set(f.from, (out.get(f.from) ?? 0) + f.powerW);
        into.set(f.to, (into.get(f.to) ?? 0) + f.powerW);
      });
      for (const [m, w] of out) assert.ok(w <= Math.max(0, -power.get(m)!) + 1e-6, `home ${m} sends ${w} W but exports ${-power.get(m)!} W`);
      for (const [m, w] of into) assert.ok(w <= Math.max(0, power.get(m)!) + 1e-6, `home ${m} receives ${w} W but imports ${power.get(m)!} W`);
    }));
  });

  it('property: power is conserved — each home’s meter = grid exchange + neighbour flows in − out', () => {
    fc.assert(fc.property(scenario, ([homes, contracted]) => {
      const { flows, gridW } = allocateFlows(homes, contracted);
      for (const h of homes) {
        const sent = flows.filter((f) => f.from === h.meter).reduce((a, f) => a + f.powerW, 0);
        const got = flows.filter((f) => f.to === h.meter).reduce((a, f) => a + f.powerW, 0);
        assert.ok(Math.abs(gridW.get(h.meter)! + got - sent - h.powerW) < 1e-6, `home ${h.meter}`);
      }
    }));
  });

  it('a contract between an exporting and an importing home flows in full when both have the power', () => {
    const homes: FlowHome[] = [{ meter: 'a', name: 'A', powerW: -3000, online: true }, { meter: 'b', name: 'B', powerW: 2000, online: true }];
    const { flows, gridW } = allocateFlows(homes, [{ from: 'a', to: 'b', powerW: 1500, price: '150000' }]);
    assert.equal(flows[0].powerW, 1500);
    assert.equal(gridW.get('a'), -1500);
    assert.equal(gridW.get('b'), 500);
  });
});
