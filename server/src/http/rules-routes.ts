// REST for standing trade rules and the delegated session key that signs rule orders (owner only).
import { Router, type Request } from 'express';
import type { Address } from '@gridmesh/contracts-abi';
import { TradeRulesService, RulesError } from '../rules/rules-service.ts';
import { DelegationError, type DelegationService } from '../rules/delegation.ts';
import { requireSelf } from '../auth/http-session.ts';
import { HttpError } from './errors.ts';
import { intQuery } from './query.ts';

export interface RulesRouteDeps {
  rules: TradeRulesService;
  delegations: DelegationService;
  now: () => number;
}

/** Session keys last 30 days unless asked otherwise. */
const DEFAULT_DELEGATION_MS = 30 * 86_400_000;

async function ruleCall<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof RulesError || err instanceof DelegationError) throw new HttpError(err.status, err.body);
    throw err;
  }
}

export function rulesRoutes(deps: RulesRouteDeps): Router {
  const r = Router();
  const activeDelegation = (me: Address) => {
    const now = deps.now();
    return deps.delegations.list(me).find((d) => d.signature !== null && d.revokedAt === null && d.expiry > now && d.serverHeld) ?? null;
  };
  r.get('/participants/:address/rules', async (req, res) => {
    const me = requireSelf(req, res);
    res.json({ rules: await deps.rules.list(me), delegation: activeDelegation(me) });
  });
  r.put('/participants/:address/rules', async (req: Request, res) => {
    const me = requireSelf(req, res);
    const rules = await ruleCall(() => deps.rules.replace(me, req.body, deps.now()));
    res.json({ rules, delegation: activeDelegation(me) });
  });
  r.get('/participants/:address/delegation', async (req, res) => {
    const me = requireSelf(req, res);
    const now = deps.now();
    const expiry = intQuery(req, 'expiry', now + DEFAULT_DELEGATION_MS);
    const offer = await ruleCall(() => deps.delegations.createSessionKey(me, expiry, now));
    res.json({ sessionKey: offer.delegate, expiry, typedData: offer.typedData, active: activeDelegation(me) });
  });
  r.post('/participants/:address/delegation', async (req, res) => {
    const me = requireSelf(req, res);
    const record = await ruleCall(() => deps.delegations.authoriseSessionKey(me, req.body, deps.now()));
    const { encryptedKey: _k, ...view } = record;
    res.status(201).json(view);
  });
  r.delete('/participants/:address/delegation/:key', async (req, res) => {
    const me = requireSelf(req, res);
    const key = String(req.params.key);
    if (!/^0x[0-9a-fA-F]{40}$/.test(key)) throw HttpError.badRequest('key must be an address', [{ field: '/params/key', message: 'must be an address' }]);
    const done = await deps.delegations.revoke(me, key, deps.now());
    if (!done) throw new HttpError(404, { code: 'NOT_FOUND', message: 'no such delegation' });
    res.status(204).end();
  });
  return r;
}
