/**
 * The fit's landmark weights on MediaPipe's canonical face (built by npm install, no shared files):
 * silhouette points on the far side of a turned head stop counting, mirror-symmetrically, while the
 * inner face keeps full weight.
 */
import { describe, expect, it } from 'vitest';
import { FACE_OVAL, landmarkWeights } from '../../src/morph/calibration';
import { loadCanonicalFace } from '../../src/recon/canonical';
import { rotationFromEuler } from '../../src/recon/pose';
import { computeVertexNormals } from '../../src/recon/subdivide';

describe('landmarkWeights', () => {
  const canonical = loadCanonicalFace();
  const normals = computeVertexNormals(canonical.positions, canonical.triangles);
  const ids = Uint32Array.from({ length: 468 }, (_, i) => i);
  const zeroOval = (yaw: number) => {
    const w = landmarkWeights(ids, normals, rotationFromEuler({ yaw, pitch: 0, roll: 0 }), 0.3);
    return { w, zero: FACE_OVAL.filter((id) => w[id] === 0) };
  };

  it('inner points weigh 1; oval points at most the contour weight', () => {
    const { w } = zeroOval(0);
    const oval = new Set(FACE_OVAL);
    for (let i = 0; i < 468; i++) {
      if (oval.has(i)) expect(w[i]).toBeLessThanOrEqual(0.3);
      else expect(w[i]).toBe(1);
    }
    expect(w[152]).toBeGreaterThan(0.2); // the chin faces the camera
  });

  it('a turned head drops the far side of the oval, and the mirror turn drops the mirror points', () => {
    const left = zeroOval(40).zero;
    const right = zeroOval(-40).zero;
    expect(left.length).toBeGreaterThan(3);
    expect(left.filter((id) => right.includes(id))).toEqual([]);
    // Mirror images: each dropped point's reflection (x -> -x) is dropped by the opposite turn.
    for (const id of left) expect(right).toContain(canonical.mirror[id]);
    // The near side keeps its points.
    const { w } = zeroOval(40);
    expect(right.some((id) => w[id] > 0.1)).toBe(true);
  });
});
