/**
 * Maps landmark-model outputs from crop pixels back to the photo and merges the iris model into the
 * mesh, as MediaPipe's face_landmark + iris_landmark graphs do.
 *
 * Output frame: photo pixels, x right, y down; z is MediaPipe's relative depth (smaller = nearer the
 * camera, origin near the face centre) in the same pixel scale as x and y. Layout: 478 points, the 468
 * mesh vertices then 5 points per iris (centre, then 4 contour points): 468-472 the subject's right
 * eye (corners 33/133), 473-477 the left eye (corners 263/362), as MediaPipe's refined mesh numbers them.
 */
import topology from './data/mesh-topology.json';
import { cropToImage, type RotatedRect } from './raster';

export const MESH_POINTS = 468;
export const IRIS_MODEL_POINTS = 76;
export const REFINED_POINTS = 478;
export const MESH_TOPOLOGY = topology;

/** 468 x (x, y, z) from the mesh model's 192 px crop to photo pixels. */
export function mapMeshToImage(raw: Float32Array, roi: RotatedRect, cropSize: number, flipped = false): Float32Array {
  return mapPoints(raw, MESH_POINTS, roi, cropSize, flipped);
}

/**
 * The mesh's left/right symmetry: for each of the 468 vertices, its mirror image across the canonical
 * face's sagittal plane (x -> -x), the nearest vertex there. Canonical positions, any units.
 */
export function mirrorMap(positions: ArrayLike<number>): Uint16Array {
  const n = positions.length / 3;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const x = -positions[3 * i], y = positions[3 * i + 1], z = positions[3 * i + 2];
    let best = 0, bestD = Infinity;
    for (let j = 0; j < n; j++) {
      const d = (positions[3 * j] - x) ** 2 + (positions[3 * j + 1] - y) ** 2 + (positions[3 * j + 2] - z) ** 2;
      if (d < bestD) [best, bestD] = [j, d];
    }
    out[i] = best;
  }
  return out;
}

/** 76 x (x, y, z) from the iris model's 64 px crop to photo pixels; `flipped` undoes the mirrored crop of a left eye. */
export function mapIrisToImage(raw: Float32Array, roi: RotatedRect, cropSize: number, flipped: boolean): Float32Array {
  return mapPoints(raw, IRIS_MODEL_POINTS, roi, cropSize, flipped);
}

function mapPoints(raw: Float32Array, n: number, roi: RotatedRect, cropSize: number, flipped: boolean): Float32Array {
  if (raw.length < n * 3) throw new RangeError(`expected ${n * 3} values, got ${raw.length}`);
  const out = new Float32Array(n * 3);
  const zScale = roi.size / cropSize;
  for (let i = 0; i < n; i++) {
    const x = flipped ? cropSize - raw[3 * i] : raw[3 * i];
    const [px, py] = cropToImage(roi, cropSize, x, raw[3 * i + 1]);
    out[3 * i] = px;
    out[3 * i + 1] = py;
    out[3 * i + 2] = raw[3 * i + 2] * zScale;
  }
  return out;
}

export interface EyeRefinementOptions {
  /**
   * Eye contours are replaced by the iris model's only while both eyes face the camera: depth
   * difference between the eyes below this fraction of the inter-ocular distance. Beyond it only the
   * nearer eye is refined, since the far eye's crop is foreshortened and the iris model was trained
   * on frontal eyes.
   */
  maxFrontalDepthRatio?: number;
}

export interface RefinedLandmarks {
  /** 478 x (x, y, z), photo pixels. */
  points: Float32Array;
  refinedEyes: { right: boolean; left: boolean };
}

/**
 * Merges iris-model outputs (already in photo pixels) into the mesh: copies the mesh, replaces the
 * innermost eyelid contours (upper0/lower0) of the refined eyes with the iris model's, averaging z,
 * and appends the 10 iris points. Iris z is the mean mesh depth of that eye's contour plus the iris
 * model's depth relative to its own contour, so iris depth sits in the mesh's depth frame.
 */
export function refineEyesWithIris(mesh: Float32Array, rightEye: Float32Array, leftEye: Float32Array, opts: EyeRefinementOptions = {}): RefinedLandmarks {
  const out = new Float32Array(REFINED_POINTS * 3);
  out.set(mesh.subarray(0, MESH_POINTS * 3));
  const eyeDepth = (c: number[]) => (mesh[3 * c[0] + 2] + mesh[3 * c[1] + 2]) / 2;
  const eyeCentre = (c: number[]) => [(mesh[3 * c[0]] + mesh[3 * c[1]]) / 2, (mesh[3 * c[0] + 1] + mesh[3 * c[1] + 1]) / 2];
  const rc = eyeCentre(topology.rightEye.corners);
  const lc = eyeCentre(topology.leftEye.corners);
  const iod = Math.hypot(rc[0] - lc[0], rc[1] - lc[1]);
  const dz = eyeDepth(topology.rightEye.corners) - eyeDepth(topology.leftEye.corners);
  const frontal = Math.abs(dz) < (opts.maxFrontalDepthRatio ?? 0.25) * iod;
  const refineRight = frontal || dz < 0;
  const refineLeft = frontal || dz > 0;

  const eyes = [
    { eye: topology.rightEye, pts: rightEye, refine: refineRight, irisAt: topology.refinedIndices.rightIris[0] },
    { eye: topology.leftEye, pts: leftEye, refine: refineLeft, irisAt: topology.refinedIndices.leftIris[0] },
  ];
  for (const { eye, pts, refine, irisAt } of eyes) {
    const contour = [...eye.upper0, ...eye.lower0];
    const irisIdx = [...topology.irisContour.upper0, ...topology.irisContour.lower0];
    let meshZ = 0;
    for (const m of contour) meshZ += mesh[3 * m + 2];
    meshZ /= contour.length;
    let irisModelZ = 0;
    for (let i = 0; i < topology.irisFirstPoint; i++) irisModelZ += pts[3 * i + 2];
    irisModelZ /= topology.irisFirstPoint;
    if (refine) {
      contour.forEach((m, j) => {
        const k = irisIdx[j];
        out[3 * m] = pts[3 * k];
        out[3 * m + 1] = pts[3 * k + 1];
        out[3 * m + 2] = (mesh[3 * m + 2] + (pts[3 * k + 2] - irisModelZ + meshZ)) / 2;
      });
    }
    for (let j = 0; j < 5; j++) {
      const k = topology.irisFirstPoint + j;
      out[3 * (irisAt + j)] = pts[3 * k];
      out[3 * (irisAt + j) + 1] = pts[3 * k + 1];
      out[3 * (irisAt + j) + 2] = pts[3 * k + 2] - irisModelZ + meshZ;
    }
  }
  return { points: out, refinedEyes: { right: refineRight, left: refineLeft } };
}

/** Mean horizontal iris diameter in photo pixels (contour points 1 and 3 of each iris are its left/right extremes). */
export function irisDiameters(points: Float32Array): { right: number; left: number } {
  const d = (base: number) => {
    const a = base + 1;
    const b = base + 3;
    return Math.hypot(points[3 * a] - points[3 * b], points[3 * a + 1] - points[3 * b + 1]);
  };
  return { right: d(topology.refinedIndices.rightIris[0]), left: d(topology.refinedIndices.leftIris[0]) };
}
