// Typed ethers v6 access to the compiled contracts (artifacts committed under contracts-abi/artifacts) and the packed settleSlot batch.
import { BaseContract, ContractFactory, getAddress, type BaseContractMethod, type ContractRunner, type ContractTransactionResponse } from 'ethers';
import energyMarketArtifact from '../artifacts/EnergyMarket.json' with { type: 'json' };
import gridTokenArtifact from '../artifacts/GridToken.json' with { type: 'json' };
import rewardTokenArtifact from '../artifacts/RewardToken.json' with { type: 'json' };
import type { Address, MeterReading } from './types.ts';

export interface CompiledContract {
  contractName: string;
  abi: readonly unknown[];
  bytecode: string;
  compiler: { version: string };
  settingsHash: string;
}

export const EnergyMarketArtifact = energyMarketArtifact as CompiledContract;
export const GridTokenArtifact = gridTokenArtifact as CompiledContract;
export const RewardTokenArtifact = rewardTokenArtifact as CompiledContract;

type Send<A extends unknown[]> = BaseContractMethod<A, void, ContractTransactionResponse>;
type SendReturning<A extends unknown[], R> = BaseContractMethod<A, R, ContractTransactionResponse>;
type View<A extends unknown[], R> = BaseContractMethod<A, R, R>;

/** EIP-712 MeterReading as the contract takes it (same field order as eip712.ts). */
export type MeterReadingStruct = Pick<MeterReading, 'meter' | 'seq' | 'timestamp' | 'importWh' | 'exportWh' | 'powerW' | 'flags'>;
export interface MeterBindingStruct {
  meter: string;
  owner: string;
  role: number;
  capacityW: number;
  nonce: number | bigint;
}

export interface Erc20Methods {
  name: View<[], string>;
  symbol: View<[], string>;
  decimals: View<[], bigint>;
  totalSupply: View<[], bigint>;
  balanceOf: View<[account: string], bigint>;
  allowance: View<[owner: string, spender: string], bigint>;
  approve: Send<[spender: string, amount: bigint]>;
  transfer: Send<[to: string, amount: bigint]>;
  transferFrom: Send<[from: string, to: string, amount: bigint]>;
}

/** A BaseContract with declared methods; connect() keeps the declared type. */
export type TypedContract<M> = Omit<BaseContract, 'connect'> & M & { connect(runner: ContractRunner | null): TypedContract<M> };

export type GridToken = TypedContract<Erc20Methods & { mint: Send<[to: string, amount: bigint]>; owner: View<[], string> }>;
export type RewardToken = TypedContract<Erc20Methods & { minter: View<[], string>; mint: Send<[to: string, amount: bigint]> }>;

export type EnergyMarket = TypedContract<{
  OPERATOR_ROLE: View<[], string>;
  DEFAULT_ADMIN_ROLE: View<[], string>;
  hasRole: View<[role: string, account: string], boolean>;
  grantRole: Send<[role: string, account: string]>;
  paymentToken: View<[], string>;
  rewardToken: View<[], string>;
  withdrawalDelay: View<[], bigint>;
  setWithdrawalDelay: Send<[delaySeconds: bigint | number]>;
  escrowOf: View<[account: string], bigint>;
  deposit: Send<[amount: bigint]>;
  depositFor: Send<[account: string, amount: bigint]>;
  requestWithdrawal: Send<[amount: bigint]>;
  executeWithdrawal: SendReturning<[], bigint>;
  pendingWithdrawal: View<[account: string], [bigint, bigint] & { amount: bigint; readyAt: bigint }>;
  settleSlot: Send<[slotId: bigint | number, tradesRoot: string, tradesCount: number, accounts: string, deltas: string]>;
  slotSettled: View<[slotId: bigint | number], boolean>;
  slotTradesRoot: View<[slotId: bigint | number], string>;
  tradeLeaf: View<[slot: bigint | number, seq: bigint | number, buyer: string, seller: string, price: bigint, quantityWh: bigint | number], string>;
  verifyTrade: View<
    [slot: bigint | number, seq: bigint | number, buyer: string, seller: string, price: bigint, quantityWh: bigint | number, proof: string[]],
    boolean
  >;
  rewardEpoch: View<[], bigint>;
  rewardRoot: View<[], string>;
  previousRewardRoot: View<[], string>;
  rewardsClaimed: View<[account: string], bigint>;
  publishRewardRoot: Send<[epoch: bigint | number, root: string]>;
  claim: SendReturning<[cumulativeAmount: bigint, proof: string[]], bigint>;
  claimFor: SendReturning<[account: string, cumulativeAmount: bigint, proof: string[]], bigint>;
  domainSeparator: View<[], string>;
  meterReadingDigest: View<[reading: MeterReadingStruct], string>;
  recoverReadingSigner: View<[reading: MeterReadingStruct, signature: string], string>;
  meterBindingDigest: View<[binding: MeterBindingStruct], string>;
  bindMeter: Send<[binding: MeterBindingStruct, signature: string]>;
  unbindMeter: Send<[meter: string]>;
  meters: View<[meter: string], [string, bigint, bigint, bigint] & { owner: string; role: bigint; capacityW: bigint; nextNonce: bigint }>;
}>;

