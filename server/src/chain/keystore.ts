// Operator key handling: an encrypted ethers JSON keystore (scrypt) on disk, never a plain private key.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Wallet, encryptKeystoreJsonSync, type HDNodeWallet } from 'ethers';

export async function loadOperatorWallet(keystorePath: string, password: string): Promise<Wallet> {
  if (!existsSync(keystorePath)) throw new Error(`operator keystore not found: ${keystorePath}`);
  const wallet = await Wallet.fromEncryptedJson(readFileSync(keystorePath, 'utf8'), password);
  // fromEncryptedJson may return an HDNodeWallet for mnemonic keystores; the operator only needs the key.
  return wallet instanceof Wallet ? wallet : new Wallet((wallet as HDNodeWallet).privateKey);
}

/**
 * Creates a new random operator key and writes it encrypted. scryptN 2^14 keeps the embedded chain's start fast;
 * production keystores (made with any standard tool) may use the default 2^17.
 */
export function createOperatorKeystore(keystorePath: string, password: string, scryptN = 1 << 14): Wallet {
  const wallet = Wallet.createRandom();
  const json = encryptKeystoreJsonSync({ address: wallet.address, privateKey: wallet.privateKey }, password, { scrypt: { N: scryptN } });
  writeFileSync(keystorePath, json, { mode: 0o600 });
  return new Wallet(wallet.privateKey);
}
