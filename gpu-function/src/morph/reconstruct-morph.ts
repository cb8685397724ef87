/**
 * The full-head path (model: "ict"): the photo's 468 landmarks, lifted to the metric head frame by the
 * same geometry stage as the default path, are fitted with the morphable model (identity + ARKit
 * expression weights + pose, fit-3dmm.ts); the fitted head is baked into the model's own UV layout
 * (face tile and back-of-head tile) by the default path's bake, specular, colour and completion code.
 * Regions no photo can show (back of the head, ears' backs, under the chin) settle on the person's skin
 * tone (complete.ts seedTone).
 *
 * Frames: everything in the head frame (mm, right-handed, +Y up, +Z out of the face) of
 * reconstructFaceGeometry, so pose, camera and landmarks mean the same as for the default path.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ictPackDir } from '@facerecon/models';
import { createRgbImage, type RgbImage, type TriMesh } from '@facerecon/shared';
import type { FaceLandmarks } from '../face/landmarker';
import { bakeUvTexture, bakeVisibility } from '../recon/bake';
import type { CanonicalFace } from '../recon/canonical';
import { applyColourLuts, downweightSpecular, estimateColourCorrection, photoLuminanceQuantile, skinMean, type ColourReport } from '../recon/colour';
import { completeTexture } from '../recon/complete';
import { reconstructFaceGeometry } from '../recon/face-geometry';
import { mat3Identity, type Mat3 } from '../recon/linalg';
import { decideBakeMode, type GeometryStage, type Reconstruction, type ReconstructOptions, type UvSize } from '../recon/reconstruct';
import { computeVertexNormals } from '../recon/subdivide';
import { rasterizeUvTriangles, type TexelMap } from '../recon/texel-map';
import { drawUvGrid, toRgbImage, uvGridCoverage } from '../recon/uv-grid';
import { calibrateNeutral, landmarkWeights } from './calibration';
import { evaluateLandmarks, fitMorphableModel, landmarkModel, prepareGram, type LandmarkModel } from './fit-3dmm';
import { correctToLandmarks, prepareLandmarkCorrection, smoothField, vertexAdjacency } from './landmark-correction';
import { PALETTE_GROUPS, buildHeadTopology, type HeadTopology } from './head-topology';
import { loadModelPack, type MorphableModel } from './model-pack';

/**
 * Regularisation chosen on the shared photos (identity in units of the modes, expressions in [0, 1]):
 * with sparsity 100 a face at rest keeps every ARKit weight under 0.15 while smiles reach 0.6-1.
 */
export const FIT_DEFAULTS = { lambdaIdentity: 40, lambdaExpression: 20, sparsity: 100, contourWeight: 0.3 } as const;

export interface MorphResult {
  model: string;
  identity: Float64Array;
  expression: Float64Array;
  expressionNames: string[];
  fit: { rmsMm: number; iterations: number; converged: boolean; scale: number; landmarks: number; ms: number };
  topology: HeadTopology;
  pack: MorphableModel;
  /** Model frame -> head frame (mm): x_head = scale R x_model + translation. */
  rotation: Mat3;
  scale: number;
  /** Render-vertex positions and normals with the expression removed: the GLB's base mesh. */
  neutralPositions: Float32Array;
  neutralNormals: Float32Array;
  /** The back-of-head tile, baked like the face tile. */
  headTexture: RgbImage;
  /** Flat colours (sRGB 0..255) of the palette groups; the iris comes from the photo. */
  palette: Record<(typeof PALETTE_GROUPS)[number], [number, number, number]>;
}

export interface MorphGeometryStage extends GeometryStage {
  /** The photo-space landmarks (478 x 3 px), for the iris colour. */
  facePoints: Float32Array;
  morph: Omit<MorphResult, 'headTexture' | 'palette'>;
}

export interface MorphReconstructor {
  readonly pack: MorphableModel;
  readonly topology: HeadTopology;
  geometryStage(photo: RgbImage, face: FaceLandmarks, opts?: ReconstructOptions): MorphGeometryStage;
  textureStage(stage: MorphGeometryStage): Reconstruction & { morph: MorphResult };
}

