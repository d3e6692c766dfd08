// `npm run chain:deploy -- …`: deploys EnergyMarket (and a GridToken when no payment token is given) to any EVM chain and writes the CHAIN_ADDRESSES file.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { NonceManager, getAddress, isAddress } from 'ethers';
import { deployEnergyMarket, deployGridToken } from '@gridmesh/contracts-abi';
import { loadOperatorWallet } from '../chain/keystore.ts';
import { chainProvider } from '../chain/rpc.ts';

const USAGE = `usage: npm run chain:deploy -- --rpc URL --chain-id N --keystore FILE (--password-file FILE | env CHAIN_KEYSTORE_PASSWORD)
         [--payment-token ADDRESS] [--operator ADDRESS] [--withdrawal-delay SECONDS] --out FILE
  Deploys with the keystore's account (admin of EnergyMarket). --payment-token: the ERC-20 escrowed and settled (e.g. a
  EUR stablecoin); without it a GridToken (6 decimals, mintable by the deployer) is deployed for trials. --operator: the
  account the server sends settleSlot/publishRewardRoot from (default: the deployer). --out: the JSON file for CHAIN_ADDRESSES.`;

function fail(message: string, code = 2): never {
  console.error(`chain:deploy: ${message}\n${USAGE}`);
  process.exit(code);
}

let values: Record<string, string | undefined>;
try {
  ({ values } = parseArgs({
    options: {
      rpc: { type: 'string' }, 'chain-id': { type: 'string' }, keystore: { type: 'string' }, 'password-file': { type: 'string' },
      'payment-token': { type: 'string' }, operator: { type: 'string' }, 'withdrawal-delay': { type: 'string' }, out: { type: 'string' },
    },
    strict: true,
  }) as { values: Record<string, string | undefined> });
} catch (err) {
  fail((err as Error).message);
}
const need = (name: string): string => values[name] ?? fail(`--${name} is required`);
const rpcUrl = need('rpc');
const chainId = Number(need('chain-id'));
if (!Number.isSafeInteger(chainId) || chainId < 1) fail(`--chain-id must be a positive integer, got ${values['chain-id']}`);
const keystore = resolve(need('keystore'));
const out = resolve(need('out'));
if (existsSync(out)) fail(`${out} exists: refusing to overwrite a deployment record`);
const password = values['password-file'] ? readFileSync(values['password-file'], 'utf8').trim() : process.env.CHAIN_KEYSTORE_PASSWORD;
if (!password) fail('the keystore password is required (--password-file or CHAIN_KEYSTORE_PASSWORD)');
for (const name of ['payment-token', 'operator'] as const) {
  if (values[name] !== undefined && !isAddress(values[name])) fail(`--${name} must be an address (0x + 40 hex), got ${values[name]}`);
}
const delay = Number(values['withdrawal-delay'] ?? '900');
if (!Number.isSafeInteger(delay) || delay < 0 || delay > 7 * 86_400) fail(`--withdrawal-delay must be 0..604800 seconds, got ${values['withdrawal-delay']}`);

const provider = chainProvider(rpcUrl, chainId, 1000);
try {
  const nodeChainId = Number(await provider.send('eth_chainId', []));
  if (nodeChainId !== chainId) fail(`--chain-id is ${chainId} but the node at ${rpcUrl} is chain ${nodeChainId}`, 1);
  const wallet = (await loadOperatorWallet(keystore, password)).connect(provider);
  const deployer = new NonceManager(wallet);
  const operator = values.operator ? getAddress(values.operator) : wallet.address;
  const fromBlock = await provider.getBlockNumber();
  const paymentToken = values['payment-token'] ? getAddress(values['payment-token']) : await (await deployGridToken(deployer, wallet.address)).getAddress();
  const market = await deployEnergyMarket(deployer, { paymentToken, admin: wallet.address, operator, withdrawalDelaySeconds: delay });
  const record = {
    chainId, fromBlock, deployer: wallet.address, operator, withdrawalDelaySeconds: delay, deployedAt: new Date().toISOString(),
    addresses: { gridToken: paymentToken, energyMarket: await market.getAddress(), rewardToken: await market.rewardToken() },
  };
  writeFileSync(out, `${JSON.stringify(record, null, 2)}\n`);
  console.log(JSON.stringify(record));
  provider.destroy();
} catch (err) {
  provider.destroy();
  console.error(`chain:deploy failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
