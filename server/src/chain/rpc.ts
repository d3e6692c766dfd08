// ethers providers tuned for a chain: no request cache on local chains (fresh nonces), fast receipt polling.
import { JsonRpcProvider } from 'ethers';

/** A JsonRpcProvider for a known chain id; cacheTimeout -1 because ethers' 250 ms cache returns stale nonces on automine. */
export function chainProvider(rpcUrl: string, chainId: number, pollingIntervalMs = 50): JsonRpcProvider {
  return new JsonRpcProvider(rpcUrl, chainId, { staticNetwork: true, cacheTimeout: -1, pollingInterval: pollingIntervalMs });
}
