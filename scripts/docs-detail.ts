/**
 * npm run docs:detail: the shading-detail contact sheets (issue 19), docs/detail/contact-sheet*.png
 * and docs/detail/README.md. The shared photos (../shared/photos/identity and deep3d; when that
 * folder is absent, the project's own astronaut.png, and the README says so), each through the
 * default MediaPipe face with albedo and shading detail on, as formats=albedo,detail asks the service.
 * Each row: the photo's face, the lit texture (tile 0, around the face chart), the albedo (the SH
 * lighting divided out), the geometry preview without the detail (flat-shaded, as before), the same
 * view shaded through the detail normal map (what preview_geometry.png shows with formats=detail),
 * and the normal map. A refused photo shows as dark panels, its code in the README's table.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { decodeImage, encodeImage } from '../gpu-function/src/adapters/image-io';
import { renderPreviews } from '../gpu-function/src/core/export';
import { reconstructFace } from '../gpu-function/src/core/reconstruct';
import { ModelRegistry } from '../gpu-function/src/core/registry';
import { createFaceLandmarker } from '../gpu-function/src/face/landmarker';
import { createMediaPipeFaceModel } from '../gpu-function/src/face-models/mediapipe';
import { blit, crop, faceCrop, shrink } from './lib/panels';

const ROOT = resolve(import.meta.dirname, '..');
const PHOTOS = resolve(ROOT, '../shared/photos');
const ASTRONAUT = join(ROOT, '.cache/fixtures/astronaut.png');
const OUT = join(ROOT, 'docs/detail');
/** Panel side, px. Everything is shrunk to it by area averaging, so fine shading survives. */
const P = 192;
const COLUMNS = ['photo', 'lit texture', 'albedo', 'geometry', 'geometry + detail', 'normal map'] as const;
/** Each sheet stays under this many bytes (GitHub shows large PNGs slowly); the rows are split evenly. */
const MAX_SHEET_BYTES = 3_000_000;

const hasShared = existsSync(join(PHOTOS, 'identity')) || existsSync(join(PHOTOS, 'deep3d'));
const photos: string[] = hasShared
  ? ['identity', 'deep3d'].flatMap((set) => {
      const dir = join(PHOTOS, set);
      return existsSync(dir) ? readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort().map((f) => join(dir, f)) : [];
    })
  : [ASTRONAUT];
if (!hasShared) console.log(`docs:detail: ${PHOTOS} not found (the team's shared photos); rendering the project's own astronaut.png only.`);
if (!existsSync(photos[0])) {
  console.error(`docs:detail: ${photos[0]} is missing (npm run fixtures)`);
  process.exit(1);
}

const landmarker = await createFaceLandmarker();
const installed = new ModelRegistry([createMediaPipeFaceModel()]).get('mediapipe');
// The face chart's bounding square in UV (fractions of the tile), from the layout's texel map: the
// texture panels show the face, not the completed margin around it.
const chart = (() => {
  const map = installed.baker.texelMap(0, 1024);
  let x0 = map.size, y0 = map.size, x1 = 0, y1 = 0;
  for (const k of map.texels) {
    const x = k % map.size, y = Math.floor(k / map.size);
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x + 1);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y + 1);
  }
  const side = Math.min(map.size, Math.max(x1 - x0, y1 - y0) * 1.04);
  return { cx: (x0 + x1) / 2 / map.size, cy: (y0 + y1) / 2 / map.size, side: side / map.size };
})();
const facePart = (tile: RgbImage) => {
  const side = Math.round(chart.side * tile.width);
  return shrink(crop(tile, chart.cx * tile.width - side / 2, chart.cy * tile.height - side / 2, side, side), P, P);
};
/** The geometry renders' size: three times the panel, cropped to the mesh and shrunk, so the face fills the panel. */
const R = 3 * P;
/** The square around what is not background (the corner pixel's colour) in a render, 4% margin. */
const meshSquare = (img: RgbImage) => {
  const bg = img.data.subarray(0, 3);
  let x0 = img.width, y0 = img.height, x1 = 0, y1 = 0;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      const o = (y * img.width + x) * 3;
      if (Math.abs(img.data[o] - bg[0]) + Math.abs(img.data[o + 1] - bg[1]) + Math.abs(img.data[o + 2] - bg[2]) <= 6) continue;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x + 1);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y + 1);
    }
  }
  if (x1 <= x0) return { x0: 0, y0: 0, side: img.width };
  const side = Math.min(img.width, Math.round(Math.max(x1 - x0, y1 - y0) * 1.04));
  return { x0: (x0 + x1) / 2 - side / 2, y0: (y0 + y1) / 2 - side / 2, side };
};
const dark = () => {
  const img = createRgbImage(P, P);
  img.data.fill(40);
  return img;
};

