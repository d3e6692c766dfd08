// Delegated session keys: a participant authorises a key once (EIP-712 Delegation); rule orders are signed with it.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { TypedDataEncoder, Wallet, verifyTypedData } from 'ethers';
import {
  DelegationTypes, ErrorCode, gridmeshDomain, validate,
  type Address, type DelegationGrant, type Eip712Domain, type Hex, type SessionKeyAuthorisation, type WireError,
} from '@gridmesh/contracts-abi';
import type { DelegationRecord, Store } from '../store/index.ts';
import { DelegateOrderSigner } from './order-signing.ts';

/** A refused delegation request: HTTP status + wire error naming the field. */
export class DelegationError extends Error {
  constructor(readonly status: number, readonly body: WireError) {
    super(body.message);
    this.name = 'DelegationError';
  }
}

/** What a wallet signs to authorise a session key (pass to ethers `signTypedData(domain, types, message)`). */
export interface DelegationTypedData {
  domain: Eip712Domain;
  types: typeof DelegationTypes;
  primaryType: 'Delegation';
  message: { participant: Address; delegate: Address; expiry: number };
}

/** A delegation as the API shows it: whether the server holds the key, never the key. */
export type DelegationView = Omit<DelegationRecord, 'encryptedKey'> & { serverHeld: boolean };

/** The longest a delegation may run: a stolen session key must not be good forever. */
export const MAX_DELEGATION_MS = 366 * 86_400_000;

const lower = (a: string) => a.toLowerCase() as Address;

/** Encrypts server-held session keys at rest (AES-256-GCM under a key derived from the server's secret). */
export class SessionKeyVault {
  private readonly key: Buffer;

  constructor(secret: Uint8Array | string) {
    const ikm = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
    if (ikm.length < 16) throw new RangeError('session key secret must have at least 16 bytes');
    this.key = Buffer.from(hkdfSync('sha256', ikm, Buffer.from('gridmesh'), Buffer.from('session-key-vault/v1'), 32));
  }

  seal(privateKey: string, aad: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(aad));
    const body = Buffer.concat([c.update(Buffer.from(privateKey.replace(/^0x/, ''), 'hex')), c.final()]);
    return Buffer.concat([iv, c.getAuthTag(), body]).toString('base64');
  }

  open(sealed: string, aad: string): string {
    const raw = Buffer.from(sealed, 'base64');
    const d = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
    d.setAAD(Buffer.from(aad));
    d.setAuthTag(raw.subarray(12, 28));
    return '0x' + Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('hex');
  }
}

/**
 * Delegations of all participants, cached in memory (load() at start) so the order path can ask synchronously.
 * A delegate is authorised for a participant at `now` when a signed, unrevoked delegation with expiry > now exists.
 */
export class DelegationService {
  private readonly byParticipant = new Map<string, Map<string, DelegationRecord>>();
  private readonly signers = new Map<string, DelegateOrderSigner>();
  private readonly vault: SessionKeyVault;

  constructor(private readonly store: Store, private readonly chainId: number, secret: Uint8Array | string) {
    this.vault = new SessionKeyVault(secret);
  }

  async load(): Promise<void> {
    this.byParticipant.clear();
    this.signers.clear();
    for (const d of await this.store.rules.delegations()) this.cache(d);
  }

  private cache(d: DelegationRecord): void {
    const p = lower(d.participant);
    let m = this.byParticipant.get(p);
    if (!m) this.byParticipant.set(p, (m = new Map()));
    m.set(lower(d.delegate), d);
    this.signers.delete(`${p}:${lower(d.delegate)}`);
  }

  /** The check the order service calls for every order whose signer is not the participant itself. */
  isAuthorisedSigner(participant: string, signer: string, now: number): boolean {
    const d = this.byParticipant.get(lower(participant))?.get(lower(signer));
    return !!d && d.signature !== null && d.revokedAt === null && d.expiry > now;
  }

  /** Typed data a wallet signs to authorise `delegate` for `participant` until `expiry`. */
  typedData(participant: string, delegate: string, expiry: number): DelegationTypedData {
    return { domain: gridmeshDomain(this.chainId), types: DelegationTypes, primaryType: 'Delegation', message: { participant: lower(participant), delegate: lower(delegate), expiry } };
  }

  /**
   * Makes a fresh server-held session key for `participant` (stored encrypted, not yet authorised) and returns what the
   * participant must sign; `authorise()` with that signature activates it.
   */
  async createSessionKey(participant: string, expiry: number, now: number): Promise<{ delegate: Address; typedData: DelegationTypedData }> {
    this.checkExpiry(expiry, now);
    const wallet = Wallet.createRandom();
    const delegate = lower(wallet.address);
    const p = lower(participant);
    const record: DelegationRecord = {
      participant: p, delegate, expiry, signature: null, encryptedKey: this.vault.seal(wallet.privateKey, `${p}:${delegate}`), createdAt: now, revokedAt: null,
    };
    this.cache(await this.store.rules.putDelegation(record));
    return { delegate, typedData: this.typedData(p, delegate, expiry) };
  }

