// Device key storage: creates and opens the meter's secp256k1 key as an encrypted JSON keystore (Web3 Secret Storage v3).
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Wallet, encryptKeystoreJson, decryptKeystoreJson } from 'ethers';

export const PASSWORD_ENV = 'GRIDMESH_KEYSTORE_PASSWORD';

/** scrypt cost: 2^17 is the geth default; `fast` (2^12) only for tests and demos on throw-away keys. */
export function scryptN(fast: boolean): number {
  return fast ? 1 << 12 : 1 << 17;
}

export class KeystoreError extends Error {}

/** Resolves the keystore password: from a file (first line, trimmed) or the environment. */
export function resolvePassword(passwordFile?: string): string {
  if (passwordFile) {
    if (!existsSync(passwordFile)) throw new KeystoreError(`password file ${passwordFile} does not exist`);
    const pw = readFileSync(passwordFile, 'utf8').split(/\r?\n/)[0] ?? '';
    if (!pw) throw new KeystoreError(`password file ${passwordFile} is empty`);
    return pw;
  }
  const env = process.env[PASSWORD_ENV];
  if (env) return env;
  throw new KeystoreError(`no keystore password: pass --password-file FILE or set ${PASSWORD_ENV}`);
}

/** Writes a fresh random password (0600) for unattended services that keep it in a root-only file. */
export function generatePasswordFile(path: string): void {
  writeFileSync(path, randomBytes(24).toString('base64url') + '\n', { mode: 0o600, flag: 'wx' });
}

/** Creates a new device key and writes it encrypted to `path` (refuses to overwrite an existing key). */
export async function createKeystore(path: string, password: string, fast = false): Promise<Wallet> {
  if (existsSync(path)) throw new KeystoreError(`${path} already exists; refusing to overwrite a device key`);
  const wallet = Wallet.createRandom();
  const json = await encryptKeystoreJson(
    { address: wallet.address, privateKey: wallet.privateKey },
    password,
    { scrypt: { N: scryptN(fast) } },
  );
  writeFileSync(path, json + '\n', { mode: 0o600, flag: 'wx' });
  return new Wallet(wallet.privateKey);
}

/** Opens an encrypted keystore; a wrong password is a clear error, not a stack trace. */
export async function openKeystore(path: string, password: string): Promise<Wallet> {
  if (!existsSync(path)) throw new KeystoreError(`keystore ${path} does not exist (run gridmesh-bridge init)`);
  const json = readFileSync(path, 'utf8');
  try {
    const account = await decryptKeystoreJson(json, password);
    return new Wallet(account.privateKey);
  } catch (err) {
    throw new KeystoreError(`cannot open keystore ${path}: ${(err as Error).message.includes('password') ? 'wrong password' : (err as Error).message}`);
  }
}
