// Token-bucket rate limiter per client IP: over budget → 429 RATE_LIMITED with Retry-After.
import type { RequestHandler } from 'express';
import { ErrorCode } from '@gridmesh/contracts-abi';

export interface RateLimit {
  /** Sustained requests per second per client. */
  perSecond: number;
  /** Bucket size: how many requests may arrive at once. */
  burst: number;
}

/** The token buckets of a rate limit, per client key: shared by the Express middleware and the order-entry front door. */
export interface RateLimitBuckets {
  /** Takes one request from `key`'s bucket: 0 when allowed, else the seconds to wait (nothing is taken). */
  take(key: string): number;
}

export function rateLimitBuckets(limit: RateLimit, now: () => number = Date.now): RateLimitBuckets {
  const buckets = new Map<string, { tokens: number; at: number }>();
  let sweepAt = now();
  return {
    take(key) {
      const t = now();
      if (t - sweepAt > 60_000) {
        // Forget idle clients so the table stays small.
        for (const [k, b] of buckets) if (t - b.at > 60_000) buckets.delete(k);
        sweepAt = t;
      }
      const b = buckets.get(key) ?? { tokens: limit.burst, at: t };
      b.tokens = Math.min(limit.burst, b.tokens + ((t - b.at) / 1000) * limit.perSecond);
      b.at = t;
      buckets.set(key, b);
      if (b.tokens < 1) return Math.max(1, Math.ceil((1 - b.tokens) / limit.perSecond));
      b.tokens -= 1;
      return 0;
    },
  };
}

/** The 429 body for a client that must wait `retry` seconds. */
export const rateLimitedBody = (retry: number) => ({ code: ErrorCode.RATE_LIMITED, message: `too many requests: retry in ${retry} s` });

export function rateLimiter(limit: RateLimit | RateLimitBuckets, now: () => number = Date.now): RequestHandler {
  const buckets = 'take' in limit ? limit : rateLimitBuckets(limit, now);
  return (req, res, next) => {
    const retry = buckets.take(req.ip ?? req.socket.remoteAddress ?? 'unknown');
    if (retry > 0) {
      res.setHeader('retry-after', String(retry));
      res.status(429).json(rateLimitedBody(retry));
      return;
    }
    next();
  };
}
