/**
 * embedLandmarksOnSurface: the dense correspondence between a landmark topology (MediaPipe's 468
 * canonical points) and a morphable model's surface, as (triangle, barycentrics) per landmark.
 *
 * Method: landmark-guided non-rigid alignment. A 3D thin-plate-style radial warp (kernel phi(r) = r,
 * the biharmonic Green's function in 3D, plus an affine part; Bookstein 1989, Carr et al. 2001) is
 * fitted to map the sparse anchor pairs (points whose meaning both topologies define, e.g. the iBUG-68
 * eye corners, brows, nose and lips) from the source onto the target; the warp carries every source
 * point near the target surface, and each is then snapped to its closest point on the allowed target
 * triangles (Ericson, Real-Time Collision Detection, 5.1.5). Points that land farther than
 * `maxDistance` from the surface have no counterpart there and are left out.
 *
 * Units: whatever the two point sets share (both centimetres for MediaPipe and ICT-FaceKit); frames
 * may differ by any affine map, which the warp absorbs. Preconditions: >= 4 non-coplanar anchors.
 * Failure: RangeError on a singular anchor system.
 */
export interface SurfaceEmbedding {
  /** Source point index per embedded point. */
  source: Uint32Array;
  /** Target triangle per embedded point (index into `triangles / 3`). */
  triangle: Uint32Array;
  /** k x 3 barycentric weights of the triangle's corners. */
  barycentric: Float32Array;
  /** Distance from the warped source point to the surface, source units. */
  distance: Float32Array;
}

export interface EmbedOptions {
  /** n x 3 source points. */
  source: ArrayLike<number>;
  /** m x 3 target vertices. */
  target: ArrayLike<number>;
  /** Target triangles the points may land on (3 indices each). */
  triangles: ArrayLike<number>;
  /** [source index, target vertex] pairs. */
  anchors: ReadonlyArray<readonly [number, number]>;
  /** Largest snap distance to accept, source units. */
  maxDistance: number;
  /** Ridge on the kernel diagonal: 0 interpolates the anchors exactly; larger smooths the warp. */
  smoothing?: number;
}

/** Gaussian elimination with partial pivoting on an n x n system with `r` right-hand sides (row-major, in place). */
function solveDense(A: Float64Array, B: Float64Array, n: number, r: number): Float64Array {
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(A[i * n + c]) > Math.abs(A[p * n + c])) p = i;
    if (Math.abs(A[p * n + c]) < 1e-12) throw new RangeError('anchor system is singular (anchors coplanar or repeated?)');
    if (p !== c) {
      for (let j = 0; j < n; j++) [A[c * n + j], A[p * n + j]] = [A[p * n + j], A[c * n + j]];
      for (let j = 0; j < r; j++) [B[c * r + j], B[p * r + j]] = [B[p * r + j], B[c * r + j]];
    }
    for (let i = c + 1; i < n; i++) {
      const f = A[i * n + c] / A[c * n + c];
      if (f === 0) continue;
      for (let j = c; j < n; j++) A[i * n + j] -= f * A[c * n + j];
      for (let j = 0; j < r; j++) B[i * r + j] -= f * B[c * r + j];
    }
  }
  const X = new Float64Array(n * r);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = 0; j < r; j++) {
      let s = B[i * r + j];
      for (let k = i + 1; k < n; k++) s -= A[i * n + k] * X[k * r + j];
      X[i * r + j] = s / A[i * n + i];
    }
  }
  return X;
}

/** The radial warp fitted to the anchors, as a function of a source point. */
export function fitRadialWarp(from: ArrayLike<number>, to: ArrayLike<number>, smoothing = 0): (x: number, y: number, z: number) => [number, number, number] {
  const k = from.length / 3;
  const n = k + 4;
  const A = new Float64Array(n * n);
  const B = new Float64Array(n * 3);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) A[i * n + j] = Math.hypot(from[3 * i] - from[3 * j], from[3 * i + 1] - from[3 * j + 1], from[3 * i + 2] - from[3 * j + 2]);
    A[i * n + i] += smoothing;
    const P = [1, from[3 * i], from[3 * i + 1], from[3 * i + 2]];
    for (let c = 0; c < 4; c++) {
      A[i * n + k + c] = P[c];
      A[(k + c) * n + i] = P[c];
    }
    for (let d = 0; d < 3; d++) B[i * 3 + d] = to[3 * i + d];
  }
  const W = solveDense(A, B, n, 3);
  return (x, y, z) => {
    const out: [number, number, number] = [0, 0, 0];
    for (let d = 0; d < 3; d++) out[d] = W[k * 3 + d] + W[(k + 1) * 3 + d] * x + W[(k + 2) * 3 + d] * y + W[(k + 3) * 3 + d] * z;
    for (let i = 0; i < k; i++) {
      const r = Math.hypot(x - from[3 * i], y - from[3 * i + 1], z - from[3 * i + 2]);
      for (let d = 0; d < 3; d++) out[d] += W[i * 3 + d] * r;
    }
    return out;
  };
}

