// Shared fixtures for chain tests: one embedded Hardhat chain per test file in a temp dir, funded wallets, tx helpers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Interface, Wallet, type JsonRpcProvider } from 'ethers';
import { EnergyMarketArtifact, GridTokenArtifact, RewardTokenArtifact, energyMarketAt, gridTokenAt, rewardTokenAt, type EnergyMarket, type GridToken, type RewardToken } from '@gridmesh/contracts-abi';
import { startEmbeddedChain, type EmbeddedChain } from '../../server/src/chain/local-chain.ts';
import { chainProvider } from '../../server/src/chain/rpc.ts';

export interface ChainFixture {
  dir: string;
  chain: EmbeddedChain;
  provider: JsonRpcProvider;
  operator: Wallet;
  market: EnergyMarket;
  token: GridToken;
  reward: RewardToken;
  close(): Promise<void>;
}

export async function startChainFixture(options: { withdrawalDelaySeconds?: number } = {}): Promise<ChainFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'gridmesh-chain-'));
  const chain = await startEmbeddedChain({ dataDir: dir, keystorePassword: 'test', ...options });
  const provider = chainProvider(chain.rpcUrl, chain.chainId);
  const operator = chain.operator.connect(provider);
  return {
    dir,
    chain,
    provider,
    operator,
    market: energyMarketAt(chain.addresses.energyMarket, operator),
    token: gridTokenAt(chain.addresses.gridToken, operator),
    reward: rewardTokenAt(chain.addresses.rewardToken, operator),
    async close() {
      provider.destroy();
      await chain.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Random wallets with gas money, connected to the fixture's provider. */
export async function fundedWallets(f: ChainFixture, count: number, gasWei = 10n ** 18n): Promise<Wallet[]> {
  const wallets = Array.from({ length: count }, () => new Wallet(Wallet.createRandom().privateKey, f.provider));
  let nonce = await f.provider.getTransactionCount(f.operator.address, 'pending');
  const txs = [];
  for (const w of wallets) txs.push(await f.operator.sendTransaction({ to: w.address, value: gasWei, nonce: nonce++ }));
  await Promise.all(txs.map((t) => t.wait()));
  return wallets;
}

/** Advances chain time (allowed on the embedded chain: timestamps are journaled). */
export async function increaseTime(f: ChainFixture, seconds: number): Promise<void> {
  await f.provider.send('evm_increaseTime', [seconds]);
  await f.provider.send('evm_mine', []);
}

const errorsInterface = new Interface(
  [...EnergyMarketArtifact.abi, ...GridTokenArtifact.abi, ...RewardTokenArtifact.abi].filter(
    (f) => (f as { type: string }).type === 'error',
  ) as never,
);

/** Name of the custom error in a CALL_EXCEPTION (ethers decodes only static calls itself; sends carry raw data). */
export function revertName(err: unknown): string | undefined {
  const e = err as { revert?: { name?: string }; data?: string; info?: { error?: { data?: string } } };
  if (e.revert?.name) return e.revert.name;
  const data = e.data ?? e.info?.error?.data;
  if (typeof data !== 'string' || data.length < 10) return undefined;
  return errorsInterface.parseError(data)?.name;
}

/** Awaits a contract call or send and asserts it reverts with the named custom error (decoded from the ABI). */
export async function expectRevert(action: Promise<unknown>, errorName: string): Promise<void> {
  try {
    const result = await action;
    const wait = (result as { wait?: () => Promise<unknown> } | undefined)?.wait;
    if (wait) await wait.call(result);
  } catch (err) {
    const name = revertName(err);
    if (name === errorName) return;
    throw new Error(`expected revert ${errorName}, got: ${name ?? (err as Error).message}`);
  }
  throw new Error(`expected revert ${errorName}, but the call succeeded`);
}