  /** Verifies a DelegationGrant (REST body) and stores it. Throws DelegationError (400 with the field named). */
  async authorise(body: unknown, now: number): Promise<DelegationRecord> {
    const checked = validate<DelegationGrant>('DelegationGrant', body);
    if (!checked.ok) throw new DelegationError(400, checked.error);
    const g = checked.value;
    this.checkExpiry(g.expiry, now);
    const p = lower(g.participant);
    const delegate = lower(g.delegate);
    if (p === delegate) throw new DelegationError(400, { code: ErrorCode.VALIDATION, message: 'a participant cannot delegate to itself', fields: [{ field: '/delegate', message: 'equals the participant' }] });
    let signer = '';
    try {
      signer = lower(verifyTypedData(gridmeshDomain(this.chainId), DelegationTypes, { participant: g.participant, delegate: g.delegate, expiry: g.expiry }, g.signature));
    } catch {
      signer = '';
    }
    if (signer !== p) {
      throw new DelegationError(400, { code: ErrorCode.BAD_SIGNATURE, message: 'the Delegation signature does not recover to the participant', fields: [{ field: '/signature', message: 'does not recover to the participant' }] });
    }
    const existing = await this.store.rules.delegation(p, delegate);
    const record: DelegationRecord = {
      participant: p, delegate, expiry: g.expiry, signature: g.signature as Hex, encryptedKey: existing?.encryptedKey ?? null,
      createdAt: existing?.createdAt ?? now, revokedAt: null,
    };
    const stored = await this.store.rules.putDelegation(record);
    this.cache(stored);
    return stored;
  }

  /**
   * The REST shape of API.md (`POST /api/participants/:address/delegation {sessionKey, expiry, signature}`): the signed-in
   * participant authorises a key; same checks as authorise().
   */
  async authoriseSessionKey(participant: string, body: unknown, now: number): Promise<DelegationRecord> {
    const checked = validate<SessionKeyAuthorisation>('SessionKeyAuthorisation', body);
    if (!checked.ok) throw new DelegationError(400, checked.error);
    const b = checked.value;
    try {
      return await this.authorise({ participant: lower(participant), delegate: b.sessionKey, expiry: b.expiry, signature: b.signature }, now);
    } catch (err) {
      // Name the field as the caller sent it.
      if (err instanceof DelegationError) {
        const fields = err.body.fields?.map((f) => (f.field === '/delegate' ? { ...f, field: '/sessionKey' } : f));
        throw new DelegationError(err.status, { ...err.body, ...(fields ? { fields } : {}) });
      }
      throw err;
    }
  }

  async revoke(participant: string, delegate: string, now: number): Promise<boolean> {
    const done = await this.store.rules.revokeDelegation(lower(participant), lower(delegate), now);
    const d = await this.store.rules.delegation(lower(participant), lower(delegate));
    if (d) this.cache(d);
    return done;
  }

  /** Delegations of one participant (private keys never leave this module). */
  list(participant: string): DelegationView[] {
    return [...(this.byParticipant.get(lower(participant))?.values() ?? [])].map(({ encryptedKey, ...rest }) => ({ ...rest, serverHeld: encryptedKey !== null }));
  }

  /**
   * The signer for rule orders of `participant`: its server-held session key with the latest expiry that is authorised
   * at `now`, or null (the participant has not authorised one; rules then place nothing).
   */
  signerFor(participant: string, now: number): DelegateOrderSigner | null {
    const p = lower(participant);
    const candidates = [...(this.byParticipant.get(p)?.values() ?? [])]
      .filter((d) => d.encryptedKey !== null && this.isAuthorisedSigner(p, d.delegate, now))
      .sort((a, b) => b.expiry - a.expiry);
    const best = candidates[0];
    if (!best) return null;
    const k = `${p}:${lower(best.delegate)}`;
    let s = this.signers.get(k);
    if (!s) {
      s = new DelegateOrderSigner(this.vault.open(best.encryptedKey!, k), this.chainId);
      this.signers.set(k, s);
    }
    return s;
  }

  private checkExpiry(expiry: number, now: number): void {
    if (!Number.isSafeInteger(expiry) || expiry <= now) {
      throw new DelegationError(400, { code: ErrorCode.VALIDATION, message: 'expiry must lie in the future', fields: [{ field: '/expiry', message: 'must lie in the future' }] });
    }
    if (expiry - now > MAX_DELEGATION_MS) {
      throw new DelegationError(400, { code: ErrorCode.VALIDATION, message: `a delegation may run at most ${MAX_DELEGATION_MS / 86_400_000} days`, fields: [{ field: '/expiry', message: 'is too far in the future' }] });
    }
  }
}

/** Digest check helper for tests and audits: the EIP-712 hash a Delegation signature covers. */
export function delegationDigest(chainId: number, participant: string, delegate: string, expiry: number): string {
  return TypedDataEncoder.hash(gridmeshDomain(chainId), DelegationTypes, { participant, delegate, expiry });
}
