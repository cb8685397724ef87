/** GET /v1/openapi.json and a rendered docs page (/docs), both from the generated document; no CDN. */
import { Hono } from 'hono';
import type { AppEnv } from '../env';
import { PAGE_SECURITY_HEADERS } from '../lib/security-headers';
import { buildOpenApi } from '../openapi';

export const docs = new Hono<AppEnv>();

docs.get('/v1/openapi.json', (c) => c.json(buildOpenApi(new URL(c.req.url).origin)));

const esc = (s: string) => s.replace(/[&<>"]/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[ch]!);

docs.get('/docs', (c) => {
  const doc = buildOpenApi(new URL(c.req.url).origin) as { info: { title: string; description: string }; paths: Record<string, Record<string, { summary: string; parameters?: Array<{ name: string; in: string; description?: string }>; responses: Record<string, { description: string }> }>> };
  const ops = Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.entries(methods).filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method)).map(
      ([method, op]) => `<section><h2><code>${method.toUpperCase()} ${esc(path)}</code></h2><p>${esc(op.summary)}</p>` +
        (op.parameters?.length ? `<h3>Parameters</h3><ul>${op.parameters.map((p) => `<li><code>${esc(p.name)}</code> (${p.in})${p.description ? `: ${esc(p.description)}` : ''}</li>`).join('')}</ul>` : '') +
        `<h3>Responses</h3><ul>${Object.entries(op.responses).map(([s, r]) => `<li><strong>${s}</strong> ${esc(r.description)}</li>`).join('')}</ul></section>`,
    ),
  );
  for (const [k, v] of Object.entries(PAGE_SECURITY_HEADERS)) c.header(k, k === 'Content-Security-Policy' ? v.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'") : v);
  return c.html(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${esc(doc.info.title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1b1f24}code{background:#f2f4f7;padding:0 .25rem;border-radius:4px}section{border-top:1px solid #e3e6ea;margin-top:1.5rem}</style></head>
<body><h1>${esc(doc.info.title)}</h1><p>${esc(doc.info.description)}</p><p>Machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a></p>${ops.join('')}</body></html>`);
});
