/**
 * The full-head model (model: "ict"): ICT-FaceKit's morphable head (USC ICT, MIT licence), converted
 * into a pack by models/scripts/build-ict.ts. The photo's 468 landmarks, lifted to the metric head
 * frame by the same geometry stage as the default face, are fitted with identity + ARKit expression
 * weights + pose (morph/fit-3dmm.ts); what the modes cannot follow is spread from the landmark
 * residuals over the skin (morph/landmark-correction.ts). The layout has two baked tiles: the face
 * (tile 0, symmetric, mirrored in completion) and the back of the head, neck and ears' backs (tile 1,
 * not symmetric, completed with the person's skin tone); the eyeballs get a texture painted from the
 * photo's eyes (tile 2, morph/eye-texture.ts); teeth and gums get flat colours, which the preview
 * reaches through a palette tile (tile 3).
 *
 * Frames: everything in the head frame (mm, right-handed, +Y up, +Z out of the face) of
 * reconstructFaceGeometry, so pose, camera and landmarks mean the same as for the default face.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ictPackDir } from '@facerecon/models';
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import type { FaceLandmarks } from '../face/landmarker';
import type { CanonicalFace } from '../recon/canonical';
import { projectHeadPoint, reconstructFaceGeometry, type WeakPerspectiveCamera } from '../recon/face-geometry';
import { mat3Identity, type Mat3 } from '../recon/linalg';
import { histQuantile } from '../recon/select';
import { computeVertexNormals } from '../recon/subdivide';
import { decideBakeMode, type FaceModel, type FittedHead, type UvLayout, type UvSize } from '../core/face-model';
import { calibrateNeutral, landmarkWeights } from '../morph/calibration';
import { headRegions, jawLineOnMeanHead } from './ict-regions';
import { evaluateLandmarks, fitMorphableModel, landmarkModel, prepareGram, type LandmarkModel } from '../morph/fit-3dmm';
import { correctToLandmarks, prepareLandmarkCorrection, smoothField, vertexAdjacency } from '../morph/landmark-correction';
import { PALETTE_GROUPS, buildHeadTopology, type HeadTopology } from '../morph/head-topology';
import { namedExpressionWeights, namedMorphTargets, targetParts, type ExpressionNaming } from '../morph/arkit';
import type { GlbMorphTarget } from '../recon/export-glb';
import { paintEyeTexture } from '../morph/eye-texture';
import { expressionTargets, residualTarget, withNormalDeltas } from '../morph/morph-export';
import { loadModelPack, type MorphableModel } from '../morph/model-pack';

/**
 * Regularisation chosen on the shared photos (identity in units of the modes, expressions in [0, 1]):
 * with sparsity 100 a face at rest keeps every ARKit weight under 0.15 while smiles reach 0.6-1.
 */
export const FIT_DEFAULTS = { lambdaIdentity: 40, lambdaExpression: 20, sparsity: 100, contourWeight: 0.3, maxIterations: 80 } as const;

/**
 * Flat colours (sRGB) of the inside of the mouth, picked by eye against renders of the shared photos
 * (2026-11), and the eye painter's fallbacks when the photo shows no eye white or no iris:
 * IRIS_FALLBACK, dark brown, is the most common iris colour worldwide.
 */
export const FLAT_COLOURS = { teeth: [226, 218, 196], gums: [170, 90, 90] } as const;
export const SCLERA_FALLBACK: readonly [number, number, number] = [226, 220, 212];
export const IRIS_FALLBACK: readonly [number, number, number] = [70, 50, 35];
/** glTF roughness of the eyeball: wet and glossy, so a renderer puts a live highlight on it. */
export const EYE_ROUGHNESS = 0.15;
/** The GLB's last morph target under ARKit naming: the fitted mesh's rest after the ARKit targets (headTargets). */
export const FIT_RESIDUAL = 'fitResidual';

export type Palette = Record<(typeof PALETTE_GROUPS)[number], readonly [number, number, number]>;

export interface IctHead extends FittedHead {
  morph: {
    identity: Float64Array;
    expression: Float64Array;
    expressionNames: string[];
    /** How the API names the expressions: ARKit's names (default) or ICT's own. */
    naming: ExpressionNaming;
    fit: { rmsMm: number; iterations: number; converged: boolean; scale: number; landmarks: number; ms: number };
    /** Model frame -> head frame (mm): x_head = scale R x_model + translation. */
    rotation: Mat3;
    scale: number;
    /** Render-vertex positions and normals with the expression removed: the GLB's base mesh. */
    neutralPositions: Float32Array;
    neutralNormals: Float32Array;
    palette: Palette;
    /** The eyeballs' texture (tile 2), painted from the photo's eyes. */
    eyeTexture: RgbImage;
  };
}

