/** The service's last refusal before storing: a texture mostly invented is not sold (pipeline.ts). */
import { describe, expect, it } from 'vitest';
import { FaceReconError, toErrorBody } from '@facerecon/shared';
import { MIN_FACE_SEEN_SHARE, refuseMostlyUnseen } from '../../src/service/pipeline';

describe('refuseMostlyUnseen', () => {
  it('refuses a face texture taken mostly from the completion as LOW_QUALITY, in both languages', () => {
    let err: unknown;
    try {
      refuseMostlyUnseen({ fromPhoto: 0.007 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FaceReconError);
    const e = err as FaceReconError;
    expect(e.code).toBe('LOW_QUALITY');
    expect(e.status).toBe(422);
    const zh = toErrorBody(e.code, { lang: 'zh' });
    expect(zh.error.message).toMatch(/重建/);
    expect(toErrorBody(e.code).error.hint).toMatch(/Face the camera/);
    expect(e.detail).toMatch(/0\.7% of the face/);
  });

  it('lets through what the visible side of a turned head gives (about half the chart)', () => {
    expect(() => refuseMostlyUnseen({ fromPhoto: 0.34 })).not.toThrow();
    expect(() => refuseMostlyUnseen({ fromPhoto: MIN_FACE_SEEN_SHARE })).not.toThrow();
    expect(() => refuseMostlyUnseen({ fromPhoto: MIN_FACE_SEEN_SHARE - 1e-6 })).toThrow(FaceReconError);
  });
});
