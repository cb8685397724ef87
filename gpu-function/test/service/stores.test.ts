/**
 * Both asset stores: the local directory store with HMAC-signed URLs (tamper, expiry, traversal,
 * sweeping) and the S3 store against a real S3-protocol server (s3rver on loopback). s3rver does not
 * verify SigV4 signatures, so tampering is tested on our own HMAC store only.
 */
import { mkdtempSync, readdirSync, utimesSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import S3rver from 's3rver';
import { LocalAssetStore } from '../../src/service/store/local';
import { S3AssetStore } from '../../src/service/store/s3';
import { assertSafeKey } from '../../src/service/store/types';

const SECRET = 's'.repeat(64);

function parse(url: string) {
  const u = new URL(url);
  return { key: u.pathname.replace(/^\/assets\//, ''), expires: u.searchParams.get('expires')!, sig: u.searchParams.get('sig')! };
}

describe('LocalAssetStore', () => {
  let clock = Date.UTC(2026, 10, 25);
  const dir = mkdtempSync(join(tmpdir(), 'facerecon-store-'));
  const store = new LocalAssetStore({ dir, publicUrl: 'http://127.0.0.1:1', secret: SECRET, now: () => clock });

  it('stores, signs and accepts its own URL until it expires', async () => {
    await store.put('2026-11-25/req1/texture.png', new Uint8Array([1, 2, 3]), 'image/png');
    const { key, expires, sig } = parse(await store.signedUrl('2026-11-25/req1/texture.png', 60));
    const ok = await store.check(key, expires, sig);
    expect(ok.ok).toBe(true);
    if (ok.ok) expect(Array.from(await store.read(ok.path))).toEqual([1, 2, 3]);
    clock += 61_000;
    expect(await store.check(key, expires, sig)).toEqual({ ok: false, code: 'LINK_EXPIRED' });
  });

  it('refuses tampered signatures, extended expiry, another key, and traversal', async () => {
    await store.put('2026-11-25/req2/face.glb', new Uint8Array([9]), 'model/gltf-binary');
    await store.put('2026-11-25/req3/face.glb', new Uint8Array([8]), 'model/gltf-binary');
    const { key, expires, sig } = parse(await store.signedUrl('2026-11-25/req2/face.glb', 60));
    const flipped = sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
    expect(await store.check(key, expires, flipped)).toEqual({ ok: false, code: 'FORBIDDEN' });
    expect(await store.check(key, String(Number(expires) + 3600), sig)).toEqual({ ok: false, code: 'FORBIDDEN' });
    expect(await store.check('2026-11-25/req3/face.glb', expires, sig)).toEqual({ ok: false, code: 'FORBIDDEN' });
    expect(await store.check(key, undefined, undefined)).toEqual({ ok: false, code: 'FORBIDDEN' });
    for (const bad of ['../etc/passwd', '2026-11-25/../../x', '/abs', 'a//b', '.hidden/x', 'a/./b']) {
      expect(await store.check(bad, expires, sig)).toEqual({ ok: false, code: 'NOT_FOUND' });
      expect(() => assertSafeKey(bad)).toThrow(RangeError);
    }
    await expect(store.put('../outside.txt', new Uint8Array(1), 'text/plain')).rejects.toThrow(/unsafe/);
  });

  it('sweeps files older than the TTL and the folders they leave, keeps fresh ones', async () => {
    clock = Date.now();
    await store.put('2026-11-20/old/texture.png', new Uint8Array(4), 'image/png');
    await store.put('2026-11-25/new/texture.png', new Uint8Array(4), 'image/png');
    const past = new Date(Date.now() - 2 * 86_400_000);
    utimesSync(join(dir, '2026-11-20/old/texture.png'), past, past);
    const deleted = await store.sweep(86_400);
    expect(deleted).toBe(1);
    expect(existsSync(join(dir, '2026-11-20'))).toBe(false);
    expect(existsSync(join(dir, '2026-11-25/new/texture.png'))).toBe(true);
  });

  it('deletes exactly the keys it is given, never a neighbour sharing their prefix, and probes writability', async () => {
    await store.put('2026-11-25/gone/a.png', new Uint8Array(1), 'image/png');
    await store.put('2026-11-25/gone-other/a.png', new Uint8Array(1), 'image/png');
    await store.put('2026-11-25/gone/b.png', new Uint8Array(1), 'image/png');
    await store.deleteKeys(['2026-11-25/gone/a.png']);
    expect(existsSync(join(dir, '2026-11-25/gone/a.png'))).toBe(false);
    expect(existsSync(join(dir, '2026-11-25/gone/b.png'))).toBe(true);
    expect(existsSync(join(dir, '2026-11-25/gone-other/a.png'))).toBe(true);
    await expect(store.probe()).resolves.toBeUndefined();
    expect(readdirSync(dir).some((f) => f.startsWith('.probe'))).toBe(false);
  });

  it('claimOnce is single-use across store instances (a restart or another replica on the same directory)', async () => {
    expect(await store.claimOnce('nonces/2026-11-25/00aa11bb22cc33dd')).toBe(true);
    expect(await store.claimOnce('nonces/2026-11-25/00aa11bb22cc33dd')).toBe(false);
    const other = new LocalAssetStore({ dir, publicUrl: 'http://x', secret: 's'.repeat(32) });
    expect(await other.claimOnce('nonces/2026-11-25/00aa11bb22cc33dd')).toBe(false);
    expect(await other.claimOnce('nonces/2026-11-25/99aa11bb22cc33dd')).toBe(true);
  });
});

describe('S3AssetStore against s3rver', () => {
  let server: S3rver;
  let store: S3AssetStore;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facerecon-s3-'));
    server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: 'assets', configs: [] }] });
    const { port } = await server.run();
    store = new S3AssetStore({ bucket: 'assets', region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER', forcePathStyle: true });
  });
  afterAll(async () => {
    store?.destroy();
    await server?.close();
  });

  it('puts objects and serves them through presigned GET URLs', async () => {
    await store.put('2026-11-25/r1/result.json', new TextEncoder().encode('{"ok":true}'), 'application/json');
    const url = await store.signedUrl('2026-11-25/r1/result.json', 60);
    expect(url).toMatch(/X-Amz-Signature=/);
    expect(url).toMatch(/X-Amz-Expires=60/);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ ok: true });
  });

  it('presigned URLs stop working after they expire', async () => {
    await store.put('2026-11-25/r2/texture.png', new Uint8Array([137, 80, 78, 71]), 'image/png');
    // SigV4 dates have whole seconds: a 1 s URL signed late in a second can be stale at once on a
    // loaded machine, so 3 s, then a wait well past it.
    const url = await store.signedUrl('2026-11-25/r2/texture.png', 3);
    expect((await fetch(url)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 4200));
    expect((await fetch(url)).status).toBe(403);
  });

  it('deletes exactly the given keys (not a neighbour whose name shares the prefix) and probes', async () => {
    await store.put('2026-11-25/r3/a.png', new Uint8Array(1), 'image/png');
    await store.put('2026-11-25/r3/b.png', new Uint8Array(1), 'image/png');
    await store.put('2026-11-25/r3x/a.png', new Uint8Array(1), 'image/png');
    await store.deleteKeys(['2026-11-25/r3/a.png', '2026-11-25/r3/b.png']);
    expect((await fetch(await store.signedUrl('2026-11-25/r3/a.png', 60))).status).toBe(404);
    expect((await fetch(await store.signedUrl('2026-11-25/r3x/a.png', 60))).status).toBe(200);
    await expect(store.probe()).resolves.toBeUndefined();
  });
});
