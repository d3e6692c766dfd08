// Settlement outbox against the real local EVM: bursts, already-settled slots, refused batches, and a chain crash mid-send.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Wallet, hexlify, randomBytes } from 'ethers';
import { energyMarketAt, packNetting, unpackNetting, type EnergyMarket } from '@gridmesh/contracts-abi';
import { SettlementOutbox } from '../../server/src/chain/outbox.ts';
import { SqliteSettlementOutboxStore } from '../../server/src/chain/outbox-sqlite.ts';
import { buildSettlementBatch } from '../../server/src/chain/settlement-batch.ts';
import { fundAndDeposit } from '../../server/src/chain/demo-funding.ts';
import { loadOperatorWallet } from '../../server/src/chain/keystore.ts';
import { chainProvider } from '../../server/src/chain/rpc.ts';
import type { SettlementBatch } from '../../server/src/chain/outbox-store.ts';
import { rewardEpochTree } from '../../server/src/settlement/rewards.ts';
import { rewardTokenAt } from '@gridmesh/contracts-abi';
import { startChainFixture, type ChainFixture } from './helpers.ts';

const repoRoot = join(import.meta.dirname, '..', '..');

/** A slot batch moving small random amounts between funded participants (Σ = 0 by construction). */
function randomBatch(slotId: number, participants: string[], seed: number): SettlementBatch {
  const a = participants[seed % participants.length];
  const b = participants[(seed * 7 + 3) % participants.length] === a ? participants[(seed + 1) % participants.length] : participants[(seed * 7 + 3) % participants.length];
  const amount = BigInt(1000 + ((seed * 7919) % 50_000));
  const trades = [{ id: `t${slotId}-1`, slot: slotId, seq: 1, buyer: a, seller: b, price: 300_000n, quantityWh: 100 + seed }];
  return buildSettlementBatch(slotId, trades, [
    { account: a, delta: -amount },
    { account: b, delta: amount },
  ]);
}

async function expectedEscrow(market: EnergyMarket, participants: string[], deposits: bigint, batches: SettlementBatch[]) {
  const expected = new Map(participants.map((p) => [p.toLowerCase(), deposits]));
  for (const b of batches) for (const { account, delta } of unpackNetting(b.accounts, b.deltas)) expected.set(account.toLowerCase(), expected.get(account.toLowerCase())! + delta);
  for (const p of participants) assert.equal(await market.escrowOf(p), expected.get(p.toLowerCase()), `escrow of ${p}`);
}

