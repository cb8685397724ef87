/**
 * The reconstruction core: landmarks -> metric mesh -> subdivided surface -> UV bake -> completion ->
 * colour -> grid. Pure computation over typed arrays; encoding and storage happen in assets.ts.
 */
import type { RgbImage, TriMesh } from '@facerecon/shared';
import type { FaceLandmarks } from '../face/landmarker';
import { bakeUvTexture } from './bake';
import { loadCanonicalFace, type CanonicalFace } from './canonical';
import { applyColourLuts, downweightSpecular, estimateColourCorrection, photoLuminanceQuantile, type ColourReport } from './colour';
import { completeTexture, type CompletionStats } from './complete';
import { reconstructFaceGeometry, type FaceGeometry } from './face-geometry';
import { computeVertexNormals, planLoopSubdivision, type LoopPlan } from './subdivide';
import { rasterizeUvTriangles, type TexelMap } from './texel-map';
import { drawUvGrid, toRgbImage, uvGridCoverage } from './uv-grid';
import type { MorphResult } from '../morph/reconstruct-morph';

export type UvSize = 512 | 1024;

export interface ReconstructOptions {
  /** Requested texture size; conservative mode lowers it to 512. */
  uvSize?: UvSize;
  /** Colour normalisation (default on; off in conservative mode). */
  enhance?: boolean;
}

export interface ReconstructionTimings { geometry: number; subdivision: number; bake: number; completion: number; colour: number; grid: number }

export interface Reconstruction {
  geometry: FaceGeometry;
  /** Subdivided mesh in the head frame (mm) with unit normals. */
  mesh: TriMesh & { normals: Float32Array };
  /** The base 468-vertex mesh (head frame, mm): the UV grid's wireframe. */
  baseMesh: TriMesh;
  texture: RgbImage;
  textureGrid: RgbImage;
  uvSize: UvSize;
  conservative: { enabled: boolean; reasons: string[] };
  colour: ColourReport;
  /** The colour correction applied to the texture (per-channel 8-bit LUTs), when any was. */
  colourLuts?: [Uint8Array, Uint8Array, Uint8Array];
  completion: CompletionStats;
  specularTexels: number;
  timings: ReconstructionTimings;
  /** Present when a morphable model (model: "ict") made the mesh. */
  morph?: MorphResult;
}

/** The result of the geometry stage, input to the texture stage. */
export interface GeometryStage {
  photo: RgbImage;
  geometry: FaceGeometry;
  baseMesh: TriMesh;
  mesh: TriMesh & { normals: Float32Array };
  uvSize: UvSize;
  enhance: boolean;
  conservative: { enabled: boolean; reasons: string[] };
  timings: Pick<ReconstructionTimings, 'geometry' | 'subdivision'>;
}

export interface Reconstructor {
  readonly canonical: CanonicalFace;
  /** Both stages at once. */
  reconstruct(photo: RgbImage, face: FaceLandmarks, opts?: ReconstructOptions): Reconstruction;
  /** Pose, metric mesh, subdivision, mode decision. */
  geometryStage(photo: RgbImage, face: FaceLandmarks, opts?: ReconstructOptions): GeometryStage;
  /** Bake, completion, colour, grid. */
  textureStage(stage: GeometryStage): Reconstruction;
}

/**
 * Conservative-mode thresholds: below these the photo cannot support a full-resolution, enhanced bake.
 * A 128 px face spreads each photo pixel over ~5 texels of a 1024 texture already.
 */
export const CONSERVATIVE = { minPresence: 0.8, maxAbsYawDeg: 45, minFaceWidthPx: 128 } as const;

/** The bake settings a photo supports: conservative mode (512, no enhancement) when it is weak. */
export function decideBakeMode(face: FaceLandmarks, geometry: FaceGeometry, ropts: ReconstructOptions): { uvSize: UvSize; enhance: boolean; conservative: { enabled: boolean; reasons: string[] } } {
  const reasons: string[] = [];
  if (face.presence < CONSERVATIVE.minPresence) reasons.push(`face presence ${face.presence.toFixed(2)} < ${CONSERVATIVE.minPresence}`);
  if (Math.abs(geometry.pose.yaw) > CONSERVATIVE.maxAbsYawDeg) reasons.push(`yaw ${geometry.pose.yaw.toFixed(0)} deg beyond +/-${CONSERVATIVE.maxAbsYawDeg}`);
  if (face.detection.box.width < CONSERVATIVE.minFaceWidthPx) reasons.push(`face ${face.detection.box.width.toFixed(0)} px wide < ${CONSERVATIVE.minFaceWidthPx}`);
  const enabled = reasons.length > 0;
  return { uvSize: enabled ? 512 : (ropts.uvSize ?? 1024), enhance: !enabled && (ropts.enhance ?? true), conservative: { enabled, reasons } };
}

