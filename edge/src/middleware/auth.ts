/**
 * Bearer API keys: missing or unknown -> 401, revoked -> 403; the key is never logged or echoed.
 * Failed attempts are rate limited per client address (a token bucket in the rate-limiter Durable
 * Object) and logged without the key, so guessing keys is slow and visible. Valid keys are never
 * blocked by someone else's failures behind the same address. The address comes only from a header
 * the platform sets (CLIENT_IP_HEADER); where none is configured, a client-sent address header would
 * let a guesser pick a fresh bucket per try, so all failures share one bucket instead.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { RateLimiter } from '../durable/rate-limiter';
import type { AppEnv } from '../env';
import { findApiKey } from '../lib/keys';
import { errorResponse } from '../lib/respond';

export const FAILED_AUTH_PER_MINUTE = 20;

/**
 * The failed-attempt bucket of a client address: IPv4 as it is, IPv6 by its /64 (one subscriber's
 * prefix: a client rotating addresses inside it would otherwise get a fresh bucket each time).
 */
export function addressBucket(ip: string): string {
  if (!ip.includes(':')) return ip;
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...new Array(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : h;
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

async function failedAttempt(c: Context<AppEnv>, reason: string): Promise<Response | undefined> {
  const header = c.env.CLIENT_IP_HEADER;
  const ip = addressBucket((header && c.req.header(header)) || 'unverified');
  const ns = c.env.RATE_LIMITER as unknown as DurableObjectNamespace<RateLimiter>;
  const decision = await ns.get(ns.idFromName(`auth-fail:${ip}`)).take(FAILED_AUTH_PER_MINUTE);
  console.warn(JSON.stringify({ event: 'auth_failed', reason, ip, requestId: c.get('requestId'), limited: !decision.allowed }));
  if (!decision.allowed) return errorResponse(c, 'RATE_LIMITED', { headers: { 'retry-after': String(decision.retryAfter) } });
  return undefined;
}

export const requireApiKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
  if (!m) return (await failedAttempt(c, 'missing')) ?? errorResponse(c, 'UNAUTHORIZED', { headers: { 'www-authenticate': 'Bearer' } });
  const key = await findApiKey(c.env.DB, m[1]);
  if (!key) return (await failedAttempt(c, 'unknown')) ?? errorResponse(c, 'UNAUTHORIZED', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
  if (key.status !== 'active') return (await failedAttempt(c, 'revoked')) ?? errorResponse(c, 'KEY_REVOKED');
  c.set('apiKey', key);
  await next();
};
