/**
 * noticesFor (service/pipeline.ts): what a caller asked for and the result left out is said, with a
 * code of the error model and its messages, never dropped silently. The one case: no lighting estimate
 * (too little of the face seen clearly), hence no albedo and no shading detail. The service test checks
 * that a normal request carries no notices; this one the rule itself, since no accepted photo of the
 * test set is short of clearly seen skin.
 */
import { describe, expect, it } from 'vitest';
import { ERROR_SPECS, NoticeSchema, type AssetKind, type ReconstructOptions } from '@facerecon/shared';
import { noticesFor } from '../../src/service/pipeline';

const opts = (o: Partial<Pick<ReconstructOptions, 'formats' | 'texture' | 'lang'>>) => ({ formats: ['obj', 'glb'] as ReconstructOptions['formats'], texture: 'lit' as const, lang: 'en' as const, ...o });
const made = (...k: AssetKind[]) => new Set<AssetKind>(['obj', 'mtl', 'texture', 'glb', 'result', ...k]);

describe('noticesFor', () => {
  it('nothing when nothing optional was asked for, or when it was made', () => {
    expect(noticesFor(opts({}), made())).toEqual([]);
    expect(noticesFor(opts({ formats: ['glb', 'albedo', 'detail'] }), made('albedo', 'normal', 'displacement'))).toEqual([]);
    expect(noticesFor(opts({ texture: 'albedo' }), made('albedo'))).toEqual([]);
  });

  it('the albedo asked for (as a format or as the meshes\' texture) and not made: LIGHTING_UNAVAILABLE, in the caller\'s language', () => {
    for (const o of [opts({ formats: ['glb', 'albedo'] }), opts({ texture: 'albedo' })]) {
      const [n, ...rest] = noticesFor(o, made());
      expect(rest).toEqual([]);
      expect(NoticeSchema.parse(n)).toEqual({ code: 'LIGHTING_UNAVAILABLE', message: ERROR_SPECS.LIGHTING_UNAVAILABLE.en, message_zh: ERROR_SPECS.LIGHTING_UNAVAILABLE.zh, hint: ERROR_SPECS.LIGHTING_UNAVAILABLE.hint.en, assets: ['albedo'] });
    }
    const [zh] = noticesFor(opts({ formats: ['albedo'], lang: 'zh' }), made());
    expect(zh.message).toBe(ERROR_SPECS.LIGHTING_UNAVAILABLE.zh);
    expect(zh.hint).toBe(ERROR_SPECS.LIGHTING_UNAVAILABLE.hint.zh);
  });

  it('the detail asked for and not made names both maps; with the albedo, one notice for all three', () => {
    expect(noticesFor(opts({ formats: ['glb', 'detail'] }), made())[0].assets).toEqual(['normal', 'displacement']);
    const all = noticesFor(opts({ formats: ['glb', 'detail'], texture: 'albedo' }), made());
    expect(all).toHaveLength(1);
    expect(all[0].assets).toEqual(['albedo', 'normal', 'displacement']);
  });
});
