/** Test photos: the project's own (fetched by scripts/fetch-fixtures.sh) and the team's wider set in ../shared. */
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildIctPack } from '../../models/scripts/build-ict';
import { FULL_ICT, ICT_SOURCE, ICT_SOURCE_LABEL, SHARED_ICT, hasFullIct, hasIct, hasSharedIct, ictTestPack } from '../../scripts/lib/ict-pack';

export { FULL_ICT, ICT_SOURCE, ICT_SOURCE_LABEL, SHARED_ICT, hasFullIct, hasIct, hasSharedIct, ictTestPack };

const ROOT = resolve(import.meta.dirname, '../..');
export const FIXTURES_DIR = join(ROOT, '.cache/fixtures');
export const SHARED_PHOTOS = resolve(ROOT, '../shared/photos');

/** skimage's images without a face that the face detector still scores >= 0.5 (scripts/fetch-fixtures.sh). */
export const NON_FACE_FIXTURES = ['coffee.png', 'chelsea.png', 'cell.png', 'horse.png', 'microaneurysms.png', 'hubble_deep_field.jpg'] as const;

export function fixture(name: 'astronaut.png' | (typeof NON_FACE_FIXTURES)[number]): string {
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

/** Builds the pack from the shared subset into a fresh temporary folder and returns its path. */
export function buildSharedIctPack(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'facerecon-ict-')), 'ict');
  buildIctPack(SHARED_ICT, dir);
  return dir;
}

/** The stack's FACERECON_ICT_PACK: the test pack when a model is there, else the model is off. */
export function ictPackSetting(): string {
  return hasIct ? ictTestPack() : 'off';
}

/** The expression names of ICT_SOURCE's meshes (the files other than the neutral and identities). */
export function ictSourceExpressionNames(): string[] {
  return readdirSync(ICT_SOURCE)
    .filter((f) => /\.obj(\.gz)?$/.test(f) && !f.startsWith('identity') && !f.startsWith('generic'))
    .map((f) => f.replace(/\.obj(\.gz)?$/, ''));
}
