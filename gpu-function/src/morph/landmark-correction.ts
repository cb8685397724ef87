/**
 * Landmark residual correction: a morphable model with a handful of modes cannot follow a face to the
 * millimetre (the fit leaves ~2.5 mm RMS on the 468 landmarks with ICT's subset), and the bake then
 * paints the lips' colour a little beside ICT's lip geometry. The residuals at the landmarks, spread
 * over the surface by a normalised Gaussian kernel (Nadaraya-Watson regression) and refined by a few
 * passes on what is left at the landmarks (iterated residual interpolation), move the surface onto
 * the observed points; beyond the landmarks the correction fades smoothly to zero with the distance
 * to the nearest one (the back of the head keeps the model's shape).
 *
 * Units: mm, head frame. Precomputed once per model (sparse weights: the nearest landmarks of each
 * vertex); per photo it is O(vertices x neighbours). Preconditions: landmark positions on the mean
 * surface, vertex positions on the same surface.
 */
export interface LandmarkCorrection {
  /** Per corrected vertex: up to K landmark indices and weights (CSR). */
  vertexStart: Uint32Array;
  vertexLandmark: Uint32Array;
  vertexWeight: Float32Array;
  /** The same weights evaluated at the landmarks themselves, for the refinement passes. */
  landmarkStart: Uint32Array;
  landmarkLandmark: Uint32Array;
  landmarkWeight: Float32Array;
}

export interface CorrectionOptions {
  /** Kernel width, mm (default 3). */
  sigmaMm?: number;
  /** Distance from the nearest landmark where the correction starts to fade, mm (default 6)... */
  fadeMm?: number;
  /** ...and over which it fades to zero, smoothly, mm (default 25). */
  fadeWidthMm?: number;
  /** Neighbours per point (default 8). */
  neighbours?: number;
  /** Which vertices may move (default all). */
  movable?: (vertex: number) => boolean;
}

function kernelRows(points: ArrayLike<number>, count: number, landmarks: ArrayLike<number>, o: { sigma: number; k: number; fade: number; fadeWidth: number }, movable: (i: number) => boolean) {
  const m = landmarks.length / 3;
  const start = new Uint32Array(count + 1);
  const idx: number[] = [];
  const wts: number[] = [];
  const reach2 = (o.fade + o.fadeWidth) ** 2;
  const near: Array<[number, number]> = [];
  for (let v = 0; v < count; v++) {
    start[v] = idx.length;
    if (!movable(v)) continue;
    near.length = 0;
    const x = points[3 * v], y = points[3 * v + 1], z = points[3 * v + 2];
    for (let i = 0; i < m; i++) {
      const d2 = (x - landmarks[3 * i]) ** 2 + (y - landmarks[3 * i + 1]) ** 2 + (z - landmarks[3 * i + 2]) ** 2;
      if (d2 < reach2) near.push([d2, i]);
    }
    if (near.length === 0) continue;
    near.sort((a, b) => a[0] - b[0]);
    const take = near.slice(0, o.k);
    // Gaussian weights relative to the nearest landmark (no underflow far out), normalised to sum 1:
    // a weighted average of the nearby residuals...
    const d0 = take[0][0];
    const w = take.map(([d2]) => Math.exp(-(d2 - d0) / (2 * o.sigma * o.sigma)));
    const sum = w.reduce((a, b) => a + b, 0);
    // ...faded out smoothly between `fade` and `fade + fadeWidth` from the nearest landmark.
    const t = Math.min(1, Math.max(0, (Math.sqrt(d0) - o.fade) / o.fadeWidth));
    const keep = 1 - t * t * (3 - 2 * t);
    if (keep === 0) continue;
    take.forEach(([, i], n) => {
      idx.push(i);
      wts.push((keep * w[n]) / sum);
    });
  }
  start[count] = idx.length;
  return { start, idx: Uint32Array.from(idx), w: Float32Array.from(wts) };
}

export function prepareLandmarkCorrection(vertices: ArrayLike<number>, landmarks: ArrayLike<number>, opts: CorrectionOptions = {}): LandmarkCorrection {
  const sigma = opts.sigmaMm ?? 3;
  const k = opts.neighbours ?? 8;
  const movable = opts.movable ?? (() => true);
  const o = { sigma, k, fade: opts.fadeMm ?? 6, fadeWidth: opts.fadeWidthMm ?? 25 };
  const v = kernelRows(vertices, vertices.length / 3, landmarks, o, movable);
  const l = kernelRows(landmarks, landmarks.length / 3, landmarks, o, () => true);
  return { vertexStart: v.start, vertexLandmark: v.idx, vertexWeight: v.w, landmarkStart: l.start, landmarkLandmark: l.idx, landmarkWeight: l.w };
}

