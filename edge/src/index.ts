/**
 * The public edge worker: app assembly, the routes, and the one error handler. Every failure becomes
 * `{ error: { code, message, message_zh, request_id, hint? } }`; nothing internal leaks.
 */
import { Hono } from 'hono';
import { FaceReconError } from '@facerecon/shared';
import type { AppEnv } from './env';
import { purgeExpired, staleAfterMs } from './lib/billing';
import { allowedMethodsOf } from './lib/allowed-methods';
import { errorResponse } from './lib/respond';
import { requestContext } from './middleware/request-context';
import { docs } from './routes/docs';
import { jobs, webhookSecret } from './routes/jobs';
import { reconstructions } from './routes/reconstructions';
import { queue, repairJobs, type JobMessage } from './queue';
import { JOB_TTL_MS } from './lib/jobs';
import { deleteEndedPhotos, sweepOrphanUploads } from './lib/retention';
import { retryAssetErasures } from './lib/erasures';
import { usage } from './routes/usage';

export { RateLimiter } from './durable/rate-limiter';

const app = new Hono<AppEnv>();

app.use('*', requestContext);
app.get('/healthz', (c) => c.json({ ok: true }));
app.route('/v1/reconstructions', reconstructions);
app.route('/v1/reconstructions', jobs);
app.route('/v1/webhook-secret', webhookSecret);
app.route('/v1/usage', usage);
app.route('/', docs);

// A path the API has under another method is a 405 naming the methods it has, not a 404.
let allowedMethods: ((path: string) => string[]) | undefined;
app.notFound((c) => {
  allowedMethods ??= allowedMethodsOf(app.routes);
  const allow = allowedMethods(c.req.path);
  if (allow.length > 0 && !allow.includes(c.req.method)) return errorResponse(c, 'METHOD_NOT_ALLOWED', { headers: { allow: allow.join(', ') } });
  return errorResponse(c, 'NOT_FOUND');
});
app.onError((err, c) => {
  if (err instanceof FaceReconError) return errorResponse(c, err.code);
  console.error(JSON.stringify({ requestId: c.get('requestId'), error: err.message }));
  return errorResponse(c, 'INTERNAL');
});

/** A queued job that has not run within this long fails with TIMEOUT (its unit released). */
const JOB_MAX_AGE_MS = 3600 * 1000;

/**
 * The cron trigger (wrangler.toml [triggers]): retention. Idempotency records and jobs (with the
 * result JSON they hold) after 24 h, the assets' lifetime; jobs that never ran within an hour fail;
 * reservations a dead isolate left are released; photos of ended jobs, and any upload older than an
 * hour that no live job owns, are deleted from the uploads bucket.
 */
export async function scheduled(_controller: ScheduledController, env: AppEnv['Bindings'], _ctx: ExecutionContext): Promise<void> {
  // Each step on its own: one that fails (D1 or R2 unavailable) must not skip the others until the next run.
  const failed: string[] = [];
  const step = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await run();
    } catch (err) {
      failed.push(`${name}: ${String(err)}`);
      return undefined;
    }
  };
  const purged = await step('purge', () => purgeExpired(env.DB, { staleAfterMs: staleAfterMs(Number(env.UPSTREAM_TIMEOUT_MS ?? 45_000)), jobMaxAgeMs: JOB_MAX_AGE_MS, jobTtlMs: JOB_TTL_MS }));
  const repaired = await step('repair', () => repairJobs(env, { jobMaxAgeMs: JOB_MAX_AGE_MS }));
  const photos = await step('photos', () => deleteEndedPhotos(env.DB, env.UPLOADS));
  const swept = await step('sweep', () => sweepOrphanUploads(env.DB, env.UPLOADS, { olderThanMs: JOB_MAX_AGE_MS }));
  const erasures = await step('erasures', () => retryAssetErasures(env));
  console.log(JSON.stringify({ event: 'purge', ...purged, ...repaired, photos, orphans: swept?.orphans, uploadsListed: swept?.listed, sweepTruncated: swept?.truncated, ...(erasures ? { erasures } : {}), ...(failed.length ? { failed } : {}) }));
}

export { app };
export default { fetch: app.fetch, scheduled, queue } satisfies ExportedHandler<AppEnv['Bindings'], JobMessage>;
