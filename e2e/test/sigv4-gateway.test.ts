/**
 * The SigV4-checking S3 endpoint used by the production profile: first the verifier against the
 * examples AWS publishes (so it is right independently of the SDK that signs), then the S3 store of
 * the gpu-function through it: signed writes and presigned reads pass; a wrong secret, a tampered or
 * expired URL and an unsigned request are refused; conditional PUTs give the replay ledger S3 semantics.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3AssetStore } from '../../gpu-function/src/service/store/s3';
import { startSigv4Gateway, verifySigV4, type Sigv4Gateway } from '../support/sigv4-gateway';

const AWS_KEY = 'AKIAIOSFODNN7EXAMPLE';
const AWS_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const AT = Date.UTC(2013, 4, 24, 0, 1);

describe('SigV4 verifier against the AWS documentation examples', () => {
  const getObject = {
    method: 'GET',
    path: '/test.txt',
    query: new URLSearchParams(),
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      range: 'bytes=0-9',
      'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      'x-amz-date': '20130524T000000Z',
      authorization: `AWS4-HMAC-SHA256 Credential=${AWS_KEY}/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41`,
    },
    payloadSha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  };
  const presigned = new URL(
    'https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
  );
  const presignedReq = (u: URL) => ({ method: 'GET', path: u.pathname, query: u.searchParams, headers: { host: u.host }, payloadSha256: '' });

  it('accepts the header-signed GET Object example and refuses it tampered or under another secret', () => {
    expect(verifySigV4(getObject, { [AWS_KEY]: AWS_SECRET }, AT)).toEqual({ ok: true });
    expect(verifySigV4({ ...getObject, headers: { ...getObject.headers, range: 'bytes=0-99' } }, { [AWS_KEY]: AWS_SECRET }, AT).ok).toBe(false);
    expect(verifySigV4({ ...getObject, path: '/other.txt' }, { [AWS_KEY]: AWS_SECRET }, AT).ok).toBe(false);
    expect(verifySigV4(getObject, { [AWS_KEY]: 'not-the-secret' }, AT).ok).toBe(false);
    expect(verifySigV4(getObject, { [AWS_KEY]: AWS_SECRET }, AT + 3600_000)).toEqual({ ok: false, reason: 'request time outside 15 minutes' });
  });

  it('accepts the presigned URL example until it expires, and refuses it tampered', () => {
    expect(verifySigV4(presignedReq(presigned), { [AWS_KEY]: AWS_SECRET }, AT)).toEqual({ ok: true });
    expect(verifySigV4(presignedReq(presigned), { [AWS_KEY]: AWS_SECRET }, AT + 86_401_000)).toEqual({ ok: false, reason: 'expired' });
    const longer = new URL(presigned);
    longer.searchParams.set('X-Amz-Expires', '604800');
    expect(verifySigV4(presignedReq(longer), { [AWS_KEY]: AWS_SECRET }, AT).ok).toBe(false);
    const other = new URL(presigned);
    other.pathname = '/secret.txt';
    expect(verifySigV4(presignedReq(other), { [AWS_KEY]: AWS_SECRET }, AT).ok).toBe(false);
  });
});

describe('the S3 store through the verifying endpoint', () => {
  let s3: S3rver;
  let gateway: Sigv4Gateway;
  let store: S3AssetStore;
  const KEY = 'facerecon-test';
  const SECRET = 'a-test-secret-for-the-verifying-gateway';
  const storeWith = (secretAccessKey: string) => new S3AssetStore({ bucket: 'assets', region: 'us-east-1', endpoint: gateway.url, accessKeyId: KEY, secretAccessKey, forcePathStyle: true });
  beforeAll(async () => {
    s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: mkdtempSync(join(tmpdir(), 'facerecon-sigv4-')), configureBuckets: [{ name: 'assets', configs: [] }] });
    const { port } = await s3.run();
    gateway = await startSigv4Gateway({ target: `http://127.0.0.1:${port}`, credentials: { [KEY]: SECRET } });
    store = storeWith(SECRET);
  });
  afterAll(async () => {
    store?.destroy();
    await gateway?.close();
    await s3?.close();
  });

  it('signed writes and presigned reads pass; tampered, unsigned and wrongly keyed requests get 403', async () => {
    await store.put('2026-11-30/a1/result.json', new TextEncoder().encode('{"ok":true}'), 'application/json');
    const url = await store.signedUrl('2026-11-30/a1/result.json', 60);
    expect((await fetch(url)).status).toBe(200);
    const u = new URL(url);
    const sig = u.searchParams.get('X-Amz-Signature')!;
    const tampered = new URL(url);
    tampered.searchParams.set('X-Amz-Signature', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
    expect((await fetch(tampered)).status).toBe(403);
    const elsewhere = new URL(url);
    elsewhere.pathname = elsewhere.pathname.replace('a1', 'a2');
    expect((await fetch(elsewhere)).status).toBe(403);
    expect((await fetch(`${gateway.url}${u.pathname}`)).status).toBe(403);
    const wrong = storeWith('not-the-secret-at-all');
    await expect(wrong.put('2026-11-30/a1/evil.json', new Uint8Array(1), 'application/json')).rejects.toThrow();
    wrong.destroy();
    expect(gateway.refused.some((r) => /signature mismatch/.test(r))).toBe(true);
  });

  it('presigned URLs stop working when they expire', async () => {
    await store.put('2026-11-30/a3/texture.png', new Uint8Array([137, 80, 78, 71]), 'image/png');
    // Whole-second SigV4 dates: 3 s so the first fetch is never late on a loaded machine.
    const url = await store.signedUrl('2026-11-30/a3/texture.png', 3);
    expect((await fetch(url)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 4200));
    expect((await fetch(url)).status).toBe(403);
  });

  it('claimOnce is single-use through conditional PUTs, across store instances', async () => {
    expect(await store.claimOnce('nonces/2026-11-30/00112233445566778899')).toBe(true);
    expect(await store.claimOnce('nonces/2026-11-30/00112233445566778899')).toBe(false);
    const other = storeWith(SECRET);
    expect(await other.claimOnce('nonces/2026-11-30/00112233445566778899')).toBe(false);
    other.destroy();
  });
});