/** Closest point of triangle abc to p, as barycentrics (Ericson 5.1.5). */
export function closestPointBarycentric(p: readonly number[], a: readonly number[], b: readonly number[], c: readonly number[]): [number, number, number] {
  const sub = (u: readonly number[], v: readonly number[]) => [u[0] - v[0], u[1] - v[1], u[2] - v[2]];
  const dot = (u: number[], v: number[]) => u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
  const ab = sub(b, a), ac = sub(c, a), ap = sub(p, a);
  const d1 = dot(ab, ap), d2 = dot(ac, ap);
  if (d1 <= 0 && d2 <= 0) return [1, 0, 0];
  const bp = sub(p, b);
  const d3 = dot(ab, bp), d4 = dot(ac, bp);
  if (d3 >= 0 && d4 <= d3) return [0, 1, 0];
  const vc = d1 * d4 - d3 * d2;
  if (vc <= 0 && d1 >= 0 && d3 <= 0) {
    const v = d1 / (d1 - d3);
    return [1 - v, v, 0];
  }
  const cp = sub(p, c);
  const d5 = dot(ab, cp), d6 = dot(ac, cp);
  if (d6 >= 0 && d5 <= d6) return [0, 0, 1];
  const vb = d5 * d2 - d1 * d6;
  if (vb <= 0 && d2 >= 0 && d6 <= 0) {
    const w = d2 / (d2 - d6);
    return [1 - w, 0, w];
  }
  const va = d3 * d6 - d5 * d4;
  if (va <= 0 && d4 - d3 >= 0 && d5 - d6 >= 0) {
    const w = (d4 - d3) / (d4 - d3 + (d5 - d6));
    return [0, 1 - w, w];
  }
  const denom = 1 / (va + vb + vc);
  const v = vb * denom, w = vc * denom;
  return [1 - v - w, v, w];
}

export function embedLandmarksOnSurface(opts: EmbedOptions): SurfaceEmbedding {
  const { source, target, triangles } = opts;
  const from = new Float64Array(opts.anchors.length * 3);
  const to = new Float64Array(opts.anchors.length * 3);
  opts.anchors.forEach(([s, t], i) => {
    for (let d = 0; d < 3; d++) {
      from[3 * i + d] = source[3 * s + d];
      to[3 * i + d] = target[3 * t + d];
    }
  });
  const warp = fitRadialWarp(from, to, opts.smoothing ?? 0);
  const vtx = (i: number) => [target[3 * i], target[3 * i + 1], target[3 * i + 2]];
  const out = { source: [] as number[], triangle: [] as number[], barycentric: [] as number[], distance: [] as number[] };
  const nt = triangles.length / 3;
  for (let s = 0; s < source.length / 3; s++) {
    const p = warp(source[3 * s], source[3 * s + 1], source[3 * s + 2]);
    let best = Infinity;
    let bestT = -1;
    let bestB: [number, number, number] = [1, 0, 0];
    for (let t = 0; t < nt; t++) {
      const a = vtx(triangles[3 * t]), b = vtx(triangles[3 * t + 1]), c = vtx(triangles[3 * t + 2]);
      // Cheap reject: the triangle's bounding sphere around its first corner cannot beat the best.
      const reach = Math.max(Math.hypot(b[0] - a[0], b[1] - a[1], b[2] - a[2]), Math.hypot(c[0] - a[0], c[1] - a[1], c[2] - a[2]));
      if (Math.hypot(p[0] - a[0], p[1] - a[1], p[2] - a[2]) - reach > best) continue;
      const w = closestPointBarycentric(p, a, b, c);
      const q = [0, 1, 2].map((d) => w[0] * a[d] + w[1] * b[d] + w[2] * c[d]);
      const dist = Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
      if (dist < best) {
        best = dist;
        bestT = t;
        bestB = w;
      }
    }
    if (bestT < 0 || best > opts.maxDistance) continue;
    out.source.push(s);
    out.triangle.push(bestT);
    out.barycentric.push(...bestB);
    out.distance.push(best);
  }
  return { source: Uint32Array.from(out.source), triangle: Uint32Array.from(out.triangle), barycentric: Float32Array.from(out.barycentric), distance: Float32Array.from(out.distance) };
}

/**
 * The iBUG-68 points whose meaning MediaPipe's 468 topology also defines (brows, nose, eyes, lips and
 * the chin), as [iBUG index, MediaPipe index]. The jaw contour (iBUG 0-7, 9-16) is left out: its
 * points are defined by the silhouette, not by the surface, and the topologies place them differently.
 */
