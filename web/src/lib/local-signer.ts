// Signing with a key held in this browser: secp256k1 + EIP-712/EIP-191 hashing only (not ethers' Wallet, which drags in keystores and mnemonics).
import { SigningKey } from 'ethers/crypto';
import { computeAddress } from 'ethers/transaction';
import { hashMessage, TypedDataEncoder } from 'ethers/hash';
import type { TypedDataField } from 'ethers';

export interface LocalKey {
  address: `0x${string}`;
  signTypedData(domain: Record<string, unknown>, types: Record<string, TypedDataField[]>, value: Record<string, unknown>): `0x${string}`;
  signMessage(message: string): `0x${string}`;
}

export function localKey(privateKey: string): LocalKey {
  const key = new SigningKey(privateKey);
  return {
    address: computeAddress(key.publicKey) as `0x${string}`,
    signTypedData: (domain, types, value) => key.sign(TypedDataEncoder.hash(domain, types, value)).serialized as `0x${string}`,
    signMessage: (message) => key.sign(hashMessage(message)).serialized as `0x${string}`,
  };
}

/** A fresh random private key from the browser's CSPRNG. */
export function randomPrivateKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return '0x' + [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}
