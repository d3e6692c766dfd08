// On-chain escrow and reward actions from the participant's own key: an injected wallet (eth_sendTransaction) or a key in this
// browser (EIP-1559 transaction signed locally, sent raw to the server's JSON-RPC). Calldata from ethers' ABI coder.
import { Interface } from 'ethers/abi';
import { SigningKey } from 'ethers/crypto';
import { computeAddress, Transaction } from 'ethers/transaction';
import type { Eip1193 } from './injected-signer.ts';
import type { ChainInfo } from './wire.ts';

const TOKEN = new Interface(['function approve(address spender, uint256 amount) returns (bool)', 'function balanceOf(address account) view returns (uint256)']);
const MARKET = new Interface([
  'function deposit(uint256 amount)',
  'function requestWithdrawal(uint256 amount)',
  'function executeWithdrawal() returns (uint256)',
  'function claim(uint256 cumulativeAmount, bytes32[] proof) returns (uint256)',
]);

export interface ChainKey {
  privateKey?: string;
  ethereum?: Eip1193;
}

let rpcId = 0;
async function httpRpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: ++rpcId, method, params }) });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(body.error.message);
  return body.result;
}

interface Receipt {
  status: string;
}

/** Sends one call and waits for its receipt (a bounded wait on this transaction, not a data poll). */
async function send(chain: ChainInfo, key: ChainKey, to: string, data: string): Promise<string> {
  let hash: string;
  let rpc: (method: string, params: unknown[]) => Promise<unknown>;
  if (key.ethereum) {
    const eth = key.ethereum;
    rpc = (method, params) => eth.request({ method, params });
    const [from] = (await eth.request({ method: 'eth_requestAccounts' })) as string[];
    hash = (await rpc('eth_sendTransaction', [{ from, to, data }])) as string;
  } else {
    if (!chain.rpcUrl) throw new Error('the server runs without a chain');
    if (!key.privateKey) throw new Error('no key to sign the transaction');
    const url = chain.rpcUrl;
    rpc = (method, params) => httpRpc(url, method, params);
    const signing = new SigningKey(key.privateKey);
    const from = computeAddress(signing.publicKey);
    const [nonce, gas, tip, block] = await Promise.all([
      rpc('eth_getTransactionCount', [from, 'pending']),
      rpc('eth_estimateGas', [{ from, to, data }]),
      rpc('eth_maxPriorityFeePerGas', []).catch(() => '0x3b9aca00'),
      rpc('eth_getBlockByNumber', ['latest', false]) as Promise<{ baseFeePerGas?: string }>,
    ]);
    const baseFee = BigInt(block.baseFeePerGas ?? '0x3b9aca00');
    const tx = Transaction.from({
      type: 2, chainId: chain.chainId, nonce: Number(nonce), to, data,
      gasLimit: (BigInt(gas as string) * 12n) / 10n, maxPriorityFeePerGas: BigInt(tip as string), maxFeePerGas: baseFee * 2n + BigInt(tip as string),
    });
    tx.signature = signing.sign(tx.unsignedHash);
    hash = (await rpc('eth_sendRawTransaction', [tx.serialized])) as string;
  }
  for (let i = 0; i < 120; i++) {
    const receipt = (await rpc('eth_getTransactionReceipt', [hash])) as Receipt | null;
    if (receipt) {
      if (receipt.status !== '0x1') throw new Error(`transaction ${hash} reverted`);
      return hash;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`transaction ${hash} not mined after 60 s`);
}

/** GridToken held in the wallet itself (what a deposit can move into escrow). */
export async function walletTokenBalance(chain: ChainInfo, account: string): Promise<bigint> {
  if (!chain.rpcUrl || !chain.addresses) throw new Error('no chain');
  const data = TOKEN.encodeFunctionData('balanceOf', [account]);
  const out = (await httpRpc(chain.rpcUrl, 'eth_call', [{ to: chain.addresses.gridToken, data }, 'latest'])) as string;
  return BigInt(TOKEN.decodeFunctionResult('balanceOf', out)[0] as bigint);
}

function addresses(chain: ChainInfo) {
  if (!chain.addresses) throw new Error('contracts are not deployed on this server');
  return chain.addresses;
}

/** GridToken.approve + EnergyMarket.deposit; returns the deposit's tx hash. */
export async function deposit(chain: ChainInfo, key: ChainKey, amount: bigint): Promise<string> {
  const a = addresses(chain);
  await send(chain, key, a.gridToken, TOKEN.encodeFunctionData('approve', [a.energyMarket, amount]));
  return send(chain, key, a.energyMarket, MARKET.encodeFunctionData('deposit', [amount]));
}

export const requestWithdrawal = (chain: ChainInfo, key: ChainKey, amount: bigint) => send(chain, key, addresses(chain).energyMarket, MARKET.encodeFunctionData('requestWithdrawal', [amount]));
export const executeWithdrawal = (chain: ChainInfo, key: ChainKey) => send(chain, key, addresses(chain).energyMarket, MARKET.encodeFunctionData('executeWithdrawal', []));
export const claimRewards = (chain: ChainInfo, key: ChainKey, cumulative: bigint, proof: string[]) =>
  send(chain, key, addresses(chain).energyMarket, MARKET.encodeFunctionData('claim', [cumulative, proof]));
