// Token-bucket rate limiter per client IP: over budget → 429 RATE_LIMITED with Retry-After.
import type { RequestHandler } from 'express';
import { ErrorCode } from '@gridmesh/contracts-abi';

export interface RateLimit {
  /** Sustained requests per second per client. */
  perSecond: number;
  /** Bucket size: how many requests may arrive at once. */
  burst: number;
}

export function rateLimiter(limit: RateLimit, now: () => number = Date.now): RequestHandler {
  const buckets = new Map<string, { tokens: number; at: number }>();
  let sweepAt = now();
  return (req, res, next) => {
    const t = now();
    if (t - sweepAt > 60_000) {
      // Forget idle clients so the table stays small.
      for (const [k, b] of buckets) if (t - b.at > 60_000) buckets.delete(k);
      sweepAt = t;
    }
    const key = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    const b = buckets.get(key) ?? { tokens: limit.burst, at: t };
    b.tokens = Math.min(limit.burst, b.tokens + ((t - b.at) / 1000) * limit.perSecond);
    b.at = t;
    buckets.set(key, b);
    if (b.tokens < 1) {
      const retry = Math.max(1, Math.ceil((1 - b.tokens) / limit.perSecond));
      res.setHeader('retry-after', String(retry));
      res.status(429).json({ code: ErrorCode.RATE_LIMITED, message: `too many requests: retry in ${retry} s` });
      return;
    }
    b.tokens -= 1;
    next();
  };
}
