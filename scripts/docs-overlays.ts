/**
 * npm run docs:overlays -- regenerates docs/overlays/: one landmark overlay per shared photo (face
 * crop for single faces, whole photo for group photos) and an index page, so a reader can see where
 * the 478 points land without running anything.
 */
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { encodeImage, readImageFile } from '../gpu-function/src/adapters/image-io';
import { createFaceLandmarker } from '../gpu-function/src/face/landmarker';
import { drawLandmarkOverlay } from '../gpu-function/src/face/overlay';

const ROOT = resolve(import.meta.dirname, '..');
const SHARED = resolve(ROOT, '../shared/photos');
const OUT = join(ROOT, 'docs/overlays');
if (!existsSync(SHARED)) {
  console.error(`${SHARED} not found: the overlays are made from the team's shared photos`);
  process.exit(1);
}
mkdirSync(OUT, { recursive: true });

function crop(img: RgbImage, box: { x: number; y: number; width: number; height: number }, scale: number): RgbImage {
  const side = Math.round(Math.max(box.width, box.height) * scale);
  const x0 = Math.max(0, Math.min(img.width - side, Math.round(box.x + box.width / 2 - side / 2)));
  const y0 = Math.max(0, Math.min(img.height - side, Math.round(box.y + box.height / 2 - side / 2)));
  const w = Math.min(side, img.width);
  const h = Math.min(side, img.height);
  const out = createRgbImage(w, h);
  for (let r = 0; r < h; r++) out.data.set(img.data.subarray(((y0 + r) * img.width + x0) * 3, ((y0 + r) * img.width + x0 + w) * 3), r * w * 3);
  return out;
}

const landmarker = await createFaceLandmarker();
const rows: string[] = [];
for (const folder of ['debian', 'deep3d', '3ddfa']) {
  for (const f of readdirSync(join(SHARED, folder)).filter((n) => /\.(jpe?g|png)$/i.test(n)).sort()) {
    const { image } = await readImageFile(join(SHARED, folder, f));
    const r = await landmarker.landmarks(image);
    const overlay = drawLandmarkOverlay(image, r);
    const shown = r.ok ? crop(overlay, r.face.detection.box, 1.8) : overlay;
    const name = `${folder}-${basename(f).replace(/\.\w+$/, '')}.jpg`;
    writeFileSync(join(OUT, name), await encodeImage(shown, 'jpeg', { quality: 85 }));
    const outcome = r.ok ? `1 face, presence ${r.face.presence.toFixed(2)}, mesh pass ${r.face.pass}` : `${r.code} (${r.faces.length} detected)`;
    rows.push(`| \`${folder}/${f}\` | ${outcome} | ![${f}](${name}) |`);
    console.log(`${folder}/${f}: ${outcome}`);
  }
}
await landmarker.close();
writeFileSync(
  join(OUT, 'README.md'),
  `# Landmark overlays on the shared photos\n\nMade by \`npm run docs:overlays\` from \`../shared/photos\`: yellow the detector's boxes, magenta its 6 keypoints, green the 468 mesh points, red the two irises (centre and fitted circle). Single faces are cropped to 1.8x the face box; group photos are shown whole, with the outcome the API would report.\n\n| photo | outcome | overlay |\n|---|---|---|\n${rows.join('\n')}\n`,
);
