// Crash test: a child server is SIGKILLed at random points of a scripted session (orders, readings, gate closures, settlement),
// restarted, and everything it acknowledged — trades, settlements (balances), readings, orders — equals an uninterrupted run.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Wallet, id as keccakId } from 'ethers';
import { OrderTypes, gridmeshDomain, type Address, type OrderSubmission } from '@gridmesh/contracts-abi';
import { startServerProcess, tempDir, type ServerProcess } from '../helpers/processes.ts';
import { BridgeProtocolClient } from '../helpers/bridge-protocol-client.ts';
import { registerHome } from '../../server/src/demo/owner-client.ts';
import { orderTypedMessage } from '../../server/src/orders/order-signature.ts';
import { call, signIn } from '../server/helpers.ts';

const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const SLOT = 60_000;
const CHAIN_ID = 31337;

/** Deterministic PRNG (mulberry32) so the script and the kill points are reproducible from a seed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const wallet = (label: string) => new Wallet(keccakId(`gridmesh-crash-${label}`));
const HOMES = [0, 1, 2].map((i) => ({ name: `Home ${i}`, owner: wallet(`owner-${i}`), meter: wallet(`meter-${i}`), exportW: [3000, -1500, 800][i] }));

type Step =
  | { kind: 'order'; home: number; order: OrderSubmission }
  | { kind: 'cancel'; home: number; orderId: string }
  | { kind: 'readings'; home: number; from: number; count: number }
  | { kind: 'clock'; to: number };

/** Builds the script: per slot, readings every 5 s for each home, orders from each, one cancel, then the clock past gate/metering. */
async function buildScript(seed: number): Promise<Step[]> {
  const r = rng(seed);
  const steps: Step[] = [];
  const nonces = [0, 0, 0];
  for (let k = 0; k < 4; k++) {
    const now = T0 + k * SLOT;
    const slot = now + 2 * SLOT;
    for (let h = 0; h < 3; h++) {
      const side = HOMES[h].exportW > 0 ? 'ask' : h === 2 && r() < 0.5 ? 'ask' : 'bid';
      const price = String((side === 'ask' ? 120_000 + Math.floor(r() * 40) * 1000 : 140_000 + Math.floor(r() * 40) * 1000));
      const fields = {
        participant: HOMES[h].owner.address.toLowerCase() as Address, market: 'demo', slot, side, price, quantityWh: 5 + Math.floor(r() * 40),
        timeInForce: 'gtc' as const, nonce: ++nonces[h], expiry: slot,
      } as const;
      const signature = await HOMES[h].owner.signTypedData(gridmeshDomain(CHAIN_ID), OrderTypes, orderTypedMessage(fields));
      steps.push({ kind: 'order', home: h, order: { ...fields, signature: signature as `0x${string}` } });
    }
    const victim = steps.filter((s) => s.kind === 'order').at(-1 - Math.floor(r() * 3)) as Extract<Step, { kind: 'order' }>;
    steps.push({ kind: 'cancel', home: victim.home, orderId: `${victim.order.participant}-${victim.order.nonce}` });
    for (let h = 0; h < 3; h++) steps.push({ kind: 'readings', home: h, from: now, count: 12 });
    steps.push({ kind: 'clock', to: now + SLOT });
  }
  steps.push({ kind: 'clock', to: T0 + 8 * SLOT });
  return steps;
}

/** The reading of home h at time t: cumulative counters from a constant net power, 5 s apart. */
function reading(h: number, t: number) {
  const seq = (t - T0) / 5000 + 1;
  const exportW = HOMES[h].exportW;
  const hours = (t - T0) / 3_600_000;
  return {
    meter: HOMES[h].meter.address as Address, seq, timestamp: t, importWh: exportW < 0 ? Math.floor(-exportW * hours) : 0,
    exportWh: exportW > 0 ? Math.floor(exportW * hours) : 0, powerW: -exportW, flags: 0,
  };
}

class Session {
  server!: ServerProcess;
  tokens: string[] = [];
  clockAt = T0;
  restarts = 0;
  constructor(readonly dataDir: string, readonly configPath: string) {}

  async start(): Promise<void> {
    this.server = await startServerProcess({
      GRIDMESH_DATA_DIR: this.dataDir, GRIDMESH_CONFIG: this.configPath, GRIDMESH_TEST_CLOCK: String(this.clockAt), GRIDMESH_RATE_LIMIT_RPS: '100000',
    });
  }

  async setup(): Promise<void> {
    await this.start();
    for (const h of HOMES) await registerHome({ baseUrl: this.server.url, chainId: CHAIN_ID, owner: h.owner, name: h.name, meter: h.meter.address as Address, role: 'grid', capacityW: 20_000 });
    this.tokens = await Promise.all(HOMES.map((h) => signIn(this.server.url, h.owner)));
  }

