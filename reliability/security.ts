/**
 * The attacks of issue 12, replayed against a running local stack (real workerd edge, real
 * gpu-function, local store) for the security table of docs/RELIABILITY.md: what the attacker saw,
 * what was billed, and what the attack cost in memory. The same attacks are regression tests in the
 * tier where each belongs (edge/test/security.test.ts, gpu-function/test/service/service.test.ts,
 * e2e/test/local-stack.test.ts); this file measures them end to end.
 */
import { execFileSync } from 'node:child_process';
import { signRequest } from '@facerecon/shared';
import { chunkedPost } from '../e2e/support/chunked-post';
import { createApiKey } from '../scripts/keys-lib';
import { localEnv } from '../scripts/local-env';
import type { LocalStack } from '../scripts/local-stack';

export interface SecurityRow {
  attack: string;
  saw: string;
  billed: string;
  memory: string;
}

const MB = 2 ** 20;
const mb = (b: number) => `${(b / MB).toFixed(0)} MB`;
/** chunkedPost's status, 0 being a reset before any answer. */
const answer = (status: number) => (status === 0 ? 'connection reset' : String(status));

/** RSS of all workerd processes (the edge under wrangler dev). */
function workerdRss(): number {
  try {
    return execFileSync('ps', ['-C', 'workerd', '-o', 'rss='], { encoding: 'utf8' }).split('\n').filter(Boolean).reduce((s, l) => s + Number(l) * 1024, 0);
  } catch {
    return 0;
  }
}