interface Row {
  photo: string;
  status: string;
  yaw?: number;
  uv?: number;
  lighting?: { inlierShare: number; samples: number };
  detail?: { rmsHeightMm: number; rangeMm: number; evidenceTexels: number; iterations: number; relResidual: number; workSize: number };
}
const rows: Array<{ row: Row; strip: RgbImage }> = [];
const t0 = performance.now();
for (const path of photos) {
  const name = relative(hasShared ? PHOTOS : join(ROOT, '.cache'), path);
  const strip = createRgbImage(COLUMNS.length * P, P);
  for (let c = 1; c < COLUMNS.length; c++) blit(strip, dark(), c * P, 0);
  const { image } = await decodeImage(new Uint8Array(readFileSync(path)));
  const lm = await landmarker.landmarks(image);
  if (lm.faces[0]) blit(strip, shrink(faceCrop(image, lm.faces[0].box), P, P), 0, 0);
  const row: Row = { photo: name, status: lm.ok ? 'ok' : lm.code };
  if (lm.ok) {
    const recon = reconstructFace(installed, image, lm.face, { uvSize: 1024, albedo: true, detail: true });
    const { textures, head } = recon;
    row.status = head.mode.conservative.enabled ? `ok (conservative: ${head.mode.conservative.reasons.join(', ')})` : 'ok';
    row.yaw = head.geometry.pose.yaw;
    row.uv = textures.tiles[0].width;
    if (textures.lighting) row.lighting = { inlierShare: textures.lighting.inlierShare, samples: textures.lighting.samples };
    blit(strip, facePart(textures.tiles[0]), P, 0);
    if (textures.albedo) blit(strip, facePart(textures.albedo), 2 * P, 0);
    const plain = renderPreviews(installed.model, head, { ...textures, detail: undefined }, R).geometry;
    const detailed = textures.detail ? renderPreviews(installed.model, head, textures, R).geometry : undefined;
    const box = meshSquare(plain);
    blit(strip, shrink(crop(plain, box.x0, box.y0, box.side, box.side), P, P), 3 * P, 0);
    if (textures.detail) {
      const d = textures.detail;
      blit(strip, shrink(crop(detailed!, box.x0, box.y0, box.side, box.side), P, P), 4 * P, 0);
      blit(strip, facePart(d.normal), 5 * P, 0);
      row.detail = { rmsHeightMm: d.stats.rmsHeightMm, rangeMm: d.rangeMm, evidenceTexels: d.stats.evidenceTexels, iterations: d.stats.iterations, relResidual: d.stats.relResidual, workSize: d.workSize };
    } else {
      row.status += '; no detail (no lighting estimate)';
    }
  }
  rows.push({ row, strip });
  console.log(`docs:detail: ${name}: ${row.status}${row.detail ? `, detail rms ${row.detail.rmsHeightMm.toFixed(2)} mm` : ''}`);
}
await landmarker.close();

// Sheets: as few as keep each PNG under MAX_SHEET_BYTES, the rows split evenly between them.
mkdirSync(OUT, { recursive: true });
// JPEG: photographs and shaded renders; the sheets are a record to look at, not data to measure.
for (const f of readdirSync(OUT)) if (/^contact-sheet(-\d+)?\.(png|jpg)$/.test(f)) rmSync(join(OUT, f));
let sheets: Array<{ file: string; first: number; last: number; png: Uint8Array }> = [];
for (let n = 1; n <= rows.length; n++) {
  const per = Math.ceil(rows.length / n);
  sheets = [];
  for (let s = 0; s * per < rows.length; s++) {
    const part = rows.slice(s * per, (s + 1) * per);
    const sheet = createRgbImage(COLUMNS.length * P, part.length * P);
    part.forEach(({ strip }, i) => blit(sheet, strip, 0, i * P));
    sheets.push({ file: n === 1 ? 'contact-sheet.jpg' : `contact-sheet-${s + 1}.jpg`, first: s * per + 1, last: s * per + part.length, png: await encodeImage(sheet, 'jpeg', { quality: 88 }) });
  }
  if (sheets.every((s) => s.png.byteLength <= MAX_SHEET_BYTES)) break;
}
for (const s of sheets) writeFileSync(join(OUT, s.file), s.png);

