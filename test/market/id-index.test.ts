// The order-id hash index behaves like a Map under any mix of adds and removes, including colliding hashes.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IdIndex, idHash } from '../../server/src/market/id-index.ts';
import { Market } from '../../server/src/market/index.ts';
import { SLOT0, smallConfig } from './helpers.ts';

describe('order id index', () => {
  it('agrees with a Map on random add/remove sequences, with hashes forced to collide', () => {
    const op = fc.record({ add: fc.boolean(), key: fc.nat(300), collide: fc.nat(3) });
    fc.assert(fc.property(fc.array(op, { maxLength: 2000 }), (ops) => {
      const ids: string[] = [];
      const index = new IdIndex(ids);
      const model = new Map<string, number>();
      const slotOf = new Map<string, number>();
      // Few distinct hashes (0..3 shifted into several buckets) make long probe runs and wrap-around likely.
      const hashOf = (id: string, collide: number) => (collide === 0 ? idHash(id) : (collide * 1021) | 0);
      const hashes = new Map<string, number>();
      for (const { add, key, collide } of ops) {
        const id = `k${key}`;
        if (add && !model.has(id)) {
          const slot = ids.length;
          ids.push(id);
          const h = hashOf(id, collide);
          hashes.set(id, h);
          index.add(slot, h);
          model.set(id, slot);
          slotOf.set(id, slot);
        } else if (!add && model.has(id)) {
          index.remove(model.get(id) as number, hashes.get(id) as number);
          model.delete(id);
        }
        assert.equal(index.size, model.size);
      }
      for (const [id, h] of hashes) assert.equal(index.get(id, h), model.has(id) ? slotOf.get(id) : -1);
    }), { numRuns: 200 });
  });

  it('keeps finding, cancelling and refusing duplicate ids across many thousand fills and cancels', () => {
    const m = new Market(smallConfig());
    let time = 1000;
    for (let i = 0; i < 20_000; i++) {
      // Pairs that trade immediately, plus every 10th order left resting and later cancelled.
      m.apply({ type: 'submit', id: `a${i}`, participant: 'alice', slot: SLOT0, side: 'ask', price: 100n, quantityWh: 5, time: ++time });
      m.apply({ type: 'submit', id: `b${i}`, participant: 'bob', slot: SLOT0, side: 'bid', price: 100n, quantityWh: 5, time: ++time });
      if (i % 10 === 0) m.apply({ type: 'submit', id: `r${i}`, participant: 'carol', slot: SLOT0, side: 'bid', price: 50n, quantityWh: 1, time: ++time });
    }
    assert.equal(m.order('a19999'), null);
    assert.equal(m.order('r19990')?.remainingWh, 1);
    assert.equal((m.apply({ type: 'submit', id: 'r10', participant: 'dave', slot: SLOT0, side: 'bid', price: 50n, quantityWh: 1, time: ++time })[0] as { reason?: string }).reason, 'duplicate_id');
    for (let i = 0; i < 20_000; i += 10) assert.equal(m.apply({ type: 'cancel', id: `r${i}`, time: ++time })[0].type, 'cancelled');
    assert.deepEqual(m.bookSnapshot(SLOT0), { slot: SLOT0, bids: [], asks: [] });
    assert.equal(m.apply({ type: 'submit', id: 'a5', participant: 'alice', slot: SLOT0, side: 'ask', price: 100n, quantityWh: 5, time: ++time })[0].type, 'accepted');
  });
});
