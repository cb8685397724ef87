/**
 * The 68 iBUG points (the 300-W order most face tools and benchmarks speak) from MediaPipe's
 * landmarks, by the table in data/ibug68.json (its `about` says how each part was made).
 *
 * - 51 inner points and the chin (8) are MediaPipe vertices of the same meaning, one to one, except
 *   the brows, the top of the nose bridge (27) and the lower lip beside the corners (55, 59), which
 *   sit between vertices (weighted means): the brows on their centre line between MediaPipe's upper
 *   and lower brow rows, as 3D-annotated iBUG points put them (models/src/correspondence.ts).
 * - The 16 other jaw points follow the 300-W / Multi-PIE markup, where the jaw points are spread
 *   evenly along the jaw line from the ear to the chin (Sagonas et al., "300 Faces In-The-Wild
 *   Challenge", IMAVIS 2016): each side's 8 points sit at equal 3D arclength steps along MediaPipe's
 *   face oval from the chin to the oval's point by the ear (127 / 356). Arclength in 3D rather than in
 *   the image keeps the spacing right on a turned head, where the far side's oval is foreshortened.
 * - Some points lie behind the surface point MediaPipe traces (data/ibug68.json depthMm, from
 *   models/src/correspondence.ts IBUG68_DEPTH_MM): the side jaw points behind the face oval, which is
 *   the rim of the face mesh in front of the mandible line the iBUG jaw traces (AFLW2000-3D's jaw
 *   points are 3D model vertices, projected: on a turned head the far ones lie behind the cheek), and
 *   the nose base behind the nostril rim. With `depthAxis` (one millimetre into the head in the
 *   points' frame: depthAxisPx for a fitted camera, DEPTH_AXIS_HEAD_MM in the head frame) each moves
 *   its depth along it; without, every point stays on the surface.
 *
 * Works in any frame (image pixels or head millimetres). Pass 3 coordinates a point for the 3D
 * spacing; with 2, the spacing is measured in the image (slightly less accurate on turned heads).
 */
import type { Mat3 } from '../recon/linalg';
import table from './data/ibug68.json';

/** One millimetre deeper into the head, in photo pixels (x right, y down, z as MediaPipe's: away from the camera), for a head seen by `camera` (head -> camera rotation with y up and z towards the viewer). */
export function depthAxisPx(camera: { rotation: Mat3; pixelsPerMm: number }): [number, number, number] {
  const R = camera.rotation;
  const d = camera.pixelsPerMm;
  return [-d * R[2], d * R[5], d * R[8]];
}

/** The same in the head frame (millimetres, +z out of the face). */
export const DEPTH_AXIS_HEAD_MM: readonly [number, number, number] = [0, 0, -1];

/** iBUG index -> mm behind the MediaPipe surface point (0 for points on it). */
export const IBUG68_DEPTH_MM: readonly number[] = (() => {
  const out = new Array<number>(68).fill(0);
  for (const [k, mm] of table.depthMm as Array<[number, number]>) out[k] = mm;
  return out;
})();

const DIRECT = table.direct as Array<[number, number]>;
const BLEND = table.blend as Array<[number, Array<[number, number]>]>;
const ARCS = table.jawArcs as { right: number[]; left: number[] };

/** `n` points at equal arclength steps k/n (k = 1..n) along the polyline through `arc` (the chin first). */
function alongArc(points: ReadonlyArray<ReadonlyArray<number>>, arc: readonly number[], n: number): number[][] {
  const cum = [0];
  for (let i = 1; i < arc.length; i++) {
    const a = points[arc[i - 1]];
    const b = points[arc[i]];
    cum.push(cum[i - 1] + Math.hypot(...a.map((v, d) => b[d] - v)));
  }
  const total = cum[cum.length - 1];
  const out: number[][] = [];
  let seg = 1;
  for (let k = 1; k <= n; k++) {
    const s = (k / n) * total;
    while (seg < arc.length - 1 && cum[seg] < s) seg++;
    const len = cum[seg] - cum[seg - 1];
    const t = len > 0 ? (s - cum[seg - 1]) / len : 0;
    const a = points[arc[seg - 1]];
    const b = points[arc[seg]];
    out.push(a.map((v, d) => v + t * (b[d] - v)));
  }
  return out;
}

export function ibug68From(points: ReadonlyArray<ReadonlyArray<number>>, opts: { depthAxis?: readonly number[] } = {}): number[][] {
  const out: number[][] = new Array(68);
  for (const [k, m] of DIRECT) out[k] = [...points[m]];
  for (const [k, parts] of BLEND) out[k] = points[parts[0][0]].map((_, d) => parts.reduce((s, [m, w]) => s + w * points[m][d], 0));
  const right = alongArc(points, ARCS.right, 8);
  const left = alongArc(points, ARCS.left, 8);
  // iBUG 7..0 run from the chin up the subject's right side, 9..16 up the left.
  for (let k = 1; k <= 8; k++) {
    out[8 - k] = right[k - 1];
    out[8 + k] = left[k - 1];
  }
  const axis = opts.depthAxis;
  if (axis) for (let k = 0; k < 68; k++) if (IBUG68_DEPTH_MM[k]) out[k] = out[k].map((v, d) => v + IBUG68_DEPTH_MM[k] * (axis[d] ?? 0));
  return out;
}