const f = (x: number | undefined, d: number) => (x === undefined ? '' : x.toFixed(d));
const table = rows.map(({ row: r }, i) => `| ${i + 1} | ${r.photo} | ${r.status} | ${f(r.yaw, 0)} | ${r.uv ?? ''} | ${f(r.lighting?.inlierShare, 2)} | ${f(r.detail?.rmsHeightMm, 2)} | ${f(r.detail?.rangeMm, 2)} | ${r.detail?.evidenceTexels ?? ''} | ${r.detail ? `${r.detail.iterations} (${r.detail.relResidual.toExponential(1)})` : ''} |`);
const sheetLinks = sheets.map((s) => (sheets.length === 1 ? `![contact sheet](${s.file})\n` : `Rows ${s.first}-${s.last}:\n\n![contact sheet, rows ${s.first}-${s.last}](${s.file})\n`));
writeFileSync(
  join(OUT, 'README.md'),
  [
    '# Shading detail: lit texture, albedo, geometry with and without detail (issue 19)',
    '',
    hasShared
      ? `\`npm run docs:detail\` renders this from the shared photos (\`../shared/photos/identity\` and \`deep3d\`, ${rows.length} photos),`
      : '`npm run docs:detail` renders this; `../shared/photos` (the team\'s shared photos) was absent when it last ran, so it shows the project\'s own `astronaut.png` only;',
    'each through the default face model with `formats=albedo,detail` (`reconstructFace(..., { uvSize: 1024, albedo: true, detail: true })`).',
    '',
    'Columns, left to right:',
    '',
    '1. **photo**: the face as detected (1.8x the face box).',
    '2. **lit texture**: the face tile (`texture.png`) around the face chart, the photo as it was lit.',
    '3. **albedo**: `albedo.png`, the same with the photo\'s estimated lighting (second-order SH per channel, `result.json` `lighting`) divided out.',
    '4. **geometry**: `preview_geometry.png` without the detail: the fitted mesh, flat grey, shaded by its own normals (as before issue 19).',
    '5. **geometry + detail**: the same view shaded through the detail normal map, as `preview_geometry.png` is with `formats=detail`.',
    '6. **normal map**: `normal.png` around the face chart (tangent space, glTF/OpenGL: R = +u, G = up the image, B = out; flat is (128, 128, 255)).',
    '',
    'Method: the residual shading that the fitted mesh\'s normals do not explain under the estimated SH lighting is read',
    'as a height along the normal by linearised shape-from-shading in UV space (Kemelmacher-Shlizerman & Basri 2011), on',
    'clear skin only and with the albedo taken as smooth; a screened least-squares term (in the spirit of Nehab et al.',
    '2005) pins the height to the mesh at scales over ~12 mm, so only folds and wrinkles come from shading and the',
    'face\'s overall shape stays the mesh\'s (`gpu-function/src/recon/shading-detail.ts`).',
    '',
    'Regenerate: `npm run docs:detail` (about half a minute on the shared photos; a refused photo shows dark panels, its code in',
    'the table). The geometry views are rendered at three times the panel size, cropped to the face (the same square for',
    'both) and shrunk by area averaging.',
    '',
    ...sheetLinks,
    'Per photo: the status (conservative mode bakes at 512), yaw (degrees), the face tile\'s size, the lighting fit\'s inlier',
    'share, and the detail\'s RMS height over the face chart, the displacement map\'s range (mm per 127 levels), the',
    'working-grid texels with shading evidence and the solver\'s iterations (relative residual).',
    '',
    '| row | photo | status | yaw | tile | lighting inliers | rms height mm | range mm | evidence texels | iterations |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...table,
    '',
  ].join('\n'),
);
console.log(`docs:detail: ${sheets.map((s) => `${join(OUT, s.file)} (${(s.png.byteLength / 1e6).toFixed(2)} MB)`).join(', ')} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
process.exit(0);
