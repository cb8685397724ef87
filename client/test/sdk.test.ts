/**
 * @facerecon/client as an app developer gets it: `npm pack`, installed into an empty Node project and
 * bundled for a browser, then driving the real local stack (wrangler dev with D1, R2 and Queues, the
 * real gpu-function). A proxy in front of the edge injects the 429 a busy API answers; a stopped
 * gpu-function gives the transient 5xx; a loopback receiver takes a real webhook delivery. A
 * React-Native-like sandbox (no Blob from bytes, no streaming body, no URLSearchParams, no WebCrypto)
 * runs the CJS build too.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import vm from 'node:vm';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fixture } from '../../gpu-function/test/fixtures';
import { startLocalStack, type LocalStack } from '../../scripts/local-stack';
import { startWebhookReceiver } from '../../e2e/support/webhook-receiver';

const ROOT = resolve(import.meta.dirname, '../..');
let stack: LocalStack;
let app: string;
let proxy: Server;
let proxyUrl = '';
let hookUrl = '';
let receiver: Awaited<ReturnType<typeof startWebhookReceiver>>;
/** What the proxy saw: method, path, idempotency key, time; and how many 429s it still owes. */
/**
 * The pauses the SDK asks for while `run` goes (every setTimeout's delay): a retry's wait is read from
 * what was asked, not from two clock readings (no timed assertions in tests).
 */
async function recordingPauses<T>(run: () => Promise<T>): Promise<{ value: T; pauses: number[] }> {
  const pauses: number[] = [];
  const real = globalThis.setTimeout;
  const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms?: number, ...rest: unknown[]) => {
    if (typeof ms === 'number') pauses.push(ms);
    return real(fn, ms, ...rest);
  }) as typeof setTimeout);
  try {
    return { value: await run(), pauses };
  } finally {
    spy.mockRestore();
  }
}
/** A wait of Retry-After: 1, as the SDK asks for it: at least the second, with at most its jitter on top. */
const waitedOutOneSecond = (pauses: number[]) => pauses.some((ms) => ms >= 1000 && ms <= 2000);

const seen: Array<{ method: string; path: string; key?: string; status: number }> = [];
let inject429 = 0;
/** Responses the proxy lets the edge produce, then loses: the caller sees a 503 instead. */
let lose = 0;

type Sdk = typeof import('../src/index');

beforeAll(async () => {
  stack = await startLocalStack({ persistTo: mkdtempSync(join(tmpdir(), 'facerecon-sdk-')), keyRate: 600 });
  // The package as npm would publish it, installed offline into an empty project.
  const work = mkdtempSync(join(tmpdir(), 'facerecon-sdk-pack-'));
  execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: join(ROOT, 'client'), stdio: 'pipe' });
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
  app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'an-app', version: '1.0.0', private: true, type: 'module' }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', join(work, tgz)], { cwd: app, stdio: 'pipe' });

  proxy = createServer((req, res) => {
    const entry = { method: req.method!, path: req.url!, key: req.headers['idempotency-key'] as string | undefined, status: 0 };
    seen.push(entry);
    if (inject429 > 0 && req.method === 'POST') {
      inject429--;
      entry.status = 429;
      req.resume();
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '1' }).end(JSON.stringify({ error: { code: 'RATE_LIMITED', message: 'Too many requests', message_zh: '请求过多' } }));
      return;
    }
    const up = new URL(stack.edgeUrl);
    const losing = lose > 0 && req.method === 'POST';
    if (losing) lose--;
    const fwd = httpRequest({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: { ...req.headers, host: up.host } }, (r) => {
      if (losing) {
        // The edge did the work and billed it; the answer is lost on the way, as on a flaky network.
        r.resume();
        r.on('end', () => {
          entry.status = 503;
          res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' }).end(JSON.stringify({ error: { code: 'OVERLOADED', message: 'busy', message_zh: '繁忙' } }));
        });
        return;
      }
      entry.status = r.statusCode!;
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    req.pipe(fwd);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  receiver = await startWebhookReceiver();
  hookUrl = receiver.url;
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  proxy?.close();
  receiver?.close();
});

