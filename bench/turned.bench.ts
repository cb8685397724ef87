/**
 * npm run bench:turned [-- --write] [--only name,...] [--rows] (also part of bench:quality; --rows prints each photo's measures)
 * Turned and backlit heads (issue 20), on the shared portraits (well exposed, mostly frontal) and on the
 * AFLW2000-3D dev split's photos with |yaw| 25-65 degrees (../shared/eval; skipped, and said so, when
 * absent). Per photo the default model reconstructs at 1024 as the service does, then:
 * - refusals: the landmark quality gate's codes per yaw bin (a refused photo has no texture to measure);
 * - background leakage: the share of face-chart texels whose colour the photo's background explains
 *   better than its face. Background: pixels the person segmentation calls background (p < 0.2)
 *   outside the landmarks' box; face: pixels inside the face oval. Both as 16-level RGB
 *   histograms, after the texture's own colour correction; a texel leaks when its bin holds >= 0.1% of
 *   the background and < 0.02% of the face: a colour of the background that the face does not have
 *   (a background of skin's colour cannot be told from skin, and is not counted);
 * - seam contrast: the mean luminance step across the contour where the bake's own weight crosses 0.5
 *   (photo-sampled on one side, completed on the other), over the mean step between neighbouring
 *   photo-sampled texels (weight >= 0.9); 1 means the seam is invisible in the texture's own texture;
 * - reprojection PSNR (core/quality.ts) by yaw bin;
 * - exposure: the median over the 468 landmarks of texture luminance over photo luminance at the same
 *   surface point, and the skin luminance before/after the colour correction of faces metered as backlit.
 * Run from an older checkout (copied in) it measures that version's behaviour: that is how the
 * "before" column of bench/RESULTS.md was taken.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { RgbImage } from '@facerecon/shared';
import { decodeImage, encodePng, readImageFile } from '../gpu-function/src/adapters/image-io';
import { createFaceLandmarker } from '../gpu-function/src/face/landmarker';
import { personMaskSampler } from '../gpu-function/src/face/person-mask';
import { reprojectionPsnr } from '../gpu-function/src/core/quality';
import { reconstructFace } from '../gpu-function/src/core/reconstruct';
import { ModelRegistry } from '../gpu-function/src/core/registry';
import { createMediaPipeFaceModel } from '../gpu-function/src/face-models/mediapipe';
import { bakeUvTexture } from '../gpu-function/src/recon/bake';
import { loadCanonicalFace } from '../gpu-function/src/recon/canonical';
import { FACE_OVAL } from '../gpu-function/src/morph/calibration';
import { machineLine } from './stats';
import { resultsLog, writeResultsSection } from './results-file';

const { values } = parseArgs({ options: { write: { type: 'boolean', default: false }, limit: { type: 'string' }, only: { type: 'string' }, rows: { type: 'boolean', default: false } } });
const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared');
const AFLW = join(SHARED, 'eval/aflw2000-dev');

type Photo = { name: string; group: 'shared' | 'aflw'; yaw?: number; load: () => Promise<RgbImage> };
const photos: Photo[] = [];
for (const d of ['deep3d', 'identity']) {
  const dir = join(SHARED, 'photos', d);
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort()) photos.push({ name: `${d}/${f}`, group: 'shared', load: async () => (await readImageFile(join(dir, f))).image });
}
if (existsSync(AFLW)) {
  for (const f of readdirSync(AFLW).filter((n) => n.endsWith('.json')).sort()) {
    const meta = JSON.parse(readFileSync(join(AFLW, f), 'utf8')) as { image: string; pose_deg: { yaw: number } };
    const yaw = Math.abs(meta.pose_deg.yaw);
    if (yaw < 25 || yaw > 65) continue;
    photos.push({ name: meta.image, group: 'aflw', yaw, load: async () => (await decodeImage(new Uint8Array(readFileSync(join(AFLW, meta.image))))).image });
  }
}
if (photos.length === 0) {
  console.log(`bench:turned: neither ${SHARED}/photos nor ${AFLW} found; nothing measured.`);
  process.exit(0);
}
const only = values.only?.split(',');
const selected = photos.filter((p) => !only || only.some((o) => p.name.includes(o))).slice(0, values.limit ? Number(values.limit) : undefined);

const lum = (r: number, g: number, b: number) => 0.2126 * r + 0.7152 * g + 0.0722 * b;
const canonical = loadCanonicalFace();
const landmarker = await createFaceLandmarker();
const installed = new ModelRegistry([createMediaPipeFaceModel()]).get('mediapipe');

interface Row {
  name: string;
  group: Photo['group'];
  yawBin: string;
  refused?: string;
  leak?: number;
  seam?: number;
  /** The seam measure over the boundary pairs the photo reaches on both sides: the texture's, and the photo's own samples'. */
  seamSeen?: { texture: number; photo: number };
  psnr?: number;
  exposure?: number;
  backlit?: { before: number; after: number };
}
const bin = (yaw: number) => (yaw <= 30 ? '25-30' : yaw <= 45 ? '30-45' : '45-65');
const rows: Row[] = [];

