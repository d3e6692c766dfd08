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

export class SessionTokens {
  /** Revoked session ids until their expiry (logout). */
  private readonly revoked = new Map<string, number>();

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
    return { address: payload.sub as Address, sid: payload.sid, issuedAt: payload.iat, expiresAt: payload.exp };
  }

  revoke(session: Session, now: number): void {
    this.revoked.set(session.sid, session.expiresAt);
    for (const [sid, exp] of this.revoked) if (exp <= now) this.revoked.delete(sid);
  }
}
