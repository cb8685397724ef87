/** The pack loader refuses what it cannot read whole, saying what to do (runs without ../shared). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIctPack } from '../../../models/scripts/build-ict';
import { ModelPackError, loadModelPack } from '../../src/morph/model-pack';
import { FULL_ICT, buildSharedIctPack, hasFullIct, hasSharedIct } from '../fixtures';

describe('loadModelPack', () => {
  it('refuses a folder without a manifest and a pack of another format version, naming the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pack-v1-'));
    expect(() => loadModelPack(dir)).toThrow(ModelPackError);
    expect(() => loadModelPack(dir)).toThrow(/manifest\.json is missing/);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: 'facerecon-morphable-model', version: 1, name: 'ict' }));
    expect(() => loadModelPack(dir)).toThrow(/rebuild it with npm run models:ict/);
  });
});

describe('the full ICT-FaceKit model from gzip OBJs (../shared/ict-facekit-full)', () => {
  let full: ReturnType<typeof loadModelPack> | undefined;
  const converted = () => {
    if (!full) {
      const out = join(mkdtempSync(join(tmpdir(), 'ict-full-')), 'ict');
      buildIctPack(FULL_ICT, out);
      full = loadModelPack(out);
    }
    return full;
  };

  it.skipIf(!hasFullIct)(hasFullIct ? 'converts all 100 identity modes and 57 expressions' : 'skipped: ../shared/ict-facekit-full not found', () => {
    const f = converted();
    expect(f.manifest.identity.count).toBe(100);
    expect(f.manifest.expression.count).toBe(57);
    expect(f.manifest.expression.names.slice(-4)).toEqual(['PupilDilate_L', 'PupilDilate_R', 'cheekRaiser_L', 'cheekRaiser_R']);
  }, 300_000);

  const both = hasFullIct && hasSharedIct;
  it.skipIf(!both)(both ? 'its modes are the subset\'s (../shared/ict-facekit), bit for bit' : 'skipped: needs both ../shared/ict-facekit-full and ../shared/ict-facekit', () => {
    const f = converted();
    const subset = loadModelPack(buildSharedIctPack());
    const n = subset.manifest.vertexCount * 3;
    expect(f.manifest.vertexCount).toBe(subset.manifest.vertexCount);
    // identity003 and jawOpen: the same offsets whichever folder (and compression) they came from.
    const id = subset.manifest.identity.names.indexOf('identity003');
    expect(f.identity.subarray(3 * n, 4 * n)).toEqual(subset.identity.subarray(id * n, (id + 1) * n));
    const je = (p: typeof f) => p.manifest.expression.names.indexOf('jawOpen');
    expect(f.expression.subarray(je(f) * n, (je(f) + 1) * n)).toEqual(subset.expression.subarray(je(subset) * n, (je(subset) + 1) * n));
  }, 300_000);
});
