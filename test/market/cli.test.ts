// The replay CLI as a real process: JSON Lines in, events out, rejected lines, malformed lines, exit codes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eventToJson, parseCommand, replay } from '../../server/src/market/index.ts';

const root = resolve(fileURLToPath(import.meta.url), '../../..');
const linked = join(root, 'node_modules/.bin/gridmesh-market');

function run(args: string[], input?: string) {
  const r = spawnSync(linked, args, { input, encoding: 'utf8', cwd: root });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const commands = [
  { type: 'submit', id: 'a1', participant: 'alice', side: 'ask', price: '250000', quantityWh: 500, time: 1 },
  { type: 'submit', id: 'a2', participant: 'carol', side: 'ask', price: '240000', quantityWh: 200, time: 2 },
  { type: 'submit', id: 'b1', participant: 'bob', side: 'bid', price: '300000', quantityWh: 300, time: 3 },
  { type: 'cancel', id: 'a1', time: 4 },
];
const jsonl = commands.map((c) => JSON.stringify(c)).join('\n') + '\n';

describe('gridmesh-market replay CLI', function () {
  this.timeout(60_000);
  let dir = '';
  before(() => { dir = mkdtempSync(join(tmpdir(), 'gridmesh-market-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('replays a continuous session from a file: trades at the resting price, same bytes as the library', () => {
    const file = join(dir, 'session.jsonl');
    writeFileSync(file, jsonl);
    const r = run(['replay', file]);
    assert.equal(r.status, 0, r.stderr);
    const trades = r.lines.filter((e) => e.type === 'trade');
    // b1 (300 Wh @ 300000) takes a2 (200 @ 240000) first, then 100 of a1 (@ 250000).
    assert.deepEqual(trades.map((e) => [e.buy, e.sell, e.price, e.quantityWh]), [['b1', 'a2', '240000', 200], ['b1', 'a1', '250000', 100]]);
    assert.deepEqual(r.lines.at(-1), { type: 'cancelled', id: 'a1', slot: 0, remainingWh: 400, cause: 'user', time: 4 });
    const library = replay({ mechanism: 'continuous', tick: 1n, floor: 0n, cap: 1_000_000_000n, slotMs: 900_000, horizonMs: Number.MAX_SAFE_INTEGER, gateMs: -Number.MAX_SAFE_INTEGER },
      commands.map((c) => parseCommand(c, 0)));
    assert.equal(r.stdout, library.events.map((e) => eventToJson(e) + '\n').join(''));
    assert.equal(run(['replay', file]).stdout, r.stdout, 'two runs differ');
  });

  it('clears a call auction from stdin with --mechanism call --k, printing cleared and trades', () => {
    const r = run(['replay', '--mechanism', 'call', '--k', '0.5', '--tick', '1000', '-'], jsonl.replace('{"type":"cancel","id":"a1","time":4}', '{"type":"close","time":4}'));
    assert.equal(r.status, 0, r.stderr);
    // Asks 240000 (200 Wh), 250000 (500 Wh); bid 300000 (300 Wh). V = 300; marginal ask 250000, marginal bid 300000:
    // L = 250000, U = 300000, price = 250000 + 0.5·50000 = 275000.
    const cleared = r.lines.find((e) => e.type === 'cleared');
    assert.deepEqual(cleared, { type: 'cleared', slot: 0, price: '275000', volumeWh: 300, low: '250000', high: '300000', time: 4 });
    assert.deepEqual(r.lines.filter((e) => e.type === 'trade').map((e) => [e.sell, e.price, e.quantityWh]), [['a2', '275000', 200], ['a1', '275000', 100]]);
  });

  it('answers invalid commands with rejected events, reports malformed JSON by line number and exits 2 at the end', () => {
    const input = [
      '{"type":"submit","id":"x1","participant":"alice","side":"ask","price":"12.5","quantityWh":5,"time":1}',
      'this is not json',
      '{"type":"submit","id":"x2","participant":"alice","side":"sideways","price":"10","quantityWh":5,"time":2}',
      '{"type":"submit","id":"x3","participant":"alice","side":"ask","price":"10","quantityWh":5,"time":3}',
    ].join('\n');
    const r = run(['replay', '--tick', '1', '-'], input);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /line 2: malformed JSON/);
    assert.deepEqual(r.lines.map((e) => [e.type, e.reason]), [['rejected', 'invalid_price'], ['rejected', 'invalid_side'], ['accepted', undefined]]);
  });

  it('refuses bad options and unreadable files with a message and a non-zero exit code', () => {
    const bad = run(['replay', '--k', '1.5', '-'], '');
    assert.equal(bad.status, 64);
    assert.match(bad.stderr, /k: must be at most 1/);
    const missing = run(['replay', join(dir, 'nope.jsonl')]);
    assert.equal(missing.status, 66);
    assert.match(missing.stderr, /cannot read/);
  });
});