/** Even-odd point-in-polygon. */
const inside = (x: number, y: number, xs: number[], ys: number[]) => {
  let c = false;
  for (let i = 0, j = xs.length - 1; i < xs.length; j = i++) if (ys[i] > y !== ys[j] > y && x < ((xs[j] - xs[i]) * (y - ys[i])) / (ys[j] - ys[i]) + xs[i]) c = !c;
  return c;
};

for (const p of selected) {
  const image = await p.load();
  const lm = await landmarker.landmarks(image);
  const row: Row = { name: p.name, group: p.group, yawBin: p.yaw === undefined ? 'shared' : bin(p.yaw) };
  rows.push(row);
  if (!lm.ok) {
    row.refused = lm.code;
    continue;
  }
  const face = lm.face;
  const recon = reconstructFace(installed, image, face, { uvSize: 1024 });
  const tex = recon.textures.tiles[0];
  const size = tex.width;
  const luts = recon.textures.colourLuts;
  const corrected = (o: number): [number, number, number] => (luts ? [luts[0][image.data[o]], luts[1][image.data[o + 1]], luts[2][image.data[o + 2]]] : [image.data[o], image.data[o + 1], image.data[o + 2]]);

  // The bake's own weights (before completion), for the seam.
  const map = installed.baker.texelMap(0, recon.head.mode.uvSize);
  const baked = bakeUvTexture({ mesh: recon.head.mesh, camera: recon.head.geometry.camera, photo: image, texelMap: map, personMask: face.personMask });
  const w = baked.weight;

  // Background vs face colour models.
  const pts = face.points;
  const xs: number[] = [], ys: number[] = [];
  for (let i = 0; i < 468; i++) {
    xs.push(pts[3 * i]);
    ys.push(pts[3 * i + 1]);
  }
  const bx0 = Math.min(...xs), bx1 = Math.max(...xs), by0 = Math.min(...ys), by1 = Math.max(...ys);
  const cx = (bx0 + bx1) / 2, cy = (by0 + by1) / 2;
  const ovx = FACE_OVAL.map((i) => pts[3 * i]);
  const ovy = FACE_OVAL.map((i) => pts[3 * i + 1]);
  const B = 16;
  const hb = new Float64Array(B ** 3), hf = new Float64Array(B ** 3);
  let nb = 0, nf = 0;
  const sample = face.personMask ? personMaskSampler(face.personMask) : undefined;
  const binOf = (c: readonly number[]) => ((Math.min(255, c[0]) >> 4) * B + (Math.min(255, c[1]) >> 4)) * B + (Math.min(255, c[2]) >> 4);
  for (let y = 0; y < image.height; y += 2) {
    for (let x = 0; x < image.width; x += 2) {
      const o = 3 * (y * image.width + x);
      const px = x + 0.5, py = y + 0.5;
      if (px > bx0 && px < bx1 && py > by0 && py < by1) {
        if (inside(px, py, ovx, ovy)) {
          hf[binOf(corrected(o))]++;
          nf++;
        }
      } else if (sample && sample(px, py) < 0.2 && Math.hypot(px - cx, py - cy) < 1.5 * Math.max(bx1 - bx0, by1 - by0)) {
        hb[binOf(corrected(o))]++;
        nb++;
      }
    }
  }
  if (nb > 200 && nf > 200) {
    let leak = 0;
    for (let k = 0; k < map.texels.length; k++) {
      const o = 3 * map.texels[k];
      const b = binOf([tex.data[o], tex.data[o + 1], tex.data[o + 2]]);
      const pb = hb[b] / nb, pf = hf[b] / nf;
      if (pb >= 1e-3 && pf < 2e-4) {
        leak++;
        if (process.env.LEAK_DEBUG && p.name.includes(process.env.LEAK_DEBUG)) tex.data.set([255, 0, 255], o);
      }
    }
    if (process.env.LEAK_DEBUG && p.name.includes(process.env.LEAK_DEBUG)) writeFileSync(`/tmp/leak-${p.name.replace(/\W/g, '_')}.png`, await encodePng(tex));
    row.leak = leak / map.texels.length;
  }

  // Seam contrast.
  const L = (i: number) => lum(tex.data[3 * i], tex.data[3 * i + 1], tex.data[3 * i + 2]);
  // Beside it, the same measure over the boundary pairs where the photo reaches both texels (weight > 0.05),
  // on the texture and on the photo's own samples (the bake's colours): how much of the contrast at the
  // contour is the photo's (hairline, jaw shadow, ear) rather than the completion's.
  const R = (i: number) => lum(baked.color[3 * i], baked.color[3 * i + 1], baked.color[3 * i + 2]);
  let seamSum = 0, seamN = 0, inSum = 0, inN = 0, seenTex = 0, seenRaw = 0, seenN = 0, inRaw = 0;
  for (let y = 0; y < size - 1; y++) {
    for (let x = 0; x < size - 1; x++) {
      const i = y * size + x;
      if (!map.covered[i]) continue;
      for (const j of [i + 1, i + size]) {
        if (!map.covered[j]) continue;
        const d = Math.abs(L(i) - L(j));
        if ((w[i] >= 0.5) !== (w[j] >= 0.5)) {
          seamSum += d;
          seamN++;
          if (w[i] > 0.05 && w[j] > 0.05) {
            seenTex += d;
            seenRaw += Math.abs(R(i) - R(j));
            seenN++;
          }
        } else if (w[i] >= 0.9 && w[j] >= 0.9) {
          inSum += d;
          inRaw += Math.abs(R(i) - R(j));
          inN++;
        }
      }
    }
  }
  if (seamN > 50 && inN > 50) row.seam = seamSum / seamN / (inSum / inN);
  if (seenN > 50 && inN > 50) row.seamSeen = { texture: seenTex / seenN / (inSum / inN), photo: seenRaw / seenN / (inRaw / inN) };

  row.psnr = reprojectionPsnr(image, recon).psnrDb;

  // Exposure over the landmarks' surface points.
  const ratios: number[] = [];
  for (let i = 0; i < 468; i++) {
    const tx = Math.min(size - 1, Math.floor(canonical.uvs[2 * i] * size));
    const ty = Math.min(size - 1, Math.floor(canonical.uvs[2 * i + 1] * size));
    const px = Math.min(image.width - 1, Math.max(0, Math.floor(pts[3 * i])));
    const py = Math.min(image.height - 1, Math.max(0, Math.floor(pts[3 * i + 1])));
    const o = 3 * (py * image.width + px);
    const lp = lum(image.data[o], image.data[o + 1], image.data[o + 2]);
    const q = 3 * (ty * size + tx);
    if (lp > 8) ratios.push(lum(tex.data[q], tex.data[q + 1], tex.data[q + 2]) / lp);
  }
  ratios.sort((a, b) => a - b);
  row.exposure = ratios[Math.floor(ratios.length / 2)];
  const colour = recon.textures.colour as { backlit?: boolean; skinBefore: number[]; skinAfter: number[] };
  if (colour.backlit) row.backlit = { before: lum(colour.skinBefore[0], colour.skinBefore[1], colour.skinBefore[2]), after: lum(colour.skinAfter[0], colour.skinAfter[1], colour.skinAfter[2]) };
}
await landmarker.close();
if (values.rows) for (const r of rows) console.log(`ROW ${r.name} ${r.yawBin} leak=${((r.leak ?? 0) * 100).toFixed(2)} seam=${r.seam?.toFixed(2)} seen=${r.seamSeen?.texture.toFixed(2)}/${r.seamSeen?.photo.toFixed(2)} psnr=${r.psnr?.toFixed(1)} ${r.refused ?? ""}`);

