/**
 * Start-up refuses a damaged data file by its name: the canonical face and an ICT pack's manifest
 * that are not JSON, or hold a coordinate that is not a number, fail with the file's path (a bare
 * SyntaxError named no file).
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CanonicalFaceError, loadCanonicalFace } from '../../src/recon/canonical';
import { ModelPackError, loadModelPack } from '../../src/morph/model-pack';
import { canonicalFacePath } from '@facerecon/models';

describe('damaged start-up files are refused by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'startup-files-'));
  it('the canonical face: not JSON, or a coordinate that is not finite', () => {
    const broken = join(dir, 'canonical-broken.json');
    writeFileSync(broken, '{"positions": [1, 2,');
    expect(() => loadCanonicalFace(broken)).toThrow(CanonicalFaceError);
    expect(() => loadCanonicalFace(broken)).toThrow(broken);
    const good = JSON.parse(readFileSync(canonicalFacePath(), 'utf8')) as { positions: Array<number | null> };
    good.positions[7] = null;
    const nan = join(dir, 'canonical-nan.json');
    writeFileSync(nan, JSON.stringify(good));
    expect(() => loadCanonicalFace(nan)).toThrow(/not a finite number/);
    expect(loadCanonicalFace().positions).toHaveLength(468 * 3);
  });
  it("an ICT pack's manifest that is not JSON", () => {
    writeFileSync(join(dir, 'manifest.json'), '{"format": ');
    expect(() => loadModelPack(dir)).toThrow(ModelPackError);
    expect(() => loadModelPack(dir)).toThrow(join(dir, 'manifest.json'));
  });
});
