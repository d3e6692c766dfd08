// Express glue for sessions: read the bearer token or cookie, require a session, and require it to be a given participant.
import type { Request, RequestHandler, Response } from 'express';
import { ErrorCode, type Address } from '@gridmesh/contracts-abi';
import { HttpError } from '../http/errors.ts';
import type { Session, SessionTokens } from './session-tokens.ts';

export const SESSION_COOKIE = 'gridmesh_session';

export function tokenFromCookie(cookieHeader: string | undefined): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === SESSION_COOKIE) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}

/** The session token of a request: `Authorization: Bearer <token>`, else the session cookie. */
export function tokenFromHeaders(authorization: string | undefined, cookieHeader: string | undefined): string | undefined {
  if (authorization && /^Bearer\s+/i.test(authorization)) return authorization.replace(/^Bearer\s+/i, '').trim();
  return tokenFromCookie(cookieHeader);
}

export function tokenOf(req: Request): string | undefined {
  return tokenFromHeaders(req.headers.authorization, req.headers.cookie);
}

/** The 401 answer to a request that needs a session and has none. */
export const SIGN_IN_FIRST = { code: ErrorCode.UNAUTHENTICATED, message: 'sign in first (Authorization: Bearer <token> or the session cookie)' };

/** Attaches `res.locals.session` when a valid token is present (never refuses). */
export function readSession(tokens: SessionTokens, now: () => number): RequestHandler {
  return (req, res, next) => {
    res.locals.session = tokens.verify(tokenOf(req), now()) ?? undefined;
    next();
  };
}

export function sessionOf(res: Response): Session | undefined {
  return res.locals.session as Session | undefined;
}

export function requireSession(res: Response): Session {
  const s = sessionOf(res);
  if (!s) throw new HttpError(401, SIGN_IN_FIRST);
  return s;
}

/** `:address` may be `me`; anyone but the participant itself gets 403. */
export function requireSelf(req: Request, res: Response, param = 'address'): Address {
  const s = requireSession(res);
  const raw = String(req.params[param] ?? '');
  if (raw === 'me') return s.address;
  if (!/^0x[0-9a-fA-F]{40}$/.test(raw)) throw HttpError.badRequest(`${param} must be an address or "me"`, [{ field: `/params/${param}`, message: 'must be an address or "me"' }]);
  if (raw.toLowerCase() !== s.address) throw new HttpError(403, { code: ErrorCode.FORBIDDEN, message: 'this is another participant\'s private data' });
  return s.address;
}
