/**
 * iBUG-68 from MediaPipe's landmarks (src/face/ibug68.ts and its data): a complete, ordered table, and
 * on real photos points that mean what iBUG says they mean: against the 5 reference points that come
 * with the shared portraits (eye centres, nose tip, mouth corners; from another detector), and the
 * jaw running ear to chin to ear under the mouth.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import table from '../../src/face/data/ibug68.json';
import { ibug68From } from '../../src/face/ibug68';
import { readImageFile } from '../../src/adapters/image-io';
import { createFaceLandmarker } from '../../src/face/landmarker';
import { fixture, hasSharedPhotos, sharedDeep3d, sharedPhotosReason } from '../fixtures';

const points = async (path: string) => {
  const lm = await createFaceLandmarker({ threads: 1 });
  const { image } = await readImageFile(path);
  const r = await lm.landmarks(image);
  await lm.close();
  if (!r.ok) throw new Error(r.code);
  return Array.from({ length: 478 }, (_, i) => [r.face.points[3 * i], r.face.points[3 * i + 1]]);
};
const mean = (ps: number[][]) => [ps.reduce((s, p) => s + p[0], 0) / ps.length, ps.reduce((s, p) => s + p[1], 0) / ps.length];

describe('iBUG-68 from MediaPipe', () => {
  it('every one of the 68 points is defined once; the jaw from face-oval segments', () => {
    const ks = [...table.direct.map((d) => d[0]), ...table.jaw.map((j) => j[0])].sort((a, b) => a - b);
    expect(ks).toEqual(Array.from({ length: 68 }, (_, i) => i));
    for (const [, , , t] of table.jaw) expect(t).toBeGreaterThanOrEqual(0);
  });

  it('on the astronaut: the jaw runs from one side under the mouth to the other, the chin lowest', async () => {
    const p = ibug68From(await points(fixture('astronaut.png')));
    // Down one side to the chin, up the other (image y grows downwards); the sides on either side of it.
    for (let k = 1; k <= 8; k++) expect(p[k][1], `jaw ${k}`).toBeGreaterThan(p[k - 1][1]);
    for (let k = 9; k <= 16; k++) expect(p[k][1], `jaw ${k}`).toBeLessThan(p[k - 1][1]);
    expect(Math.sign(p[0][0] - p[8][0])).toBe(-Math.sign(p[16][0] - p[8][0]));
    expect(p[8][1]).toBeGreaterThan(Math.max(...p.slice(48, 68).map((q) => q[1]))); // chin below the mouth
    expect(Math.max(...p.map((q) => q[1]))).toBe(p[8][1]);
  });

  it.skipIf(!hasSharedPhotos)(hasSharedPhotos ? 'eye centres, nose tip and mouth corners land on the shared portraits\' reference points' : sharedPhotosReason, async () => {
    const errs: number[] = [];
    for (const ph of sharedDeep3d().slice(0, 6)) {
      const ref = readFileSync(ph.reference, 'utf8').trim().split('\n').map((l) => l.split(/\s+/).map(Number));
      const p = ibug68From(await points(ph.path));
      const eyes = [mean(p.slice(36, 42)), mean(p.slice(42, 48))].sort((a, b) => a[0] - b[0]);
      const mouth = [p[48], p[54]].sort((a, b) => a[0] - b[0]);
      const ours = [eyes[0], eyes[1], p[30], mouth[0], mouth[1]];
      const iod = Math.hypot(ref[0][0] - ref[1][0], ref[0][1] - ref[1][1]);
      ours.forEach((q, i) => errs.push(Math.hypot(q[0] - ref[i][0], q[1] - ref[i][1]) / iod));
    }
    errs.sort((a, b) => a - b);
    expect(errs[Math.floor(errs.length / 2)]).toBeLessThan(0.08); // median within 8% of the eye distance
  });
});
