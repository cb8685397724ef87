/** Per-key token bucket in a Durable Object: 429 RATE_LIMITED with Retry-After when empty. */
import type { MiddlewareHandler } from 'hono';
import type { RateLimiter } from '../durable/rate-limiter';
import type { AppEnv } from '../env';
import { errorResponse } from '../lib/respond';

export const rateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const key = c.get('apiKey');
  const ns = c.env.RATE_LIMITER as unknown as DurableObjectNamespace<RateLimiter>;
  const decision = await ns.get(ns.idFromName(key.id)).take(key.rate_per_minute);
  if (!decision.allowed) return errorResponse(c, 'RATE_LIMITED', { headers: { 'retry-after': String(decision.retryAfter) } });
  c.header('x-ratelimit-remaining', String(decision.remaining));
  await next();
};
