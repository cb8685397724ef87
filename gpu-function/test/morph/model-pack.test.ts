/** The pack loader refuses what it cannot read whole, saying what to do (runs without ../shared). */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelPackError, loadModelPack } from '../../src/morph/model-pack';

describe('loadModelPack', () => {
  it('refuses a folder without a manifest and a pack of another format version, naming the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pack-v1-'));
    expect(() => loadModelPack(dir)).toThrow(ModelPackError);
    expect(() => loadModelPack(dir)).toThrow(/manifest\.json is missing/);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ format: 'facerecon-morphable-model', version: 1, name: 'ict' }));
    expect(() => loadModelPack(dir)).toThrow(/rebuild it with npm run models:ict/);
  });
});
