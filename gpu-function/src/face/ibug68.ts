/**
 * The 68 iBUG points (the 300-W order most face tools and benchmarks speak) from MediaPipe's
 * landmarks, by the table in data/ibug68.json (its `about` says how each part was made: 52 points one
 * to one, the 16 jaw points interpolated along MediaPipe's face oval as fitted on ICT-FaceKit's
 * head). Works in any frame: image pixels or head millimetres, 2 or 3 coordinates a point.
 */
import table from './data/ibug68.json';

const DIRECT = table.direct as Array<[number, number]>;
const JAW = table.jaw as Array<[number, number, number, number]>;

export function ibug68From(points: ReadonlyArray<ReadonlyArray<number>>): number[][] {
  const out: number[][] = new Array(68);
  for (const [k, m] of DIRECT) out[k] = [...points[m]];
  for (const [k, a, b, t] of JAW) out[k] = points[a].map((v, d) => (1 - t) * v + t * points[b][d]);
  return out;
}
