// Outbox facts: seq strictly increasing and persisted, oldest first, removal only on ack, quarantine, disk budget.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import type { Address, MeterReading } from '@gridmesh/contracts-abi';
import { Outbox, type UnsequencedReading } from '../../firmware-bridge/src/outbox.ts';
import { ReadingSigner } from '../../firmware-bridge/src/signer.ts';
import { tempDir } from './helpers.ts';

const signer = new ReadingSigner(new Wallet(Wallet.createRandom().privateKey), 31337);
const meter = signer.meter;
const sign = (r: MeterReading) => signer.sign(r);
const reading = (i: number): UnsequencedReading => ({ timestamp: 1_700_000_000_000 + i, importWh: 100 + i, exportWh: 0, powerW: i, flags: 0 });

describe('bridge outbox', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('assigns strictly increasing seq that survives a reopen, and returns readings oldest first', () => {
    const path = join(tmp.dir, 'o.sqlite');
    let o = new Outbox(path);
    o.append(meter, [reading(1), reading(2)], sign);
    o.close();
    o = new Outbox(path);
    const [third] = o.append(meter, [reading(3)], sign);
    assert.equal(third.seq, 3);
    assert.deepEqual(o.peek(meter, 10).map((r) => r.seq), [1, 2, 3]);
    o.acknowledge(meter, 2);
    assert.deepEqual(o.peek(meter, 10).map((r) => r.seq), [3]);
    o.acknowledge(meter, 3);
    o.close();
    o = new Outbox(path);
    assert.equal(o.append(meter, [reading(4)], sign)[0].seq, 4, 'seq continues after the outbox drained and reopened');
    o.close();
  });

  it('keeps meters apart and persists device state atomically with the reading', () => {
    const o = new Outbox(join(tmp.dir, 'o.sqlite'));
    const other = '0x00000000000000000000000000000000000000aa' as Address;
    o.append(meter, [reading(1)], sign, { 'state:x': '{"pulses":5}' });
    o.append(other, [reading(1)], () => '0x' as `0x${string}`);
    assert.equal(o.depth(meter), 1);
    assert.equal(o.depth(other), 1);
    assert.equal(o.getMeta('state:x'), '{"pulses":5}');
    o.close();
  });

  it('property: any interleaving of appends, acks and quarantines keeps seq unique and increasing, and loses nothing unacked', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.record({ op: fc.constant('append' as const), n: fc.integer({ min: 1, max: 5 }) }), fc.record({ op: fc.constant('ack' as const), k: fc.integer({ min: 0, max: 6 }) }), fc.record({ op: fc.constant('quarantine' as const) })), { maxLength: 40 }),
        (ops) => {
          const t = tempDir();
          const o = new Outbox(join(t.dir, 'o.sqlite'));
          try {
            const expectPending: number[] = [];
            let lastSeq = 0;
            for (const op of ops) {
              if (op.op === 'append') {
                const signed = o.append(meter, Array.from({ length: op.n }, (_, i) => reading(i)), sign);
                for (const r of signed) {
                  assert.equal(r.seq, ++lastSeq);
                  expectPending.push(r.seq);
                }
              } else if (op.op === 'ack') {
                const batch = o.peek(meter, op.k);
                if (batch.length) {
                  o.acknowledge(meter, batch[batch.length - 1].seq);
                  expectPending.splice(0, batch.length);
                }
              } else {
                const [head] = o.peek(meter, 1);
                if (head) {
                  o.quarantine(head, 'BAD_SIGNATURE', 'test');
                  expectPending.shift();
                }
              }
              assert.deepEqual(o.peek(meter, 1000).map((r) => r.seq), expectPending);
            }
          } finally {
            o.close();
            t.cleanup();
          }
        },
      ),
      { numRuns: 30 },
    );
  });

  it('drops the oldest unsent readings only beyond the disk budget, and counts them', () => {
    const logs: string[] = [];
    const o = new Outbox(join(tmp.dir, 'o.sqlite'), { maxBytes: 20_000, log: (m) => logs.push(m) });
    const bodySize = JSON.stringify(o.peek(meter, 1)[0] ?? { ...reading(0), meter, seq: 1, signature: '0x' + '0'.repeat(130) }).length;
    const fit = Math.floor(20_000 / bodySize);
    for (let i = 0; i < fit - 2; i++) o.append(meter, [reading(i)], sign);
    assert.equal(o.dropped(), 0, 'nothing dropped within the budget');
    for (let i = 0; i < 40; i++) o.append(meter, [reading(i)], sign);
    assert.ok(o.dropped() > 0);
    const pending = o.peek(meter, 10_000);
    assert.equal(pending[pending.length - 1].seq, fit - 2 + 40, 'the newest reading is kept');
    assert.equal(pending[0].seq, o.dropped() + 1, 'exactly the oldest were dropped');
    assert.ok(logs.some((l) => /dropped the \d+ oldest/.test(l)));
    o.close();
  });
});
