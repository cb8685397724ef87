/** Bearer API keys: missing or unknown -> 401, revoked -> 403; the key is never logged or echoed. */
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../env';
import { findApiKey } from '../lib/keys';
import { errorResponse } from '../lib/respond';

export const requireApiKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
  if (!m) return errorResponse(c, 'UNAUTHORIZED', { headers: { 'www-authenticate': 'Bearer' }, hint: 'Send Authorization: Bearer <your API key>.' });
  const key = await findApiKey(c.env.DB, m[1]);
  if (!key) return errorResponse(c, 'UNAUTHORIZED', { headers: { 'www-authenticate': 'Bearer error="invalid_token"' } });
  if (key.status !== 'active') return errorResponse(c, 'KEY_REVOKED');
  c.set('apiKey', key);
  await next();
};
