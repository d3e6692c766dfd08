// Stateless session tokens: base64url(payload).base64url(HMAC-SHA256), with expiry and revocation of logged-out sessions.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Address } from '@gridmesh/contracts-abi';

export interface Session {
  address: Address;
  sid: string;
  issuedAt: number;
  expiresAt: number;
}

interface Payload { sub: string; sid: string; iat: number; exp: number }

export const SESSION_TTL_MS = 12 * 3_600_000;
const VERIFIED_MAX = 50_000;

export class SessionTokens {
  /** Revoked session ids until their expiry (logout). */
  private readonly revoked = new Map<string, number>();
  /**
   * Tokens already verified → their session: a signed-in client sends the same token with every order, and the HMAC
   * and JSON parse were ~2 % of the REST order path. Expiry and revocation are still checked on every use; the table
   * is dropped whole when it reaches its bound (it refills from the next requests).
   */
  private readonly verified = new Map<string, Session>();

  constructor(private readonly secret: Buffer, private readonly ttlMs = SESSION_TTL_MS) {
    if (secret.length < 32) throw new Error('session secret must be at least 32 bytes');
  }

  private mac(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url');
  }

  issue(address: Address, now: number): { token: string; session: Session } {
    const payload: Payload = { sub: address.toLowerCase(), sid: randomBytes(12).toString('base64url'), iat: now, exp: now + this.ttlMs };
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    return { token: `${body}.${this.mac(body)}`, session: { address: payload.sub as Address, sid: payload.sid, issuedAt: payload.iat, expiresAt: payload.exp } };
  }

  /** The session a token carries, or null if it is forged, malformed, expired or revoked. */
  verify(token: string | undefined, now: number): Session | null {
    if (!token || token.length > 1024) return null;
    const known = this.verified.get(token);
    if (known) return known.expiresAt > now && !this.revoked.has(known.sid) ? known : null;
    const dot = token.indexOf('.');
    if (dot <= 0) return null;
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1));
    const expected = Buffer.from(this.mac(body));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
    let payload: Payload;
    try {
      payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Payload;
    } catch {
      return null;
    }
    if (typeof payload.exp !== 'number' || payload.exp <= now || this.revoked.has(payload.sid)) return null;
    const session: Session = Object.freeze({ address: payload.sub as Address, sid: payload.sid, issuedAt: payload.iat, expiresAt: payload.exp });
    if (this.verified.size >= VERIFIED_MAX) this.verified.clear();
    this.verified.set(token, session);
    return session;
  }

  revoke(session: Session, now: number): void {
    this.revoked.set(session.sid, session.expiresAt);
    for (const [sid, exp] of this.revoked) if (exp <= now) this.revoked.delete(sid);
  }
}