export async function runSecurityAttacks(opts: { stack: LocalStack; persistTo: string; photo: Uint8Array }): Promise<SecurityRow[]> {
  const { stack, photo } = opts;
  const where = ['--local', '--persist-to', opts.persistTo];
  const rows: SecurityRow[] = [];
  const usageOf = async (key: string) => ((await (await fetch(`${stack.edgeUrl}/v1/usage`, { headers: { authorization: `Bearer ${key}` } })).json()) as { billable_calls: number }).billable_calls;
  const post = (key: string, headers: Record<string, string> = {}, query = '?formats=glb') =>
    fetch(`${stack.edgeUrl}/v1/reconstructions${query}`, { method: 'POST', body: photo as BodyInit, headers: { authorization: `Bearer ${key}`, 'content-type': 'image/png', ...headers } });
  const resultOf = (sse: string) => /event: result\ndata: (.*)\n/.exec(sse)?.[1];

  // 1. Reused client request id with SSE.
  {
    const a = createApiKey(where, { name: 'attacker', plan: 'test', quota: 1000, rate: 1000 });
    const results: number[] = [];
    for (let i = 0; i < 3; i++) {
      const text = await (await post(a.key, { accept: 'text/event-stream', 'x-request-id': 'reused-request-id-0001' })).text();
      results.push(resultOf(text) ? 1 : 0);
    }
    const billed = await usageOf(a.key);
    rows.push({ attack: '1. SSE with a reused client `x-request-id`, 3 times', saw: `${results.reduce((s, x) => s + x, 0)} results; the id is only echoed as \`x-client-request-id\``, billed: `${billed} of 3`, memory: '-' });
  }
  // 2. Key B reuses key A's request id.
  {
    const a = createApiKey(where, { name: 'victim', plan: 'test', quota: 1000, rate: 1000 });
    const b = createApiKey(where, { name: 'attacker', plan: 'test', quota: 1000, rate: 1000 });
    const first = await post(a.key, { accept: 'text/event-stream' });
    const victimId = first.headers.get('x-request-id')!;
    const ra = JSON.parse(resultOf(await first.text())!) as { assets: { glb: { url: string } } };
    const before = new Uint8Array(await (await fetch(ra.assets.glb.url)).arrayBuffer());
    await (await post(b.key, { 'x-request-id': victimId }, '?formats=glb&uv_size=512')).arrayBuffer();
    const after = new Uint8Array(await (await fetch(ra.assets.glb.url)).arrayBuffer());
    const intact = Buffer.compare(Buffer.from(before), Buffer.from(after)) === 0;
    rows.push({ attack: "2. Key B sends key A's request id", saw: `B got its own set; A's GLB ${intact ? 'unchanged' : 'OVERWRITTEN'}`, billed: `A ${await usageOf(a.key)}, B ${await usageOf(b.key)}`, memory: '-' });
  }
  // 3. Unbounded bodies.
  {
    const rss0 = process.memoryUsage().rss;
    const unsigned = await chunkedPost(`${stack.gpuUrl}/v1/reconstruct`, {}, 1024 * MB, MB);
    const rss1 = process.memoryUsage().rss;
    rows.push({ attack: '3a. Unsigned 1 GB chunked POST to the gpu-function', saw: `${answer(unsigned.status)} after ${mb(unsigned.sent)} were sent`, billed: '-', memory: `gpu-function process RSS ${mb(rss0)} -> ${mb(rss1)}` });
    const headers = await signRequest({ secret: localEnv().FACERECON_SIGNING_SECRET, method: 'POST', pathWithQuery: '/v1/reconstruct', body: photo });
    const signed = await chunkedPost(`${stack.gpuUrl}/v1/reconstruct`, headers, 1024 * MB, MB);
    const rss2 = process.memoryUsage().rss;
    rows.push({ attack: '3b. Validly signed headers, 1 GB chunked body', saw: `${answer(signed.status)} after ${mb(signed.sent)} were sent`, billed: '-', memory: `gpu-function process RSS ${mb(rss1)} -> ${mb(rss2)}` });
    const k = createApiKey(where, { name: 'big', plan: 'test', quota: 1000, rate: 1000 });
    const w0 = workerdRss();
    const edge = await chunkedPost(`${stack.edgeUrl}/v1/reconstructions`, { authorization: `Bearer ${k.key}` }, 1024 * MB, MB);
    const w1 = workerdRss();
    rows.push({ attack: '3c. Authenticated 1 GB chunked upload to the edge', saw: `${answer(edge.status)} after ${mb(edge.sent)} were sent`, billed: String(await usageOf(k.key)), memory: `workerd RSS ${mb(w0)} -> ${mb(w1)}` });
  }
  // 4. Quota overrun by concurrency.
  {
    const k = createApiKey(where, { name: 'quota-2', plan: 'test', quota: 2, rate: 1000 });
    const statuses = (await Promise.all(Array.from({ length: 6 }, async () => {
      const r = await post(k.key);
      await r.arrayBuffer();
      return r.status;
    }))).sort();
    const counts = Object.entries(statuses.reduce<Record<number, number>>((m, s) => ((m[s] = (m[s] ?? 0) + 1), m), {})).map(([s, n]) => `${n} x ${s}`).join(', ');
    rows.push({ attack: '4. Quota 2, 6 concurrent requests', saw: counts, billed: `${await usageOf(k.key)} (quota 2)`, memory: '-' });
  }
  // 5. Hang-up mid-stream, then the retry with the same Idempotency-Key.
  {
    const k = createApiKey(where, { name: 'hang-up', plan: 'test', quota: 1000, rate: 1000 });
    const res = await post(k.key, { accept: 'text/event-stream', 'idempotency-key': 'hang-up-0000001' });
    const reader = res.body!.getReader();
    await reader.read(); // the first stage event
    await reader.cancel(); // closes the connection, as a backgrounded app's does
    const t0 = performance.now();
    let retry = await post(k.key, { accept: 'text/event-stream', 'idempotency-key': 'hang-up-0000001' });
    let waited = 0;
    while (retry.status === 409 && waited < 30) {
      await retry.arrayBuffer();
      await new Promise((r) => setTimeout(r, 1000));
      waited++;
      retry = await post(k.key, { accept: 'text/event-stream', 'idempotency-key': 'hang-up-0000001' });
    }
    const text = await retry.text();
    const replayed = retry.headers.get('idempotent-replayed') === 'true';
    rows.push({
      attack: '5. SSE client hangs up after the first stage, then retries with the same Idempotency-Key',
      saw: `retry ${retry.status}${replayed ? ' (replayed)' : ''} after ${((performance.now() - t0) / 1000).toFixed(1)} s${resultOf(text) || replayed ? ', with the result' : ''}`,
      billed: `${await usageOf(k.key)} for the hang-up and its retry`,
      memory: '-',
    });
  }
  // 6. Replay of a captured signed request after a restart.
  {
    const path = '/v1/reconstruct?formats=glb';
    const headers = await signRequest({ secret: localEnv().FACERECON_SIGNING_SECRET, method: 'POST', pathWithQuery: path, body: photo });
    const first = await fetch(`${stack.gpuUrl}${path}`, { method: 'POST', body: photo as BodyInit, headers });
    await first.arrayBuffer();
    await stack.restartGpu();
    const replay = await fetch(`${stack.gpuUrl}${path}`, { method: 'POST', body: photo as BodyInit, headers });
    const code = ((await replay.json()) as { error?: { code: string } }).error?.code ?? 'ok';
    rows.push({ attack: '6. Captured signed request replayed after a gpu-function restart', saw: `first ${first.status}, replay ${replay.status} \`${code}\``, billed: '-', memory: '-' });
  }
  // 7. The low items.
  {
    const pct = await fetch(`${stack.gpuUrl}/assets/%E0%A4%A?expires=1&sig=${'a'.repeat(64)}`);
    const page = await fetch(`${stack.edgeUrl}/`);
    await page.arrayBuffer();
    const wrong = (await (await fetch(`${stack.edgeUrl}/v1/usage`, { headers: { authorization: 'Bearer fr_live_wrong' } })).json()) as { error: { message: string } };
    rows.push({ attack: '7a. Malformed `%` escape in an asset path', saw: String(pct.status), billed: '-', memory: '-' });
    rows.push({ attack: '7b. Page security headers', saw: ['content-security-policy', 'x-content-type-options', 'referrer-policy', 'x-frame-options'].filter((h) => page.headers.get(h)).join(', ') || 'none', billed: '-', memory: '-' });
    rows.push({ attack: '7c. Wrong API key', saw: `"${wrong.error.message}"`, billed: '-', memory: '-' });
  }
  return rows;
}