const med = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
};
const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
const { lines, log } = resultsLog();
log('| group | photos | refused | background leakage % (median / max; <= 0.5 wanted) | seam contrast (median / max; <= 1.2 wanted) | reprojection PSNR dB (median / min) | texture/photo luminance (median / range) |');
log('|---|---|---|---|---|---|---|');
for (const g of ['shared', '25-30', '30-45', '45-65']) {
  const rs = rows.filter((r) => r.yawBin === g);
  if (!rs.length) continue;
  const ok = rs.filter((r) => !r.refused);
  const refusals: Record<string, number> = {};
  for (const r of rs) if (r.refused) refusals[r.refused] = (refusals[r.refused] ?? 0) + 1;
  const leaks = ok.map((r) => r.leak).filter((x): x is number => x !== undefined).map((x) => 100 * x);
  const seams = ok.map((r) => r.seam).filter((x): x is number => x !== undefined);
  const psnrs = ok.map((r) => r.psnr!);
  const exps = ok.map((r) => r.exposure!);
  const label = g === 'shared' ? 'shared portraits (well exposed)' : `AFLW2000-3D dev, yaw ${g}`;
  log(
    `| ${label} | ${rs.length} | ${Object.entries(refusals).map(([k, v]) => `${k} ${v}`).join(', ') || '0'} | ${f(med(leaks))} / ${f(Math.max(...leaks))} | ${f(med(seams))} / ${f(Math.max(...seams))} | ${f(med(psnrs), 1)} / ${f(Math.min(...psnrs), 1)} | ${f(med(exps))} / ${f(Math.min(...exps))}-${f(Math.max(...exps))} |`,
  );
}
log('');
log(
  `Seam contrast over the boundary pairs the photo reaches on both sides (weight > 0.05), texture / the photo's own samples there, median by group: ${['shared', '25-30', '30-45', '45-65']
    .map((g) => {
      const ss = rows.filter((r) => r.yawBin === g && !r.refused && r.seamSeen).map((r) => r.seamSeen!);
      return ss.length ? `${g} ${f(med(ss.map((x) => x.texture)))} / ${f(med(ss.map((x) => x.photo)))}` : undefined;
    })
    .filter(Boolean)
    .join(', ')}. Where the two agree, the contour's contrast is the photo's (hairline, the jaw's shadow, an ear), which no completion removes.`,
);
const backlit = rows.filter((r) => r.backlit);
log('');
log(
  backlit.length
    ? `Faces metered as backlit: ${backlit.length} (${backlit.map((r) => `${r.name.replace(/\.jpg$/, '')} skin ${r.backlit!.before.toFixed(0)} -> ${r.backlit!.after.toFixed(0)}`).join(', ')}).`
    : 'No face was metered as backlit.',
);
log(`Shared portraits whose texture is > 10% brighter than the photo: ${rows.filter((r) => r.group === 'shared' && (r.exposure ?? 1) > 1.1).map((r) => `${r.name} ${r.exposure!.toFixed(2)}x`).join(', ') || 'none'} (the highlight rule: a photo whose brightest 1% is dim is brightened, at most 2x in linear light).`);
log(`Reprojection PSNR under 28 dB: ${rows.filter((r) => (r.psnr ?? 99) < 28).map((r) => `${r.name} ${r.psnr!.toFixed(1)} dB`).join(', ') || 'none'}.`);
log(`Photos over 0.5% leakage: ${rows.filter((r) => (r.leak ?? 0) > 0.005).map((r) => `${r.name} ${(100 * r.leak!).toFixed(1)}%`).join(', ') || 'none'}.`);
log('');
log(`Default model at 1024, as the service runs it. Machine: ${await machineLine()}.`);
if (values.write) writeResultsSection('turned', 'Turned and backlit heads (`npm run bench:turned`)', lines);
process.exit(0);
