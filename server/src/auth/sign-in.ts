// Sign-In with Ethereum (EIP-4361): single-use nonces, message parsing and signature check by the reference `siwe` library.
import { randomBytes } from 'node:crypto';
import { SiweMessage } from 'siwe';
import { ErrorCode, type Address, type WireError } from '@gridmesh/contracts-abi';

export const NONCE_TTL_MS = 5 * 60_000;
export const SIGN_IN_STATEMENT = 'Sign in to gridmesh.';

export interface NonceOffer {
  nonce: string;
  domain: string;
  uri: string;
  chainId: number;
  version: '1';
  statement: string;
  issuedAt: string;
  expiresAt: string;
}

export type SignInOutcome = { ok: true; address: Address } | { ok: false; status: number; error: WireError };

const fail = (status: number, code: WireError['code'], message: string, field?: string): SignInOutcome => ({
  ok: false, status, error: { code, message, ...(field ? { fields: [{ field, message }] } : {}) },
});

export class SignIn {
  private readonly nonces = new Map<string, number>();

  constructor(private readonly chainId: number, private readonly now: () => number) {}

  offer(domain: string, uri: string): NonceOffer {
    const now = this.now();
    for (const [n, exp] of this.nonces) if (exp <= now) this.nonces.delete(n);
    // EIP-4361 nonces are alphanumeric, at least 8 characters.
    const nonce = randomBytes(12).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 16).padEnd(16, 'x');
    this.nonces.set(nonce, now + NONCE_TTL_MS);
    return {
      nonce, domain, uri, chainId: this.chainId, version: '1', statement: SIGN_IN_STATEMENT,
      issuedAt: new Date(now).toISOString(), expiresAt: new Date(now + NONCE_TTL_MS).toISOString(),
    };
  }

  /** Checks message fields against what this server offered, then the signature; consumes the nonce only on success. */
  async verify(message: string, signature: string, expectedDomain: string): Promise<SignInOutcome> {
    let parsed: SiweMessage;
    try {
      parsed = new SiweMessage(message);
    } catch (err) {
      return fail(400, ErrorCode.VALIDATION, `not an EIP-4361 message: ${err instanceof Error ? err.message : String(err)}`, '/message');
    }
    const now = this.now();
    const expiresAt = this.nonces.get(parsed.nonce);
    if (expiresAt === undefined || expiresAt <= now) return fail(401, ErrorCode.UNAUTHENTICATED, 'unknown, used or expired nonce: request a new one', '/message');
    if (parsed.domain !== expectedDomain) return fail(401, ErrorCode.UNAUTHENTICATED, `message is for domain ${parsed.domain}, this server is ${expectedDomain}`, '/message');
    if (parsed.chainId !== this.chainId) return fail(401, ErrorCode.UNAUTHENTICATED, `message is for chain ${parsed.chainId}, this server is on ${this.chainId}`, '/message');
    const result = await parsed.verify({ signature, domain: expectedDomain, nonce: parsed.nonce, time: new Date(now).toISOString() }, { suppressExceptions: true });
    if (!result.success) {
      const type = String(result.error?.type ?? '');
      if (/signature/i.test(type)) return fail(400, ErrorCode.BAD_SIGNATURE, 'signature does not match the message\'s address', '/signature');
      return fail(401, ErrorCode.UNAUTHENTICATED, `sign-in refused: ${type || 'invalid message'}`, '/message');
    }
    this.nonces.delete(parsed.nonce);
    return { ok: true, address: parsed.address.toLowerCase() as Address };
  }
}
