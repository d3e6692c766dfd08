// Leaf encodings shared by the server's Merkle trees and the EnergyMarket contract: trades per slot, cumulative rewards.
import { AbiCoder, keccak256 } from 'ethers';
import type { Address } from './types.ts';

/**
 * StandardMerkleTree (@openzeppelin/merkle-tree) leaf types of one trade; EnergyMarket.tradeLeaf hashes the same
 * tuple: keccak256(bytes.concat(keccak256(abi.encode(slot, seq, buyer, seller, price, quantityWh)))).
 */
export const TRADE_LEAF_ENCODING = ['uint64', 'uint64', 'address', 'address', 'uint256', 'uint64'] as const;
/** Field names in leaf order (slot = delivery slot start in ms, seq = trade sequence number in the slot's market). */
export const TRADE_LEAF_FIELDS = ['slot', 'seq', 'buyer', 'seller', 'price', 'quantityWh'] as const;

/** Reward entitlement leaf: cumulative amount (RewardToken base units, 18 decimals) per account. */
export const REWARD_LEAF_ENCODING = ['address', 'uint256'] as const;

export interface TradeLeafInput {
  slot: number | bigint;
  seq: number | bigint;
  buyer: Address | string;
  seller: Address | string;
  /** Token base units per kWh. */
  price: bigint | string;
  quantityWh: number | bigint;
}

/** Leaf values in StandardMerkleTree form: numbers as decimal strings, so JSON dumps of the tree stay exact. */
export type TradeLeafValues = [string, string, string, string, string, string];

export function tradeLeafValues(trade: TradeLeafInput): TradeLeafValues {
  return [
    BigInt(trade.slot).toString(),
    BigInt(trade.seq).toString(),
    trade.buyer.toLowerCase(),
    trade.seller.toLowerCase(),
    BigInt(trade.price).toString(),
    BigInt(trade.quantityWh).toString(),
  ];
}

const coder = AbiCoder.defaultAbiCoder();

/** Double-hashed leaf, equal to StandardMerkleTree.leafHash and to EnergyMarket.tradeLeaf. */
export function tradeLeafHash(trade: TradeLeafInput): `0x${string}` {
  return keccak256(keccak256(coder.encode([...TRADE_LEAF_ENCODING], tradeLeafValues(trade)))) as `0x${string}`;
}

export function rewardLeafHash(account: string, cumulativeAmount: bigint): `0x${string}` {
  return keccak256(keccak256(coder.encode([...REWARD_LEAF_ENCODING], [account, cumulativeAmount]))) as `0x${string}`;
}
