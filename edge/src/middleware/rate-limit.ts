/**
 * Per-key token buckets in a Durable Object: 429 RATE_LIMITED with Retry-After when empty.
 * `rateLimit` guards the billable calls at the key's own rate; `rateLimitReads` its reads (jobs, the
 * list, usage, the webhook secret) in a bucket of their own, READS_PER_CALL times as large (at least
 * READS_MIN_PER_MINUTE), so that polling a job never eats into the calls, while a loop of reads, which
 * all go to the one D1 database every tenant's billing also writes to, cannot run unbounded.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { RateLimiter } from '../durable/rate-limiter';
import type { AppEnv } from '../env';
import { errorResponse } from '../lib/respond';

export const READS_PER_CALL = 10;
/** Five a second at least: a running job says Retry-After: 1, and two pollers and a usage call fit. */
export const READS_MIN_PER_MINUTE = 300;

async function take(c: Context<AppEnv>, bucket: string, perMinute: number): Promise<Response | undefined> {
  const ns = c.env.RATE_LIMITER as unknown as DurableObjectNamespace<RateLimiter>;
  const decision = await ns.get(ns.idFromName(bucket)).take(perMinute);
  if (!decision.allowed) return errorResponse(c, 'RATE_LIMITED', { headers: { 'retry-after': String(decision.retryAfter) } });
  c.header('x-ratelimit-remaining', String(decision.remaining));
  return undefined;
}

export const rateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const key = c.get('apiKey');
  const refused = await take(c, key.id, key.rate_per_minute);
  if (refused) return refused;
  await next();
};

export const rateLimitReads: MiddlewareHandler<AppEnv> = async (c, next) => {
  const key = c.get('apiKey');
  const refused = await take(c, `${key.id}:reads`, Math.max(READS_MIN_PER_MINUTE, READS_PER_CALL * key.rate_per_minute));
  if (refused) return refused;
  await next();
};
