/**
 * The public edge worker (Cloudflare Workers, Hono). App assembly and the one error handler live
 * here; routes are sub-apps under src/routes/. So far it serves health and the error contract; the
 * reconstruction route, keys, metering and forwarding arrive with the edge API issue.
 */
import { Hono } from 'hono';
import { ERROR_SPECS, FaceReconError, toErrorBody, type ErrorCode } from '@facerecon/shared';

export type Bindings = {
  /** Base URL of the gpu-function (internal). */
  GPU_FUNCTION_URL?: string;
};
export type Variables = { requestId: string };

const app = new Hono<{ Bindings: Bindings; Variables: Variables }>();

app.use('*', async (c, next) => {
  const id = c.req.header('x-request-id') ?? crypto.randomUUID();
  c.set('requestId', id);
  await next();
  c.header('x-request-id', id);
});

app.get('/healthz', (c) => c.json({ ok: true }));

app.notFound((c) => {
  const body = toErrorBody('INVALID_REQUEST', { requestId: c.get('requestId'), lang: langOf(c.req.header('accept-language')) });
  return c.json({ error: { ...body.error, hint: `no route ${c.req.method} ${new URL(c.req.url).pathname}` } }, 404);
});

app.onError((err, c) => {
  const code: ErrorCode = err instanceof FaceReconError ? err.code : 'INTERNAL';
  const status = ERROR_SPECS[code].status as 400;
  return c.json(toErrorBody(code, { requestId: c.get('requestId'), lang: langOf(c.req.header('accept-language')) }), status);
});

export function langOf(acceptLanguage: string | undefined): 'en' | 'zh' {
  return /^\s*zh\b/i.test(acceptLanguage ?? '') ? 'zh' : 'en';
}

export default app;
