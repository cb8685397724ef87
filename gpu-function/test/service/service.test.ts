/**
 * The gpu-function over real HTTP on loopback: real models, real photos, the local store, signed
 * requests built the way the edge builds them.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaceReconError, ReconstructOptionsSchema, ReconstructResponseSchema, signRequest } from '@facerecon/shared';
import { chunkedPost } from '../../../e2e/support/chunked-post';
import { onnxModelPath } from '@facerecon/models';
import { createModelSession } from '../../src/adapters/onnx';
import { createFaceLandmarker, type FaceLandmarker } from '../../src/face/landmarker';
import { createMediaPipeFaceModel, type MediaPipeFaceModel } from '../../src/face-models/mediapipe';
import { loadConfig } from '../../src/service/config';
import { startService, type RunningService } from '../../src/service/service';
import { runReconstruction } from '../../src/service/pipeline';
import { ModelRegistry } from '../../src/core/registry';
import { LocalAssetStore } from '../../src/service/store/local';
import { READY_PROBE_TTL_MS } from '../../src/service/app';
import { ICT_SOURCE, ictTestPack, fixture, hasIct } from '../fixtures';
import { readUsdz } from '../usdz-check';
import { createLogger } from '../../src/service/logger';
import { decodeImage, encodeImage } from '../../src/adapters/image-io';
import { cropImage, rotatePixelsCcw } from '../image-ops';
import { ModelPackError, loadModelPack } from '../../src/morph/model-pack';
import { createIctFaceModel, loadIctFaceModel, type IctFaceModel } from '../../src/face-models/ict';

const ICT = ICT_SOURCE;

const SECRET = 'k'.repeat(48);
let landmarker: FaceLandmarker;
let face: MediaPipeFaceModel;
const services: RunningService[] = [];
const astronaut = new Uint8Array(readFileSync(fixture('astronaut.png')));

async function start(env: Record<string, string> = {}, head: IctFaceModel | null = null) {
  const dir = mkdtempSync(join(tmpdir(), 'facerecon-svc-'));
  const config = loadConfig({ FACERECON_SIGNING_SECRET: SECRET, PORT: '0', FACERECON_LOCAL_STORE_DIR: dir, FACERECON_LOG_LEVEL: 'silent', ...env });
  const s = await startService(config, { landmarker, face, head, logger: createLogger('silent') });
  services.push(s);
  return { ...s, dir };
}

async function post(base: string, body: Uint8Array, opts: { query?: string; accept?: string; headers?: Record<string, string>; sign?: boolean; now?: number } = {}) {
  const path = `/v1/reconstruct${opts.query ?? ''}`;
  const signed = opts.sign === false ? {} : await signRequest({ secret: SECRET, method: 'POST', pathWithQuery: path, body, now: opts.now });
  return fetch(`${base}${path}`, { method: 'POST', body: body as BodyInit, headers: { 'content-type': 'application/octet-stream', ...(opts.accept ? { accept: opts.accept } : {}), ...signed, ...opts.headers } });
}

type Queue = { queue?: { running: number; waiting: number } };
const queueOf = async (url: string) => ((await (await fetch(`${url}/readyz`)).json()) as Queue).queue ?? { running: 0, waiting: 0 };
/** Until the service has a request running (true), or 10 s went by (false). */
async function untilRunning(url: string): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < 10_000; await new Promise((r) => setTimeout(r, 5))) if ((await queueOf(url)).running > 0) return true;
  return false;
}
/** Until nothing runs or waits (the work ended, one way or another); throws after 30 s. */
async function untilIdle(url: string): Promise<void> {
  for (const t0 = Date.now(); Date.now() - t0 < 30_000; await new Promise((r) => setTimeout(r, 20))) {
    const q = await queueOf(url);
    if (q.running === 0 && q.waiting === 0) return;
  }
  throw new Error('the service still has work running after 30 s');
}

// Asset files only: the nonce ledger (.ledger/) and probe files are the service's own bookkeeping.
const files = (dir: string): string[] =>
  existsSync(dir) ? readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && !e.name.startsWith('.') && !e.parentPath.includes('.ledger')).map((e) => e.name) : [];

beforeAll(async () => {
  landmarker = await createFaceLandmarker();
  face = createMediaPipeFaceModel();
});
afterAll(async () => {
  for (const s of services) await s.stop();
  await landmarker?.close();
});