async function settledEventsPerSlot(market: EnergyMarket): Promise<Map<bigint, number>> {
  const logs = await market.queryFilter(market.filters.SlotSettled(), 0);
  const counts = new Map<bigint, number>();
  for (const log of logs) {
    const slot = market.interface.parseLog(log)!.args.slotId as bigint;
    counts.set(slot, (counts.get(slot) ?? 0) + 1);
  }
  return counts;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timeout: ${what}`)), ms).unref())]);
}

describe('chain: settlement outbox', function () {
  this.timeout(120_000);
  let f: ChainFixture;
  let store: SqliteSettlementOutboxStore;
  let outbox: SettlementOutbox;
  const participants = Array.from({ length: 6 }, () => Wallet.createRandom().address);
  const DEPOSIT = 100_000_000n;

  before(async () => {
    f = await startChainFixture();
    await fundAndDeposit(f.operator, f.chain.addresses, participants.map((address) => ({ address, deposit: DEPOSIT })));
    store = new SqliteSettlementOutboxStore(join(f.dir, 'outbox.sqlite'));
    outbox = new SettlementOutbox({ store, market: f.market, operator: f.operator, retryInitialMs: 50, retryMaxMs: 500 });
    outbox.start();
  });
  after(async () => {
    await outbox?.stop();
    store?.close();
    await f?.close();
  });

  const confirmedBatches: SettlementBatch[] = [];

  it('a burst of 30 slots settles each slot exactly once with distinct nonces', async () => {
    const batches = Array.from({ length: 30 }, (_, i) => randomBatch(1_900_000_000_000 + i * 60_000, participants, i + 1));
    for (const b of batches) assert.equal(outbox.enqueue(b), true);
    assert.equal(outbox.enqueue(batches[0]), false, 'a slot is queued once');
    await withTimeout(outbox.whenIdle(), 60_000, 'outbox idle');
    const rows = batches.map((b) => store.get(b.slotId)!);
    assert.ok(rows.every((r) => r.status === 'confirmed' && !r.alreadySettled && r.gasUsed! > 0n));
    assert.equal(new Set(rows.map((r) => r.nonce)).size, 30, 'distinct nonces');
    const events = await settledEventsPerSlot(f.market);
    for (const b of batches) assert.equal(events.get(BigInt(b.slotId)), 1);
    confirmedBatches.push(...batches);
    await expectedEscrow(f.market, participants, DEPOSIT, confirmedBatches);
  });

  it('recognises a slot already settled on chain: confirmed, no second debit, queue not stuck', async () => {
    const slot = 1_900_100_000_000;
    const batch = randomBatch(slot, participants, 77);
    await (await f.market.settleSlot(slot, batch.tradesRoot, batch.tradesCount, batch.accounts, batch.deltas)).wait();
    confirmedBatches.push(batch);
    const next = randomBatch(slot + 60_000, participants, 78);
    outbox.enqueue(batch);
    outbox.enqueue(next);
    await withTimeout(outbox.whenIdle(), 30_000, 'outbox idle');
    const row = store.get(slot)!;
    assert.equal(row.status, 'confirmed');
    assert.equal(row.alreadySettled, true);
    assert.ok(row.txHash, 'hash of the settling transaction found from its event');
    assert.equal(store.get(slot + 60_000)!.status, 'confirmed');
    confirmedBatches.push(next);
    assert.equal((await settledEventsPerSlot(f.market)).get(BigInt(slot)), 1);
    await expectedEscrow(f.market, participants, DEPOSIT, confirmedBatches);
  });

  it('a batch the contract refuses (account would go negative) is failed with the reason and does not block others', async () => {
    const slot = 1_900_200_000_000;
    const trades = [{ id: 'x', slot, seq: 1, buyer: participants[0], seller: participants[1], price: 1n, quantityWh: 1 }];
    const tooMuch = buildSettlementBatch(slot, trades, [
      { account: participants[0], delta: -(10n ** 12n) },
      { account: participants[1], delta: 10n ** 12n },
    ]);
    const fine = randomBatch(slot + 60_000, participants, 5);
    outbox.enqueue(tooMuch);
    outbox.enqueue(fine);
    await withTimeout(outbox.whenIdle(), 30_000, 'outbox idle');
    const failed = store.get(slot)!;
    assert.equal(failed.status, 'failed');
    assert.match(failed.lastError ?? '', /AccountNegative/);
    assert.equal(store.get(slot + 60_000)!.status, 'confirmed');
    assert.equal(await f.market.slotSettled(slot), false);
    confirmedBatches.push(fine);
    await expectedEscrow(f.market, participants, DEPOSIT, confirmedBatches);
  });

  it('publishes reward roots in the same nonce stream as slot batches; a claim with the served proof pays; a superseded epoch does not block', async () => {
    const [a, b] = participants;
    const epoch1 = rewardEpochTree([{ account: a, cumulative: 5n * 10n ** 18n }, { account: b, cumulative: 2n * 10n ** 18n }]);
    const slot = 1_900_300_000_000;
    const batch = randomBatch(slot, participants, 11);
    assert.equal(outbox.enqueue(batch), true);
    assert.equal(outbox.enqueueRewardRoot({ epoch: 1, root: epoch1.root, toSlot: slot }), true);
    assert.equal(outbox.enqueueRewardRoot({ epoch: 1, root: epoch1.root, toSlot: slot }), false, 'an epoch is queued once');
    await withTimeout(outbox.whenIdle(), 30_000, 'outbox idle');
    confirmedBatches.push(batch);
    const row = store.getRewardRoot(1)!;
    assert.equal(row.status, 'confirmed');
    assert.equal(row.alreadySettled, false);
    assert.ok(row.gasUsed! > 0n);
    assert.notEqual(row.nonce, store.get(slot)!.nonce);
    assert.equal(await f.market.rewardEpoch(), 1n);
    assert.equal(await f.market.rewardRoot(), epoch1.root);

    // Anyone may relay a claim; the tokens go to the account.
    await (await f.market.claimFor(a, 5n * 10n ** 18n, epoch1.proof(a)!)).wait();
    const rewardToken = rewardTokenAt(await f.market.rewardToken(), f.operator);
    assert.equal(await rewardToken.balanceOf(a), 5n * 10n ** 18n);
    assert.equal(await f.market.rewardsClaimed(a), 5n * 10n ** 18n);

    // Epoch 3 reached the chain first (another run); epoch 2 is then superseded, confirmed without a transaction.
    const epoch3 = rewardEpochTree([{ account: a, cumulative: 7n * 10n ** 18n }]);
    await (await f.market.publishRewardRoot(3, epoch3.root)).wait();
    outbox.enqueueRewardRoot({ epoch: 2, root: epoch1.root, toSlot: slot + 60_000 });
    const next = randomBatch(slot + 60_000, participants, 12);
    outbox.enqueue(next);
    await withTimeout(outbox.whenIdle(), 30_000, 'outbox idle');
    confirmedBatches.push(next);
    assert.equal(store.getRewardRoot(2)!.status, 'confirmed');
    assert.equal(store.getRewardRoot(2)!.alreadySettled, true);
    assert.equal(store.get(slot + 60_000)!.status, 'confirmed');
    assert.equal(await f.market.rewardRoot(), epoch3.root);
    assert.deepEqual(store.listRecentRewardRoots(5).map((r) => r.epoch), [2, 1]);
    await expectedEscrow(f.market, participants, DEPOSIT, confirmedBatches);
  });
});

describe('chain: settlement outbox across a chain crash and a server restart', function () {
  this.timeout(180_000);
  const dir = mkdtempSync(join(tmpdir(), 'gridmesh-crash-'));
  const children = new Set<ChildProcess>();
  after(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function freePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  async function startChainProcess(port: number): Promise<{ child: ChildProcess; info: { rpcUrl: string; chainId: number; addresses: { energyMarket: string; gridToken: string; rewardToken: string }; replayedBlocks: number } }> {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'server/src/chain/chain-cli.ts'), '--data-dir', dir, '--port', String(port)], {
      cwd: repoRoot,
      env: { ...process.env, CHAIN_KEYSTORE_PASSWORD: 'crash-test' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    const line = await withTimeout(
      new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout! }).once('line', resolve);
        child.once('exit', (code) => reject(new Error(`chain process exited with ${code}`)));
      }),
      30_000,
      'chain process start',
    );
    return { child, info: JSON.parse(line) };
  }

  it('kill the chain mid-send, restart it and the outbox driver: every slot ends settled exactly once', async () => {
    const port = await freePort();
    let { child, info } = await startChainProcess(port);
    const operatorKey = await loadOperatorWallet(join(dir, 'operator-keystore.json'), 'crash-test');
    let provider = chainProvider(info.rpcUrl, info.chainId);
    const participants = Array.from({ length: 8 }, () => Wallet.createRandom().address);
    const DEPOSIT = 50_000_000n;
    await fundAndDeposit(operatorKey.connect(provider), info.addresses, participants.map((address) => ({ address, deposit: DEPOSIT })));
    const batches = Array.from({ length: 40 }, (_, i) => randomBatch(2_000_000_000_000 + i * 60_000, participants, i + 11));

    // Run 1: the driver is sending when the chain process is killed; then the "server" stops too.
    let store = new SqliteSettlementOutboxStore(join(dir, 'outbox.sqlite'));
    let operator = operatorKey.connect(provider);
    let confirmedBeforeCrash = 0;
    const killed = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    let outbox = new SettlementOutbox({
      store,
      market: energyMarketAt(info.addresses.energyMarket, operator),
      operator,
      retryInitialMs: 100,
      retryMaxMs: 1000,
      maxInFlight: 8,
      events: {
        confirmed: () => {
          if (++confirmedBeforeCrash === 6) child.kill('SIGKILL');
        },
      },
    });
    for (const b of batches) outbox.enqueue(b);
    outbox.start();
    await withTimeout(killed, 60_000, 'chain killed');
    await new Promise((resolve) => setTimeout(resolve, 300)); // the driver now meets a dead RPC
    await outbox.stop();
    const unconfirmed = store.listUnconfirmed();
    assert.ok(unconfirmed.length > 0 && unconfirmed.length < 40, `killed mid-send (${unconfirmed.length} unconfirmed)`);
    store.close();
    provider.destroy();

    // Run 2: chain restarted from its data dir (journal replay), a fresh driver over the same outbox file.
    ({ child, info } = await startChainProcess(port));
    assert.ok(info.replayedBlocks > 0);
    provider = chainProvider(info.rpcUrl, info.chainId);
    operator = operatorKey.connect(provider);
    store = new SqliteSettlementOutboxStore(join(dir, 'outbox.sqlite'));
    const market = energyMarketAt(info.addresses.energyMarket, operator);
    outbox = new SettlementOutbox({ store, market, operator, retryInitialMs: 100, retryMaxMs: 1000 });
    outbox.start();
    await withTimeout(outbox.whenIdle(), 60_000, 'outbox idle after restart');
    await outbox.stop();

    for (const b of batches) {
      assert.equal(store.get(b.slotId)!.status, 'confirmed', `slot ${b.slotId}`);
      assert.equal(await market.slotSettled(b.slotId), true);
    }
    const events = await settledEventsPerSlot(market);
    assert.equal(events.size, 40);
    for (const b of batches) assert.equal(events.get(BigInt(b.slotId)), 1, `exactly one SlotSettled for ${b.slotId}`);
    await expectedEscrow(market, participants, DEPOSIT, batches);
    store.close();
    provider.destroy();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  });
});
