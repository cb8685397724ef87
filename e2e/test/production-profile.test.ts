/**
 * The stack as production runs it, on one machine: the edge with wrangler.toml's [env.production]
 * (its ALLOWED_ORIGINS, CLIENT_IP_HEADER and bindings), the gpu-function with the S3 store against an
 * endpoint that verifies SigV4 (e2e/support/sigv4-gateway.ts in front of s3rver), and one signing
 * secret generated for this run and handed to both through their environment only. HTTPS is required
 * everywhere except loopback, which is all this test uses.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReconstructResponseSchema, signRequest } from '@facerecon/shared';
import { fixture } from '../../gpu-function/test/fixtures';
import { localEnv } from '../../scripts/local-env';
import { startLocalStack, type LocalStack } from '../../scripts/local-stack';
import { startSigv4Gateway, type Sigv4Gateway } from '../support/sigv4-gateway';

const S3_KEY = 'facerecon-production-profile';
const S3_SECRET = randomBytes(24).toString('hex');
const SIGNING_SECRET = randomBytes(32).toString('hex');
const PRODUCTION_ORIGIN = 'https://facerecon.example'; // wrangler.toml [env.production.vars] ALLOWED_ORIGINS

let s3: S3rver;
let gateway: Sigv4Gateway;
let stack: LocalStack;
const photo = new Uint8Array(readFileSync(fixture('astronaut.png')));

beforeAll(async () => {
  // The bucket's CORS as the deploy sets it (infra/storage/s3-cors.json), in the XML form of the S3 API.
  s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: mkdtempSync(join(tmpdir(), 'facerecon-prod-s3-')), configureBuckets: [{ name: 'facerecon-assets', configs: [corsXml()] }] });
  const { port } = await s3.run();
  gateway = await startSigv4Gateway({ target: `http://127.0.0.1:${port}`, credentials: { [S3_KEY]: S3_SECRET } });
  stack = await startLocalStack({
    wranglerEnv: 'production',
    signingSecret: SIGNING_SECRET,
    persistTo: mkdtempSync(join(tmpdir(), 'facerecon-prod-wrangler-')),
    gpuEnv: { FACERECON_STORE: 's3', S3_ENDPOINT: gateway.url, S3_REGION: 'us-east-1', S3_BUCKET: 'facerecon-assets', S3_ACCESS_KEY_ID: S3_KEY, S3_SECRET_ACCESS_KEY: S3_SECRET, S3_FORCE_PATH_STYLE: 'true', FACERECON_ICT_PACK: 'off' },
  });
}, 180_000);
afterAll(async () => {
  await stack?.stop();
  await gateway?.close();
  await s3?.close();
});

/** infra/storage/s3-cors.json (put-bucket-cors's JSON) as the S3 API's CORSConfiguration XML. */
function corsXml(): string {
  const { CORSRules } = JSON.parse(readFileSync(join(import.meta.dirname, '../../infra/storage/s3-cors.json'), 'utf8')) as { CORSRules: Record<string, string[] | number | string>[] };
  const tags = (name: string, values: unknown) => [values ?? []].flat().map((v) => `<${name}>${String(v)}</${name}>`).join('');
  const rules = CORSRules.map((r) => `<CORSRule>${tags('AllowedOrigin', r.AllowedOrigins)}${tags('AllowedMethod', r.AllowedMethods)}${tags('AllowedHeader', r.AllowedHeaders)}${tags('ExposeHeader', r.ExposeHeaders)}${tags('MaxAgeSeconds', r.MaxAgeSeconds)}</CORSRule>`);
  return `<CORSConfiguration>${rules.join('')}</CORSConfiguration>`;
}

const reconstruct = (headers: Record<string, string> = {}) =>
  fetch(`${stack.edgeUrl}/v1/reconstructions?formats=glb,texture`, { method: 'POST', body: photo as BodyInit, headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'image/png', ...headers } });

describe('the production profile (wrangler env production, S3 with SigV4 checks, secrets from the environment)', () => {
  it('reconstructs through the edge; every asset is a presigned S3 URL that the verifying endpoint serves; tampering is refused', async () => {
    const res = await reconstruct();
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBe(200);
    const r = ReconstructResponseSchema.parse(JSON.parse(text));
    for (const [kind, a] of Object.entries(r.assets)) {
      const u = new URL(a.url);
      expect(u.origin, kind).toBe(gateway.url);
      expect(u.searchParams.get('X-Amz-Signature'), kind).toMatch(/^[0-9a-f]{64}$/);
      // As a customer's web app fetches it (a viewer loading the GLB): the bucket's CORS lets it read.
      const got = await fetch(a.url, { headers: { origin: 'https://customer-app.example' } });
      expect(got.status, kind).toBe(200);
      expect(got.headers.get('access-control-allow-origin'), kind).toBe('*');
      // A download is named for the file, not for the signed URL's last segment.
      expect(got.headers.get('content-disposition'), kind).toBe(`attachment; filename="${u.pathname.split('/').pop()}"`);
      expect((await got.arrayBuffer()).byteLength, kind).toBe(a.bytes);
    }
    // The gpu-function's own writes (assets, nonce claims) all passed the signature check.
    expect(gateway.refused).toEqual([]);
    const glb = new URL(r.assets.glb!.url);
    const sig = glb.searchParams.get('X-Amz-Signature')!;
    glb.searchParams.set('X-Amz-Signature', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
    expect((await fetch(glb)).status).toBe(403);
    const usage = (await (await fetch(`${stack.edgeUrl}/v1/usage`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).json()) as { billable_calls: number };
    expect(usage.billable_calls).toBe(1);
  });

  it('enforces the production ALLOWED_ORIGINS: the production origin gets CORS, the local page origin does not', async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.edgeUrl}/v1/reconstructions`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization' } });
    const prod = await preflight(PRODUCTION_ORIGIN);
    expect(prod.headers.get('access-control-allow-origin')).toBe(PRODUCTION_ORIGIN);
    const local = await preflight(stack.edgeUrl);
    expect(local.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await fetch(`${stack.edgeUrl}/healthz`, { headers: { origin: 'https://evil.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('the signing secret comes from the environment only: a request signed with the development secret is refused', async () => {
    const dev = localEnv().FACERECON_SIGNING_SECRET;
    expect(dev).not.toBe(SIGNING_SECRET);
    const path = '/v1/reconstruct?formats=glb';
    const res = await fetch(`${stack.gpuUrl}${path}`, { method: 'POST', body: photo as BodyInit, headers: await signRequest({ secret: dev, method: 'POST', pathWithQuery: path, body: photo }) });
    expect(res.status).toBe(401);
  });

  it('a captured signed request is refused after a restart: the nonce ledger lives in the bucket (conditional PUT)', async () => {
    const path = '/v1/reconstruct?formats=glb';
    const headers = await signRequest({ secret: SIGNING_SECRET, method: 'POST', pathWithQuery: path, body: photo });
    const first = await fetch(`${stack.gpuUrl}${path}`, { method: 'POST', body: photo as BodyInit, headers });
    expect(first.status).toBe(200);
    await first.arrayBuffer();
    await stack.restartGpu();
    const replay = await fetch(`${stack.gpuUrl}${path}`, { method: 'POST', body: photo as BodyInit, headers });
    expect(replay.status).toBe(401);
    expect(((await replay.json()) as { error: { code: string } }).error.code).toBe('BAD_SIGNATURE');
  });
});
