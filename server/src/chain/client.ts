// Chain client from configuration: any JSON-RPC URL, operator key from an encrypted keystore, confirmations, typed contracts.
import { readFileSync } from 'node:fs';
import type { JsonRpcProvider, Wallet } from 'ethers';
import { energyMarketAt, gridTokenAt, rewardTokenAt, type EnergyMarket, type GridToken, type RewardToken } from '@gridmesh/contracts-abi';
import { loadOperatorWallet } from './keystore.ts';
import type { ChainAddresses } from './local-chain.ts';
import { chainProvider } from './rpc.ts';

export interface ChainConfig {
  rpcUrl: string;
  chainId: number;
  keystorePath: string;
  keystorePassword: string;
  confirmations: number;
  addresses: ChainAddresses;
  /** Block the market was deployed at (bounds event searches). */
  fromBlock?: number;
}

export interface ChainClient {
  config: ChainConfig;
  provider: JsonRpcProvider;
  operator: Wallet;
  market: EnergyMarket;
  gridToken: GridToken;
  rewardToken: RewardToken;
  close(): void;
}

/**
 * Reads CHAIN_RPC_URL, CHAIN_ID, CHAIN_KEYSTORE (path), CHAIN_KEYSTORE_PASSWORD (or CHAIN_KEYSTORE_PASSWORD_FILE),
 * CHAIN_CONFIRMATIONS (default 1) and CHAIN_ADDRESSES (path to a chain.json-like file with `addresses`).
 * Returns undefined when CHAIN_RPC_URL is unset (the server then starts the embedded chain).
 */
export function chainConfigFromEnv(env: NodeJS.ProcessEnv = process.env): ChainConfig | undefined {
  if (!env.CHAIN_RPC_URL) return undefined;
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is required when CHAIN_RPC_URL is set`);
    return value;
  };
  const confirmations = Number(env.CHAIN_CONFIRMATIONS ?? '1');
  if (!Number.isInteger(confirmations) || confirmations < 1) throw new Error(`CHAIN_CONFIRMATIONS must be an integer ≥ 1, got ${env.CHAIN_CONFIRMATIONS}`);
  const chainId = Number(need('CHAIN_ID'));
  if (!Number.isInteger(chainId) || chainId < 1) throw new Error(`CHAIN_ID must be a positive integer, got ${env.CHAIN_ID}`);
  const password = env.CHAIN_KEYSTORE_PASSWORD ?? (env.CHAIN_KEYSTORE_PASSWORD_FILE ? readFileSync(env.CHAIN_KEYSTORE_PASSWORD_FILE, 'utf8').trim() : undefined);
  if (!password) throw new Error('CHAIN_KEYSTORE_PASSWORD or CHAIN_KEYSTORE_PASSWORD_FILE is required when CHAIN_RPC_URL is set');
  const deployment = JSON.parse(readFileSync(need('CHAIN_ADDRESSES'), 'utf8')) as { addresses: ChainAddresses; fromBlock?: number };
  return {
    rpcUrl: env.CHAIN_RPC_URL,
    chainId,
    keystorePath: need('CHAIN_KEYSTORE'),
    keystorePassword: password,
    confirmations,
    addresses: deployment.addresses,
    fromBlock: deployment.fromBlock,
  };
}

export async function connectChain(config: ChainConfig): Promise<ChainClient> {
  return chainClientFor(config, await loadOperatorWallet(config.keystorePath, config.keystorePassword));
}

/** A client for `config` acting with an already decrypted operator wallet. */
export function chainClientFor(config: ChainConfig, wallet: Wallet): ChainClient {
  const provider = chainProvider(config.rpcUrl, config.chainId);
  const operator = wallet.connect(provider);
  return {
    config,
    provider,
    operator,
    market: energyMarketAt(config.addresses.energyMarket, operator),
    gridToken: gridTokenAt(config.addresses.gridToken, operator),
    rewardToken: rewardTokenAt(config.addresses.rewardToken, operator),
    close: () => provider.destroy(),
  };
}
