/**
 * npm run docs:turned [-- --before DIR]: the turned-heads contact sheet, docs/turned/contact-sheet.png.
 * Twelve photos of the AFLW2000-3D dev split (../shared/eval; research data: the sheet is a
 * measurement record, not product material) with |yaw| 30-60 degrees, evenly spread over that range.
 * Each row: the photo's face, then for each version the textured preview (the texture on the
 * reconstructed face, seen from the front: a seam or background baked in shows at once) and the UV
 * texture. A refused photo (FACE_TURNED_AWAY, LOW_QUALITY) shows as a dark panel, named in
 * docs/turned/README.md.
 *
 * --panels DIR renders this checkout's panels only (one PNG per photo plus status.json); run from an
 * older checkout (copy this file and scripts/lib/panels.ts in) it records that version, and
 * --before DIR puts those panels beside the current ones.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { decodeImage, encodePng } from '../gpu-function/src/adapters/image-io';
import { createFaceLandmarker } from '../gpu-function/src/face/landmarker';
import { renderPreviews } from '../gpu-function/src/core/export';
import { reconstructFace } from '../gpu-function/src/core/reconstruct';
import { ModelRegistry } from '../gpu-function/src/core/registry';
import { createMediaPipeFaceModel } from '../gpu-function/src/face-models/mediapipe';
import { blit, faceCrop, resize } from './lib/panels';

const { values } = parseArgs({ options: { panels: { type: 'string' }, before: { type: 'string' } } });
const ROOT = resolve(import.meta.dirname, '..');
const AFLW = resolve(ROOT, '../shared/eval/aflw2000-dev');
const OUT = join(ROOT, 'docs/turned');
const P = 192;
if (!existsSync(AFLW)) {
  console.log(`docs:turned: ${AFLW} not found (the team's AFLW2000-3D dev split); nothing rendered.`);
  process.exit(0);
}

const metas = readdirSync(AFLW)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => JSON.parse(readFileSync(join(AFLW, f), 'utf8')) as { image: string; pose_deg: { yaw: number } })
  .filter((m) => Math.abs(m.pose_deg.yaw) >= 30 && Math.abs(m.pose_deg.yaw) <= 60)
  .sort((a, b) => Math.abs(a.pose_deg.yaw) - Math.abs(b.pose_deg.yaw));
const picked = Array.from({ length: 12 }, (_, k) => metas[Math.round((k * (metas.length - 1)) / 11)]);

/** This checkout's panels: [face, preview, texture] per photo, or why the photo was refused. */
async function renderPanels(dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const landmarker = await createFaceLandmarker();
  const installed = new ModelRegistry([createMediaPipeFaceModel()]).get('mediapipe');
  const status: Record<string, string> = {};
  for (const m of picked) {
    const { image } = await decodeImage(new Uint8Array(readFileSync(join(AFLW, m.image))));
    const lm = await landmarker.landmarks(image);
    const strip = createRgbImage(3 * P, P);
    if (lm.faces[0]) blit(strip, resize(faceCrop(image, lm.faces[0].box), P, P), 0, 0);
    if (lm.ok) {
      const recon = reconstructFace(installed, image, lm.face, { uvSize: 1024 });
      const { preview } = renderPreviews(installed.model, recon.head, recon.textures, P);
      blit(strip, preview, P, 0);
      blit(strip, resize(recon.textures.tiles[0], P, P), 2 * P, 0);
      status[m.image] = recon.head.mode.conservative.enabled ? 'ok (conservative)' : 'ok';
    } else {
      for (let i = P * P * 3; i < strip.data.length; i++) strip.data[i] = (i / 3) % (3 * P) >= P ? 40 : strip.data[i];
      status[m.image] = lm.code;
    }
    writeFileSync(join(dir, m.image.replace(/\.jpg$/, '.png')), await encodePng(strip));
  }
  writeFileSync(join(dir, 'status.json'), `${JSON.stringify(status, null, 1)}\n`);
  await landmarker.close();
}

if (values.panels) {
  await renderPanels(values.panels);
  process.exit(0);
}
const after = join(ROOT, '.cache/docs-turned/after');
await renderPanels(after);
const before = values.before;
const cols = before ? 5 : 3;
const sheet = createRgbImage(cols * P, picked.length * P);
const read = async (dir: string, m: (typeof picked)[number]) => (await decodeImage(new Uint8Array(readFileSync(join(dir, m.image.replace(/\.jpg$/, '.png')))))).image;
const rows: string[] = [];
const beforeStatus = before ? (JSON.parse(readFileSync(join(before, 'status.json'), 'utf8')) as Record<string, string>) : {};
const afterStatus = JSON.parse(readFileSync(join(after, 'status.json'), 'utf8')) as Record<string, string>;
for (const [r, m] of picked.entries()) {
  const a = await read(after, m);
  const crop = (img: RgbImage, x0: number, w: number) => {
    const out = createRgbImage(w, P);
    for (let y = 0; y < P; y++) out.data.set(img.data.subarray((y * img.width + x0) * 3, (y * img.width + x0 + w) * 3), y * w * 3);
    return out;
  };
  blit(sheet, crop(a, 0, P), 0, r * P);
  if (before) blit(sheet, crop(await read(before, m), P, 2 * P), P, r * P);
  blit(sheet, crop(a, P, 2 * P), (before ? 3 : 1) * P, r * P);
  rows.push(`| ${r + 1} | ${m.image} | ${m.pose_deg.yaw.toFixed(0)} | ${before ? `${beforeStatus[m.image]} | ` : ''}${afterStatus[m.image]} |`);
}
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'contact-sheet.png'), await encodePng(sheet));
writeFileSync(
  join(OUT, 'README.md'),
  [
    '# Turned heads: before and after (issue 20)',
    '',
    '`npm run docs:turned` renders this from the AFLW2000-3D development split in `../shared/eval` (research',
    'data: kept as a measurement record). Twelve photos with |yaw| 30-60 degrees. Columns: the photo;',
    before ? 'before: the textured preview and the UV texture; after: the same.' : 'the textured preview and the UV texture.',
    'A dark panel is a refusal (the code is in the table). Measures: bench/RESULTS.md, "Turned and backlit heads".',
    '',
    '![contact sheet](contact-sheet.png)',
    '',
    `| row | photo | yaw | ${before ? 'before | ' : ''}after |`,
    `|---|---|---|${before ? '---|' : ''}---|`,
    ...rows,
    '',
  ].join('\n'),
);
console.log(`docs:turned: ${join(OUT, 'contact-sheet.png')}`);
process.exit(0);
