// On-chain settlement benchmark on the embedded Hardhat chain: netted settleSlot vs one transferFrom per trade, rewards, latency.
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Wallet, type TransactionResponse } from 'ethers';
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { REWARD_LEAF_ENCODING, energyMarketAt, gridTokenAt, type NettedDelta } from '@gridmesh/contracts-abi';
import { startEmbeddedChain } from '../server/src/chain/local-chain.ts';
import { chainProvider } from '../server/src/chain/rpc.ts';
import { fundAndDeposit } from '../server/src/chain/demo-funding.ts';
import { buildSettlementBatch } from '../server/src/chain/settlement-batch.ts';
import { SettlementOutbox } from '../server/src/chain/outbox.ts';
import { SqliteSettlementOutboxStore } from '../server/src/chain/outbox-sqlite.ts';
import type { ProvableTrade } from '../server/src/chain/trade-proof.ts';

const dir = mkdtempSync(join(tmpdir(), 'gridmesh-chain-bench-'));
const t0 = performance.now();
const chain = await startEmbeddedChain({ dataDir: dir, keystorePassword: 'bench' });
const provider = chainProvider(chain.rpcUrl, chain.chainId);
const operator = chain.operator.connect(provider);
const market = energyMarketAt(chain.addresses.energyMarket, operator);
const token = gridTokenAt(chain.addresses.gridToken, operator);
console.log(`embedded chain (Hardhat 2.29.1 / EDR, in-process, first start incl. deploy): ${chain.startupMs.toFixed(0)} ms`);

// Deterministic PRNG so every run settles the same trades.
let seed = 0x9e3779b9;
const rand = () => ((seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0) / 2 ** 32);
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)];

async function sendAll(sends: ((nonce: number) => Promise<TransactionResponse>)[], from = operator): Promise<bigint[]> {
  let nonce = await provider.getTransactionCount(from.address, 'pending');
  const txs: TransactionResponse[] = [];
  for (const send of sends) txs.push(await send(nonce++));
  const receipts = await Promise.all(txs.map((t) => t.wait()));
  return receipts.map((r) => {
    if (!r || r.status !== 1) throw new Error('bench transaction failed');
    return r.gasUsed;
  });
}

// 200 participants: escrow deposits (netted design) and wallet balances + max allowance to the operator (naive design).
const wallets = Array.from({ length: 200 }, () => new Wallet(Wallet.createRandom().privateKey, provider));
const setupStart = performance.now();
await fundAndDeposit(operator, chain.addresses, wallets.map((w) => ({ address: w.address, deposit: 10n ** 12n, gasWei: 10n ** 17n })));
await sendAll(wallets.map((w) => (nonce: number) => token.mint(w.address, 10n ** 12n, { nonce })));
await Promise.all(wallets.map(async (w) => (await token.connect(w).approve(operator.address, 2n ** 256n - 1n)).wait()));
console.log(`setup: 200 participants funded, deposited, approved in ${((performance.now() - setupStart) / 1000).toFixed(1)} s`);

let slotCounter = 2_100_000_000_000;
function makeSlot(tradeCount: number, participants: readonly Wallet[]): { slot: number; trades: ProvableTrade[]; deltas: NettedDelta[] } {
  const slot = (slotCounter += 60_000);
  const trades: ProvableTrade[] = [];
  const deltas: NettedDelta[] = [];
  for (let i = 0; i < tradeCount; i++) {
    const buyer = pick(participants).address;
    let seller = pick(participants).address;
    while (seller === buyer) seller = pick(participants).address;
    const price = BigInt(200_000 + Math.floor(rand() * 150_000));
    const quantityWh = 50 + Math.floor(rand() * 1950);
    const cost = (price * BigInt(quantityWh)) / 1000n;
    trades.push({ id: `t${i}`, slot, seq: i + 1, buyer, seller, price, quantityWh });
    deltas.push({ account: buyer, delta: -cost }, { account: seller, delta: cost });
  }
  return { slot, trades, deltas };
}

interface Row {
  trades: number;
  participants: number;
  accounts: number;
  settleGas: bigint;
  gasPerTrade: number;
  gasPerAccount: number;
  naiveGasPerTrade: number;
  naiveSample: number;
  ratio: number;
}
const rows: Row[] = [];
for (const participants of [50, 200]) {
  for (const tradeCount of [10, 100, 500]) {
    const group = wallets.slice(0, participants);
    const { slot, trades, deltas } = makeSlot(tradeCount, group);
    const batch = buildSettlementBatch(slot, trades, deltas);
    const receipt = await (await market.settleSlot(batch.slotId, batch.tradesRoot, batch.tradesCount, batch.accounts, batch.deltas)).wait();
    const accounts = (batch.accounts.length - 2) / 40;
    // Naive design, same chain, same run: one transferFrom(buyer → seller) per trade (max allowance, existing holders).
    const sample = trades.slice(0, Math.min(tradeCount, 100));
    const naiveGas = await sendAll(sample.map((t) => (nonce: number) => token.transferFrom(t.buyer, t.seller, (BigInt(t.price) * BigInt(t.quantityWh)) / 1000n, { nonce })));
    const naiveGasPerTrade = Number(naiveGas.reduce((a, b) => a + b, 0n)) / naiveGas.length;
    const gasPerTrade = Number(receipt!.gasUsed) / tradeCount;
    rows.push({
      trades: tradeCount,
      participants,
      accounts,
      settleGas: receipt!.gasUsed,
      gasPerTrade,
      gasPerAccount: Number(receipt!.gasUsed) / accounts,
      naiveGasPerTrade,
      naiveSample: sample.length,
      ratio: naiveGasPerTrade / gasPerTrade,
    });
  }
}

