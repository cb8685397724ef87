/**
 * npm run compare-outputs -- --out <dir>                 capture: every shared photo through the service
 * npm run compare-outputs -- --out <dir> --against <dir> capture, then compare with an earlier capture
 *   (add --compare-only to compare two existing captures)
 *
 * Proves a refactor left the outputs alone: each photo (the astronaut, plus ../shared/photos when it is
 * there) is reconstructed through the gpu-function's signed HTTP API with the default model and, when
 * the team's ICT subset is there, with model=ict; the texture tiles (PNG) and the GLB's vertex
 * positions are kept. Against an earlier capture it prints, per photo and model, the PSNR between
 * textures (dB; "identical" when equal) and the largest vertex displacement (mm, from the GLB's
 * float32 metres). Only the service's public behaviour is used, so the script runs unchanged on
 * both sides of a redesign.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { signRequest } from '@facerecon/shared';
import { buildIctPack } from '../models/scripts/build-ict';
import { decodeImage } from '../gpu-function/src/adapters/image-io';
import { loadConfig } from '../gpu-function/src/service/config';
import { startService } from '../gpu-function/src/service/service';

const { values } = parseArgs({ options: { out: { type: 'string' }, against: { type: 'string' }, 'compare-only': { type: 'boolean', default: false } } });
if (!values.out) throw new Error('usage: compare-outputs --out <dir> [--against <dir>]');
const ROOT = resolve(import.meta.dirname, '..');
const OUT = resolve(values.out);
const SHARED = resolve(ROOT, '../shared');
const SECRET = 'c'.repeat(48);

const photos: Array<[string, string]> = [['astronaut', join(ROOT, '.cache/fixtures/astronaut.png')]];
for (const sub of ['deep3d', '3ddfa', 'identity']) {
  const dir = join(SHARED, 'photos', sub);
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort()) photos.push([`${sub}-${f.replace(/\.\w+$/, '')}`, join(dir, f)]);
}
const ict = join(SHARED, 'ict-facekit');
let ictPack = 'off';
if (existsSync(join(ict, 'generic_neutral_mesh.obj'))) {
  ictPack = join(ROOT, '.cache/compare-ict-pack');
  if (!existsSync(join(ictPack, 'manifest.json'))) buildIctPack(ict, ictPack);
}

const svc = values['compare-only'] ? undefined : await startService(loadConfig({ FACERECON_SIGNING_SECRET: SECRET, PORT: '0', FACERECON_LOCAL_STORE_DIR: join(OUT, '.store'), FACERECON_LOG_LEVEL: 'silent', FACERECON_ICT_PACK: ictPack }));
const models = ictPack === 'off' ? ['mediapipe'] : ['mediapipe', 'ict'];
let captured = 0;
try {
  for (const model of svc ? models : []) {
    for (const [name, path] of photos) {
      const body = new Uint8Array(readFileSync(path));
      const p = `/v1/reconstruct?model=${model}&formats=glb,texture`;
      const res = await fetch(`${svc!.url}${p}`, { method: 'POST', body: body as BodyInit, headers: await signRequest({ secret: SECRET, method: 'POST', pathWithQuery: p, body }) });
      const r = (await res.json()) as { assets?: Record<string, { url: string }> };
      const dir = join(OUT, model, name);
      mkdirSync(dir, { recursive: true });
      if (!r.assets) {
        writeFileSync(join(dir, 'status.txt'), String(res.status));
        continue;
      }
      for (const [kind, a] of Object.entries(r.assets)) {
        if (kind === 'result') continue;
        writeFileSync(join(dir, kind), new Uint8Array(await (await fetch(a.url)).arrayBuffer()));
      }
      captured++;
    }
  }
} finally {
  await svc?.stop();
}
if (svc) console.log(`captured ${captured} reconstructions into ${OUT}`);

/** POSITION of the GLB's first primitive, metres. */
function glbPositions(bytes: Uint8Array): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonLen = dv.getUint32(12, true);
  const json = JSON.parse(new TextDecoder().decode(bytes.subarray(20, 20 + jsonLen))) as { meshes: Array<{ primitives: Array<{ attributes: { POSITION: number } }> }>; accessors: Array<{ bufferView: number; byteOffset?: number; count: number }>; bufferViews: Array<{ byteOffset?: number }> };
  const acc = json.accessors[json.meshes[0].primitives[0].attributes.POSITION];
  const binStart = 20 + jsonLen + 8;
  const off = binStart + (json.bufferViews[acc.bufferView].byteOffset ?? 0) + (acc.byteOffset ?? 0);
  return new Float32Array(new Uint8Array(bytes.subarray(off, off + acc.count * 12)).buffer); // a copy: a Buffer slice shares its pool
}

async function psnr(a: Uint8Array, b: Uint8Array): Promise<number> {
  const [x, y] = [(await decodeImage(a)).image, (await decodeImage(b)).image];
  if (x.width !== y.width || x.height !== y.height) return -1;
  let se = 0;
  for (let i = 0; i < x.data.length; i++) se += (x.data[i] - y.data[i]) ** 2;
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255) / (se / x.data.length));
}

if (values.against) {
  const BEFORE = resolve(values.against);
  const rows: string[] = ['| model | photo | texture PSNR dB | head tile PSNR dB | max vertex shift mm | vertices |', '|---|---|---|---|---|---|'];
  let worstPsnr = Infinity;
  let worstShift = 0;
  for (const model of models) {
    for (const [name] of photos) {
      const a = join(BEFORE, model, name);
      const b = join(OUT, model, name);
      if (!existsSync(join(a, 'glb')) || !existsSync(join(b, 'glb'))) {
        rows.push(`| ${model} | ${name} | ${existsSync(join(a, 'status.txt')) ? `before: ${readFileSync(join(a, 'status.txt'), 'utf8')}` : ''} ${existsSync(join(b, 'status.txt')) ? `after: ${readFileSync(join(b, 'status.txt'), 'utf8')}` : ''} | | | |`);
        continue;
      }
      const t = await psnr(readFileSync(join(a, 'texture')), readFileSync(join(b, 'texture')));
      const h = existsSync(join(a, 'texture_head')) && existsSync(join(b, 'texture_head')) ? await psnr(readFileSync(join(a, 'texture_head')), readFileSync(join(b, 'texture_head'))) : undefined;
      const pa = glbPositions(readFileSync(join(a, 'glb')));
      const pb = glbPositions(readFileSync(join(b, 'glb')));
      let shift = pa.length === pb.length ? 0 : Infinity;
      if (pa.length === pb.length) for (let i = 0; i < pa.length; i++) shift = Math.max(shift, Math.abs(pa[i] - pb[i]) * 1000);
      if (model === 'mediapipe') {
        worstPsnr = Math.min(worstPsnr, t);
        worstShift = Math.max(worstShift, shift);
      }
      const f = (x: number) => (x === Infinity ? 'identical' : x.toFixed(2));
      rows.push(`| ${model} | ${name} | ${f(t)} | ${h === undefined ? '-' : f(h)} | ${shift.toExponential(2)} | ${pb.length / 3} |`);
    }
  }
  console.log(rows.join('\n'));
  console.log(`default model: worst texture PSNR ${worstPsnr === Infinity ? 'identical' : `${worstPsnr.toFixed(2)} dB`} (bar >= 45), worst vertex shift ${worstShift.toExponential(2)} mm (bar <= 1e-4)`);
}
