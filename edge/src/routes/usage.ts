/** GET /v1/usage: the caller's billable calls this month and what is left of the quota. */
import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { monthStart, unitsThisMonth } from '../lib/billing';
import { requireApiKey } from '../middleware/auth';
import { rateLimitReads } from '../middleware/rate-limit';

export const usage = new Hono<AppEnv>();

usage.get('/', requireApiKey, rateLimitReads, async (c) => {
  const key = c.get('apiKey');
  const { billed, inFlight } = await unitsThisMonth(c.env.DB, key.id);
  const attempts = await c.env.DB.prepare('SELECT COUNT(*) AS n FROM usage WHERE key_id = ? AND created_at >= ?').bind(key.id, monthStart()).first<{ n: number }>();
  const start = new Date(monthStart());
  const end = new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
  return c.json({
    key: { id: key.id, name: key.name, plan: key.plan },
    period: { start: start.toISOString(), end: end.toISOString() },
    billable_calls: billed,
    requests: attempts?.n ?? 0,
    quota: key.monthly_quota,
    // Held by calls and jobs still running: billed if they succeed, given back if not.
    in_flight: inFlight,
    remaining: Math.max(0, key.monthly_quota - billed - inFlight),
  });
});
