/**
 * Which ICT-FaceKit model the tests, benches and docs scripts run on, and its pack, built once per
 * source and converter version into .cache/ict-packs. Test material from ../shared, never shipped.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildIctPack } from '../../models/scripts/build-ict';

const ROOT = resolve(import.meta.dirname, '../..');

/** The team's ICT-FaceKit subset (neutral, 10 identities, 20 expressions), when it is there. */
export const SHARED_ICT = resolve(ROOT, '../shared/ict-facekit');
export const hasSharedIct = existsSync(join(SHARED_ICT, 'generic_neutral_mesh.obj'));

/** The complete model (100 identities, 57 expressions), gzip-compressed OBJs, when it is there. */
export const FULL_ICT = resolve(ROOT, '../shared/ict-facekit-full');
export const hasFullIct = existsSync(join(FULL_ICT, 'generic_neutral_mesh.obj.gz'));

/**
 * The ICT model the tests and benches run on: the complete model when ../shared has it (what a
 * deployment clones), else the subset; absent in a clone without ../shared.
 */
export const ICT_SOURCE = hasFullIct ? FULL_ICT : SHARED_ICT;
export const hasIct = hasFullIct || hasSharedIct;
export const ICT_SOURCE_LABEL = hasFullIct ? 'the full ICT-FaceKit model (100 identities, 57 expressions)' : hasSharedIct ? 'the ICT-FaceKit subset (10 identities, 20 expressions)' : 'no ICT-FaceKit model';

/**
 * The pack of ICT_SOURCE, built once per source and converter version into .cache/ict-packs and
 * shared by every test file and bench (the full model takes ~30 s to convert). Parallel test
 * workers wait on a lock folder; a build that dies leaves no half-written pack.
 */
export function ictTestPack(): string {
  if (!hasIct) throw new Error('no ICT-FaceKit model in ../shared');
  const h = createHash('sha256');
  for (const f of readdirSync(ICT_SOURCE).sort()) h.update(`${f}:${statSync(join(ICT_SOURCE, f)).size};`);
  for (const f of ['models/scripts/build-ict.ts', 'models/src/model-pack.ts', 'models/src/correspondence.ts', 'models/src/obj-reader.ts', 'models/build/canonical-face.json']) h.update(readFileSync(join(ROOT, f)));
  const root = join(ROOT, '.cache/ict-packs');
  const dir = join(root, `${hasFullIct ? 'full' : 'subset'}-${h.digest('hex').slice(0, 16)}`);
  const pack = join(dir, 'ict');
  if (existsSync(join(pack, 'manifest.json'))) return pack;
  mkdirSync(root, { recursive: true });
  const lock = `${dir}.lock`;
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(join(pack, 'manifest.json'))) return pack;
      if (Date.now() > deadline) throw new Error(`${lock} held for 10 minutes: remove it if no test run is building the pack`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);
    }
  }
  try {
    if (existsSync(join(pack, 'manifest.json'))) return pack;
    const tmp = mkdtempSync(join(root, '.build-'));
    buildIctPack(ICT_SOURCE, join(tmp, 'ict'));
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return pack;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

