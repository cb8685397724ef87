/**
 * Request id on every response, the caller's language, baseline security headers, and CORS for the
 * configured origins only. The request id is always the edge's own (122 random bits, a UUID v4): it names usage
 * rows, idempotency records and the upstream request, so a caller must never be able to choose or
 * reuse one. A caller's own `x-request-id` is kept for correlation only and echoed back as
 * `x-client-request-id`.
 */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { isLoopbackHost } from '@facerecon/shared';
import { errorResponse, pickLang } from '../lib/respond';

const ID_RE = /^[A-Za-z0-9_-]{8,64}$/;

/**
 * What a browser on an allowed origin may send and read: every method the API has (jobs are
 * cancelled and erased with DELETE), the headers the SDK and the docs use (Prefer for async jobs and
 * waits, Idempotency-Key), and the response headers a caller acts on (Location of a new job,
 * Retry-After, the rate limit's remaining count, a 405's Allow).
 */
export const CORS_ALLOW_METHODS = 'GET, POST, DELETE, OPTIONS';
export const CORS_ALLOW_HEADERS = 'authorization, content-type, idempotency-key, prefer, accept-language, x-request-id';
export const CORS_EXPOSE_HEADERS = 'x-request-id, x-client-request-id, retry-after, idempotent-replayed, location, preference-applied, x-ratelimit-remaining, allow';

export const requestContext: MiddlewareHandler<AppEnv> = async (c, next) => {
  const given = c.req.header('x-request-id');
  c.set('requestId', crypto.randomUUID().replace(/-/g, ''));
  if (given && ID_RE.test(given)) c.set('clientRequestId', given);
  c.set('lang', pickLang(c.req.query('lang'), c.req.header('accept-language')));
  const origin = c.req.header('origin');
  const allowed = origin && (c.env.ALLOWED_ORIGINS ?? '').split(',').map((s) => s.trim()).includes(origin);
  if (c.req.method === 'OPTIONS' && allowed) {
    return new Response(null, {
      status: 204,
      headers: {
        'access-control-allow-origin': origin,
        'access-control-allow-methods': CORS_ALLOW_METHODS,
        'access-control-allow-headers': CORS_ALLOW_HEADERS,
        'access-control-max-age': '600',
        vary: 'origin',
      },
    });
  }
  // An API key sent over plain http has already leaked; refuse rather than serve (loopback excepted).
  const url = new URL(c.req.url);
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && url.pathname.startsWith('/v1/')) {
    c.res = errorResponse(c, 'HTTPS_REQUIRED');
  } else {
    await next();
  }
  c.header('x-request-id', c.get('requestId'));
  const client = c.get('clientRequestId');
  if (client) c.header('x-client-request-id', client);
  c.header('x-content-type-options', 'nosniff');
  c.header('referrer-policy', 'no-referrer');
  if (allowed) {
    c.header('access-control-allow-origin', origin);
    c.header('access-control-expose-headers', CORS_EXPOSE_HEADERS);
    c.header('vary', 'origin');
  }
};
