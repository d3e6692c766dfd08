// Funds demo participants on the local chain: GridToken minted by the operator and deposited into escrow for them, plus gas money.
import { type Signer, type TransactionResponse } from 'ethers';
import { energyMarketAt, gridTokenAt } from '@gridmesh/contracts-abi';
import type { ChainAddresses } from './local-chain.ts';

export interface DemoParticipantFunding {
  address: string;
  /** GridToken base units (6 decimals) deposited into the participant's escrow. */
  deposit: bigint;
  /** Native wei sent for the participant's own transactions (withdraw, claim); 0 to skip. */
  gasWei?: bigint;
  /** GridToken base units minted straight to the participant's wallet, so it can deposit more itself. */
  walletTokens?: bigint;
}

/**
 * Mints the total, approves the market once and deposits for each participant, sending all transactions
 * back to back with explicit nonces, then waits for every receipt. Returns the number of transactions sent.
 */
export async function fundAndDeposit(operator: Signer, addresses: ChainAddresses, participants: readonly DemoParticipantFunding[]): Promise<number> {
  if (participants.length === 0) return 0;
  const provider = operator.provider;
  if (!provider) throw new Error('fundAndDeposit: the operator signer needs a provider');
  const operatorAddress = await operator.getAddress();
  const token = gridTokenAt(addresses.gridToken, operator);
  const market = energyMarketAt(addresses.energyMarket, operator);
  const total = participants.reduce((sum, p) => sum + p.deposit, 0n);
  let nonce = await provider.getTransactionCount(operatorAddress, 'pending');
  const sent: TransactionResponse[] = [];
  if (total > 0n) {
    sent.push(await token.mint(operatorAddress, total, { nonce: nonce++ }));
    sent.push(await token.approve(addresses.energyMarket, total, { nonce: nonce++ }));
  }
  for (const p of participants) {
    if (p.deposit > 0n) sent.push(await market.depositFor(p.address, p.deposit, { nonce: nonce++, gasLimit: 120_000n }));
    if (p.gasWei && p.gasWei > 0n) sent.push(await operator.sendTransaction({ to: p.address, value: p.gasWei, nonce: nonce++ }));
    if (p.walletTokens && p.walletTokens > 0n) sent.push(await token.mint(p.address, p.walletTokens, { nonce: nonce++ }));
  }
  const receipts = await Promise.all(sent.map((tx) => tx.wait()));
  const failed = receipts.findIndex((r) => !r || r.status !== 1);
  if (failed >= 0) throw new Error(`fundAndDeposit: transaction ${sent[failed].hash} failed`);
  return sent.length;
}
