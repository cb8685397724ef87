/**
 * The mesh's left/right symmetry used by flip averaging (face/landmarks.ts mirrorMap), checked on
 * the canonical face against landmark pairs named in MediaPipe's topology.
 */
import { describe, expect, it } from 'vitest';
import topology from '../../src/face/data/mesh-topology.json';
import { mirrorMap } from '../../src/face/landmarks';
import { loadCanonicalFace } from '../../src/recon/canonical';

describe('mirrorMap', () => {
  const m = mirrorMap(loadCanonicalFace().positions);

  it('is a pairing: one to one, and mirroring twice is the identity', () => {
    expect(new Set(m).size).toBe(468);
    for (let i = 0; i < 468; i++) expect(m[m[i]]).toBe(i);
  });

  it('pairs the eyes\' corners and contours, the mouth corners, and keeps the midline in place', () => {
    const [r0, r1] = topology.rightEye.corners;
    const [l0, l1] = topology.leftEye.corners;
    expect([m[r0], m[r1]].sort()).toEqual([l0, l1].sort());
    expect(m[61]).toBe(291); // mouth corners
    for (const mid of [1, 4, 10, 152, 13, 14]) expect(m[mid], `midline ${mid}`).toBe(mid); // nose tip, forehead, chin, lips
    const upperR = topology.rightEye.upper0.map((i) => m[i]).sort((a, b) => a - b);
    expect(upperR).toEqual([...topology.leftEye.upper0].sort((a, b) => a - b));
  });
});