export interface IctFaceModel extends FaceModel<IctHead> {
  readonly pack: MorphableModel;
  readonly topology: HeadTopology;
}

/** Median colour of the photo's iris ring (between the pupil and the limbus) of both eyes. */
export function sampleIrisColour(photo: RgbImage, points: Float32Array): readonly [number, number, number] {
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
  if (n === 0) return IRIS_FALLBACK;
  // n > 0: every channel's median is reached within its 256 bins.
  return hist.map((h) => histQuantile(h, n, 0.5)) as [number, number, number];
}

/** The palette tile the preview samples for the flat-colour groups (one texel each). */
export function paletteTexture(palette: Palette): RgbImage {
  const img = createRgbImage(PALETTE_GROUPS.length, 1);
  PALETTE_GROUPS.forEach((g, i) => img.data.set(palette[g], 3 * i));
  return img;
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

export function createIctFaceModel(opts: { pack: MorphableModel; canonical: CanonicalFace }): IctFaceModel {
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
  // Model vertex -> its row among the exported vertices (-1: not exported), for the landmarks' points.
  const packToUsed = new Int32Array(n).fill(-1);
  used.forEach((v, i) => (packToUsed[v] = i));
  /**
   * The delivered head's own points for the landmarks (the pack's correspondence: a vertex, or a
   * barycentric point of three), projected by the pose, against the landmarks: mean distance, px.
   */
  const meshReprojection = (usedPositions: Float32Array, camera: WeakPerspectiveCamera, points: Float32Array): number => {
    const { vertices, barycentric } = pack.correspondence;
    const arity = vertices.length / k;
    let sum = 0;
    let count = 0;
    for (let i = 0; i < k; i++) {
      const p = [0, 0, 0];
      let ok = true;
      for (let c = 0; c < arity && ok; c++) {
        const u = packToUsed[vertices[i * arity + c]];
        const b = arity === 1 ? 1 : barycentric[i * arity + c];
        if (u < 0) ok = false;
        else for (let d = 0; d < 3; d++) p[d] += b * usedPositions[3 * u + d];
      }
      if (!ok) continue;
      const [x, y] = projectHeadPoint(camera, p[0], p[1], p[2]);
      const id = landmarkIds[i];
      sum += Math.hypot(x - points[3 * id], y - points[3 * id + 1]);
      count++;
    }
    return count ? sum / count : Number.NaN;
  };
  const identityU = gather(pack.identity, m);
  const expressionU = gather(pack.expression, q);

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

  const layout: UvLayout = {
    tiles: [
      { index: 0, asset: 'texture', sizeFor: (s: UvSize) => s, mirrorU: true, toneFill: true },
      // Mostly the skin-tone fill: baked at half the face tile's size, which halves the bake's cost.
      { index: 1, asset: 'texture_head', sizeFor: (s: UvSize) => s / 2, mirrorU: false, toneFill: true },
    ],
    uvs: topology.uvs,
    indices: topology.indices,
    wire: { uvs: topology.faceWireUvs, indices: topology.faceWireIndices },
    regions: headRegions(topology, meanU, jawLineOnMeanHead(lm.mean, landmarkIds)),
  };

  /**
   * The morph targets under each naming, built once in the model frame: the blendshapes' offsets do
   * not depend on the person, so each head only turns and scales them into its frame (a few ms, where
   * building them took ~0.1 s a request). Their normal deltas are computed on the mean head: a uniform
   * scale leaves normals alone, and the identity changes how an expression turns the surface far less
   * than the expression itself (checked against per-head deltas in ict-model.test.ts); computing them
   * per head would cost ~0.2 s (subset) to ~0.6 s (full model) a request.
   */
  const modelTargets = new Map<ExpressionNaming, { targets: GlbMorphTarget[]; parts: number[][] }>();
  const targetsInModel = (naming: ExpressionNaming) => {
    let hit = modelTargets.get(naming);
    if (!hit) {
      const names = pack.manifest.expression.names;
      const inModel = expressionTargets({ pack, topology, expressionNames: names, rotation: mat3Identity(), scale: 1 });
      const named = namedMorphTargets(inModel, new Float32Array(inModel.length), naming).targets;
      const targets = withNormalDeltas(named, { positions: toRender(Float32Array.from(meanU)), indices: topology.indices, weld: topology.renderToUsed });
      hit = { targets, parts: targets.map((t) => targetParts(t.name, naming).map((p) => names.indexOf(p))) };
      modelTargets.set(naming, hit);
    }
    return hit;
  };
  const turn = (d: Float32Array, R: Mat3, s: number) => {
    const out = new Float32Array(d.length);
    for (let i = 0; i < d.length; i += 3) {
      out[i] = s * (R[0] * d[i] + R[1] * d[i + 1] + R[2] * d[i + 2]);
      out[i + 1] = s * (R[3] * d[i] + R[4] * d[i + 1] + R[5] * d[i + 2]);
      out[i + 2] = s * (R[6] * d[i] + R[7] * d[i + 1] + R[8] * d[i + 2]);
    }
    return out;
  };
  const headTargets = (head: IctHead): { morphTargets: GlbMorphTarget[]; morphWeights: Float32Array } => {
    const { targets, parts } = targetsInModel(head.morph.naming);
    const { rotation: R, scale, expression } = head.morph;
    const morphTargets = targets.map((t) => ({ ...t, deltas: turn(t.deltas, R, scale), ...(t.normalDeltas ? { normalDeltas: turn(t.normalDeltas, R, 1) } : {}) }));
    const morphWeights = Float32Array.from(parts, (p) => (p.length ? p.reduce((sum, i) => sum + expression[i], 0) / p.length : 0));
    if (head.morph.naming !== 'arkit') return { morphTargets, morphWeights };
    // ARKit's symmetric browInnerUp and cheekPuff carry the mean of ICT's fitted halves, and the targets'
    // normal deltas do not add up to the fitted mesh's normals: what they leave of the fitted mesh goes in
    // one more target at weight 1, after every named one, so that the GLB at its default weights is the
    // OBJ, shape and shading (residualTarget). A rig driving the ARKit weights sets it to 0.
    const residual = residualTarget(FIT_RESIDUAL, {
      target: head.mesh.positions,
      base: head.morph.neutralPositions,
      targets: morphTargets,
      weights: morphWeights,
      normals: { target: head.mesh.normals, base: head.morph.neutralNormals },
    });
    return { morphTargets: [...morphTargets, residual], morphWeights: Float32Array.from([...morphWeights, 1]) };
  };

  return {
    name: 'ict',
    pack,
    topology,
    layout,
    fit(photo, face: FaceLandmarks, fopts) {
      let t0 = performance.now();
      const geometry = reconstructFaceGeometry(face.points, canonical);
      const mode = decideBakeMode(face, geometry, fopts.uvSize);
      const targets = new Float64Array(3 * k);
      for (let i = 0; i < k; i++) for (let d = 0; d < 3; d++) targets[3 * i + d] = geometry.points[3 * landmarkIds[i] + d] + neutralOffset[3 * i + d];
      const weights = landmarkWeights(landmarkIds, canonicalNormals, geometry.camera.rotation, FIT_DEFAULTS.contourWeight);
      const tf = performance.now();
      const fit = fitMorphableModel({ model: lm, targets, weights, lambdaIdentity: FIT_DEFAULTS.lambdaIdentity, lambdaExpression: FIT_DEFAULTS.lambdaExpression, sparsity: FIT_DEFAULTS.sparsity, maxIterations: FIT_DEFAULTS.maxIterations, prepared, tolerance: 1e-3 });
      const fitMs = performance.now() - tf;
      const tFit = performance.now() - t0;

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
      return {
        model: 'ict',
        geometry,
        mesh,
        mode,
        meshReprojectionErrorPx: meshReprojection(usedPos, geometry.camera, face.points),
        timings: { fit: tFit, mesh: performance.now() - t0 },
        morph: {
          identity: fit.identity,
          expression: fit.expression,
          expressionNames: pack.manifest.expression.names,
          naming: fopts.expressionNames ?? 'arkit',
          fit: { rmsMm: fit.rmsMm, iterations: fit.iterations, converged: fit.converged, scale: fit.scale, landmarks: k, ms: fitMs },
          rotation: fit.rotation,
          scale: fit.scale,
          neutralPositions: toRender(usedNeutral),
          neutralNormals: smoothNormals(usedNeutral),
          palette: { ...FLAT_COLOURS },
          eyeTexture: paintEyeTexture({ photo, points: face.points, scleraFallback: SCLERA_FALLBACK, irisFallback: sampleIrisColour(photo, face.points) }),
        },
      };
    },
    previewTiles: (head) => [head.morph.eyeTexture, paletteTexture(head.morph.palette)],
    exportDescription(head) {
      const materials = topology.groups.map((g) =>
        g.name === 'face' ? { name: 'face', tile: 0 }
        : g.name === 'head' ? { name: 'head', tile: 1 }
        : g.name === 'eye' ? { name: 'eye', texture: { asset: 'texture_eye' as const, image: head.morph.eyeTexture }, roughness: EYE_ROUGHNESS }
        : { name: g.name, color: head.morph.palette[g.name] });
      return {
        obj: { positions: head.mesh.positions, normals: head.mesh.normals, uvs: topology.localUvs, indices: topology.indices },
        objWeld: topology.renderToUsed,
        glb: { positions: head.morph.neutralPositions, normals: head.morph.neutralNormals, uvs: topology.localUvs, indices: topology.indices },
        materials,
        groups: topology.groups.map((g, i) => ({ start: g.start, count: g.count, material: i })),
        ...headTargets(head),
        name: 'head',
      };
    },
    extras(head) {
      const r = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
      const mm = head.morph;
      const named = namedExpressionWeights(mm.expressionNames, mm.expression, mm.naming);
      const { expressions } = named;
      return {
        result: {
          model: pack.manifest.name,
          licence: pack.manifest.licence,
          identity: Array.from(mm.identity, (x) => r(x, 4)),
          identity_names: pack.manifest.identity.names,
          identity_convention: "coefficients of the model's identity modes (ICT: one standard deviation each); mean + sum(a_j identity_j) gives this head's shape up to a small global similarity, which the pose carries",
          expressions,
          ...(mm.naming === 'arkit' ? { expression_extras: named.extras, expression_unfitted: named.unfitted } : {}),
          expression_convention:
            mm.naming === 'arkit'
              ? "ARKit's blendshape names (ARFaceAnchor.BlendShapeLocation) and ranges: 0 = neutral, 1 = the full blendshape; ICT's split browInnerUp/cheekPuff halves averaged (their difference is in the GLB's last morph target, fitResidual, at weight 1); shapes ARKit has no name for in expression_extras; names this model cannot fit (tongueOut: ICT has no tongue) in expression_unfitted and absent from expressions"
              : "ICT-FaceKit's own expression names (_L/_R = the subject's left/right), 0 = neutral, 1 = the full blendshape",
          fit: { rms_mm: r(mm.fit.rmsMm, 3), iterations: mm.fit.iterations, converged: mm.fit.converged, scale: r(mm.fit.scale, 4), landmarks: mm.fit.landmarks },
          textures: {
            face: 'texture.png (UV tile 1001, u in [0, 1))',
            head: "texture_head.png (UV tile 1002, u in [1, 2) in the model's own UVs; stored tile-local in the OBJ and GLB)",
            eye: 'texture_eye.png (both eyeballs: a front projection along each optical axis, painted from the photo\'s eyes; glossy material, no painted highlight)',
          },
        },
        response: { morph: { model: pack.manifest.name, identity: Array.from(mm.identity, (x) => r(x, 4)), expressions, ...(mm.naming === 'arkit' ? { extras: named.extras, unfitted: named.unfitted } : {}), fit_rms_mm: r(mm.fit.rmsMm) } },
      };
    },
    meshNote(head) {
      return {
        vertices: head.mesh.positions.length / 3,
        triangles: head.mesh.indices.length / 3,
        model: pack.manifest.name,
        parts: topology.groups.map((g) => g.name),
        note: "full head in the model's topology; vertices split at UV seams; the OBJ carries the fitted expression, the GLB the neutral face with one morph target per ARKit blendshape and the fitted weights as defaults (under ARKit names, then fitResidual at 1: at its default weights the GLB is the OBJ's mesh, positions and normals; set it to 0 when driving the weights)",
      };
    },
  };
}

/**
 * The ICT pack named by FACERECON_ICT_PACK, or the default build when present; undefined when the
 * model is not installed. A named pack that does not load stops start-up (ModelPackError names the
 * file): never a half-loaded model.
 */
export function loadIctFaceModel(setting: string | undefined, base: { canonical: CanonicalFace }): IctFaceModel | undefined {
  if (setting === 'off') return undefined;
  const dir = setting ?? ictPackDir();
  if (setting === undefined && !existsSync(join(dir, 'manifest.json'))) return undefined;
  return createIctFaceModel({ pack: loadModelPack(dir), canonical: base.canonical });
}