console.log('\nsettleSlot (one netted transaction per slot) vs naive one-transferFrom-per-trade, gas:');
console.log('trades  participants  netted accts  settle tx gas   gas/trade  gas/account  naive gas/trade (n)  ratio');
for (const r of rows) {
  console.log(
    `${String(r.trades).padStart(6)}  ${String(r.participants).padStart(12)}  ${String(r.accounts).padStart(12)}  ${r.settleGas.toString().padStart(13)}  ${r.gasPerTrade.toFixed(0).padStart(9)}  ${r.gasPerAccount.toFixed(0).padStart(11)}  ${r.naiveGasPerTrade.toFixed(0).padStart(13)} (${String(r.naiveSample).padStart(3)})  ${r.ratio.toFixed(1).padStart(5)}×`,
  );
}

// Rewards: one root per epoch over 200 cumulative entitlements, then one claim from a participant's own wallet.
const entitlements = wallets.map((w, i) => [w.address, String(1_000_000_000_000_000n * BigInt(i + 1))] as [string, string]);
const rewardTree = StandardMerkleTree.of(entitlements, [...REWARD_LEAF_ENCODING]);
const rootGas = (await (await market.publishRewardRoot(1, rewardTree.root)).wait())!.gasUsed;
const claimer = wallets[17];
const firstClaimGas = (await (await market.connect(claimer).claim(BigInt(entitlements[17][1]), rewardTree.getProof(17))).wait())!.gasUsed;
const rewardTree2 = StandardMerkleTree.of(entitlements.map(([a, v]) => [a, String(BigInt(v) * 2n)] as [string, string]), [...REWARD_LEAF_ENCODING]);
const rootGas2 = (await (await market.publishRewardRoot(2, rewardTree2.root)).wait())!.gasUsed;
const claimGas = (await (await market.connect(claimer).claim(BigInt(entitlements[17][1]) * 2n, rewardTree2.getProof(17))).wait())!.gasUsed;
console.log(`\nreward epoch root update: ${rootGas} gas (first epoch), ${rootGas2} gas (later epochs)`);
console.log(`claim (200-leaf tree, depth ${rewardTree.getProof(17).length}): ${firstClaimGas} gas first claim (new RewardToken holder), ${claimGas} gas later claims`);

// Latency from gate closure (trades known) to confirmed: build tree + pack + store + sign + send + receipt, via the outbox.
const store = new SqliteSettlementOutboxStore(join(dir, 'outbox.sqlite'));
const latencies: number[] = [];
const pending = new Map<number, number>();
let resolveDone: () => void = () => {};
const outbox = new SettlementOutbox({
  store,
  market,
  operator,
  events: {
    confirmed: (e) => {
      const started = pending.get(e.slotId);
      if (started !== undefined) latencies.push(performance.now() - started);
      pending.delete(e.slotId);
      if (pending.size === 0) resolveDone();
    },
  },
});
outbox.start();
const LATENCY_SLOTS = 30;
for (let i = 0; i < LATENCY_SLOTS; i++) {
  const { slot, trades, deltas } = makeSlot(100, wallets.slice(0, 50));
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const gateClosed = performance.now();
  pending.set(slot, gateClosed);
  outbox.enqueue(buildSettlementBatch(slot, trades, deltas));
  await done;
}
await outbox.stop();
store.close();
latencies.sort((a, b) => a - b);
const median = latencies[Math.floor(latencies.length / 2)];
const p95 = latencies[Math.floor(latencies.length * 0.95)];
console.log(`\nsettlement latency gate closure → confirmed (1 confirmation, 100 trades / 50 participants, ${LATENCY_SLOTS} slots, one at a time): median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms`);

provider.destroy();
await chain.stop();
// Restart of the embedded default: the whole run's journal is replayed onto the same genesis.
const restarted = await startEmbeddedChain({ dataDir: dir, keystorePassword: 'bench' });
console.log(`restart: ${restarted.replayedBlocks} journaled blocks replayed, chain serving after ${restarted.startupMs.toFixed(0)} ms`);
await restarted.stop();
rmSync(dir, { recursive: true, force: true });

const target = rows.find((r) => r.trades === 500 && r.participants === 200)!;
console.log(`\ntargets at 500 trades / 200 participants: gas/trade ${target.gasPerTrade.toFixed(0)} (≤ 2,500), gas/account ${target.gasPerAccount.toFixed(0)} (≤ 6,000), ratio ${target.ratio.toFixed(1)}× (≥ 15×)`);
console.log(`total bench time ${((performance.now() - t0) / 1000).toFixed(1)} s; machine: ${cpus().length} cores, Node ${process.version}, load average ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (latency figures grow with load)`);
console.log(
  JSON.stringify({
    bench: 'chain',
    gasPerTrade500: Math.round(target.gasPerTrade),
    gasPerAccount200: Math.round(target.gasPerAccount),
    naiveGasPerTrade: Math.round(target.naiveGasPerTrade),
    ratio: Number(target.ratio.toFixed(1)),
    claimGas: Number(claimGas),
    settleLatencyMs: Number(median.toFixed(1)),
    rewardRootGas: Number(rootGas2),
    restartReplayMs: Math.round(restarted.startupMs),
    replayedBlocks: restarted.replayedBlocks,
  }),
);
