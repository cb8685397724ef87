import { describe, expect, it } from 'vitest';
import { decodeBlazeFace, generateSsdAnchors, intersectionOverUnion, weightedNonMaxSuppression, type RawDetection } from '../src/face/blazeface';

describe('generateSsdAnchors', () => {
  const a = generateSsdAnchors();
  it('has 896 anchors: 16x16x2 then 8x8x6', () => {
    expect(a.length / 2).toBe(16 * 16 * 2 + 8 * 8 * 6);
  });
  it('orders anchors row, column, anchor with cell-centred positions', () => {
    expect([a[0], a[1], a[2], a[3]]).toEqual([8, 8, 8, 8]); // two anchors of cell (0,0)
    expect([a[4], a[5]]).toEqual([24, 8]); // cell (x=1, y=0)
    expect([a[2 * 32], a[2 * 32 + 1]]).toEqual([8, 24]); // cell (0,1) starts after 16 cells x 2 anchors
    const k = 512; // first anchor of the stride-32 layer
    expect([a[2 * k], a[2 * k + 1], a[2 * (k + 6)], a[2 * (k + 6) + 1]]).toEqual([16, 16, 48, 16]);
  });
});

describe('decodeBlazeFace', () => {
  const anchors = generateSsdAnchors();
  const n = anchors.length / 2;

  it('adds regressions to the anchor and applies a clipped sigmoid', () => {
    const scores = new Float32Array(n).fill(-10);
    const boxes = new Float32Array(n * 16);
    const i = 100; // cell (x=2, y=3), anchor 0: centre (40, 56)
    scores[i] = 2;
    boxes.set([1.5, -2, 30, 40, ...Array.from({ length: 12 }, (_, k) => k - 6)], i * 16);
    const [d, ...rest] = decodeBlazeFace(scores, boxes, anchors);
    expect(rest).toHaveLength(0);
    expect(d.score).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
    expect([d.x, d.y, d.width, d.height]).toEqual([40 + 1.5 - 15, 56 - 2 - 20, 30, 40]);
    expect(Array.from(d.keypoints.slice(0, 4))).toEqual([40 - 6, 56 - 5, 40 - 4, 56 - 3]);
    scores[i] = 1e9;
    expect(decodeBlazeFace(scores, boxes, anchors, { scoreClip: 100 })[0].score).toBe(1);
  });

  it('drops low scores and degenerate boxes; rejects outputs of the wrong size', () => {
    const scores = new Float32Array(n).fill(0.1); // sigmoid 0.525
    const boxes = new Float32Array(n * 16);
    expect(decodeBlazeFace(scores, boxes, anchors)).toHaveLength(0); // zero-size boxes
    boxes[2] = 10;
    boxes[3] = 10;
    expect(decodeBlazeFace(scores, boxes, anchors)).toHaveLength(1);
    expect(decodeBlazeFace(scores, boxes, anchors, { minScore: 0.6 })).toHaveLength(0);
    expect(() => decodeBlazeFace(scores.subarray(1), boxes, anchors)).toThrow(RangeError);
  });
});

const det = (x: number, y: number, w: number, score: number, kp = 0): RawDetection => ({ x, y, width: w, height: w, score, keypoints: new Float32Array(12).fill(kp) });

describe('weightedNonMaxSuppression', () => {
  it('computes IoU of squares', () => {
    expect(intersectionOverUnion(det(0, 0, 10, 1), det(5, 0, 10, 1))).toBeCloseTo(50 / 150, 10);
    expect(intersectionOverUnion(det(0, 0, 10, 1), det(20, 0, 10, 1))).toBe(0);
  });

  it('averages an overlapping group by score and keeps the best score', () => {
    const out = weightedNonMaxSuppression([det(0, 0, 10, 0.6, 1), det(2, 0, 10, 0.9, 3), det(100, 100, 20, 0.7, 5)]);
    expect(out).toHaveLength(2);
    const [a, b] = out;
    expect(a.score).toBe(0.9);
    expect(a.x).toBeCloseTo((0 * 0.6 + 2 * 0.9) / 1.5, 6);
    expect(a.keypoints[0]).toBeCloseTo((1 * 0.6 + 3 * 0.9) / 1.5, 6);
    expect(b.x).toBe(100);
  });

  it('keeps faces that overlap less than the threshold apart', () => {
    // IoU = 20/180 ~ 0.11
    expect(weightedNonMaxSuppression([det(0, 0, 10, 0.9), det(8, 0, 10, 0.8)], 0.3)).toHaveLength(2);
    expect(weightedNonMaxSuppression([det(0, 0, 10, 0.9), det(8, 0, 10, 0.8)], 0.1)).toHaveLength(1);
  });
});