/** Median colour of the photo's iris ring (between the pupil and the limbus) of both eyes. */
export function sampleIrisColour(photo: RgbImage, points: Float32Array): [number, number, number] {
  const hist = [new Uint32Array(256), new Uint32Array(256), new Uint32Array(256)];
  let n = 0;
  for (const c of [468, 473]) {
    const cx = points[3 * c], cy = points[3 * c + 1];
    let r = 0;
    for (let k = 1; k <= 4; k++) r += Math.hypot(points[3 * (c + k)] - cx, points[3 * (c + k) + 1] - cy) / 4;
    for (let y = Math.floor(cy - r); y <= Math.ceil(cy + r); y++) {
      for (let x = Math.floor(cx - r); x <= Math.ceil(cx + r); x++) {
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        if (d < 0.45 * r || d > 0.85 * r || x < 0 || y < 0 || x >= photo.width || y >= photo.height) continue;
        const o = 3 * (y * photo.width + x);
        for (let ch = 0; ch < 3; ch++) hist[ch][photo.data[o + ch]]++;
        n++;
      }
    }
  }
  if (n === 0) return [70, 50, 35];
  return hist.map((h) => {
    let acc = 0;
    for (let v = 0; v < 256; v++) if ((acc += h[v]) >= n / 2) return v;
    return 0;
  }) as [number, number, number];
}