export const IBUG68_TO_MEDIAPIPE: ReadonlyArray<readonly [number, number]> = [
  [8, 152],
  [17, 70], [18, 63], [19, 105], [20, 66], [21, 107], [22, 336], [23, 296], [24, 334], [25, 293], [26, 300],
  [27, 168], [28, 197], [29, 5], [30, 4], [31, 75], [32, 97], [33, 2], [34, 326], [35, 305],
  [36, 33], [37, 160], [38, 158], [39, 133], [40, 153], [41, 144], [42, 362], [43, 385], [44, 387], [45, 263], [46, 373], [47, 380],
  [48, 61], [49, 39], [50, 37], [51, 0], [52, 267], [53, 269], [54, 291], [55, 405], [56, 314], [57, 17], [58, 84], [59, 181],
  [60, 78], [61, 82], [62, 13], [63, 312], [64, 308], [65, 317], [66, 14], [67, 87],
];

/**
 * The iBUG-68 points that sit between MediaPipe vertices rather than on one, as [iBUG index, [[MediaPipe
 * vertex, weight], ...]] (weights summing to 1). They override IBUG68_TO_MEDIAPIPE in the landmarks_68
 * table; the ICT-FaceKit anchors keep the one-to-one map.
 * - The brows (17-26): MediaPipe traces each brow by an upper row (70 63 105 66 107 / 336 296 334 293
 *   300) and a lower row (46 53 52 65 55 / 285 295 282 283 276); the 3D-annotated iBUG brows of
 *   AFLW2000-3D (and of 300W-LP, which 3DDFA and PRNet are trained on) follow the brow's centre line
 *   between them. The brow's inner end (21, 22) starts where the brow hair does, a third of the way
 *   along that centre line from MediaPipe's innermost pair (107 / 55, 336 / 285) to the next (66 / 65,
 *   296 / 295): MediaPipe's rows run on towards the nose root.
 * - The top of the nose bridge (27): between 168 (level with the brows) and 6 (below it on the ridge),
 *   at the level of the eyes' upper lids where iBUG puts it.
 * - The lower lip's outer points beside the corners (55, 59): halfway between MediaPipe's 405 / 181 and
 *   the next vertex out (321 / 91), where the lip's contour turns up towards the corner.
 * Chosen on the AFLW2000-3D development split among discrete definitions (on a vertex, halfway, a
 * third of the way; bench:landmarks, recorded in bench/RESULTS.md with the frontal error of each point
 * before and after); no coordinate is fitted to the data.
 */
const half = (a: number, b: number): ReadonlyArray<readonly [number, number]> => [[a, 0.5], [b, 0.5]];
const innerBrowEnd = (inner: readonly [number, number], next: readonly [number, number]): ReadonlyArray<readonly [number, number]> => [
  [inner[0], 1 / 3], [inner[1], 1 / 3], [next[0], 1 / 6], [next[1], 1 / 6],
];
export const IBUG68_BLEND_MEDIAPIPE: ReadonlyArray<readonly [number, ReadonlyArray<readonly [number, number]>]> = [
  [17, half(70, 46)], [18, half(63, 53)], [19, half(105, 52)], [20, half(66, 65)], [21, innerBrowEnd([107, 55], [66, 65])],
  [22, innerBrowEnd([336, 285], [296, 295])], [23, half(296, 295)], [24, half(334, 282)], [25, half(293, 283)], [26, half(300, 276)],
  [27, half(168, 6)],
  [55, half(405, 321)], [59, half(181, 91)],
];

/**
 * How far behind the MediaPipe surface point each iBUG point lies, in mm along the head's -z (its
 * depth axis), as [iBUG index, mm]; points not listed lie on the surface. A depth changes nothing on
 * a frontal face and moves the point sideways in the image as the head turns, which is how the
 * difference shows.
 * - The jaw (0-7, 9-16): MediaPipe's face oval is the rim of its face mesh, in front of the mandible
 *   line the iBUG jaw traces (AFLW2000-3D's jaw points are 3D model vertices, projected: on a turned
 *   head the far ones lie behind the cheek, not on the silhouette). 10 mm, except the pair beside the
 *   chin (7, 9), 3 mm: at the chin the oval lies on the mandible (the chin itself, 8, stays on it).
 * - The nose base (31-35): iBUG's points sit at the alar base and the subnasale, where the nostrils
 *   meet the face; MediaPipe's vertices there (75 97 2 326 305) lie on the nostril rim in front of it.
 * Each depth is one number per group chosen on the AFLW2000-3D development split (bench:landmarks,
 * recorded in bench/RESULTS.md): the jaw's among 0 / 5 / 10 / 15 / 20 mm, the same best at every turn;
 * the pair beside the chin and the nose base from the per-point least-squares depth, which is the same
 * sign in every yaw bin and lowers the error in each half of the split.
 */
export const IBUG68_DEPTH_MM: ReadonlyArray<readonly [number, number]> = [
  ...[0, 1, 2, 3, 4, 5, 6, 10, 11, 12, 13, 14, 15, 16].map((k) => [k, 10] as const),
  [7, 3], [9, 3],
  [31, 4], [32, 4], [33, 4], [34, 4], [35, 4],
];