  /** Executes one step (failing after 10 s, e.g. against a killed server); every step is safe to repeat. */
  exec(step: Step): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`step ${step.kind} timed out`)), 10_000); });
    return Promise.race([this.execOnce(step), timeout]).finally(() => clearTimeout(timer));
  }

  private async execOnce(step: Step): Promise<void> {
    const url = this.server.url;
    switch (step.kind) {
      case 'order': {
        const r = await call(url, 'POST', '/api/orders', step.order, this.tokens[step.home]);
        if (r.status !== 201 && !(r.status === 409 && r.body.code === 'CONFLICT')) throw new Error(`order refused: ${JSON.stringify(r.body)}`);
        return;
      }
      case 'cancel': {
        const r = await call(url, 'DELETE', `/api/orders/${step.orderId}`, undefined, this.tokens[step.home]);
        if (r.status !== 200 && r.status !== 409) throw new Error(`cancel: ${JSON.stringify(r.body)}`);
        return;
      }
      case 'readings': {
        const client = new BridgeProtocolClient(url, HOMES[step.home].meter, CHAIN_ID);
        try {
          const hello = await client.hello();
          if (!hello.ok) throw new Error(`hello: ${JSON.stringify(hello.error)}`);
          const batch = Array.from({ length: step.count }, (_, i) => client.sign(reading(step.home, step.from + i * 5000)));
          const ack = await client.send(batch);
          if (!ack.ok) throw new Error(`readings: ${JSON.stringify(ack.error)}`);
        } finally {
          client.close();
        }
        return;
      }
      case 'clock': {
        this.clockAt = Math.max(this.clockAt, step.to);
        const r = await call(url, 'POST', '/api/test/clock', { now: step.to });
        if (r.status !== 200) throw new Error(`clock: ${JSON.stringify(r.body)}`);
        return;
      }
    }
  }

  async restart(): Promise<void> {
    await this.server.stop('SIGKILL');
    this.restarts++;
    await this.start();
  }

  /** Everything acknowledged, in a comparable form (receivedAt and ids of time are run-specific and left out). */
  async outcome(): Promise<unknown> {
    const url = this.server.url;
    const trades = [];
    const slots = (await call(url, 'GET', `/api/markets/demo/slots?from=${T0}&to=${T0 + 20 * SLOT}`)).body;
    for (const s of slots) trades.push(...(await call(url, 'GET', `/api/markets/demo/slots/${s.slot}/trades`)).body);
    const settlements = [];
    const orders = [];
    for (let h = 0; h < 3; h++) {
      settlements.push((await call(url, 'GET', '/api/participants/me/settlements', undefined, this.tokens[h])).body);
      orders.push((await call(url, 'GET', '/api/participants/me/orders?status=all', undefined, this.tokens[h])).body);
    }
    const readings = [];
    for (const h of HOMES) readings.push(((await call(url, 'GET', `/api/meters/${h.meter.address}/readings?limit=10000`)).body as { receivedAt: number }[]).map(({ receivedAt: _r, ...x }) => x));
    return { slots: slots.map((s: { slot: number; state: string; tradeCount: number; volumeWh: number }) => [s.slot, s.state, s.tradeCount, s.volumeWh]), trades, settlements, orders, readings };
  }
}

describe('crash recovery (SIGKILL at random points during a scripted session)', function () {
  this.timeout(180_000);
  const dirs: { remove(): void }[] = [];
  const sessions: Session[] = [];
  after(async () => {
    for (const s of sessions) await s.server?.stop('SIGKILL');
    for (const d of dirs) d.remove();
  });

  it('loses nothing acknowledged and settles nothing twice: trades, settlements, orders and readings equal an uninterrupted run', async () => {
    const seed = Number(process.env.CRASH_SEED ?? 0x5eed);
    const script = await buildScript(seed);
    const make = () => {
      const dir = tempDir('crash');
      dirs.push(dir);
      const configPath = join(dir.path, 'config.json');
      writeFileSync(configPath, JSON.stringify({ markets: [{ id: 'demo', preset: 'demo', slotMs: SLOT, horizonMs: 10 * SLOT, gateMs: 10_000, graceMs: 15_000 }] }));
      const s = new Session(dir.path, configPath);
      sessions.push(s);
      return s;
    };

    const reference = make();
    await reference.setup();
    const t0 = Date.now();
    for (const step of script) await reference.exec(step);
    if (process.env.CRASH_DEBUG) console.log(`reference run: ${script.length} steps in ${Date.now() - t0} ms`);
    const expected = await reference.outcome();
    await reference.server.stop();

    const crashing = make();
    await crashing.setup();
    const r = rng(seed ^ 0xdead);
    const killAt = new Set<number>();
    while (killAt.size < 6) killAt.add(Math.floor(r() * script.length));
    for (let i = 0; i < script.length; i++) {
      if (killAt.has(i)) {
        // Kill while the step is in flight (or just before/after it): its ack may or may not have been sent.
        const delay = Math.floor(r() * 15);
        const killer = new Promise<void>((res) => setTimeout(() => { crashing.server.child.kill('SIGKILL'); res(); }, delay));
        await crashing.exec(script[i]).catch(() => undefined);
        await killer;
        await crashing.restart();
      }
      // Repeating the step is what a client does after a lost answer; it must be a no-op if the step was committed.
      await crashing.exec(script[i]);
    }
    const actual = await crashing.outcome();
    await crashing.server.stop();
    assert.ok(crashing.restarts >= 6, `restarted ${crashing.restarts} times`);
    const exp = expected as { trades: unknown[]; settlements: unknown[][]; slots: unknown[] };
    assert.ok(exp.trades.length > 0, 'the script produces trades');
    assert.ok(exp.settlements.some((rows) => rows.length > 0), 'the script settles slots');
    assert.deepEqual(actual, expected);
  });
});
