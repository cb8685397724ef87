import { describe, expect, it } from 'vitest';
import { cropToImage } from '../src/face/raster';
import { roiFromDetection, roiFromEyeCorners, roiFromLandmarks } from '../src/face/roi';
import { MESH_TOPOLOGY, mapIrisToImage, mapMeshToImage, refineEyesWithIris } from '../src/face/landmarks';

describe('ROIs', () => {
  it('face ROI from a detection: box centre, roll from the eyes, 1.5 x the long side', () => {
    const roi = roiFromDetection({ box: { x: 10, y: 20, width: 100, height: 80 }, score: 1, keypoints: [[40, 50], [80, 60], [0, 0], [0, 0], [0, 0], [0, 0]] });
    expect(roi.cx).toBe(60);
    expect(roi.cy).toBe(60);
    expect(roi.size).toBe(150);
    expect(roi.angle).toBeCloseTo(Math.atan2(10, 40), 12);
  });

  it('face ROI from landmarks measures bounds in the rolled frame', () => {
    // A 40x20 rectangle of points rolled by 30 degrees about (100, 50); 33 and 263 on its long axis.
    const angle = Math.PI / 6;
    const pts = new Float32Array(468 * 3);
    const place = (i: number, u: number, v: number) => {
      pts[3 * i] = 100 + Math.cos(angle) * u - Math.sin(angle) * v;
      pts[3 * i + 1] = 50 + Math.sin(angle) * u + Math.cos(angle) * v;
    };
    for (let i = 0; i < 468; i++) place(i, ((i % 5) / 4) * 40 - 20, (Math.floor(i / 5) % 2) * 20 - 10);
    place(33, -20, 0);
    place(263, 20, 0);
    const roi = roiFromLandmarks(pts);
    expect(roi.angle).toBeCloseTo(angle, 6);
    expect(roi.cx).toBeCloseTo(100, 4);
    expect(roi.cy).toBeCloseTo(50, 4);
    expect(roi.size).toBeCloseTo(60, 4);
  });

  it('eye ROI spans 2.3 x the corner distance', () => {
    const r = roiFromEyeCorners([10, 10], [40, 50]);
    expect([r.cx, r.cy, r.size]).toEqual([25, 30, 50 * 2.3]);
  });
});

describe('landmark mapping', () => {
  const roi = { cx: 200, cy: 150, size: 120, angle: -0.2 };

  it('maps crop points through the ROI and scales z like x and y', () => {
    const raw = new Float32Array(468 * 3);
    raw.set([96, 96, 10, 0, 0, -5]);
    const pts = mapMeshToImage(raw, roi, 192);
    expect(pts[0]).toBeCloseTo(200, 4);
    expect(pts[1]).toBeCloseTo(150, 4);
    expect(pts[2]).toBeCloseTo(10 * 120 / 192, 5);
    const [x, y] = cropToImage(roi, 192, 0, 0);
    expect(pts[3]).toBeCloseTo(x, 4);
    expect(pts[4]).toBeCloseTo(y, 4);
  });

  it('undoes the mirror of a flipped eye crop', () => {
    const raw = new Float32Array(76 * 3);
    raw.set([10, 20, 0]);
    const a = mapIrisToImage(raw, roi, 64, true);
    const [x, y] = cropToImage(roi, 64, 54, 20);
    expect(a[0]).toBeCloseTo(x, 4);
    expect(a[1]).toBeCloseTo(y, 4);
  });

  it('replaces the eyelid contours and appends irises in the mesh depth frame', () => {
    const mesh = new Float32Array(468 * 3);
    // Frontal eyes: corners at equal depth 5, 60 px apart.
    for (const [i, x] of [[33, 100], [133, 130], [362, 170], [263, 200]]) { mesh[3 * i] = x; mesh[3 * i + 1] = 100; mesh[3 * i + 2] = 5; }
    const eye = (dx: number) => {
      const e = new Float32Array(76 * 3);
      for (let i = 0; i < 76; i++) { e[3 * i] = dx + i; e[3 * i + 1] = 90; e[3 * i + 2] = 2; }
      return e;
    };
    const { points, refinedEyes } = refineEyesWithIris(mesh, eye(1000), eye(2000));
    expect(refinedEyes).toEqual({ right: true, left: true });
    const first = MESH_TOPOLOGY.rightEye.upper0[0];
    expect(points[3 * first]).toBe(1000 + MESH_TOPOLOGY.irisContour.upper0[0]);
    expect(points[3 * 468]).toBe(1000 + 71); // right iris centre
    expect(points[3 * 473]).toBe(2000 + 71);
    // Iris z: mesh contour mean (0 except the two corners at 5) + (iris z - iris contour mean) = mesh mean.
    const contour = [...MESH_TOPOLOGY.rightEye.upper0, ...MESH_TOPOLOGY.rightEye.lower0];
    const meanZ = (5 + 5) / contour.length;
    expect(points[3 * 468 + 2]).toBeCloseTo(meanZ, 5);
    // Untouched mesh points are copied.
    expect(points[3 * 1]).toBe(mesh[3 * 1]);
  });

  it('refines only the nearer eye of a turned face', () => {
    const mesh = new Float32Array(468 * 3);
    for (const [i, x, z] of [[33, 100, -40], [133, 130, -40], [362, 170, 30], [263, 200, 30]]) { mesh[3 * i] = x; mesh[3 * i + 2] = z; }
    const e = new Float32Array(76 * 3);
    expect(refineEyesWithIris(mesh, e, e).refinedEyes).toEqual({ right: true, left: false });
  });
});

describe('execution provider configuration', async () => {
  const { providersFromEnv } = await import('../src/adapters/onnx');
  it('defaults to cpu, reads an ordered list, and refuses unknown names', () => {
    expect(providersFromEnv({})).toEqual(['cpu']);
    expect(providersFromEnv({ FACERECON_PROVIDERS: 'CUDA, cpu' })).toEqual(['cuda', 'cpu']);
    expect(() => providersFromEnv({ FACERECON_PROVIDERS: 'tensorrt' })).toThrow(/unknown execution provider "tensorrt"/);
  });
});
