/**
 * npm run bench:quality [-- --write]
 * Quality of the reconstruction on the real photos in ../shared (and the project's astronaut):
 * reprojection PSNR inside the face mask, landmark reprojection error of the canonical fit, UV coverage
 * (from photo / mirrored / interpolated), and a contact sheet per photo (photo, landmarks, UV texture,
 * preview) written to docs/contact-sheets/. --write records the table in bench/RESULTS.md.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { encodePng, readImageFile } from '../gpu-function/src/adapters/image-io';
import { createFaceLandmarker } from '../gpu-function/src/face/landmarker';
import { drawLandmarkOverlay } from '../gpu-function/src/face/overlay';
import { buildPyramid, sampleRotatedCrop } from '../gpu-function/src/face/raster';
import { renderPreviews } from '../gpu-function/src/core/export';
import { reprojectionPsnr } from '../gpu-function/src/core/quality';
import { reconstructFace } from '../gpu-function/src/core/reconstruct';
import { ModelRegistry } from '../gpu-function/src/core/registry';
import { createMediaPipeFaceModel } from '../gpu-function/src/face-models/mediapipe';
import { fmt, machineLine, median } from './stats';
import { measureHeads } from './head-quality';
import { createIctFaceModel } from '../gpu-function/src/face-models/ict';
import { loadModelPack } from '../gpu-function/src/morph/model-pack';
import { loadCanonicalFace } from '../gpu-function/src/recon/canonical';
import { ICT_SOURCE_LABEL, hasIct, ictTestPack } from '../scripts/lib/ict-pack';
import { resultsLog, writeResultsSection } from './results-file';

// --no-flip: the landmarker without horizontal-flip averaging (issue 18's change to the landmarks that
// feed the fit), to show what it does downstream; measures only (no contact sheets, nothing recorded).
const { values } = parseArgs({ options: { write: { type: 'boolean', default: false }, 'no-flip': { type: 'boolean', default: false } } });
const NO_FLIP = values['no-flip'];
const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared/photos');
const SHEETS = join(ROOT, 'docs/contact-sheets');
const photos: Array<[string, string]> = [['astronaut.png', join(ROOT, '.cache/fixtures/astronaut.png')]];
if (existsSync(SHARED)) {
  for (const f of readdirSync(join(SHARED, 'deep3d')).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort()) photos.push([`deep3d/${f}`, join(SHARED, 'deep3d', f)]);
  photos.push(['3ddfa/JianzhuGuo.jpg', join(SHARED, '3ddfa/JianzhuGuo.jpg')]);
} else {
  console.warn(`${SHARED} not found: quality measured on the project's own photo only`);
}
mkdirSync(SHEETS, { recursive: true });

const PANEL = 128;
const sq = (img: RgbImage, cx: number, cy: number, size: number) =>
  Uint8ClampedArray.from(sampleRotatedCrop(buildPyramid(img), { cx, cy, size, angle: 0 }, { size: PANEL, scale: 255, offset: 0 }));

const landmarker = await createFaceLandmarker({ flipAverage: !NO_FLIP });
if (NO_FLIP) console.log('without flip averaging (--no-flip): measures only');
const installed = new ModelRegistry([createMediaPipeFaceModel()]).get('mediapipe');
const { lines, log } = resultsLog();
log('| photo | pose yaw/pitch/roll | uv | PSNR dB | canonical fit error px (% of IOD) | from photo / mirror / interpolated | skin r/g, b/g | colour | conservative |');
log('|---|---|---|---|---|---|---|---|---|');
const psnrs: number[] = [];
const errs: number[] = [];
const index: string[] = [];
for (const [name, path] of photos) {
  const { image } = await readImageFile(path);
  const lm = await landmarker.landmarks(image);
  if (!lm.ok) {
    log(`| ${name} | ${lm.code} | | | | | | | |`);
    continue;
  }
  const recon = reconstructFace(installed, image, lm.face, { uvSize: 1024 });
  const q = reprojectionPsnr(image, recon);
  const g = recon.head.geometry;
  const uvSize = recon.head.mode.uvSize;
  const p = lm.face.points;
  const iod = Math.hypot(p[3 * 468] - p[3 * 473], p[3 * 468 + 1] - p[3 * 473 + 1]);
  psnrs.push(q.psnrDb);
  errs.push(g.canonicalReprojectionErrorPx / iod);
  const c = recon.textures.completion;
  const s = recon.textures.colour.skinBefore;
  log(
    `| ${name} | ${g.pose.yaw.toFixed(0)} / ${g.pose.pitch.toFixed(0)} / ${g.pose.roll.toFixed(0)} | ${uvSize} | ${q.psnrDb.toFixed(1)} | ${g.canonicalReprojectionErrorPx.toFixed(1)} (${((100 * g.canonicalReprojectionErrorPx) / iod).toFixed(1)}%) | ` +
      `${(100 * c.fromPhoto).toFixed(0)}% / ${(100 * c.fromMirror).toFixed(0)}% / ${(100 * c.interpolated).toFixed(0)}% | ` +
      `${s[1] ? `${(s[0] / s[1]).toFixed(2)}, ${(s[2] / s[1]).toFixed(2)}` : 'n/a'} | ${recon.textures.colour.applied ? `exposure x${recon.textures.colour.exposureGain}, wb ${recon.textures.colour.whiteBalanceGains.join('/')}` : 'none'} | ${recon.head.mode.conservative.enabled ? recon.head.mode.conservative.reasons.join('; ') : 'no'} |`,
  );

  // Contact sheet: photo | landmarks | UV texture | preview.
  const box = lm.face.detection.box;
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  const side = Math.max(box.width, box.height) * 1.6;
  const overlay = drawLandmarkOverlay(image, lm);
  const { preview } = renderPreviews(installed.model, recon.head, recon.textures, PANEL * 2);
  const panels = [
    sq(image, cx, cy, side),
    sq(overlay, cx, cy, side),
    sq(recon.textures.tiles[0], uvSize / 2, uvSize / 2, uvSize),
    sq(preview, PANEL, PANEL, PANEL * 2),
  ];
  const sheet = createRgbImage(PANEL * panels.length, PANEL);
  panels.forEach((px, k) => {
    for (let y = 0; y < PANEL; y++) sheet.data.set(px.subarray(y * PANEL * 3, (y + 1) * PANEL * 3), (y * sheet.width + k * PANEL) * 3);
  });
  const file = `${name.replace(/[/.]/g, '-')}.png`;
  if (!NO_FLIP) writeFileSync(join(SHEETS, file), await encodePng(sheet, { compressionLevel: 9 }));
  index.push(`| \`${name}\` | ${q.psnrDb.toFixed(1)} dB | ![${name}](${file}) |`);
}
log('');
log(`Median reprojection PSNR ${fmt(median(psnrs))} dB (target >= 28), worst ${fmt(Math.min(...psnrs))} dB; median canonical-fit landmark error ${(100 * median(errs)).toFixed(1)}% of the inter-pupil distance over ${psnrs.length} photos.`);
log('PSNR: textured mesh rendered unlit with the recovered camera over the photo (both through the same colour correction), inside the rendered face mask. Canonical fit error: mean distance between the 468 landmarks and the canonical face under the fitted pose (the reconstructed mesh itself reprojects to < 0.01 px).');
log(`Machine: ${await machineLine()}.`);
if (!NO_FLIP) writeFileSync(
  join(SHEETS, 'README.md'),
  `# Contact sheets\n\nMade by \`npm run bench:quality\`: for each photo, the face crop, the landmarks, the baked UV texture and the three-quarter preview. The table in [bench/RESULTS.md](../../bench/RESULTS.md) has the numbers.\n\n| photo | reprojection PSNR | sheet |\n|---|---|---|\n${index.join('\n')}\n`,
);
if (values.write && !NO_FLIP) writeResultsSection('quality', 'Reconstruction quality (`npm run bench:quality`)', lines);

// The full head (model=ict): identity separation and clean ears/neck, when ../shared has the model.
if (hasIct && existsSync(SHARED)) {
  lines.length = 0;
  log(`Full head on ${ICT_SOURCE_LABEL}:`);
  log('');
  const model = createIctFaceModel({ pack: loadModelPack(ictTestPack()), canonical: loadCanonicalFace() });
  await measureHeads({ model, landmarker, photos: SHARED, log });
  log(`Machine: ${await machineLine()}.`);
  if (values.write && !NO_FLIP) writeResultsSection('quality-head', 'Full head: identity and clean heads (`npm run bench:quality`)', lines);
} else {
  console.warn(`full-head measures skipped: ${hasIct ? SHARED : 'the ICT-FaceKit model in ../shared'} not found`);
}
await landmarker.close();
