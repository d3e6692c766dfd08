// `npm start`: the embedded default — local chain, server with the 1-minute demo market, five simulated homes that trade by themselves.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Wallet } from 'ethers';
import type { Address } from '@gridmesh/contracts-abi';
import { configFromEnv } from '../config.ts';
import { startServer } from '../server.ts';
import { registerHome } from '../demo/owner-client.ts';
import { DEMO_HOMES } from '../demo/demo-homes.ts';
import { DemoTrader, type TradingHome } from '../demo/demo-trader.ts';
import { chainServerOptions } from '../chain-settlement.ts';
import { SettlementOutbox, SqliteSettlementOutboxStore, chainProvider, fundAndDeposit, startEmbeddedChain, type EmbeddedChain } from '../chain/index.ts';
import { energyMarketAt } from '@gridmesh/contracts-abi';
import type { DemoHomeKey } from '../http/ops-routes.ts';
import { TradeRulesService } from '../rules/rules-service.ts';

const repoRoot = resolve(import.meta.dirname, '../../..');
const bridgeBin = join(repoRoot, 'firmware-bridge/bin/gridmesh-bridge.js');
const config = configFromEnv({ GRIDMESH_MARKET_PRESET: 'demo', ...process.env });
const homesDir = join(config.dataDir, 'homes');
mkdirSync(homesDir, { recursive: true });
/** Escrow each demo home gets on first start: 100 GRID (6 decimals). */
const DEMO_DEPOSIT = 100_000_000n;
/** 20 GRID left in each demo wallet, so a visitor can try Deposit from the dashboard. */
const DEMO_WALLET_TOKENS = 20_000_000n;

// Demo keystores share one generated password kept in the data dir (a real home keeps its own, see firmware-bridge/README.md).
const passwordFile = join(homesDir, 'keystore-password');
if (!existsSync(passwordFile)) writeFileSync(passwordFile, randomBytes(18).toString('base64url'), { mode: 0o600 });

/**
 * The simulated homes follow the sun of their local clock; a visitor in the evening would see no solar at all. Unless
 * GRIDMESH_DEMO_REAL_TIME=1, shift the simulated day so it is early afternoon now (the same shift for every home).
 */
function clockOffsetMin(): number {
  if (process.env.GRIDMESH_DEMO_REAL_TIME === '1') return 0;
  const d = new Date();
  const minutes = d.getHours() * 60 + d.getMinutes();
  let offset = 12 * 60 + 30 - minutes;
  if (offset > 720) offset -= 1440;
  if (offset < -720) offset += 1440;
  return offset;
}

interface PreparedHome extends TradingHome {
  configPath: string;
  pvPeakW: number;
}

/** Runs a command and resolves with its exit status and output (async, so the five homes are prepared in parallel). */
function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (status) => resolveRun({ status, stdout, stderr }));
  });
}

async function prepareHome(home: (typeof DEMO_HOMES)[number], serverUrl: string, offsetMin: number): Promise<PreparedHome> {
  const dir = join(homesDir, `home-${home.index}`);
  const configPath = join(dir, 'bridge.json');
  const ownerPath = join(dir, 'owner.json');
  let meter: Address;
  if (!existsSync(configPath)) {
    const init = await run([
      bridgeBin, 'init', '--dir', dir, '--server', serverUrl, '--device', 'simulated', '--chain-id', String(config.chainId),
      '--password-file', passwordFile, '--fast-kdf', '--sim-seed', String(home.index), '--sim-pv-w', String(home.pvPeakW),
      '--sim-load-w', String(home.loadBaseW), '--interval-ms', '1000', `--sim-clock-offset-min=${offsetMin}`,
    ]);
    if (init.status !== 0) throw new Error(`bridge init for ${home.name} failed: ${init.stderr || init.stdout}`);
    meter = JSON.parse(init.stdout.trim().split('\n').pop()!).meter as Address;
  } else {
    meter = (JSON.parse(readFileSync(join(dir, 'keystore.json'), 'utf8')) as { address: string }).address.replace(/^(0x)?/, '0x') as Address;
    // The server may listen on another port than last time, and the sun moved on: update the existing config.
    const text = readFileSync(configPath, 'utf8');
    const updated = text
      .replace(/("server"\s*:\s*)"[^"]*"/, `$1${JSON.stringify(serverUrl)}`)
      .replace(/("clockOffsetMin"\s*:\s*)-?\d+/, `$1${offsetMin}`);
    if (updated !== text) writeFileSync(configPath, updated);
  }
  // Demo only: the owner's wallet key is kept in plain text so a visitor can act as this home in the dashboard.
  if (!existsSync(ownerPath)) writeFileSync(ownerPath, JSON.stringify({ name: home.name, privateKey: Wallet.createRandom().privateKey }, null, 2), { mode: 0o600 });
  const owner = new Wallet((JSON.parse(readFileSync(ownerPath, 'utf8')) as { privateKey: string }).privateKey);
  return { index: home.index, name: home.name, meter: meter.toLowerCase() as Address, configPath, owner, pvPeakW: home.pvPeakW };
}