describe('gpu-function HTTP API', () => {
  let svc: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    svc = await start();
  });

  it('health and readiness need no signature; metrics are exposed', async () => {
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${svc.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, provider: 'cpu', store: 'local' });
    const metrics = await (await fetch(`${svc.url}/metrics`)).text();
    expect(metrics).toMatch(/facerecon_queue_depth/);
    expect(metrics).toMatch(/facerecon_stage_seconds_bucket/);
  });

  it('/metrics: a bearer token when FACERECON_METRICS_TOKEN is set; without one, not there in production', async () => {
    const token = 'metrics-token-0123456789';
    const guarded = await start({ FACERECON_METRICS_TOKEN: token });
    expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${token.slice(0, -1)}` } })).status).toBe(401);
    const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/facerecon_queue_depth/);
    const production = await start({ NODE_ENV: 'production' });
    expect((await fetch(`${production.url}/metrics`)).status).toBe(404);
    expect((await fetch(`${production.url}/healthz`)).status).toBe(200);
  });

  it('/readyz probes the storage once per READY_PROBE_TTL_MS however often it is asked, and again at once after a failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facerecon-ready-'));
    const store = new LocalAssetStore({ dir, publicUrl: 'http://127.0.0.1', secret: 's'.repeat(32) });
    let probes = 0;
    let failing = false;
    const probe = store.probe.bind(store);
    store.probe = async () => {
      probes++;
      if (failing) throw new Error('bucket down');
      return probe();
    };
    const config = loadConfig({ FACERECON_SIGNING_SECRET: SECRET, PORT: '0', FACERECON_LOCAL_STORE_DIR: dir, FACERECON_LOG_LEVEL: 'silent' });
    const svc = await startService(config, { landmarker, face, head: null, store, logger: createLogger('silent') });
    services.push(svc);
    const startup = probes; // the start-up check
    const answers = await Promise.all(Array.from({ length: 20 }, () => fetch(`${svc.url}/readyz`).then((r) => r.status)));
    expect(answers.every((s) => s === 200)).toBe(true);
    expect(probes - startup).toBe(1);
    for (let i = 0; i < 5; i++) expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
    expect(probes - startup).toBe(1);
    // A failing bucket is not hidden by the cache once it expires, and failures are not cached.
    failing = true;
    await new Promise((r) => setTimeout(r, READY_PROBE_TTL_MS + 50));
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(503);
    expect(probes - startup).toBe(3);
    failing = false;
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
  }, 30_000);

  it('reconstructs a real photo and every signed asset URL downloads the right file', async () => {
    const res = await post(svc.url, astronaut, { query: '?uv_size=1024&lang=en' });
    expect(res.status).toBe(200);
    const body = ReconstructResponseSchema.parse(await res.json());
    expect(Object.keys(body.assets).sort()).toEqual(['glb', 'mtl', 'obj', 'preview', 'preview_geometry', 'result', 'texture', 'texture_grid']);
    expect(Object.keys(body.timings_ms)).toEqual(['preprocess', 'geometry', 'texture', 'export', 'upload', 'total']);
    expect(Math.abs(body.pose.yaw_deg)).toBeLessThan(20);
    expect(body.landmarks.count).toBe(478);
    for (const [kind, a] of Object.entries(body.assets)) {
      const r = await fetch(a.url);
      expect(r.status, kind).toBe(200);
      const bytes = new Uint8Array(await r.arrayBuffer());
      expect(bytes.byteLength, kind).toBe(a.bytes);
      expect(r.headers.get('content-type')!.split(';')[0]).toBe(a.content_type.split(';')[0]);
      expect(r.headers.get('x-content-type-options'), kind).toBe('nosniff');
      if (a.content_type === 'image/png') expect(Array.from(bytes.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
      if (kind === 'glb') expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('glTF');
    }
    // The selfie itself is never stored.
    expect(files(svc.dir).sort()).toEqual(['face.glb', 'face.mtl', 'face.obj', 'preview.png', 'preview_geometry.png', 'result.json', 'texture.png', 'texture_grid.png']);
  });

  it("result.json says which frame the landmarks are in: a phone photo stored sideways (EXIF orientation 6) as displayed", async () => {
    // 512 wide and 400 tall as displayed, stored 400 x 512 on its side with the tag that turns it upright.
    const displayed = cropImage((await decodeImage(astronaut)).image, 0, 40, 512, 400);
    const sideways = await encodeImage(rotatePixelsCcw(displayed), 'jpeg', { quality: 95, exifOrientation: 6 });
    const res = await post(svc.url, sideways, { query: '?formats=glb' });
    expect(res.status).toBe(200);
    const body = ReconstructResponseSchema.parse(await res.json());
    const result = (await (await fetch(body.assets.result!.url)).json()) as { landmarks: { image: { width: number; height: number; frame: string }; image_px: number[][] } };
    expect(result.landmarks.image).toMatchObject({ width: 512, height: 400 });
    expect(result.landmarks.image.frame).toMatch(/EXIF orientation .* applied/);
    expect(body.landmarks.image).toEqual(result.landmarks.image);
    // The points are in that frame: where the same picture sent upright puts them (within JPEG's loss).
    const upright = ReconstructResponseSchema.parse(await (await post(svc.url, await encodeImage(displayed, 'png'), { query: '?formats=glb' })).json());
    const gap = Math.max(...upright.landmarks.image_px.map(([x, y], i) => Math.hypot(x - result.landmarks.image_px[i][0], y - result.landmarks.image_px[i][1])));
    expect(gap).toBeLessThan(4);
  });

  it('returns only the requested formats (plus the result JSON)', async () => {
    const res = await post(svc.url, astronaut, { query: '?formats=glb' });
    const body = await res.json();
    expect(Object.keys(body.assets).sort()).toEqual(['glb', 'result']);
    const bad = await post(svc.url, astronaut, { query: '?formats=fbx' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('INVALID_REQUEST');
  });

  it('streams the five stages in order, then the result (SSE)', async () => {
    const res = await post(svc.url, astronaut, { accept: 'text/event-stream' });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const text = await res.text();
    const events = text.split('\n\n').filter(Boolean).map((b) => ({ event: /^event: (.*)$/m.exec(b)?.[1], data: /^data: (.*)$/m.exec(b)?.[1] }));
    const stages = events.filter((e) => e.event === 'stage').map((e) => JSON.parse(e.data!));
    expect(stages.map((s) => s.stage)).toEqual(['preprocess', 'geometry', 'texture', 'export', 'upload']);
    for (let i = 1; i < stages.length; i++) expect(stages[i].elapsed_ms).toBeGreaterThanOrEqual(stages[i - 1].elapsed_ms);
    expect(events.at(-1)!.event).toBe('result');
    ReconstructResponseSchema.parse(JSON.parse(events.at(-1)!.data!));
  });

  it('rejects unsigned, wrongly signed, stale, replayed and body-swapped requests with 401 BAD_SIGNATURE', async () => {
    const codes: number[] = [];
    codes.push((await post(svc.url, astronaut, { sign: false })).status);
    codes.push((await post(svc.url, astronaut, { headers: { 'x-facerecon-signature': 'a'.repeat(64) } })).status);
    codes.push((await post(svc.url, astronaut, { now: Date.now() - 10 * 60_000 })).status);
    const path = '/v1/reconstruct?formats=glb';
    const headers = await signRequest({ secret: SECRET, method: 'POST', pathWithQuery: path, body: astronaut });
    const first = await fetch(`${svc.url}${path}`, { method: 'POST', body: astronaut, headers });
    expect(first.status).toBe(200);
    codes.push((await fetch(`${svc.url}${path}`, { method: 'POST', body: astronaut, headers })).status); // replay
    const other = new Uint8Array(readFileSync(fixture('coffee.png')));
    const h2 = await signRequest({ secret: SECRET, method: 'POST', pathWithQuery: path, body: astronaut });
    codes.push((await fetch(`${svc.url}${path}`, { method: 'POST', body: other, headers: h2 })).status); // body swapped
    expect(codes).toEqual([401, 401, 401, 401, 401]);
    const body = await (await post(svc.url, astronaut, { sign: false })).json();
    expect(body.error).toMatchObject({ code: 'BAD_SIGNATURE', message_zh: expect.any(String) });
  });

  it('formats=usdz adds the AR Quick Look package, served with its type; it is not in the default set', async () => {
    const r = ReconstructResponseSchema.parse(await (await post(svc.url, astronaut, { query: '?formats=usdz' })).json());
    expect(r.assets.usdz).toMatchObject({ content_type: 'model/vnd.usdz+zip' });
    const res = await fetch(r.assets.usdz!.url);
    expect(res.headers.get('content-type')).toBe('model/vnd.usdz+zip');
    const { stage } = readUsdz(new Uint8Array(await res.arrayBuffer()));
    expect(stage).toMatch(/def Mesh "mesh"/);
    const plain = ReconstructResponseSchema.parse(await (await post(svc.url, astronaut)).json());
    expect(plain.assets.usdz).toBeUndefined();
  });

  it('formats=glb_optimized adds the meshopt + WebP GLB beside the plain one on request only; it is smaller', async () => {
    const r = ReconstructResponseSchema.parse(await (await post(svc.url, astronaut, { query: '?formats=glb,glb_optimized' })).json());
    expect(r.assets.glb_optimized).toMatchObject({ content_type: 'model/gltf-binary' });
    const [opt, plain] = await Promise.all([r.assets.glb_optimized!.url, r.assets.glb!.url].map(async (u) => new Uint8Array(await (await fetch(u)).arrayBuffer())));
    expect(new TextDecoder().decode(opt.subarray(0, 4))).toBe('glTF');
    expect(new TextDecoder().decode(opt)).toMatch(/EXT_meshopt_compression/);
    expect(opt.length).toBeLessThan(plain.length);
    const byDefault = ReconstructResponseSchema.parse(await (await post(svc.url, astronaut)).json());
    expect(byDefault.assets.glb_optimized).toBeUndefined();
  });

  it('texture=albedo: the meshes carry albedo.png (the photo\'s lighting divided out), which comes too; result.json has the lighting', async () => {
    const r = ReconstructResponseSchema.parse(await (await post(svc.url, astronaut, { query: '?formats=obj,glb&texture=albedo' })).json());
    expect(r.assets.albedo).toMatchObject({ content_type: 'image/png' });
    expect(r).not.toHaveProperty('notices'); // everything asked for came
    const get = async (u: string) => new Uint8Array(await (await fetch(u)).arrayBuffer());
    const [albedo, lit, glb, mtl, result] = await Promise.all([r.assets.albedo!.url, r.assets.texture!.url, r.assets.glb!.url, r.assets.mtl!.url, r.assets.result!.url].map(get));
    const contains = (hay: Uint8Array, needle: Uint8Array) => Buffer.from(hay).indexOf(Buffer.from(needle)) >= 0;
    const middle = (png: Uint8Array) => png.subarray(png.length >> 1, (png.length >> 1) + 256);
    expect(contains(glb, middle(albedo))).toBe(true);
    expect(contains(glb, middle(lit))).toBe(false);
    expect(new TextDecoder().decode(mtl)).toMatch(/map_Kd albedo\.png/);
    expect(Buffer.compare(Buffer.from(albedo), Buffer.from(lit))).not.toBe(0);
    const json = JSON.parse(new TextDecoder().decode(result));
    expect(json.lighting.sh).toHaveLength(27);
    expect(json.lighting.sh[0]).toBeGreaterThan(0); // the red DC term: light falls on the face
    expect(json).not.toHaveProperty('detail'); // no formats=detail, no shading-detail block
    // The default stays the photo as lit, with no albedo asset.
    const plain = ReconstructResponseSchema.parse(await (await post(svc.url, astronaut, { query: '?formats=obj' })).json());
    expect(plain.assets.albedo).toBeUndefined();
    expect(new TextDecoder().decode(await get(plain.assets.mtl!.url))).toMatch(/map_Kd texture\.png/);
  });

  // Runs the real shading-detail solve (texture.ts, bake's `detail` option): it fails while the bake
  // leaves TextureSet.detail undefined. The exports themselves are tested on synthetic maps in
  // test/recon/detail-export.test.ts.
  it('formats=detail: normal.png and displacement.png come, the GLB\'s face material has normal.png as normalTexture with a TANGENT attribute, the MTL names the normal map beside the albedo', async () => {
    const r = ReconstructResponseSchema.parse(await (await post(svc.url, astronaut, { query: '?formats=obj,glb,detail&texture=albedo' })).json());
    expect(r.assets.normal).toMatchObject({ content_type: 'image/png' });
    expect(r.assets.displacement).toMatchObject({ content_type: 'image/png' });
    const get = async (u: string) => new Uint8Array(await (await fetch(u)).arrayBuffer());
    const [normal, displacement, glb, mtl, result] = await Promise.all([r.assets.normal!.url, r.assets.displacement!.url, r.assets.glb!.url, r.assets.mtl!.url, r.assets.result!.url].map(get));
    for (const png of [normal, displacement]) expect(Array.from(png.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    const jsonLen = new DataView(glb.buffer, glb.byteOffset).getUint32(12, true);
    const gltf = JSON.parse(new TextDecoder().decode(glb.subarray(20, 20 + jsonLen)));
    const bin = glb.subarray(28 + jsonLen);
    const faceMaterial = gltf.materials[0];
    const view = gltf.bufferViews[gltf.images[gltf.textures[faceMaterial.normalTexture.index].source].bufferView];
    expect(Buffer.compare(Buffer.from(bin.subarray(view.byteOffset, view.byteOffset + view.byteLength)), Buffer.from(normal))).toBe(0);
    const tangent = gltf.accessors[gltf.meshes[0].primitives[0].attributes.TANGENT];
    expect(tangent).toMatchObject({ type: 'VEC4', count: gltf.accessors[gltf.meshes[0].primitives[0].attributes.POSITION].count });
    const text = new TextDecoder().decode(mtl);
    expect(text).toMatch(/^map_Kd albedo\.png$/m);
    expect(text).toMatch(/^norm normal\.png$/m);
    expect(text).not.toMatch(/bump/i); // Blender would read a bump line as a normal map (export-obj.ts writeMtl)
    // result.json says how the maps were made and how to read them.
    const { detail } = JSON.parse(new TextDecoder().decode(result));
    expect(detail).toMatchObject({ normal_map: { file: 'normal.png' }, displacement_map: { file: 'displacement.png' } });
    expect(detail.displacement_map.range_mm).toBeGreaterThan(0);
    expect(detail.evidence_texels).toBeGreaterThan(0);
  });

  it('DELETE /v1/assets/<day>/<folder> erases one asset set, signed only, idempotent; other sets stay', async () => {
    const keep = ReconstructResponseSchema.parse(await (await post(svc.url, astronaut, { query: '?formats=glb' })).json());
    const gone = ReconstructResponseSchema.parse(await (await post(svc.url, astronaut, { query: '?formats=glb,texture' })).json());
    const folder = /\/assets\/(\d{4}-\d{2}-\d{2}\/[0-9a-f]{32})\//.exec(new URL(gone.assets.glb!.url).pathname)![1];
    const del = async (path: string, sign = true) => fetch(`${svc.url}${path}`, { method: 'DELETE', headers: sign ? await signRequest({ secret: SECRET, method: 'DELETE', pathWithQuery: path, body: new Uint8Array(0) }) : {} });
    expect((await del(`/v1/assets/${folder}`, false)).status).toBe(401);
    expect((await fetch(gone.assets.glb!.url)).status).toBe(200);
    expect((await del('/v1/assets/2026-01-01/not-a-folder')).status).toBe(404);
    expect((await del(`/v1/assets/${folder}`)).status).toBe(204);
    for (const a of Object.values(gone.assets)) expect((await fetch(a.url)).status).toBe(404);
    expect((await del(`/v1/assets/${folder}`)).status).toBe(204); // again: nothing left, still fine
    expect((await fetch(keep.assets.glb!.url)).status).toBe(200);
  });

  it('a corrupt image is a clear 400 and the process keeps serving; no face is a 422 in the caller language', async () => {
    const corrupt = astronaut.slice(0, 4000);
    const bad = await post(svc.url, corrupt);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('INVALID_IMAGE');
    const before = files(svc.dir).length;
    const noFace = await post(svc.url, new Uint8Array(readFileSync(fixture('coffee.png'))), { query: '?lang=zh' });
    expect(noFace.status).toBe(422);
    const err = (await noFace.json()).error;
    expect(err.code).toBe('NO_FACE');
    expect(err.message).toBe(err.message_zh);
    expect(files(svc.dir).length).toBe(before); // nothing stored for a failure
    expect((await post(svc.url, astronaut, { query: '?formats=glb' })).status).toBe(200);
  });

  it('model=ict on a service without the ICT pack: 501 MODEL_NOT_INSTALLED in the caller language, nothing stored', async () => {
    const before = files(svc.dir).length;
    for (const [lang, text] of [['en', /not installed/], ['zh', /未安装/]] as const) {
      const res = await post(svc.url, astronaut, { query: `?model=ict&lang=${lang}` });
      expect(res.status).toBe(501);
      const body = await res.json();
      expect(body.error.code).toBe('MODEL_NOT_INSTALLED');
      expect(body.error.message).toMatch(text);
    }
    const bad = await post(svc.url, astronaut, { query: '?model=flame' });
    expect(bad.status).toBe(400);
    expect(files(svc.dir).length).toBe(before);
    // The default model still works on the same service.
    expect((await post(svc.url, astronaut, { query: '?model=mediapipe&formats=glb' })).status).toBe(200);
  });

  it('signed asset URLs cannot be tampered with', async () => {
    const body = await (await post(svc.url, astronaut, { query: '?formats=glb' })).json();
    const url = new URL(body.assets.glb.url);
    const sig = url.searchParams.get('sig')!;
    const tampered = new URL(url);
    tampered.searchParams.set('sig', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
    expect((await fetch(tampered)).status).toBe(403);
    const extended = new URL(url);
    extended.searchParams.set('expires', String(Number(url.searchParams.get('expires')) + 86_400));
    expect((await fetch(extended)).status).toBe(403);
    const traversal = `${svc.url}/assets/..%2F..%2Fetc%2Fpasswd?expires=${url.searchParams.get('expires')}&sig=${sig}`;
    expect((await fetch(traversal)).status).toBe(404);
  });
});

describe('security: identities, replays, bodies (issue 12)', () => {
  it('the caller cannot choose the asset folder: a reused x-request-id gets a new folder and the first set stays intact', async () => {
    const svc = await start();
    const first = await (await post(svc.url, astronaut, { query: '?formats=glb', headers: { 'x-request-id': 'victim-request-0001' } })).json();
    const firstBytes = new Uint8Array(await (await fetch(first.assets.glb.url)).arrayBuffer());
    const second = await (await post(svc.url, new Uint8Array(readFileSync(fixture('astronaut.png'))), { query: '?formats=glb&uv_size=512', headers: { 'x-request-id': 'victim-request-0001' } })).json();
    const folder = (u: string) => new URL(u).pathname.split('/').slice(0, -1).join('/');
    expect(folder(first.assets.glb.url)).not.toBe(folder(second.assets.glb.url));
    expect(folder(first.assets.glb.url)).not.toMatch(/victim/);
    const again = new Uint8Array(await (await fetch(first.assets.glb.url)).arrayBuffer());
    expect(again.byteLength).toBe(firstBytes.byteLength);
    expect(Buffer.compare(Buffer.from(again), Buffer.from(firstBytes))).toBe(0);
  });

  it('a captured signed request is refused after a restart and by another replica sharing the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facerecon-shared-store-'));
    const a = await start({ FACERECON_LOCAL_STORE_DIR: dir });
    const path = '/v1/reconstruct?formats=glb';
    const headers = await signRequest({ secret: SECRET, method: 'POST', pathWithQuery: path, body: astronaut });
    expect((await fetch(`${a.url}${path}`, { method: 'POST', body: astronaut, headers })).status).toBe(200);
    await a.stop();
    services.splice(services.findIndex((s) => s.url === a.url), 1);
    const restarted = await start({ FACERECON_LOCAL_STORE_DIR: dir });
    const replica = await start({ FACERECON_LOCAL_STORE_DIR: dir });
    for (const svc of [restarted, replica]) {
      const res = await fetch(`${svc.url}${path}`, { method: 'POST', body: astronaut, headers });
      expect(res.status).toBe(401);
      expect((await res.json()).error.code).toBe('BAD_SIGNATURE');
    }
  });

  it('an unsigned or forged chunked body is refused before it is read; a signed one is cut off at the size cap, and must hash to what was signed', async () => {
    const svc = await start({ FACERECON_MAX_BODY_BYTES: String(2 * 1024 * 1024) });
    const unsigned = await chunkedPost(`${svc.url}/v1/reconstruct`, {}, 1024 * 1024 * 1024);
    expect(unsigned.status).toBe(401);
    expect(unsigned.sent).toBeLessThan(64 * 1024 * 1024); // of the 1 GB offered
    // Well-formed, current headers whose HMAC is made up: refused on the headers alone (it was read to
    // the size cap first, 413, with the HMAC checked over the read body).
    const forged = await chunkedPost(`${svc.url}/v1/reconstruct`, { 'x-facerecon-timestamp': String(Math.floor(Date.now() / 1000)), 'x-facerecon-nonce': 'ab'.repeat(8), 'x-facerecon-body-sha256': 'ef'.repeat(32), 'x-facerecon-signature': 'cd'.repeat(32) }, 1024 * 1024 * 1024);
    expect(forged.status).toBe(401);
    expect(forged.sent).toBeLessThan(64 * 1024 * 1024);
    const headers = await signRequest({ secret: SECRET, method: 'POST', pathWithQuery: '/v1/reconstruct', body: astronaut });
    const big = await chunkedPost(`${svc.url}/v1/reconstruct`, headers, 1024 * 1024 * 1024);
    expect(big.status).toBe(413);
    // Signed for one photo, carrying another: the body must hash to what was signed.
    const other = astronaut.slice(0, 4000);
    const swapped = await fetch(`${svc.url}/v1/reconstruct`, { method: 'POST', body: other, headers: { ...(await signRequest({ secret: SECRET, method: 'POST', pathWithQuery: '/v1/reconstruct', body: astronaut })), 'content-type': 'application/octet-stream' } });
    expect(swapped.status).toBe(401);
    expect(big.sent).toBeLessThan(64 * 1024 * 1024);
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
  });

  it('a signed-looking request that dribbles its body is cut off at the read deadline, and the service keeps serving', async () => {
    const svc = await start({ FACERECON_REQUEST_READ_TIMEOUT_MS: '1500' });
    const headers = await signRequest({ secret: SECRET, method: 'POST', pathWithQuery: '/v1/reconstruct', body: astronaut });
    const { port } = new URL(svc.url);
    const sock = connect(Number(port), '127.0.0.1');
    let received = '';
    sock.on('data', (d) => (received += d.toString()));
    const closed = new Promise<void>((r) => sock.on('close', () => r()));
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const head = ['POST /v1/reconstruct HTTP/1.1', 'host: 127.0.0.1', 'content-type: application/octet-stream', `content-length: ${astronaut.byteLength}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
    sock.write(head);
    // One byte every 100 ms would take ~11 hours for the astronaut; the server must end it long before.
    let sent = 0;
    const drip = setInterval(() => {
      if (!sock.destroyed) sock.write(astronaut.subarray(sent, ++sent));
    }, 100);
    await closed;
    clearInterval(drip);
    expect(sent).toBeLessThan(astronaut.byteLength);
    expect(received).toMatch(/^HTTP\/1\.1 (408|400|401)/);
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
  });

  it('accepts the previous secret during a rotation, and refuses it once it is removed', async () => {
    const NEW = 'n'.repeat(48);
    const corrupt = astronaut.slice(0, 4000); // past the signature check, cheap to refuse (400)
    const signedWith = async (secret: string) => ({ ...(await signRequest({ secret, method: 'POST', pathWithQuery: '/v1/reconstruct', body: corrupt })), 'content-type': 'application/octet-stream' });
    const during = await start({ FACERECON_SIGNING_SECRET: NEW, FACERECON_SIGNING_SECRET_PREVIOUS: SECRET });
    expect((await fetch(`${during.url}/v1/reconstruct`, { method: 'POST', body: corrupt, headers: await signedWith(SECRET) })).status).toBe(400);
    expect((await fetch(`${during.url}/v1/reconstruct`, { method: 'POST', body: corrupt, headers: await signedWith(NEW) })).status).toBe(400);
    const after = await start({ FACERECON_SIGNING_SECRET: NEW });
    expect((await fetch(`${after.url}/v1/reconstruct`, { method: 'POST', body: corrupt, headers: await signedWith(SECRET) })).status).toBe(401);
    expect((await fetch(`${after.url}/v1/reconstruct`, { method: 'POST', body: corrupt, headers: await signedWith(NEW) })).status).toBe(400);
  });

  it('local asset links signed before a signing-secret rotation keep working during it (paid results), and stop once the old secret is removed', async () => {
    const NEW = 'n'.repeat(48);
    const before = await start();
    const res = await post(before.url, astronaut, { query: '?formats=glb' });
    expect(res.status).toBe(200);
    const glb = new URL(((await res.json()) as { assets: { glb: { url: string } } }).assets.glb.url);
    const at = (svc: { url: string }) => fetch(`${svc.url}${glb.pathname}${glb.search}`);
    const store = { FACERECON_LOCAL_STORE_DIR: before.dir };
    const during = await start({ ...store, FACERECON_SIGNING_SECRET: NEW, FACERECON_SIGNING_SECRET_PREVIOUS: SECRET });
    expect((await at(during)).status).toBe(200);
    // A link that was never signed, or one the new key signs for another file, is still refused.
    expect((await fetch(`${during.url}${glb.pathname}?expires=${glb.searchParams.get('expires')}&sig=${'0'.repeat(64)}`)).status).toBe(403);
    const after = await start({ ...store, FACERECON_SIGNING_SECRET: NEW });
    expect((await at(after)).status).toBe(403);
    // With its own FACERECON_ASSET_SECRET a deployment's links do not depend on the signing secret at all.
    const own = { ...store, FACERECON_ASSET_SECRET: 'a'.repeat(48) };
    const first = await start(own);
    const linked = new URL(((await (await post(first.url, astronaut, { query: '?formats=glb' })).json()) as { assets: { glb: { url: string } } }).assets.glb.url);
    const rotated = await start({ ...own, FACERECON_SIGNING_SECRET: NEW });
    expect((await fetch(`${rotated.url}${linked.pathname}${linked.search}`)).status).toBe(200);
  });

  it('a malformed %-escape in an asset path is a 404, not a 500', async () => {
    const svc = await start();
    const res = await fetch(`${svc.url}/assets/%E0%A4%A?expires=1&sig=${'a'.repeat(64)}`);
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('NOT_FOUND');
  });

  it('an asset swept between its URL check and its read is a 404, not a 500', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facerecon-race-'));
    class SweptOnRead extends LocalAssetStore {
      override read(): Promise<Buffer> {
        return Promise.reject(Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }));
      }
    }
    const store = new SweptOnRead({ dir, publicUrl: 'http://127.0.0.1', secret: 's'.repeat(32) });
    const config = loadConfig({ FACERECON_SIGNING_SECRET: SECRET, PORT: '0', FACERECON_LOCAL_STORE_DIR: dir, FACERECON_LOG_LEVEL: 'silent' });
    const svc = await startService(config, { landmarker, face, head: null, logger: createLogger('silent'), store });
    services.push(svc);
    const key = '2026-12-02/0123456789abcdef0123456789abcdef/face.glb';
    mkdirSync(join(dir, '2026-12-02/0123456789abcdef0123456789abcdef'), { recursive: true });
    writeFileSync(join(dir, key), 'glb');
    const url = new URL(await store.signedUrl(key, 60));
    const res = await fetch(`${svc.url}${url.pathname}${url.search}`);
    expect(res.status).toBe(404);
    expect((await res.json()).error.code).toBe('NOT_FOUND');
  });
});