const load = async (): Promise<Sdk> => (await import(join(app, 'node_modules/@facerecon/client/dist/index.mjs'))) as Sdk;
const astronaut = () => new Uint8Array(readFileSync(fixture('astronaut.png')));
const billed = async () => ((await (await fetch(`${stack.edgeUrl}/v1/usage`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).json()) as { billable_calls: number }).billable_calls;

describe('@facerecon/client from npm pack', () => {
  it('installs into an empty Node project: ESM and CJS entry points, types, no dependencies', async () => {
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules/@facerecon/client/package.json'), 'utf8'));
    expect(pkg.dependencies ?? {}).toEqual({});
    const files = readdirSync(join(app, 'node_modules/@facerecon/client/dist'));
    expect(files).toEqual(expect.arrayContaining(['index.mjs', 'index.cjs', 'openapi.json', 'types']));
    const out = execFileSync(process.execPath, ['-e', "const c = require('@facerecon/client'); console.log(typeof c.FaceReconClient, typeof c.verifyWebhook)"], { cwd: app }).toString().trim();
    expect(out).toBe('function function');
    const esm = execFileSync(process.execPath, ['--input-type=module', '-e', "import { FaceReconClient } from '@facerecon/client'; console.log(typeof FaceReconClient)"], { cwd: app }).toString().trim();
    expect(esm).toBe('function');
  });

  it('calls only documented paths, and the web page is built from this package, not from its sources', async () => {
    const doc = (await (await fetch(`${stack.edgeUrl}/v1/openapi.json`)).json()) as { paths: Record<string, unknown> };
    const js = readFileSync(join(app, 'node_modules/@facerecon/client/dist/index.mjs'), 'utf8');
    const used = new Set([...js.matchAll(/[`'"](\/v1\/[a-z-]+(?:\/stream)?)/g)].map((m) => m[1]));
    expect(used.size).toBeGreaterThanOrEqual(3);
    for (const p of used) expect(Object.keys(doc.paths), p).toContain(p);
    expect(Object.keys(doc.paths)).toContain('/v1/reconstructions/{id}');
    const inputs = JSON.parse(readFileSync(join(ROOT, '.cache/web-build-inputs.json'), 'utf8')) as string[];
    expect(inputs).toContain('client/dist/index.mjs');
    expect(inputs.some((f) => f.startsWith('client/src/'))).toBe(false);
  });

  it('bundles for a browser (esbuild): nothing Node-only in it', async () => {
    const r = await build({ stdin: { contents: "import { FaceReconClient, verifyWebhook } from '@facerecon/client'; globalThis.x = [FaceReconClient, verifyWebhook];", resolveDir: app }, bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' });
    const js = r.outputFiles[0].text;
    expect(js).toMatch(/FaceReconClient = class|class FaceReconClient/);
    expect(js).not.toMatch(/require\(|from "node:|process\.env/);
  });

  it('sync with stage events, then async create + wait(); the results are the API\'s', async () => {
    const { FaceReconClient } = await load();
    const client = new FaceReconClient({ baseUrl: stack.edgeUrl, apiKey: stack.apiKey });
    const stages: string[] = [];
    const r = await client.reconstruct({ photo: astronaut(), formats: ['glb', 'texture'], onStage: (s) => stages.push(s) });
    expect(r.landmarks.count).toBe(478);
    expect(r.assets.glb?.url).toMatch(/^http/);
    expect(stages).toEqual(['preprocess', 'geometry', 'texture', 'export', 'upload']);
    const job = await client.create({ photo: astronaut(), formats: ['glb'] });
    expect(job.status).toBe('queued');
    const done = await client.wait(job.id);
    expect(done.status).toBe('succeeded');
    expect(done.result?.assets.glb?.url).toMatch(/^http/);
    const list = await client.list({ limit: 1 });
    expect(list.data[0].id).toBe(job.id);
    const erased = await client.delete(job.id);
    expect(erased.erased_at).toBeTruthy();
    await expect(client.create({ photo: new Uint8Array(readFileSync(fixture('coffee.png'))), waitSeconds: 30 }).then((j) => client.wait(j.id))).rejects.toMatchObject({ code: 'NO_FACE', status: 422, requestId: expect.stringMatching(/^[0-9a-f]{32}$/) });
  });

  it('a 429 is waited out as Retry-After says, and the retry carries the same Idempotency-Key', async () => {
    const { FaceReconClient } = await load();
    const client = new FaceReconClient({ baseUrl: proxyUrl, apiKey: stack.apiKey, retry: { baseDelayMs: 50 } });
    seen.length = 0;
    inject429 = 1;
    const before = await billed();
    const { value: r, pauses } = await recordingPauses(() => client.reconstruct({ photo: astronaut(), formats: ['glb'] }));
    expect(r.landmarks.count).toBe(478);
    const posts = seen.filter((s) => s.method === 'POST');
    expect(posts.map((p) => p.status)).toEqual([429, 200]);
    expect(waitedOutOneSecond(pauses), String(pauses)).toBe(true); // not the 50 ms backoff
    expect(posts[0].key).toMatch(/^fr-[0-9a-f]{32}$/);
    expect(posts[1].key).toBe(posts[0].key);
    expect(await billed()).toBe(before + 1);
  });

  it('a transient 5xx (the gpu-function down) is retried with the same key and billed once', async () => {
    const { FaceReconClient } = await load();
    const client = new FaceReconClient({ baseUrl: proxyUrl, apiKey: stack.apiKey, retry: { attempts: 6, baseDelayMs: 1000 } });
    seen.length = 0;
    const before = await billed();
    await stack.stopGpu();
    setTimeout(() => void stack.restartGpu(), 1500);
    const r = await client.reconstruct({ photo: astronaut(), formats: ['glb'] });
    expect(r.landmarks.count).toBe(478);
    const posts = seen.filter((s) => s.method === 'POST');
    expect(posts.length).toBeGreaterThan(1);
    expect(posts[0].status).toBeGreaterThanOrEqual(500);
    expect(posts.at(-1)!.status).toBe(200);
    expect(new Set(posts.map((p) => p.key)).size).toBe(1);
    expect(await billed()).toBe(before + 1);
  }, 120_000);

  it('a 503 that hides a finished call is retried with the same key: the stored answer comes back, billed once', async () => {
    const { FaceReconClient } = await load();
    const client = new FaceReconClient({ baseUrl: proxyUrl, apiKey: stack.apiKey, retry: { baseDelayMs: 50 } });
    seen.length = 0;
    lose = 1;
    const before = await billed();
    const { value: r, pauses } = await recordingPauses(() => client.reconstruct({ photo: astronaut(), formats: ['glb'] }));
    expect(r.landmarks.count).toBe(478);
    const posts = seen.filter((s) => s.method === 'POST');
    expect(posts.map((p) => p.status)).toEqual([503, 200]);
    expect(posts[1].key).toBe(posts[0].key);
    expect(waitedOutOneSecond(pauses), String(pauses)).toBe(true); // Retry-After: 1
    expect(await billed()).toBe(before + 1);
  });

  it('verifyWebhook() accepts a real delivery and refuses a tampered or stale one', async () => {
    const { FaceReconClient, verifyWebhook } = await load();
    const client = new FaceReconClient({ baseUrl: stack.edgeUrl, apiKey: stack.apiKey });
    const secret = await client.webhookSecret();
    const hooks = receiver.deliveries;
    const job = await client.create({ photo: astronaut(), formats: ['glb'], webhookUrl: hookUrl });
    const end = Date.now() + 60_000;
    while (!hooks.some((h) => h.body.includes(job.id)) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
    const hook = hooks.find((h) => h.body.includes(job.id))!;
    const event = await verifyWebhook({ secret, body: hook.body, headers: hook.headers });
    expect(event.type).toBe('reconstruction.succeeded');
    expect(event.data.id).toBe(job.id);
    await expect(verifyWebhook({ secret, body: hook.body.replace('succeeded', 'failed'), headers: hook.headers })).rejects.toThrow(/signature/);
    await expect(verifyWebhook({ secret, body: hook.body, headers: hook.headers, now: Date.now() + 3600_000 })).rejects.toThrow(/timestamp/);
  });

  it('runs where React Native does: no Blob from bytes, no streaming body, no URLSearchParams, no WebCrypto', async () => {
    const code = readFileSync(join(app, 'node_modules/@facerecon/client/dist/index.cjs'), 'utf8');
    // fetch as React Native's: the body is read whole, never streamed.
    const rnFetch = async (url: string, init: { method?: string; body?: unknown; headers?: Record<string, string>; signal?: AbortSignal }) => {
      if (init.body !== undefined && !(init.body instanceof Uint8Array) && !(init.body instanceof ArrayBuffer)) throw new TypeError('unsupported body');
      const res = await fetch(url, { method: init.method, body: init.body as BodyInit | undefined, headers: init.headers, signal: init.signal });
      const text = await res.text();
      return { ok: res.ok, status: res.status, headers: res.headers, body: null, json: async () => JSON.parse(text), text: async () => text };
    };
    const module = { exports: {} as Record<string, unknown> };
    const sandbox = vm.createContext({ module, exports: module.exports, fetch: rnFetch, AbortController, setTimeout, clearTimeout, console, atob, btoa, TextEncoder });
    vm.runInContext(code, sandbox);
    expect(vm.runInContext('typeof Blob + typeof ReadableStream + typeof URLSearchParams + typeof crypto', sandbox)).toBe('undefinedundefinedundefinedundefined');
    const { FaceReconClient } = module.exports as unknown as Sdk;
    const client = new FaceReconClient({ baseUrl: stack.edgeUrl, apiKey: stack.apiKey });
    const stages: string[] = [];
    const r = await client.reconstruct({ photo: astronaut(), formats: ['glb'], onStage: (s) => stages.push(s) });
    expect(r.landmarks.count).toBe(478);
    expect(stages).toEqual(['preprocess', 'geometry', 'texture', 'export', 'upload']); // polled from the job
  });
});
