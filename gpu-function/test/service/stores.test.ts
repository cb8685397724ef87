/**
 * Both asset stores: the local directory store with HMAC-signed URLs (tamper, expiry, traversal,
 * sweeping) and the S3 store against a real S3-protocol server (s3rver on loopback). s3rver does not
 * verify SigV4 signatures, so tampering is tested on our own HMAC store only.
 */
import { mkdtempSync, readdirSync, utimesSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import S3rver from 's3rver';
import { LocalAssetStore, NONCE_LIFETIME_S } from '../../src/service/store/local';
import { isGcsEndpoint, S3AssetStore } from '../../src/service/store/s3';
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

  it('a write that fails (here the file cannot replace what is at its name) leaves no temporary file behind', async () => {
    const d = mkdtempSync(join(tmpdir(), 'facerecon-put-'));
    const st = new LocalAssetStore({ dir: d, publicUrl: 'http://127.0.0.1:1', secret: SECRET });
    mkdirSync(join(d, '2026-11-25/req9/face.glb/occupied'), { recursive: true }); // a non-empty folder at the file's name
    await expect(st.put('2026-11-25/req9/face.glb', new Uint8Array([7]), 'model/gltf-binary')).rejects.toThrow();
    expect(readdirSync(join(d, '2026-11-25/req9'))).toEqual(['face.glb']);
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

  it('a file written into a folder while the sweeper empties it survives, with its folder (rmdir, not rm -r)', async () => {
    const race = mkdtempSync(join(tmpdir(), 'facerecon-sweep-'));
    const st = new LocalAssetStore({ dir: race, publicUrl: 'http://x', secret: SECRET });
    const past = new Date(Date.now() - 2 * 3600_000);
    const day = join(race, '2030-01-01');
    const n = 1000;
    for (let i = 0; i < n; i++) {
      const d = join(day, i.toString(16).padStart(32, '0'));
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'result.json'), 'x');
      utimesSync(join(d, 'result.json'), past, past);
    }
    const sweeping = st.sweep(3600); // every file above is an hour past its TTL
    // Once the first folders are gone the day folder has been listed: a write now is one the sweeper did not see.
    while (readdirSync(day).length === n) await new Promise((r) => setImmediate(r));
    const fresh = '2030-01-01/ffffffffffffffffffffffffffffffff/result.json';
    await st.put(fresh, new TextEncoder().encode('{}'), 'application/json');
    expect(await sweeping).toBe(n);
    expect(existsSync(join(race, fresh))).toBe(true);
    const { key, expires, sig } = parse(await st.signedUrl(fresh, 60));
    expect((await st.check(key, expires, sig)).ok).toBe(true);
  });

  it('keeps the nonce ledger for the signature window even when the asset TTL is shorter', async () => {
    const d = mkdtempSync(join(tmpdir(), 'facerecon-ledger-'));
    const st = new LocalAssetStore({ dir: d, publicUrl: 'http://x', secret: SECRET });
    expect(await st.claimOnce('nonces/2030-01-01/0011223344556677')).toBe(true);
    await st.put('2030-01-01/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/result.json', new Uint8Array(1), 'application/json');
    const aged = new Date(Date.now() - 120_000); // two minutes old
    utimesSync(join(d, '.ledger/nonces/2030-01-01/0011223344556677'), aged, aged);
    utimesSync(join(d, '2030-01-01/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/result.json'), aged, aged);
    expect(NONCE_LIFETIME_S).toBeGreaterThanOrEqual(600); // 300 s of skew either side
    await st.sweep(60); // a one-minute asset TTL: the asset goes, the nonce stays
    expect(existsSync(join(d, '2030-01-01/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/result.json'))).toBe(false);
    expect(await st.claimOnce('nonces/2030-01-01/0011223344556677')).toBe(false);
    const older = new Date(Date.now() - (NONCE_LIFETIME_S + 60) * 1000);
    utimesSync(join(d, '.ledger/nonces/2030-01-01/0011223344556677'), older, older);
    await st.sweep(60);
    expect(existsSync(join(d, '.ledger/nonces/2030-01-01/0011223344556677'))).toBe(false);
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

describe('S3AssetStore against a store that misbehaves', () => {
  it('a store that accepts the connection and never answers: the write fails, and the caller\'s abort ends it at once', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((sock) => {
      sockets.push(sock);
      sock.on('data', () => undefined); // reads, never answers
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    const store = new S3AssetStore({ bucket: 'b', region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, accessKeyId: 'a', secretAccessKey: 's', forcePathStyle: true, requestTimeoutMs: 500, connectTimeoutMs: 500 });
    try {
      await expect(store.put('2030-01-01/r/result.json', new Uint8Array(10), 'application/json')).rejects.toThrow();
      // The abort, alone: a store whose own time-out is far away, so only the caller's signal can end the put.
      const patient = new S3AssetStore({ bucket: 'b', region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, accessKeyId: 'a', secretAccessKey: 's', forcePathStyle: true, requestTimeoutMs: 60_000, connectTimeoutMs: 60_000 });
      try {
        const controller = new AbortController();
        const put = patient.put('2030-01-01/r/face.glb', new Uint8Array(10), 'model/gltf-binary', controller.signal);
        const settled = put.then(() => 'resolved', (e: Error) => e.name);
        await new Promise((r) => setTimeout(r, 200)); // the request is out, the store silent
        controller.abort();
        // The abort's own error: the store's time-out (60 s) would have ended it as a TimeoutError, past this test's limit.
        expect(await settled).toBe('AbortError');
      } finally {
        patient.destroy();
      }
    } finally {
      store.destroy();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('GCS: the nonce claim also carries x-goog-if-generation-match: 0, signed; a GCS-style 412 answers "claimed already"', async () => {
    expect(isGcsEndpoint('https://storage.googleapis.com')).toBe(true);
    expect(isGcsEndpoint('https://facerecon.storage.googleapis.com/')).toBe(true);
    expect(isGcsEndpoint('https://acct.r2.cloudflarestorage.com')).toBe(false);
    expect(isGcsEndpoint('https://storage.googleapis.com.evil.example')).toBe(false);
    expect(isGcsEndpoint(undefined)).toBe(false);
    // A bucket that honours only GCS's header: first create wins, the second is refused with 412.
    const seen: Array<Record<string, string | string[] | undefined>> = [];
    const created = new Set<string>();
    const server = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        seen.push(req.headers);
        if (req.headers['x-goog-if-generation-match'] === '0' && created.has(req.url!)) {
          res.writeHead(412, { 'content-type': 'application/xml' });
          res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold.</Message></Error>');
          return;
        }
        created.add(req.url!);
        res.writeHead(200, { etag: '"x"' });
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const gcs = new S3AssetStore({ bucket: 'b', region: 'auto', endpoint: `http://127.0.0.1:${port}`, accessKeyId: 'a', secretAccessKey: 's', forcePathStyle: true, gcsPreconditions: true });
    const s3 = new S3AssetStore({ bucket: 'b', region: 'auto', endpoint: `http://127.0.0.1:${port}`, accessKeyId: 'a', secretAccessKey: 's', forcePathStyle: true });
    try {
      expect(await gcs.claimOnce('nonces/2030-01-01/abc')).toBe(true);
      expect(await gcs.claimOnce('nonces/2030-01-01/abc')).toBe(false);
      expect(seen[0]['x-goog-if-generation-match']).toBe('0');
      expect(seen[0]['if-none-match']).toBe('*');
      expect(String(seen[0].authorization)).toMatch(/SignedHeaders=[^,]*x-goog-if-generation-match/);
      // Elsewhere the claim is as before: no GCS header.
      await s3.claimOnce('nonces/2030-01-01/other');
      expect(seen.at(-1)!['x-goog-if-generation-match']).toBeUndefined();
    } finally {
      gcs.destroy();
      s3.destroy();
      server.close();
    }
  });

  it('a nonce claim that lands but answers 503 is an error (STORAGE_UNAVAILABLE upstream), never "claimed already": it is not retried into its own 412', async () => {
    const created = new Set<string>();
    let puts = 0;
    const server = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        puts++;
        if (req.headers['if-none-match'] === '*' && created.has(req.url!)) {
          res.writeHead(412, { 'content-type': 'application/xml' });
          res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>x</Message></Error>');
          return;
        }
        created.add(req.url!); // written, and then the reply is lost
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>x</Message></Error>');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const store = new S3AssetStore({ bucket: 'b', region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, accessKeyId: 'a', secretAccessKey: 's', forcePathStyle: true });
    try {
      await expect(store.claimOnce('nonces/2030-01-01/lost-reply')).rejects.toThrow();
      expect(puts).toBe(1);
    } finally {
      store.destroy();
      server.close();
    }
  });

  it('a clean-up against a store that never answers gives up at its own bound, not after 3 x the request time-out', async () => {
    const sockets: Socket[] = [];
    const silent = createTcpServer((sock) => {
      sockets.push(sock);
      sock.on('data', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as { port: number }).port;
    // The requests' own time-outs (60 s, three attempts) lie far past this test's 30 s limit: only the clean-up's
    // bound can end the call, and the error it ends with is the bound's.
    const store = new S3AssetStore({ bucket: 'b', region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, accessKeyId: 'a', secretAccessKey: 's', forcePathStyle: true, requestTimeoutMs: 60_000, connectTimeoutMs: 60_000, deleteTimeoutMs: 300 });
    try {
      const err = await store.deleteKeys(['2030-01-01/r/face.glb']).then(() => undefined, (e: Error) => e);
      expect(err?.name).toMatch(/^(TimeoutError|AbortError)$/);
      expect(sockets.length).toBe(1); // one attempt, cut by the bound: no retry after it
    } finally {
      store.destroy();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  }, 30_000);

  it('DeleteObjects that reports per-key errors (quiet mode, HTTP 200) is a failed erase, not a success', async () => {
    const server = createHttpServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><DeleteResult><Error><Key>2030-01-01/r/face.glb</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const store = new S3AssetStore({ bucket: 'b', region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, accessKeyId: 'a', secretAccessKey: 's', forcePathStyle: true });
    try {
      await expect(store.deleteKeys(['2030-01-01/r/face.glb', '2030-01-01/r/result.json'])).rejects.toThrow(/AccessDenied/);
    } finally {
      store.destroy();
      server.close();
    }
  });
});