export function createMorphReconstructor(opts: { pack: MorphableModel; canonical: CanonicalFace }): MorphReconstructor {
  const { pack, canonical } = opts;
  const topology = buildHeadTopology(pack);
  const lm: LandmarkModel = landmarkModel(
    { mean: pack.mean, identity: pack.identity, expression: pack.expression, identityCount: pack.manifest.identity.count, expressionCount: pack.manifest.expression.count },
    { vertices: pack.correspondence.vertices, barycentric: pack.correspondence.barycentric },
  );
  const landmarkIds = pack.correspondence.landmarks;
  const k = landmarkIds.length;
  const neutralOffset = calibrateNeutral(lm, landmarkIds, canonical);
  const canonicalNormals = computeVertexNormals(canonical.positions, canonical.triangles);
  // Frontal weights; a photo only changes the silhouette points' rows of the normal equations.
  const prepared = prepareGram(lm, landmarkWeights(landmarkIds, canonicalNormals, mat3Identity(), FIT_DEFAULTS.contourWeight));
  const m = pack.manifest.identity.count;
  const q = pack.manifest.expression.count;
  const n = pack.manifest.vertexCount;
  const used = topology.usedVertices;
  const nu = used.length;
  const nr = topology.renderToUsed.length;
  // The exported vertices' rows of the model, gathered once: each photo then walks contiguous memory.
  const gather = (src: Float32Array, modes: number) => {
    const out = new Float32Array(modes * nu * 3);
    for (let j = 0; j < modes; j++) for (let i = 0; i < nu; i++) for (let d = 0; d < 3; d++) out[(j * nu + i) * 3 + d] = src[(j * n + used[i]) * 3 + d];
    return out;
  };
  const meanU = gather(pack.mean, 1);
  const identityU = gather(pack.identity, m);
  const expressionU = gather(pack.expression, q);

  const tiles = [0, 1] as const;
  // The back-of-head tile is baked at half the face tile's size: it is mostly the skin-tone fill, and
  // this halves the full-head bake's cost.
  const tileSize = (tile: 0 | 1, uvSize: UvSize) => (tile === 0 ? uvSize : uvSize / 2);
  const texelMaps = new Map<string, TexelMap>();
  const texelMap = (tile: 0 | 1, size: number) => {
    const key = `${tile}/${size}`;
    let map = texelMaps.get(key);
    if (!map) {
      const shifted = topology.uvs.map((v, i) => (i % 2 === 0 ? v - tile : v));
      texelMaps.set(key, (map = rasterizeUvTriangles(shifted, topology.indices, size)));
    }
    return map;
  };
  for (const t of tiles) texelMap(t, tileSize(t, 1024));
  // Bake buffers reused across calls, as in the default path: textureStage is synchronous and copies
  // the result out, so one reconstructor never has two bakes in flight.
  const scratch = new Map<number, { color: Float32Array; weight: Float32Array }>();
  const scratchFor = (size: number) => {
    let b = scratch.get(size);
    if (!b) scratch.set(size, (b = { color: new Float32Array(size * size * 3), weight: new Float32Array(size * size) }));
    return b;
  };
  const grids = new Map<UvSize, Float32Array>();
  const gridFor = (size: UvSize) => {
    let g = grids.get(size);
    if (!g) grids.set(size, (g = uvGridCoverage(topology.faceWireUvs, topology.faceWireIndices, size)));
    return g;
  };

  // Only the skin follows the landmark residuals; eyes, teeth and gums keep the model's shape.
  const movable = new Uint8Array(nu);
  for (const g of topology.groups) {
    if (g.name !== 'face' && g.name !== 'head') continue;
    for (let i = g.start; i < g.start + g.count; i++) movable[topology.renderToUsed[topology.indices[i]]] = 1;
  }
  const correction = prepareLandmarkCorrection(meanU, lm.mean, { movable: (u) => movable[u] === 1 });
  const adjacency = vertexAdjacency(topology.smoothIndices, nu);

  const toRender = (usedPositions: Float32Array) => {
    const out = new Float32Array(nr * 3);
    for (let r = 0; r < nr; r++) {
      const u = topology.renderToUsed[r];
      out[3 * r] = usedPositions[3 * u];
      out[3 * r + 1] = usedPositions[3 * u + 1];
      out[3 * r + 2] = usedPositions[3 * u + 2];
    }
    return out;
  };

  return {
    pack,
    topology,
    geometryStage(photo, face, ropts = {}) {
      let t0 = performance.now();
      const geometry = reconstructFaceGeometry(face.points, canonical);
      const mode = decideBakeMode(face, geometry, ropts);
      const targets = new Float64Array(3 * k);
      for (let i = 0; i < k; i++) for (let d = 0; d < 3; d++) targets[3 * i + d] = geometry.points[3 * landmarkIds[i] + d] + neutralOffset[3 * i + d];
      const weights = landmarkWeights(landmarkIds, canonicalNormals, geometry.camera.rotation, FIT_DEFAULTS.contourWeight);
      const tf = performance.now();
      const fit = fitMorphableModel({ model: lm, targets, weights, lambdaIdentity: FIT_DEFAULTS.lambdaIdentity, lambdaExpression: FIT_DEFAULTS.lambdaExpression, sparsity: FIT_DEFAULTS.sparsity, prepared, tolerance: 1e-3 });
      const fitMs = performance.now() - tf;
      const tGeometry = performance.now() - t0;

      t0 = performance.now();
      // Identity shape in the model frame, then into the head frame; the expression is added on top.
      const X = addModes(Float32Array.from(meanU), identityU, fit.identity);
      const Xe = addModes(Float32Array.from(X), expressionU, fit.expression);
      const toHead = (src: Float32Array) => {
        const Rf = fit.rotation;
        const s = fit.scale;
        const [tx, ty, tz] = fit.translation;
        for (let i = 0; i < nu; i++) {
          const x = src[3 * i], y = src[3 * i + 1], z = src[3 * i + 2];
          src[3 * i] = s * (Rf[0] * x + Rf[1] * y + Rf[2] * z) + tx;
          src[3 * i + 1] = s * (Rf[3] * x + Rf[4] * y + Rf[5] * z) + ty;
          src[3 * i + 2] = s * (Rf[6] * x + Rf[7] * y + Rf[8] * z) + tz;
        }
        return src;
      };
      const smoothNormals = (p: Float32Array) => toRender(computeVertexNormals(p, topology.smoothIndices));
      const usedPos = toHead(Xe);
      const usedNeutral = toHead(X);
      // What the model could not follow, at the landmarks (head frame), carried onto the skin.
      const fitted = evaluateLandmarks(lm, fit.identity, fit.expression);
      const residuals = new Float64Array(3 * k);
      const Rf = fit.rotation;
      for (let i = 0; i < k; i++) {
        const x = fitted[3 * i], y = fitted[3 * i + 1], z = fitted[3 * i + 2];
        const trust = Math.min(1, weights[i]); // silhouette points move the surface only as far as they are trusted
        for (let d = 0; d < 3; d++) residuals[3 * i + d] = trust * (targets[3 * i + d] - (fit.scale * (Rf[3 * d] * x + Rf[3 * d + 1] * y + Rf[3 * d + 2] * z) + fit.translation[d]));
      }
      const disp = correctToLandmarks(correction, residuals);
      smoothField(adjacency, disp, 4);
      for (let i = 0; i < 3 * nu; i++) {
        usedPos[i] += disp[i];
        usedNeutral[i] += disp[i];
      }
      const mesh = { positions: toRender(usedPos), uvs: topology.uvs, indices: topology.indices, normals: smoothNormals(usedPos) };
      const neutralPositions = toRender(usedNeutral);
      const neutralNormals = smoothNormals(usedNeutral);
      const baseMesh: TriMesh = { positions: mesh.positions, uvs: topology.uvs, indices: topology.indices };
      return {
        photo,
        facePoints: face.points,
        geometry,
        baseMesh,
        mesh,
        ...mode,
        timings: { geometry: tGeometry, subdivision: performance.now() - t0 },
        morph: {
          model: pack.manifest.name,
          identity: fit.identity,
          expression: fit.expression,
          expressionNames: pack.manifest.expression.names,
          fit: { rmsMm: fit.rmsMm, iterations: fit.iterations, converged: fit.converged, scale: fit.scale, landmarks: k, ms: fitMs },
          topology,
          pack,
          rotation: fit.rotation,
          scale: fit.scale,
          neutralPositions,
          neutralNormals,
        },
      };
    },

    textureStage(stage) {
      const { photo, geometry, mesh, uvSize, enhance, conservative } = stage;
      const t = { ...stage.timings, bake: 0, completion: 0, colour: 0, grid: 0 };
      let t0 = performance.now();
      const maps = tiles.map((tile) => texelMap(tile, tileSize(tile, uvSize)));
      const visibility = bakeVisibility(mesh, geometry.camera, photo);
      const baked = maps.map((map) => bakeUvTexture({ mesh, camera: geometry.camera, photo, texelMap: map, visibility, scratch: scratchFor(map.size) }));
      const faceMap = maps[0];
      const specularTexels = enhance ? downweightSpecular(baked[0].color, baked[0].weight, faceMap.texels) : 0;
      t.bake = performance.now() - t0;

      t0 = performance.now();
      const correction = enhance ? estimateColourCorrection(baked[0].color, baked[0].weight, faceMap.covered, photoLuminanceQuantile(photo.data, 0.99)) : undefined;
      const skin = correction?.report.skinTexels ? correction.report.skinBefore : skinMean(baked[0].color, baked[0].weight, faceMap.covered).mean;
      const tone: [number, number, number] = skin[0] + skin[1] + skin[2] > 0 ? skin : [190, 150, 130];
      t.colour = performance.now() - t0;

      t0 = performance.now();
      const completion = tiles.map((tile) => completeTexture(baked[tile].color, baked[tile].weight, maps[tile].covered, maps[tile].texels, maps[tile].size, { tone }));
      t.completion = performance.now() - t0;

      t0 = performance.now();
      const [texture, headTexture] = baked.map((b, tile) => {
        const img = toRgbImage(b.color, maps[tile].size);
        if (correction?.luts) applyColourLuts(img.data, correction.luts);
        return img;
      });
      const colour: ColourReport = correction?.report ?? { applied: false, exposureGain: 1, whiteBalanceGains: [1, 1, 1], skinBefore: [0, 0, 0], skinAfter: [0, 0, 0], skinTexels: 0 };
      const iris = sampleIrisColour(photo, stage.facePoints);
      t.colour += performance.now() - t0;

      t0 = performance.now();
      const textureGrid = drawUvGrid(texture, gridFor(uvSize));
      t.grid = performance.now() - t0;
      return {
        geometry,
        mesh,
        baseMesh: stage.baseMesh,
        texture,
        textureGrid,
        uvSize,
        conservative,
        colour,
        colourLuts: correction?.luts,
        completion: completion[0],
        specularTexels,
        timings: t,
        morph: { ...stage.morph, headTexture, palette: { sclera: [226, 220, 212], iris, pupil: [16, 14, 14], teeth: [226, 218, 196], gums: [170, 90, 90] } },
      };
    },
  };
}

