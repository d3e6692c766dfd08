// Answers plain `POST /api/orders` requests ahead of Express (the hot route); every other request goes to Express untouched.
//
// Why: on 2 cores Express's per-request work for this route (router, body-parser, raw-body, type-is, request
// decoration) was ≈ 15 % of the event loop per REST order (see bench/results/ingest.md). The door takes only requests
// it can answer exactly as the Express route does — `application/json` (UTF-8) with a Content-Length within the body
// limit, no transfer or content encoding, no proxy header — and runs the same steps in the same order: parse (400),
// read the session, rate limit (429), require the session (401), submit (201 or the order error).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ErrorCode } from '@gridmesh/contracts-abi';
import { SIGN_IN_FIRST, tokenFromHeaders } from '../auth/http-session.ts';
import type { SessionTokens } from '../auth/session-tokens.ts';
import { OrderError, type OrderService } from '../orders/order-service.ts';
import { orderInfo, tradeMessage } from '../orders/views.ts';
import { INVALID_JSON_BODY } from './errors.ts';
import { rateLimitedBody, type RateLimitBuckets } from './rate-limit.ts';

export interface OrderEntryDoorDeps {
  orders: OrderService;
  tokens: SessionTokens;
  now: () => number;
  /** The same buckets as the /api rate limiter: one budget per client whichever way its requests are answered. */
  buckets: RateLimitBuckets;
  /** The JSON body limit of the Express parser; larger bodies go to Express (which answers 413). */
  maxBodyBytes: number;
  log: (err: unknown) => void;
}

/** A request listener step: true when the door answered (or is answering) the request, false to pass it on untouched. */
export type OrderEntryDoor = (req: IncomingMessage, res: ServerResponse) => boolean;

const JSON_UTF8 = /^application\/json\s*(;\s*charset="?utf-8"?\s*)?$/i;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const json = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

/** express.json's parse: an empty body is `{}`, a leading BOM is ignored, and (strict) only an object or array is JSON. */
function parseJsonBody(raw: Buffer): { ok: true; value: unknown } | { ok: false } {
  if (raw.length === 0) return { ok: true, value: {} };
  let text = raw.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const first = /^[\x20\x09\x0a\x0d]*(.)/.exec(text)?.[1];
  if (first !== '{' && first !== '[') return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

export function orderEntryDoor(deps: OrderEntryDoorDeps): OrderEntryDoor {
  const answer = async (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    const parsed = parseJsonBody(raw);
    if (!parsed.ok) return send(res, 400, INVALID_JSON_BODY);
    const session = deps.tokens.verify(tokenFromHeaders(req.headers.authorization, req.headers.cookie), deps.now());
    // Without a proxy header Express's `req.ip` is the socket's address: the same bucket key.
    const retry = deps.buckets.take(req.socket.remoteAddress ?? 'unknown');
    if (retry > 0) return send(res, 429, rateLimitedBody(retry), { 'retry-after': String(retry) });
    if (!session) return send(res, 401, SIGN_IN_FIRST);
    try {
      const out = await deps.orders.submit(parsed.value, { kind: 'session', address: session.address });
      send(res, 201, { order: orderInfo(out.order), trades: out.trades.map(tradeMessage) });
    } catch (err) {
      if (err instanceof OrderError) return send(res, err.status, err.body);
      deps.log(err);
      send(res, 500, { code: ErrorCode.INTERNAL, message: 'internal error' });
    }
  };

  return (req, res) => {
    if (req.method !== 'POST' || req.url !== '/api/orders') return false;
    const h = req.headers;
    const length = Number(h['content-length']);
    if (!h['content-type'] || !JSON_UTF8.test(h['content-type'])) return false;
    if (h['content-length'] === undefined || !Number.isSafeInteger(length) || length > deps.maxBodyBytes) return false;
    if (h['transfer-encoding'] !== undefined || (h['content-encoding'] !== undefined && h['content-encoding'] !== 'identity')) return false;
    if (h['x-forwarded-for'] !== undefined || h.forwarded !== undefined) return false;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      answer(req, res, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).catch((err: unknown) => {
        deps.log(err);
        if (!res.headersSent) send(res, 500, { code: ErrorCode.INTERNAL, message: 'internal error' });
      });
    });
    req.on('error', () => res.destroy());
    return true;
  };
}