function spread(start: Uint32Array, idx: Uint32Array, w: Float32Array, values: Float64Array, out: Float64Array): void {
  const n = start.length - 1;
  for (let v = 0; v < n; v++) {
    let x = 0, y = 0, z = 0;
    for (let e = start[v]; e < start[v + 1]; e++) {
      const i = idx[e], c = w[e];
      x += c * values[3 * i];
      y += c * values[3 * i + 1];
      z += c * values[3 * i + 2];
    }
    out[3 * v] += x;
    out[3 * v + 1] += y;
    out[3 * v + 2] += z;
  }
}

/**
 * correctToLandmarks: per-vertex displacements (mm) that carry the surface towards the landmark
 * residuals (target - fitted, per landmark, mm). `passes` refinement passes (default 6) re-spread
 * what is still missing at the landmarks; each displacement is capped at `maxMm` (default 8).
 */
export function correctToLandmarks(c: LandmarkCorrection, residuals: Float64Array, opts: { passes?: number; maxMm?: number } = {}): Float64Array {
  const nv = c.vertexStart.length - 1;
  const nl = c.landmarkStart.length - 1;
  const disp = new Float64Array(3 * nv);
  const atLandmarks = new Float64Array(3 * nl);
  const left = Float64Array.from(residuals);
  for (let pass = 0; pass < (opts.passes ?? 6); pass++) {
    spread(c.vertexStart, c.vertexLandmark, c.vertexWeight, left, disp);
    const step = new Float64Array(3 * nl);
    spread(c.landmarkStart, c.landmarkLandmark, c.landmarkWeight, left, step);
    for (let i = 0; i < 3 * nl; i++) {
      atLandmarks[i] += step[i];
      left[i] = residuals[i] - atLandmarks[i];
    }
  }
  const cap = opts.maxMm ?? 8;
  for (let v = 0; v < nv; v++) {
    const len = Math.hypot(disp[3 * v], disp[3 * v + 1], disp[3 * v + 2]);
    if (len > cap) for (let d = 0; d < 3; d++) disp[3 * v + d] *= cap / len;
  }
  return disp;
}

/** Vertex adjacency (CSR) of a triangle list, for smoothing a per-vertex field over the surface. */
export function vertexAdjacency(indices: ArrayLike<number>, count: number): { start: Uint32Array; next: Uint32Array } {
  const sets = Array.from({ length: count }, () => new Set<number>());
  for (let t = 0; t < indices.length; t += 3) {
    for (let c = 0; c < 3; c++) {
      const a = indices[t + c], b = indices[t + ((c + 1) % 3)];
      sets[a].add(b);
      sets[b].add(a);
    }
  }
  const start = new Uint32Array(count + 1);
  for (let v = 0; v < count; v++) start[v + 1] = start[v] + sets[v].size;
  const next = new Uint32Array(start[count]);
  sets.forEach((s, v) => next.set([...s], start[v]));
  return { start, next };
}

/**
 * smoothField: `iterations` passes of umbrella (Laplacian) smoothing, x := (x + mean of neighbours) / 2,
 * on a 3-vector per vertex, in place. A kernel-spread correction is smooth between landmarks but
 * can dimple at the scale of the mesh; a few passes remove that without moving the bulk.
 */
export function smoothField(adj: { start: Uint32Array; next: Uint32Array }, field: Float64Array, iterations: number): void {
  const n = adj.start.length - 1;
  let src: Float64Array = field;
  let dst: Float64Array = new Float64Array(field.length);
  for (let it = 0; it < iterations; it++) {
    for (let v = 0; v < n; v++) {
      const a = adj.start[v], b = adj.start[v + 1];
      if (a === b) {
        dst[3 * v] = src[3 * v];
        dst[3 * v + 1] = src[3 * v + 1];
        dst[3 * v + 2] = src[3 * v + 2];
        continue;
      }
      let x = 0, y = 0, z = 0;
      for (let e = a; e < b; e++) {
        const u = adj.next[e];
        x += src[3 * u];
        y += src[3 * u + 1];
        z += src[3 * u + 2];
      }
      const inv = 1 / (b - a);
      dst[3 * v] = 0.5 * (src[3 * v] + x * inv);
      dst[3 * v + 1] = 0.5 * (src[3 * v + 1] + y * inv);
      dst[3 * v + 2] = 0.5 * (src[3 * v + 2] + z * inv);
    }
    [src, dst] = [dst, src];
  }
  if (src !== field) field.set(src);
}