export function energyMarketAt(address: string, runner: ContractRunner): EnergyMarket {
  return new BaseContract(address, EnergyMarketArtifact.abi as never, runner) as unknown as EnergyMarket;
}
export function gridTokenAt(address: string, runner: ContractRunner): GridToken {
  return new BaseContract(address, GridTokenArtifact.abi as never, runner) as unknown as GridToken;
}
export function rewardTokenAt(address: string, runner: ContractRunner): RewardToken {
  return new BaseContract(address, RewardTokenArtifact.abi as never, runner) as unknown as RewardToken;
}

export interface DeployOverrides {
  nonce?: number;
}

export async function deployGridToken(deployer: ContractRunner, owner: string, overrides: DeployOverrides = {}): Promise<GridToken> {
  const factory = new ContractFactory(GridTokenArtifact.abi as never, GridTokenArtifact.bytecode, deployer);
  const contract = await factory.deploy(owner, overrides);
  await contract.waitForDeployment();
  return contract as unknown as unknown as GridToken;
}

export async function deployEnergyMarket(
  deployer: ContractRunner,
  args: { paymentToken: string; admin: string; operator: string; withdrawalDelaySeconds: number },
  overrides: DeployOverrides = {},
): Promise<EnergyMarket> {
  const factory = new ContractFactory(EnergyMarketArtifact.abi as never, EnergyMarketArtifact.bytecode, deployer);
  const contract = await factory.deploy(args.paymentToken, args.admin, args.operator, args.withdrawalDelaySeconds, overrides);
  await contract.waitForDeployment();
  return contract as unknown as unknown as EnergyMarket;
}

/** One account's netted balance change in a slot (token base units; + credit, − debit). */
export interface NettedDelta {
  account: Address | string;
  delta: bigint;
}

/** settleSlot's packed calldata: 20-byte accounts ascending, 12-byte int96 deltas in the same order. */
export interface PackedNetting {
  accounts: `0x${string}`;
  deltas: `0x${string}`;
  count: number;
}

const INT96_MIN = -(1n << 95n);
const INT96_MAX = (1n << 95n) - 1n;

/**
 * Packs netted deltas for settleSlot: merges duplicate accounts, drops zero deltas, sorts by address,
 * checks Σ = 0 and the int96 range. Throws on a batch the contract would refuse.
 */
export function packNetting(entries: readonly NettedDelta[]): PackedNetting {
  const merged = new Map<string, bigint>();
  for (const { account, delta } of entries) {
    const key = getAddress(account).toLowerCase();
    merged.set(key, (merged.get(key) ?? 0n) + delta);
  }
  const rows = [...merged].filter(([, d]) => d !== 0n).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let sum = 0n;
  let accounts = '0x';
  let deltas = '0x';
  for (const [account, delta] of rows) {
    if (delta < INT96_MIN || delta > INT96_MAX) throw new RangeError(`delta ${delta} for ${account} exceeds int96`);
    sum += delta;
    accounts += account.slice(2);
    deltas += BigInt.asUintN(96, delta).toString(16).padStart(24, '0');
  }
  if (sum !== 0n) throw new RangeError(`netted deltas sum to ${sum}, not 0`);
  return { accounts: accounts as `0x${string}`, deltas: deltas as `0x${string}`, count: rows.length };
}

/** Inverse of packNetting (for audits and tests). */
export function unpackNetting(accounts: string, deltas: string): NettedDelta[] {
  const a = accounts.slice(2);
  const d = deltas.slice(2);
  const n = a.length / 40;
  const out: NettedDelta[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      account: getAddress(`0x${a.slice(i * 40, i * 40 + 40)}`),
      delta: BigInt.asIntN(96, BigInt(`0x${d.slice(i * 24, i * 24 + 24)}`)),
    });
  }
  return out;
}