const children: ChildProcess[] = [];
let stopping = false;

function runBridge(home: PreparedHome): void {
  const child = spawn(process.execPath, [bridgeBin, 'run', '--config', home.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  const prefix = `[${home.name}] `;
  const relay = (chunk: Buffer, out: NodeJS.WriteStream) => {
    for (const line of chunk.toString().split('\n')) if (line.trim()) out.write(prefix + line + '\n');
  };
  child.stdout?.on('data', (c: Buffer) => relay(c, process.stdout));
  child.stderr?.on('data', (c: Buffer) => relay(c, process.stderr));
  child.on('exit', (code, signal) => {
    if (!stopping) console.error(`${prefix}bridge exited (${signal ?? code}); restarting in 2 s`);
    if (!stopping) setTimeout(() => runBridge(home), 2000).unref();
  });
}

const quietLog = {
  info: (msg: string, fields?: Record<string, unknown>) => { if (msg !== 'bridge authenticated') console.log(`[server] ${msg}${fields ? ' ' + JSON.stringify(fields) : ''}`); },
  error: (msg: string, fields?: Record<string, unknown>) => console.error(`[server] ${msg}${fields ? ' ' + JSON.stringify(fields) : ''}`),
};

// 1. The embedded chain (deploys on first start, replays its block journal afterwards).
let chain: EmbeddedChain | null = null;
if (process.env.GRIDMESH_DEMO_CHAIN !== '0') {
  chain = await startEmbeddedChain({ dataDir: join(config.dataDir, 'chain'), chainId: config.chainId });
  console.log(`[chain] local EVM at ${chain.rpcUrl} (chain ${chain.chainId}), EnergyMarket ${chain.addresses.energyMarket}`);
}
const provider = chain ? chainProvider(chain.rpcUrl, chain.chainId) : null;
const operator = chain && provider ? chain.operator.connect(provider) : null;
const market = chain && operator ? energyMarketAt(chain.addresses.energyMarket, operator) : null;
const outboxStore = chain ? new SqliteSettlementOutboxStore(join(config.dataDir, 'outbox.db')) : null;
const outbox = operator && market ? new SettlementOutbox({ store: outboxStore!, market, operator, events: {
  confirmed: (e) => console.log(`[chain] slot ${new Date(e.slotId).toISOString()} settled on chain (${e.tradesCount} trades, tx ${e.txHash})`),
  failed: (e) => console.error(`[chain] slot ${e.slotId} settlement refused: ${e.lastError}`),
  rewardRootConfirmed: (e) => console.log(`[chain] reward epoch ${e.epoch} published (rewards of slots before ${new Date(e.toSlot).toISOString()}, tx ${e.txHash})`),
  rewardRootFailed: (e) => console.error(`[chain] reward epoch ${e.epoch} refused: ${e.lastError}`),
} }) : null;
const onChain = market && outbox && outboxStore ? chainServerOptions({ market, outbox, outboxStore, rewardEpochMs: config.rewardEpochMs, log: quietLog }) : null;

// 2. The server with the demo market (1-minute slots, continuous), chain escrow, on-chain settlement and reward epochs.
const homes: PreparedHome[] = [];
const server = await startServer(config, quietLog, {
  ...(onChain ?? {}),
  chain: () => ({
    chainId: config.chainId, rpcUrl: chain?.rpcUrl ?? null, embedded: chain !== null, operator: chain?.operator.address ?? null,
    addresses: chain?.addresses ?? null, withdrawalDelaySeconds: chain?.chainFile.withdrawalDelaySeconds ?? null,
  }),
  demoHomes: (): DemoHomeKey[] => homes.map((h) => ({ name: h.name, owner: h.owner.address.toLowerCase() as Address, privateKey: h.owner.privateKey, meter: h.meter, pvPeakW: h.pvPeakW })),
});
outbox?.start();
const trader = new DemoTrader(server, config.markets[0].id, () => homes, (msg) => { if (process.env.GRIDMESH_DEMO_VERBOSE === '1') console.log(`[demo] ${msg}`); });

/** How the demo homes trade: standing trade rules run by the server from forecasts (default, with a warm-up trader), or only the simple live trader. */
const tradingMode = process.env.GRIDMESH_DEMO_TRADER === 'simple' ? 'simple' : 'rules';

/**
 * Each home's owner authorises a server-held session key once (EIP-712 Delegation signed with the owner's wallet) and sets
 * standing rules on its meter: sell surplus at no less than X, buy deficit at no more than Y. Sellers ask below and buyers
 * bid above the middle of [floor, cap], so neighbours meet. The server's rule runner then places every rule order.
 */
async function giveStandingRules(home: PreparedHome): Promise<void> {
  const owner = home.owner.address.toLowerCase();
  const now = Date.now();
  const active = server.delegations.list(owner).find((d) => d.signature !== null && d.revokedAt === null && d.expiry > now + 86_400_000 && d.serverHeld);
  if (!active) {
    const expiry = now + 30 * 86_400_000;
    const { delegate, typedData } = await server.delegations.createSessionKey(owner, expiry, now);
    const signature = await home.owner.signTypedData(typedData.domain, typedData.types, typedData.message);
    await server.delegations.authorise({ participant: owner, delegate, expiry, signature }, now);
  }
  const rules = new TradeRulesService(server.store, config.markets[0].id);
  if ((await rules.list(owner)).length > 0) return;
  const m = config.markets[0];
  const mid = (m.floor + m.cap) / 2n;
  const step = (m.cap - m.floor) / 20n;
  const k = BigInt(1 + (home.index % 3));
  await rules.replace(owner, { rules: [{ meter: home.meter, enabled: true, minSellPrice: (mid - step * k).toString(), maxBuyPrice: (mid + step * k).toString() }] }, now);
}

async function shutdown(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  trader.stop();
  for (const c of children) c.kill('SIGTERM');
  await Promise.all(children.map((c) => (c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once('exit', r)))));
  await server.close();
  await outbox?.stop();
  provider?.destroy();
  await chain?.stop();
  process.exit(code);
}
process.once('SIGINT', () => void shutdown(0));
process.once('SIGTERM', () => void shutdown(0));

try {
  // 3. Five homes: bridge keys, owners registered with their meters, bridges running.
  const offset = clockOffsetMin();
  const prepared = await Promise.all(DEMO_HOMES.map((home) => prepareHome(home, server.url, offset)));
  for (const home of prepared) {
    await registerHome({ baseUrl: server.url, chainId: config.chainId, owner: home.owner, name: home.name, meter: home.meter, role: 'grid', capacityW: 17_250, label: 'grid connection' });
    homes.push(home);
    runBridge(home);
  }
  // 4. Escrow for every home that has none yet (first start): GridToken minted, deposited for it, plus gas money.
  //    Then the homes trade their live surplus and deficit by themselves.
  void (async () => {
    if (chain && market) {
      const unfunded = [];
      for (const h of homes) if ((await market.escrowOf(h.owner.address)) === 0n) unfunded.push({ address: h.owner.address, deposit: DEMO_DEPOSIT, gasWei: 10n ** 18n, walletTokens: DEMO_WALLET_TOKENS });
      if (unfunded.length) {
        await fundAndDeposit(operator!, chain.addresses, unfunded);
        console.log(`[chain] funded ${unfunded.length} demo homes with ${Number(DEMO_DEPOSIT) / 1e6} GRID escrow and ${Number(DEMO_WALLET_TOKENS) / 1e6} GRID in the wallet each`);
      }
    }
    if (tradingMode === 'rules') {
      for (const h of homes) await giveStandingRules(h);
      // Forecasts need a slot or two of readings; until the rules place their first order, the homes trade their live
      // surplus/deficit in the next slot so a visitor sees trades at once.
      trader.stopWhen = async () => (await server.store.market.orders({ market: config.markets[0].id, status: 'all', limit: 200 })).some((o) => o.source === 'rule');
    }
    trader.start();
    void trader.tick();
  })().catch((err) => console.error(`demo funding failed: ${err instanceof Error ? err.message : String(err)}`));
  console.log(`\n  gridmesh is running: open ${server.url}/ in your browser (Ctrl-C stops everything)\n  demo market: 1-minute slots, continuous trading; demo homes' keys at ${server.url}/api/demo/homes\n`);
} catch (err) {
  console.error(`demo start-up failed: ${err instanceof Error ? err.message : String(err)}`);
  await shutdown(1);
}
