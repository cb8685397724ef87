/**
 * UV tangent frames (tangents.ts) on surfaces whose frames are known in closed form: a plane (dP/du
 * along +X, dP/dv along -Y), the same plane with u mirrored, and a cylinder (dP/du round the axis,
 * dP/dv down it). The glTF rules checked: T unit, orthogonal to N, along dP/du; w = +-1 with
 * cross(N, T) * w pointing up the image (-dP/dv).
 */
import { describe, expect, it } from 'vitest';
import { gltfTangents, uvTangentFrames } from '../../src/recon/tangents';
import { cylinderMesh, planeMesh, type Mesh } from '../synthetic-meshes';

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: ArrayLike<number>, b: ArrayLike<number>) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const at = (a: Float32Array, i: number, k: number) => Array.from(a.subarray(k * i, k * i + 3));

/** The glTF accessor rules and the frame's relation to the UVs, at every vertex. */
function checkGltfFrame(mesh: Mesh, expectedT: (i: number) => number[], expectedW: number) {
  const t = gltfTangents(mesh);
  const { dv } = uvTangentFrames(mesh);
  const n = mesh.positions.length / 3;
  expect(t.length).toBe(4 * n);
  for (let i = 0; i < n; i++) {
    const T = at(t, i, 4);
    const N = at(mesh.normals, i, 3);
    expect(Math.hypot(T[0], T[1], T[2])).toBeCloseTo(1, 6);
    expect(Math.abs(dot(T, N))).toBeLessThan(1e-6);
    expect(dot(T, expectedT(i))).toBeCloseTo(1, 5);
    expect(t[4 * i + 3]).toBe(expectedW);
    // The bitangent points up the image: along -dP/dv.
    const B = cross(N, T).map((x) => x * t[4 * i + 3]);
    const up = at(dv, i, 3).map((x) => -x);
    expect(dot(B, up) / Math.hypot(up[0], up[1], up[2])).toBeCloseTo(1, 5);
  }
}

describe('uvTangentFrames and gltfTangents', () => {
  it('a plane: dP/du = +X * width and dP/dv = -Y * height in mm per UV unit; T = +X, w = +1', () => {
    const mesh = planeMesh({ size: 100 });
    const { du, dv } = uvTangentFrames(mesh);
    for (let i = 0; i < mesh.positions.length / 3; i++) {
      expect(at(du, i, 3).map((x) => x + 0)).toEqual([expect.closeTo(100, 4), expect.closeTo(0, 4), expect.closeTo(0, 4)]);
      expect(at(dv, i, 3).map((x) => x + 0)).toEqual([expect.closeTo(0, 4), expect.closeTo(-100, 4), expect.closeTo(0, 4)]);
    }
    checkGltfFrame(mesh, () => [1, 0, 0], 1);
  });

  it('the plane with u mirrored: T turns to -X and w flips to -1 (the bitangent still points up the image)', () => {
    const mesh = planeMesh({ size: 100, mirrorU: true });
    checkGltfFrame(mesh, () => [-1, 0, 0], -1);
    // Same B as the unmirrored plane: +Y.
    const t = gltfTangents(mesh);
    const B = cross([0, 0, 1], at(t, 0, 4)).map((x) => x * t[3]);
    expect(B.map((x) => x + 0)).toEqual([expect.closeTo(0, 6), expect.closeTo(1, 6), expect.closeTo(0, 6)]);
  });

  it('a cylinder: T is the circumferential direction at every vertex, w = +1; |dP/du| is the arc length per UV unit', () => {
    const r = 40, arcDeg = 180, segs = 24;
    const mesh = cylinderMesh({ r, h: 60, arcDeg, segments: segs, rows: 6 });
    // Vertex (j, i) sits at angle a = -arc/2 + arc * i / segs from +Z towards +X.
    const angle = (k: number) => (-arcDeg / 2 + (arcDeg * (k % (segs + 1))) / segs) * (Math.PI / 180);
    checkGltfFrame(mesh, (k) => [Math.cos(angle(k)), 0, -Math.sin(angle(k))], 1);
    const { du, dv } = uvTangentFrames(mesh);
    // Chords are a little shorter than the arc: 2 r sin(da / 2) / du over r da, 0.07% at 7.5 degrees.
    const arc = r * Math.PI;
    for (let k = 0; k < mesh.positions.length / 3; k++) {
      expect(Math.hypot(...at(du, k, 3)) / arc).toBeCloseTo(1, 2);
      expect(at(dv, k, 3)[1]).toBeCloseTo(-60, 3);
    }
  });

  it('a vertex only on triangles without UV area gets zero frames and a valid stand-in tangent (unit, orthogonal, w = 1)', () => {
    const mesh = planeMesh({ size: 10, cells: 1 });
    mesh.uvs.fill(0.5); // every UV the same: no triangle has UV area
    const { du, dv } = uvTangentFrames(mesh);
    expect(Array.from(du).every((x) => x === 0) && Array.from(dv).every((x) => x === 0)).toBe(true);
    const t = gltfTangents(mesh);
    for (let i = 0; i < 4; i++) {
      const T = at(t, i, 4);
      expect(Math.hypot(T[0], T[1], T[2])).toBeCloseTo(1, 6);
      expect(dot(T, [0, 0, 1])).toBeCloseTo(0, 6);
      expect(t[4 * i + 3]).toBe(1);
    }
  });
});