describe.skipIf(!hasIct)(hasIct ? `model=ict with the ICT-FaceKit pack (${ICT})` : `model=ict service tests skipped: ${ICT} not found`, () => {
  it('returns the full head: texture_head, ARKit weights in [0, 1], identity, and every asset downloads', async () => {
    const pack = loadModelPack(ictTestPack());
    const svc = await start({}, createIctFaceModel({ pack, canonical: face.canonical }));
    const res = await post(svc.url, astronaut, { query: '?model=ict' });
    expect(res.status).toBe(200);
    const body = ReconstructResponseSchema.parse(await res.json());
    expect(body.model).toBe('ict');
    expect(Object.keys(body.assets).sort()).toEqual(['glb', 'mtl', 'obj', 'preview', 'preview_geometry', 'result', 'texture', 'texture_eye', 'texture_grid', 'texture_head']);
    expect(Object.keys(body.morph!.expressions)).toEqual(expect.arrayContaining(['jawOpen', 'mouthSmileLeft', 'eyeBlinkRight'])); // ARKit's names
    expect(body.morph!.unfitted).toContain('tongueOut');
    const own = ReconstructResponseSchema.parse(await (await post(svc.url, astronaut, { query: '?model=ict&formats=glb&expression_names=ict' })).json());
    expect(Object.keys(own.morph!.expressions)).toEqual(expect.arrayContaining(['jawOpen', 'mouthSmile_L', 'eyeBlink_R'])); // ICT's own
    expect(own.morph!.unfitted).toBeUndefined();
    expect(body.morph!.identity).toHaveLength(pack.manifest.identity.count);
    for (const a of Object.values(body.assets)) expect((await fetch(a.url)).status).toBe(200);
    const mtl = await (await fetch(body.assets.mtl!.url)).text();
    expect(mtl).toMatch(/map_Kd texture_head\.png/);
  });

});

