/** The options travel edge -> gpu-function through one schema: serialising and parsing round-trip. */
import { describe, expect, it } from 'vitest';
import { ASSET_FILES, DEFAULT_FORMATS, ERROR_SPECS, ReconstructOptionsSchema, UPLOAD_LIMITS, reconstructQuery } from '../src/index';

describe('ReconstructOptions', () => {
  it('reconstructQuery is the inverse of the schema', () => {
    for (const raw of [{}, { uv_size: '512', formats: 'glb,texture', lang: 'zh', model: 'ict' }, { formats: 'obj' }]) {
      const o = ReconstructOptionsSchema.parse(raw);
      expect(ReconstructOptionsSchema.parse(Object.fromEntries(reconstructQuery(o)))).toEqual(o);
    }
  });

  it('formats=detail is opt-in and brings normal.png and displacement.png', () => {
    expect(DEFAULT_FORMATS).not.toContain('detail');
    expect(ReconstructOptionsSchema.parse({}).formats).not.toContain('detail');
    const o = ReconstructOptionsSchema.parse({ formats: 'glb,detail' });
    expect(o.formats).toEqual(['glb', 'detail']);
    expect(ReconstructOptionsSchema.parse(Object.fromEntries(reconstructQuery(o)))).toEqual(o);
    expect(ASSET_FILES.normal).toEqual({ file: 'normal.png', contentType: 'image/png' });
    expect(ASSET_FILES.displacement).toEqual({ file: 'displacement.png', contentType: 'image/png' });
  });

  it('the limits the messages state are the limits the code enforces', () => {
    expect(ERROR_SPECS.IMAGE_TOO_LARGE.en).toContain(`${UPLOAD_LIMITS.maxBytes / 2 ** 20} MB`);
    expect(ERROR_SPECS.IMAGE_TOO_LARGE.en).toContain(`${UPLOAD_LIMITS.maxLongSide} px`);
    expect(ERROR_SPECS.IMAGE_TOO_SMALL.zh).toContain(String(UPLOAD_LIMITS.minShortSide));
  });
});
