/**
 * The public edge worker: app assembly, the routes, and the one error handler. Every failure becomes
 * `{ error: { code, message, message_zh, request_id, hint? } }`; nothing internal leaks.
 */
import { Hono } from 'hono';
import { FaceReconError } from '@facerecon/shared';
import type { AppEnv } from './env';
import { purgeExpired, staleAfterMs } from './lib/billing';
import { errorResponse } from './lib/respond';
import { requestContext } from './middleware/request-context';
import { docs } from './routes/docs';
import { reconstructions } from './routes/reconstructions';
import { usage } from './routes/usage';

export { RateLimiter } from './durable/rate-limiter';

const app = new Hono<AppEnv>();

app.use('*', requestContext);
app.get('/healthz', (c) => c.json({ ok: true }));
app.route('/v1/reconstructions', reconstructions);
app.route('/v1/usage', usage);
app.route('/', docs);

app.notFound((c) => errorResponse(c, 'NOT_FOUND'));
app.onError((err, c) => {
  if (err instanceof FaceReconError) return errorResponse(c, err.code);
  console.error(JSON.stringify({ requestId: c.get('requestId'), error: err.message }));
  return errorResponse(c, 'INTERNAL');
});

/** The cron trigger (wrangler.toml [triggers]): retention of idempotency records and stuck reservations. */
export async function scheduled(_controller: ScheduledController, env: AppEnv['Bindings'], _ctx: ExecutionContext): Promise<void> {
  const purged = await purgeExpired(env.DB, { staleAfterMs: staleAfterMs(Number(env.UPSTREAM_TIMEOUT_MS ?? 45_000)) });
  console.log(JSON.stringify({ event: 'purge', ...purged }));
}

export { app };
export default { fetch: app.fetch, scheduled } satisfies ExportedHandler<AppEnv['Bindings']>;