describe('capacity and failure behaviour', () => {
  it('a face model that fails to run: 503 MODEL_UNAVAILABLE with Retry-After and nothing stored; three in a row turn /healthz and /readyz unhealthy until a run succeeds', async () => {
    // A real onnxruntime session fed a tensor of the wrong shape: the runtime's own failure, standing in
    // for a lost CUDA context or an out-of-memory run (which this machine cannot produce on demand).
    const iris = await createModelSession(onnxModelPath('iris'), { providers: ['cpu'] });
    const input = iris.inputNames[0];
    let failing = true;
    const flaky: FaceLandmarker = {
      get provider() {
        return landmarker.provider;
      },
      detectFaces: (image, pyramid) => landmarker.detectFaces(image, pyramid),
      async landmarks(image) {
        await iris.run({ [input]: failing ? { data: new Float32Array(3), dims: [1, 1, 1, 3] } : { data: new Float32Array(64 * 64 * 3), dims: [1, 64, 64, 3] } });
        return landmarker.landmarks(image);
      },
      close: async () => undefined,
    };
    const dir = mkdtempSync(join(tmpdir(), 'facerecon-svc-'));
    const svc = await startService(loadConfig({ FACERECON_SIGNING_SECRET: SECRET, PORT: '0', FACERECON_LOCAL_STORE_DIR: dir, FACERECON_LOG_LEVEL: 'silent' }), { landmarker: flaky, face, head: null, logger: createLogger('silent') });
    services.push(svc);
    try {
      const ready = (await (await fetch(`${svc.url}/readyz`)).json()) as { providers: Record<string, string> };
      expect(ready.providers).toMatchObject({ blazeface: 'cpu', facemesh: 'cpu', iris: 'cpu', selfie: 'cpu' });
      for (let i = 1; i <= 3; i++) {
        const res = await post(svc.url, astronaut, { query: '?lang=zh' });
        expect(res.status).toBe(503);
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        const body = await res.json();
        expect(body.error).toMatchObject({ code: 'MODEL_UNAVAILABLE', message: '人脸模型暂时无法运行，请稍后重试' });
        expect(body.error.hint).toMatch(/Idempotency-Key/);
        expect((await fetch(`${svc.url}/healthz`)).status, `after ${i} failed runs`).toBe(i < 3 ? 200 : 503);
      }
      expect(files(dir)).toEqual([]);
      const health = await fetch(`${svc.url}/healthz`);
      expect(await health.json()).toMatchObject({ ok: false, reason: expect.stringMatching(/iris \(cpu\) 3 runs in a row/) });
      expect((await fetch(`${svc.url}/readyz`)).status).toBe(503);
      // The runtime recovers (a run succeeds): alive and ready again, and the request is served.
      failing = false;
      expect((await post(svc.url, astronaut, { query: '?formats=glb' })).status).toBe(200);
      expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
      expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
    } finally {
      await iris.release();
    }
    // A released session no longer counts.
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);
  });

  it('sheds load beyond the queue with 503 OVERLOADED and Retry-After', async () => {
    const svc = await start({ FACERECON_CONCURRENCY: '1', FACERECON_QUEUE_MAX: '1' });
    const responses = await Promise.all([1, 2, 3, 4].map((i) => post(svc.url, astronaut, { query: `?formats=glb&n=${i}` })));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    const shed = responses.filter((r) => r.status === 503);
    expect(shed.length).toBeGreaterThanOrEqual(1);
    expect(Number(shed[0].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await shed[0].json()).error.code).toBe('OVERLOADED');
  });

  it('stops work past the deadline with 504 TIMEOUT and leaves no assets behind', async () => {
    const svc = await start({ FACERECON_DEADLINE_MS: '30' });
    const res = await post(svc.url, astronaut);
    expect(res.status).toBe(504);
    expect((await res.json()).error.code).toBe('TIMEOUT');
    await untilIdle(svc.url); // the aborted job has ended (at its next stage boundary), however slow the machine
    expect(files(svc.dir)).toEqual([]);
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
  });

  it('a deadline that passes while the asset URLs are signed (the last await) leaves nothing in the store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facerecon-sign-'));
    const deadline = new AbortController();
    class AbortsWhileSigning extends LocalAssetStore {
      override async signedUrl(key: string, ttlSeconds: number): Promise<string> {
        deadline.abort(new FaceReconError('TIMEOUT', { detail: 'deadline passed while signing' }));
        return super.signedUrl(key, ttlSeconds);
      }
    }
    const store = new AbortsWhileSigning({ dir, publicUrl: 'http://127.0.0.1:1', secret: 's'.repeat(48) });
    const err = await runReconstruction(astronaut, ReconstructOptionsSchema.parse({}), { landmarker, models: new ModelRegistry([face]), store, ttlSeconds: 60 }, { requestId: 'sign-abort-0001', signal: deadline.signal }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TIMEOUT' });
    expect(files(dir)).toEqual([]);
  });

  it('a caller that hangs up mid-request stops the work: no asset set is stored for nobody', async () => {
    const svc = await start();
    const path = '/v1/reconstruct';
    const ac = new AbortController();
    const sent = fetch(`${svc.url}${path}`, { method: 'POST', body: astronaut as BodyInit, signal: ac.signal, headers: await signRequest({ secret: SECRET, method: 'POST', pathWithQuery: path, body: astronaut }) });
    const outcome = sent.then(() => 'answered', () => 'aborted');
    // Hang up once the work is running, not before it started.
    expect(await untilRunning(svc.url), 'the request was running when the caller hung up').toBe(true);
    ac.abort();
    expect(await outcome).toBe('aborted');
    await untilIdle(svc.url);
    expect(files(svc.dir)).toEqual([]);
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);
  });

  it('graceful stop finishes in-flight work and then refuses connections', async () => {
    const svc = await start();
    const inflight = post(svc.url, astronaut, { query: '?formats=glb' });
    // Stop only once the request is being processed (readiness reports the running jobs).
    let sawRunning = false;
    for (let i = 0; i < 400 && !sawRunning; i++) {
      const r = (await (await fetch(`${svc.url}/readyz`)).json()) as { queue?: { running: number } };
      sawRunning = (r.queue?.running ?? 0) > 0;
      if (!sawRunning) await new Promise((res) => setTimeout(res, 5));
    }
    expect(sawRunning, 'the request was running when the stop began').toBe(true);
    const stopping = svc.stop();
    const res = await inflight;
    expect(res.status).toBe(200);
    await stopping;
    await expect(fetch(`${svc.url}/healthz`)).rejects.toThrow();
    services.splice(services.findIndex((s) => s.url === svc.url), 1);
  });

  it('a named pack that does not load stops start-up, naming the file; "off" disables the model', () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-pack-'));
    expect(() => loadIctFaceModel(empty, face)).toThrow(ModelPackError);
    expect(() => loadIctFaceModel(empty, face)).toThrow(/manifest\.json is missing/);
    expect(loadIctFaceModel('off', face)).toBeUndefined();
  });

  it('refuses plain-http asset or S3 endpoints beyond loopback (signed URLs and keys in clear text)', () => {
    const base = { FACERECON_SIGNING_SECRET: SECRET };
    expect(() => loadConfig({ ...base, FACERECON_PUBLIC_URL: 'http://assets.facerecon.example' })).toThrow(/FACERECON_PUBLIC_URL: .*must use https/);
    expect(() => loadConfig({ ...base, FACERECON_STORE: 's3', S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', S3_ENDPOINT: 'http://storage.example.com' })).toThrow(/S3_ENDPOINT: .*must use https/);
    expect(loadConfig({ ...base, FACERECON_STORE: 's3', S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's', S3_ENDPOINT: 'http://127.0.0.1:9000' }).S3_ENDPOINT).toBe('http://127.0.0.1:9000');
    expect(loadConfig({ ...base, FACERECON_PUBLIC_URL: 'https://assets.facerecon.example' }).publicUrl).toBe('https://assets.facerecon.example');
  });

  it('sweeps expired local assets at start-up, not one interval later (files that expired while the service was stopped)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'facerecon-svc-'));
    const old = join(dir, '2020-01-01', 'a'.repeat(32), 'texture.png');
    const kept = join(dir, '2099-01-01', 'b'.repeat(32), 'texture.png');
    for (const f of [old, kept]) {
      mkdirSync(join(f, '..'), { recursive: true });
      writeFileSync(f, 'x');
    }
    const past = new Date(Date.now() - 3 * 86_400_000);
    utimesSync(old, past, past);
    await start({ FACERECON_LOCAL_STORE_DIR: dir, FACERECON_SWEEP_INTERVAL_S: '86400' });
    for (let i = 0; i < 200 && existsSync(old); i++) await new Promise((r) => setTimeout(r, 25));
    expect(existsSync(old)).toBe(false);
    expect(existsSync(kept)).toBe(true);
  });

  it('refuses an asset TTL an S3 presigned URL cannot keep (7 days at most), where expires_at would promise it', () => {
    const s3 = { FACERECON_SIGNING_SECRET: SECRET, FACERECON_STORE: 's3', S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's' };
    expect(() => loadConfig({ ...s3, FACERECON_ASSET_TTL_S: String(8 * 86_400) })).toThrow(/FACERECON_ASSET_TTL_S: .*7 days/);
    expect(loadConfig({ ...s3, FACERECON_ASSET_TTL_S: '604800' }).FACERECON_ASSET_TTL_S).toBe(604_800);
  });

  it('refuses the local store listening beyond loopback without a public URL (its links would name http://0.0.0.0)', () => {
    const base = { FACERECON_SIGNING_SECRET: SECRET };
    // The image's own settings (HOST=0.0.0.0, NODE_ENV=production) with no store configured.
    expect(() => loadConfig({ ...base, HOST: '0.0.0.0', NODE_ENV: 'production' })).toThrow(/FACERECON_STORE=local listening on 0\.0\.0\.0 needs FACERECON_PUBLIC_URL/);
    expect(() => loadConfig({ ...base, HOST: '::' })).toThrow(/needs FACERECON_PUBLIC_URL/);
    expect(loadConfig({ ...base, HOST: '0.0.0.0', FACERECON_PUBLIC_URL: 'https://gpu.facerecon.example' }).publicUrl).toBe('https://gpu.facerecon.example');
    expect(loadConfig({ ...base, HOST: '0.0.0.0', FACERECON_STORE: 's3', S3_BUCKET: 'b', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's' }).FACERECON_STORE).toBe('s3');
    expect(loadConfig({ ...base, HOST: '127.0.0.1', NODE_ENV: 'production' }).publicUrl).toBe('http://127.0.0.1:8788');
  });

  it('refuses to start without a signing secret or with an unwritable store', async () => {
    expect(() => loadConfig({})).toThrow(/FACERECON_SIGNING_SECRET/);
    expect(() => loadConfig({ FACERECON_SIGNING_SECRET: 'short' })).toThrow(/at least 32/);
    const file = join(mkdtempSync(join(tmpdir(), 'facerecon-')), 'a-file');
    writeFileSync(file, 'not a directory');
    await expect(start({ FACERECON_LOCAL_STORE_DIR: join(file, 'assets') })).rejects.toThrow();
  });
});