/**
 * Loads the canonical face and precomputes what does not depend on the photo: the subdivided
 * topology, its UVs, and the texel maps for both texture sizes. Throws if the data is missing.
 */
/** `levels`: Loop subdivision levels (default 2: 468 -> 7257 vertices). */
export function createReconstructor(opts: { canonicalPath?: string; levels?: number } = {}): Reconstructor {
  const canonical = loadCanonicalFace(opts.canonicalPath);
  const levels = opts.levels ?? 2;
  const plans: LoopPlan[] = [];
  let topo = { uvs: canonical.uvs, indices: canonical.triangles, count: 468 };
  for (let l = 0; l < levels; l++) {
    const plan = planLoopSubdivision(topo.indices, topo.uvs, topo.count);
    plans.push(plan);
    topo = { uvs: plan.uvs, indices: plan.indices, count: plan.vertexCount };
  }
  const texelMaps = new Map<UvSize, TexelMap>();
  const texelMap = (size: UvSize) => {
    let m = texelMaps.get(size);
    if (!m) texelMaps.set(size, (m = rasterizeUvTriangles(topo.uvs, topo.indices, size)));
    return m;
  };
  texelMap(1024);
  texelMap(512);
  // The wireframe is the base topology's UV edges: the same for every photo, so drawn once per size.
  const grids = new Map<UvSize, Float32Array>([1024, 512].map((s) => [s as UvSize, uvGridCoverage(canonical.uvs, canonical.triangles, s)]));

  // Bake buffers reused across calls: reconstruct() is synchronous, so one reconstructor never has two
  // bakes in flight; the service gives each worker its own reconstructor.
  const scratch = new Map<UvSize, { color: Float32Array; weight: Float32Array }>();
  const scratchFor = (size: UvSize) => {
    let s = scratch.get(size);
    if (!s) scratch.set(size, (s = { color: new Float32Array(size * size * 3), weight: new Float32Array(size * size) }));
    return s;
  };

  return {
    canonical,
    reconstruct(photo, face, ropts = {}) {
      return this.textureStage(this.geometryStage(photo, face, ropts));
    },

    geometryStage(photo, face, ropts = {}) {
      let t0 = performance.now();
      const t = { geometry: 0, subdivision: 0 };
      const geometry = reconstructFaceGeometry(face.points, canonical);
      const { uvSize, enhance, conservative } = decideBakeMode(face, geometry, ropts);
      t.geometry = performance.now() - t0;

      t0 = performance.now();
      const baseMesh: TriMesh = { positions: geometry.points.slice(0, 468 * 3), uvs: canonical.uvs, indices: canonical.triangles };
      let positions = baseMesh.positions as Float32Array;
      for (const plan of plans) positions = plan.apply(positions);
      const mesh = { positions, uvs: topo.uvs, indices: topo.indices, normals: computeVertexNormals(positions, topo.indices) };
      t.subdivision = performance.now() - t0;
      return { photo, geometry, baseMesh, mesh, uvSize, enhance, conservative, timings: t };
    },

    textureStage({ photo, geometry, baseMesh, mesh, uvSize, enhance, conservative, timings }) {
      const t: ReconstructionTimings = { ...timings, bake: 0, completion: 0, colour: 0, grid: 0 };
      let t0 = performance.now();
      const map = texelMap(uvSize);
      const baked = bakeUvTexture({ mesh, camera: geometry.camera, photo, texelMap: map, scratch: scratchFor(uvSize) });
      const specularTexels = enhance ? downweightSpecular(baked.color, baked.weight, map.texels) : 0;
      t.bake = performance.now() - t0;

      t0 = performance.now();
      // Colour statistics come from the photo's own texels, before completion mixes anything in.
      const correction = enhance ? estimateColourCorrection(baked.color, baked.weight, map.covered, photoLuminanceQuantile(photo.data, 0.99)) : undefined;
      t.colour = performance.now() - t0;

      t0 = performance.now();
      const completion = completeTexture(baked.color, baked.weight, map.covered, map.texels, uvSize);
      t.completion = performance.now() - t0;

      t0 = performance.now();
      const texture = toRgbImage(baked.color, uvSize);
      if (correction?.luts) applyColourLuts(texture.data, correction.luts);
      const colour: ColourReport = correction?.report ?? { applied: false, exposureGain: 1, whiteBalanceGains: [1, 1, 1], skinBefore: [0, 0, 0], skinAfter: [0, 0, 0], skinTexels: 0 };
      t.colour += performance.now() - t0;

      t0 = performance.now();
      const textureGrid = drawUvGrid(texture, grids.get(uvSize)!);
      t.grid = performance.now() - t0;

      return { geometry, mesh, baseMesh, texture, textureGrid, uvSize, conservative, colour, colourLuts: correction?.luts, completion, specularTexels, timings: t };
    },
  };
}
