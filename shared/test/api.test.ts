/** The options travel edge -> gpu-function through one schema: serialising and parsing round-trip. */
import { describe, expect, it } from 'vitest';
import { ERROR_SPECS, ReconstructOptionsSchema, UPLOAD_LIMITS, reconstructQuery } from '../src/index';

describe('ReconstructOptions', () => {
  it('reconstructQuery is the inverse of the schema', () => {
    for (const raw of [{}, { uv_size: '512', formats: 'glb,texture', lang: 'zh', model: 'ict' }, { formats: 'obj' }]) {
      const o = ReconstructOptionsSchema.parse(raw);
      expect(ReconstructOptionsSchema.parse(Object.fromEntries(reconstructQuery(o)))).toEqual(o);
    }
  });

  it('the limits the messages state are the limits the code enforces', () => {
    expect(ERROR_SPECS.IMAGE_TOO_LARGE.en).toContain(`${UPLOAD_LIMITS.maxBytes / 2 ** 20} MB`);
    expect(ERROR_SPECS.IMAGE_TOO_LARGE.en).toContain(`${UPLOAD_LIMITS.maxLongSide} px`);
    expect(ERROR_SPECS.IMAGE_TOO_SMALL.zh).toContain(String(UPLOAD_LIMITS.minShortSide));
  });
});