/**
 * The ICT pack named by FACERECON_ICT_PACK, or the default build when present. A named pack that does
 * not load stops start-up (ModelPackError names the file): never a half-loaded model.
 */
export function loadMorphReconstructor(setting: string | undefined, base: { canonical: CanonicalFace }): MorphReconstructor | undefined {
  if (setting === 'off') return undefined;
  const dir = setting ?? ictPackDir();
  if (setting === undefined && !existsSync(join(dir, 'manifest.json'))) return undefined;
  return createMorphReconstructor({ pack: loadModelPack(dir), canonical: base.canonical });
}

/** out += sum_j coeffs[j] * modes[j] (mode-major, each out.length long), in place. */
function addModes(out: Float32Array, modes: Float32Array, coeffs: ArrayLike<number>): Float32Array {
  const len = out.length;
  for (let j = 0; j < coeffs.length; j++) {
    const c = coeffs[j];
    if (c === 0) continue;
    const off = j * len;
    for (let i = 0; i < len; i++) out[i] += c * modes[off + i];
  }
  return out;
}

/** The palette tile (tile 2) the renderer samples for flat-colour groups. */
export function paletteTexture(palette: MorphResult['palette']): RgbImage {
  const img = createRgbImage(PALETTE_GROUPS.length, 1);
  PALETTE_GROUPS.forEach((g, i) => img.data.set(palette[g], 3 * i));
  return img;
}
