/**
 * iBUG-68 from MediaPipe's landmarks (src/face/ibug68.ts and its data): a complete, ordered table, and
 * on real photos points that mean what iBUG says they mean: against the 5 reference points that come
 * with the shared portraits (eye centres, nose tip, mouth corners; from another detector), and the
 * jaw running ear to chin to ear under the mouth.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import table from '../../src/face/data/ibug68.json';
import { DEPTH_AXIS_HEAD_MM, depthAxisPx, IBUG68_DEPTH_MM, ibug68From } from '../../src/face/ibug68';
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
  it('52 points one to one, the chin among them; the jaw arcs run from the chin to mirrored ear points', () => {
    const ks = table.direct.map((d) => d[0]).sort((a, b) => a - b);
    expect(ks).toEqual(Array.from({ length: 68 }, (_, i) => i).filter((k) => k < 17 ? k === 8 : true));
    expect(table.direct.find((d) => d[0] === 8)?.[1]).toBe(152);
    const { right, left } = table.jawArcs;
    expect(right[0]).toBe(152);
    expect(left[0]).toBe(152);
    expect(right.length).toBe(left.length);
    expect([right.at(-1), left.at(-1)]).toEqual([127, 356]); // MediaPipe's mirrored pair beside the ears
  });

  it('the brows, the top of the nose bridge and the lower lip beside the corners are weighted means of MediaPipe vertices', () => {
    expect(table.blend.map((b) => b[0])).toEqual([17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 55, 59]);
    const pts = Array.from({ length: 478 }, (_, i) => [Math.sin(i), Math.cos(3 * i), i / 478]);
    const p = ibug68From(pts);
    for (const [k, parts] of table.blend as Array<[number, Array<[number, number]>]>) {
      expect(parts.reduce((s, [, w]) => s + w, 0)).toBeCloseTo(1, 12);
      for (let d = 0; d < 3; d++) expect(p[k][d]).toBeCloseTo(parts.reduce((s, [m, w]) => s + w * pts[m][d], 0), 12);
    }
    const mid = (a: number, b: number) => [0, 1, 2].map((d) => (pts[a][d] + pts[b][d]) / 2);
    const close = (a: number[], b: number[]) => a.forEach((v, d) => expect(v).toBeCloseTo(b[d], 12));
    // The right brow's outer end between MediaPipe's upper (70) and lower (46) rows, the bridge between 168 and 6.
    close(p[17], mid(70, 46));
    close(p[27], mid(168, 6));
    // The brow's inner end a third of the way along the centre line from the innermost pair (107 / 55) to the next (66 / 65).
    close(p[21], [0, 1, 2].map((d) => (2 / 3) * mid(107, 55)[d] + (1 / 3) * mid(66, 65)[d]));
    // The lower lip beside the left corner halfway between 405 and the next vertex out, 321.
    close(p[55], mid(405, 321));
    // Every other inner point is still one MediaPipe vertex.
    const blended = new Set(table.blend.map((b) => b[0]));
    for (const [k, m] of table.direct) if (k > 27 && !blended.has(k)) expect(p[k]).toEqual(pts[m]);
  });

  it('along a depth axis the side jaw points and the nose base move by their depth and nothing else does; the axis is one mm into the head', () => {
    const pts = Array.from({ length: 478 }, (_, i) => [Math.sin(i), Math.cos(3 * i), i / 478]);
    const plain = ibug68From(pts);
    const axis = [1, -2, 3];
    const moved = ibug68From(pts, { depthAxis: axis });
    // The depths as correspondence.ts states them: the jaw 10 mm behind the oval, 3 beside the chin, the chin on it; the nose base 4.
    const depth = (k: number) => (k === 8 ? 0 : k === 7 || k === 9 ? 3 : k <= 16 ? 10 : k >= 31 && k <= 35 ? 4 : 0);
    for (let k = 0; k < 68; k++) {
      expect(IBUG68_DEPTH_MM[k]).toBe(depth(k));
      const want = plain[k].map((v, d) => v + depth(k) * axis[d]);
      moved[k].forEach((v, d) => expect(v).toBeCloseTo(want[d], 12));
    }
    // A frontal head (head frame = camera frame): deeper is away from the camera, MediaPipe's +z, 2 px per mm.
    const frontal = depthAxisPx({ rotation: Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]), pixelsPerMm: 2 });
    frontal.forEach((v, d) => expect(v).toBeCloseTo([0, 0, 2][d], 12));
    // Turned 90 degrees so that the face looks along the camera's +x (head +z -> camera +x): deeper is -x in the photo.
    const turned = depthAxisPx({ rotation: Float64Array.from([0, 0, 1, 0, 1, 0, -1, 0, 0]), pixelsPerMm: 2 });
    turned.forEach((v, d) => expect(v).toBeCloseTo([-2, 0, 0][d], 12));
    expect(DEPTH_AXIS_HEAD_MM).toEqual([0, 0, -1]);
  });

  it('the side jaw points are evenly spaced along the arc, by 3D arclength, whatever the arc\'s vertex spacing', () => {
    // A synthetic oval: the right arc's vertices on a quarter circle of radius 10 in the x-z plane with
    // uneven angular steps, so equal arclength is not equal vertex count.
    const { right, left } = table.jawArcs;
    const pts: number[][] = Array.from({ length: 478 }, () => [0, 0, 0]);
    const angles = right.map((_, i) => (Math.PI / 2) * (i / (right.length - 1)) ** 2);
    right.forEach((v, i) => (pts[v] = [-10 * Math.sin(angles[i]), 0, 10 * Math.cos(angles[i])]));
    left.forEach((v, i) => (pts[v] = [10 * Math.sin(angles[i]), 0, 10 * Math.cos(angles[i])]));
    const p = ibug68From(pts);
    // Polyline chords of a fine circle differ from the arc by < 1%: compare with the exact circle arclength.
    const arcLen = (q: number[]) => 10 * Math.atan2(Math.abs(q[0]), q[2]);
    const total = arcLen(pts[right.at(-1)!]);
    for (let k = 1; k <= 8; k++) {
      expect(arcLen(p[8 - k]) / total, `right ${8 - k}`).toBeCloseTo(k / 8, 1);
      expect(arcLen(p[8 + k]) / total, `left ${8 + k}`).toBeCloseTo(k / 8, 1);
      expect(p[8 - k][0]).toBeLessThanOrEqual(0);
      expect(p[8 + k][0]).toBeGreaterThanOrEqual(0);
    }
    expect(p[8]).toEqual(pts[152]);
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
