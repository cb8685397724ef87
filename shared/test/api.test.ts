/** The options travel edge -> gpu-function through one schema: serialising and parsing round-trip. */
import { describe, expect, it } from 'vitest';
import { ASSET_FILES, assetFolderOf, DEFAULT_FORMATS, ERROR_SPECS, ReconstructOptionsSchema, UPLOAD_LIMITS, reconstructQuery } from '../src/index';

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

describe('assetFolderOf', () => {
  const hex = '0123456789abcdef0123456789abcdef';
  it('reads the folder from a presigned S3 link and from a local-store link', () => {
    const s3 = JSON.stringify({ assets: { glb: { url: `https://bucket.s3.example.com/assets/2026-12-03/${hex}/face.glb?X-Amz-Signature=ab%2Fcd` } } });
    const local = JSON.stringify({ assets: { result: { url: `http://127.0.0.1:8788/v1/assets/2026-12-03/${hex}/result.json?exp=1&sig=x` } } });
    expect(assetFolderOf(s3)).toBe(`2026-12-03/${hex}`);
    expect(assetFolderOf(local)).toBe(`2026-12-03/${hex}`);
  });
  it('is null for what is not a result of this layout', () => {
    expect(assetFolderOf('not json')).toBeNull();
    expect(assetFolderOf(JSON.stringify({ assets: { glb: { url: `https://x.test/2026-12-03/${hex.slice(1)}/face.glb` } } }))).toBeNull();
    expect(assetFolderOf(JSON.stringify({ error: { code: 'NO_FACE' } }))).toBeNull();
  });
});
