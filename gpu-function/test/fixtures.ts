/** Test photos: the project's own (fetched by scripts/fetch-fixtures.sh) and the team's wider set in ../shared. */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildIctPack } from '../../models/scripts/build-ict';

const ROOT = resolve(import.meta.dirname, '../..');
export const FIXTURES_DIR = join(ROOT, '.cache/fixtures');
export const SHARED_PHOTOS = resolve(ROOT, '../shared/photos');

export function fixture(name: 'astronaut.png' | 'coffee.png' | 'chelsea.png'): string {
  const p = join(FIXTURES_DIR, name);
  if (!existsSync(p)) throw new Error(`${p} is missing: run \`npm run fixtures\` (npm test does)`);
  return p;
}

export const hasSharedPhotos = existsSync(join(SHARED_PHOTOS, 'deep3d'));
export const sharedPhotosReason = hasSharedPhotos ? '' : `skipped: ${SHARED_PHOTOS} not found (a clone without the team's shared folder)`;

export function sharedDeep3d(): Array<{ name: string; path: string; reference: string }> {
  if (!hasSharedPhotos) return [];
  const dir = join(SHARED_PHOTOS, 'deep3d');
  return readdirSync(dir)
    .filter((f) => /\.(jpe?g|png)$/i.test(f))
    .sort()
    .map((f) => ({ name: f, path: join(dir, f), reference: join(dir, 'detections', f.replace(/\.\w+$/, '.txt')) }));
}

/** The team's ICT-FaceKit subset (neutral, 10 identities, 20 expressions), when it is there. */
export const SHARED_ICT = resolve(ROOT, '../shared/ict-facekit');
export const hasSharedIct = existsSync(join(SHARED_ICT, 'generic_neutral_mesh.obj'));

/** The complete model (100 identities, 57 expressions), gzip-compressed OBJs, when it is there. */
export const FULL_ICT = resolve(ROOT, '../shared/ict-facekit-full');
export const hasFullIct = existsSync(join(FULL_ICT, 'generic_neutral_mesh.obj.gz'));

/** Builds the pack from the shared subset into a fresh temporary folder and returns its path. */
export function buildSharedIctPack(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'facerecon-ict-')), 'ict');
  buildIctPack(SHARED_ICT, dir);
  return dir;
}

/** The stack's FACERECON_ICT_PACK: the subset's pack when it is there, else the model is off. */
export function ictPackSetting(): string {
  return hasSharedIct ? buildSharedIctPack() : 'off';
}
