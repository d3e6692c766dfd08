// REST sign-in: EIP-4361 nonce, verify → session token (bearer) + httpOnly cookie, me, logout.
import { Router, type Request } from 'express';
import { ErrorCode, type SignIn as SignInBody } from '@gridmesh/contracts-abi';
import type { Store } from '../store/index.ts';
import type { SignIn } from '../auth/sign-in.ts';
import type { SessionTokens } from '../auth/session-tokens.ts';
import { SESSION_COOKIE, requireSession } from '../auth/http-session.ts';
import { HttpError } from './errors.ts';
import { validateBody } from './validate-body.ts';

export interface AuthRouteDeps {
  signIn: SignIn;
  tokens: SessionTokens;
  store: Store;
  now: () => number;
}

/** The domain (host[:port]) the browser is on; the signed message must name it (EIP-4361 phishing protection). */
const hostOf = (req: Request) => req.headers.host ?? '';

export function authRoutes(deps: AuthRouteDeps): Router {
  const r = Router();
  r.get('/auth/nonce', (req, res) => {
    const host = hostOf(req);
    res.json(deps.signIn.offer(host, `${req.protocol}://${host}`));
  });
  r.post('/auth/verify', validateBody('SignIn'), async (req, res) => {
    const body = req.body as SignInBody;
    const outcome = await deps.signIn.verify(body.message, body.signature, hostOf(req));
    if (!outcome.ok) throw HttpError.fromWire(outcome.status, outcome.error);
    const { token, session } = deps.tokens.issue(outcome.address, deps.now());
    const participant = await deps.store.participants.get(outcome.address);
    res.cookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'lax', path: '/', expires: new Date(session.expiresAt), secure: req.secure });
    res.json({ token, address: session.address, name: participant?.name ?? null, expiresAt: session.expiresAt });
  });
  r.get('/auth/me', async (_req, res) => {
    const session = requireSession(res);
    const participant = await deps.store.participants.get(session.address);
    res.json({ address: session.address, name: participant?.name ?? null, expiresAt: session.expiresAt });
  });
  r.post('/auth/logout', (_req, res) => {
    const session = res.locals.session as Parameters<SessionTokens['revoke']>[0] | undefined;
    if (!session) throw new HttpError(401, { code: ErrorCode.UNAUTHENTICATED, message: 'not signed in' });
    deps.tokens.revoke(session, deps.now());
    res.clearCookie(SESSION_COOKIE, { path: '/' });
    res.status(204).end();
  });
  return r;
}
