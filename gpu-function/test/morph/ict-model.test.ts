/**
 * The full-head path on real photos with the ICT-FaceKit pack built from ../shared/ict-facekit
 * (skipped, saying why, without it or without ../shared/photos): expression weights that follow the
 * photos, lids and lips that land on the detected landmarks, the neutral calibration, a hole-free two-tile bake, and exports (OBJ with materials, GLB
 * with ARKit morph targets that the Khronos validator accepts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { createRgbImage, type RgbImage } from '@facerecon/shared';
// @ts-expect-error gltf-validator ships no types
import * as gltfValidator from 'gltf-validator';
import { decodeImage } from '../../src/adapters/image-io';
import { createFaceLandmarker } from '../../src/face/landmarker';
import { fitMorphableModel, landmarkModel } from '../../src/morph/fit-3dmm';
import { loadModelPack } from '../../src/morph/model-pack';
import { EXPRESSIVE_CONTOURS, calibrateNeutral } from '../../src/morph/calibration';
import { exportAssets } from '../../src/core/export';
import { reconstructFace } from '../../src/core/reconstruct';
import { ModelRegistry, type InstalledModel } from '../../src/core/registry';
import type { TextureSet } from '../../src/core/texture';
import { createIctFaceModel, sampleIrisColour, type IctFaceModel, type IctHead } from '../../src/face-models/ict';
import { EYE_TILE, EYE_UV_RADIUS_MM, IRIS_RADIUS_MM } from '../../src/morph/head-topology';
import { ARKIT_NAMES, namedExpressionWeights } from '../../src/morph/arkit';
import { expressionTargets, MORPH_DELTA_FLOOR_MM, withNormalDeltas } from '../../src/morph/morph-export';
import { loadCanonicalFace } from '../../src/recon/canonical';
import { projectHeadPoint } from '../../src/recon/face-geometry';
import { interpolateAtTexels, rasterizeUvTriangles } from '../../src/recon/texel-map';
import { ICT_SOURCE, SHARED_PHOTOS, ictTestPack, hasIct, hasSharedPhotos } from '../fixtures';

const ICT = ICT_SOURCE;
const has = hasIct && hasSharedPhotos;
const why = has ? '' : `skipped: ${ICT} or ${SHARED_PHOTOS} not found (a clone without the team's shared folder)`;

/** Chosen by looking at the photos: broad smiles, and faces at rest. */
const SMILING = ['000031.jpg', '000050.jpg', '015259.jpg'];
const NEUTRAL = ['000055.jpg', '015309.jpg'];
const OPEN_MOUTH = 'identity/obama_1.png';

describe.skipIf(!has)(has ? 'full-head reconstruction with ICT-FaceKit on the shared photos' : `full-head reconstruction ${why}`, () => {
  let model: IctFaceModel;
  let installed: InstalledModel;
  type Result = { head: IctHead; textures: TextureSet; morph: IctHead['morph']; mesh: IctHead['mesh']; geometry: IctHead['geometry']; photo: RgbImage };
  const results = new Map<string, Result>();
  const faces = new Map<string, Float32Array>();
  let openMouth: IctHead['morph'];
  const weight = (name: string, expr: string) => {
    const m = results.get(name)!.morph;
    return m.expression[m.expressionNames.indexOf(expr)];
  };

  beforeAll(async () => {
    model = createIctFaceModel({ pack: loadModelPack(ictTestPack()), canonical: loadCanonicalFace() });
    installed = new ModelRegistry([model]).get('ict');
    const landmarker = await createFaceLandmarker({ threads: 1 });
    for (const name of [...SMILING, ...NEUTRAL]) {
      const { image } = await decodeImage(new Uint8Array(readFileSync(join(SHARED_PHOTOS, 'deep3d', name))));
      const lm = await landmarker.landmarks(image);
      if (!lm.ok) throw new Error(`${name}: ${lm.code}`);
      const r = reconstructFace(installed, image, lm.face, { uvSize: 1024 });
      const head = r.head as IctHead;
      results.set(name, { head, textures: r.textures, morph: head.morph, mesh: head.mesh, geometry: head.geometry, photo: image });
      faces.set(name, lm.face.points);
    }
    {
      // Speaking with the mouth open (a different photo set, so not in SMILING/NEUTRAL).
      const { image } = await decodeImage(new Uint8Array(readFileSync(join(SHARED_PHOTOS, OPEN_MOUTH))));
      const lm = await landmarker.landmarks(image);
      if (!lm.ok) throw new Error(`${OPEN_MOUTH}: ${lm.code}`);
      const head = reconstructFace(installed, image, lm.face, { uvSize: 1024 }).head as IctHead;
      openMouth = head.morph;
    }
    await landmarker.close();
  }, 120_000);

  it('a smiling face gets larger mouthSmile weights than a face at rest, and an open smile a larger jawOpen', () => {
    const smile = (n: string) => (weight(n, 'mouthSmile_L') + weight(n, 'mouthSmile_R')) / 2;
    const leastSmiling = Math.min(...SMILING.map(smile));
    const mostNeutral = Math.max(...NEUTRAL.map(smile));
    expect(leastSmiling, `smiles ${SMILING.map(smile)} vs at rest ${NEUTRAL.map(smile)}`).toBeGreaterThan(mostNeutral + 0.3);
    // 000031 shows her teeth with the lips apart; 000055's lips are closed.
    expect(weight('000031.jpg', 'jawOpen')).toBeGreaterThan(weight('000055.jpg', 'jawOpen') + 0.1);
    for (const r of results.values()) {
      for (const v of r.morph.expression) expect(v >= 0 && v <= 1).toBe(true);
      expect(r.morph.fit.rmsMm).toBeLessThan(5);
      expect(Math.abs(r.morph.fit.scale - 1)).toBeLessThan(0.2); // the iris prior already made the landmarks metric
    }
  });

  it('under ARKit names, a broad smile\'s two highest weights are mouthSmileLeft/Right and an open mouth\'s highest is jawOpen', () => {
    const top = (m: IctHead['morph'], n: number) =>
      Object.entries(namedExpressionWeights(m.expressionNames, m.expression, 'arkit').expressions)
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([name]) => name);
    for (const name of ['000031.jpg', '015259.jpg']) expect(top(results.get(name)!.morph, 2).sort(), name).toEqual(['mouthSmileLeft', 'mouthSmileRight']);
    expect(top(openMouth, 1)).toEqual(['jawOpen']);
  });

  it('the head follows the photo: lids and lips land within 1.6 mm (median) of the detected landmarks in the image', () => {
    const { landmarks, vertices, barycentric } = model.pack.correspondence;
    const topo = model.topology;
    const usedOf = new Map<number, number>();
    topo.usedVertices.forEach((v, i) => usedOf.set(v, i));
    const renderOf = new Int32Array(topo.usedVertices.length).fill(-1);
    topo.renderToUsed.forEach((u, r) => renderOf[u] < 0 && (renderOf[u] = r));
    for (const [name, r] of results) {
      const photoPts = faces.get(name)!;
      const errs: number[] = [];
      for (let i = 0; i < landmarks.length; i++) {
        if (!EXPRESSIVE_CONTOURS.has(landmarks[i])) continue;
        const p = [0, 0, 0];
        for (let j = 0; j < 3; j++) {
          const rv = renderOf[usedOf.get(vertices[3 * i + j])!];
          for (let d = 0; d < 3; d++) p[d] += barycentric[3 * i + j] * r.mesh.positions[3 * rv + d];
        }
        const [x, y] = projectHeadPoint(r.geometry.camera, p[0], p[1], p[2]);
        errs.push(Math.hypot(x - photoPts[3 * landmarks[i]], y - photoPts[3 * landmarks[i] + 1]) / r.geometry.camera.pixelsPerMm);
      }
      errs.sort((a, b) => a - b);
      expect(errs[errs.length >> 1], name).toBeLessThan(1.6);
    }
  });

  it('calibration: MediaPipe\'s mean face fits as ICT\'s mean face (zero identity and expression)', () => {
    const pack = model.pack;
    const canonical = loadCanonicalFace();
    const { landmarks } = pack.correspondence;
    const lm = landmarkModel(
      { mean: pack.mean, identity: pack.identity, expression: pack.expression, identityCount: pack.manifest.identity.count, expressionCount: pack.manifest.expression.count },
      { vertices: pack.correspondence.vertices, barycentric: pack.correspondence.barycentric },
    );
    const offset = calibrateNeutral(lm, landmarks, canonical);
    const targets = new Float64Array(landmarks.length * 3);
    for (let i = 0; i < landmarks.length; i++) for (let d = 0; d < 3; d++) targets[3 * i + d] = canonical.positions[3 * landmarks[i] + d] + offset[3 * i + d];
    // Lids and lips keep their uncalibrated correspondence, so they are left out here.
    const weights = Array.from(landmarks, (id) => (EXPRESSIVE_CONTOURS.has(id) ? 0 : 1));
    const fit = fitMorphableModel({ model: lm, targets, weights, lambdaIdentity: 1e-6, lambdaExpression: 1e-6, maxIterations: 200, tolerance: 1e-8 });
    expect(fit.rmsMm).toBeLessThan(0.01);
    expect(Math.max(...fit.expression)).toBeLessThan(0.01);
    expect(Math.max(...fit.identity.map(Math.abs))).toBeLessThan(0.01);
  });

  it('bakes both tiles with no holes; the unseen neck takes the skin tone, the unseen scalp the seen hair', () => {
    const r = results.get('000055.jpg')!;
    const [texture, headTexture] = r.textures.tiles;
    expect(texture.width).toBe(1024);
    expect(headTexture.width).toBe(512);
    for (const img of [texture, headTexture]) {
      let black = 0;
      for (let i = 0; i < img.data.length; i += 3) if (img.data[i] + img.data[i + 1] + img.data[i + 2] < 15) black++;
      expect(black / (img.data.length / 3)).toBeLessThan(0.01);
    }
    // The head tile's texels by region: the skin-only neck and the scalp (the layout's own regions).
    const layout = model.layout;
    const map = rasterizeUvTriangles(layout.uvs.map((v, i) => (i % 2 === 0 ? v - 1 : v)), layout.indices, 512);
    const neckAt = interpolateAtTexels(map, layout.indices, layout.regions!.skinOnly);
    const scalpAt = interpolateAtTexels(map, layout.indices, layout.regions!.scalp);
    const medianOf = (pick: (k: number) => boolean) => {
      const ch: number[][] = [[], [], []];
      for (let k = 0; k < map.texels.length; k++) if (pick(k)) for (let c = 0; c < 3; c++) ch[c].push(headTexture.data[3 * map.texels[k] + c]);
      return ch.map((a) => a.sort((x, y) => x - y)[a.length >> 1]);
    };
    const neck = medianOf((k) => neckAt[k] > 0.9);
    const scalp = medianOf((k) => scalpAt[k] > 0.9);
    const skin = r.textures.colour.skinAfter;
    for (let c = 0; c < 3; c++) expect(Math.abs(neck[c] - skin[c]), `neck channel ${c}: ${neck} vs skin ${skin}`).toBeLessThan(25);
    // 000055 has dark brown hair: the back of her head is hair-dark, not skin.
    const lum = (x: number[]) => 0.2126 * x[0] + 0.7152 * x[1] + 0.0722 * x[2];
    expect(lum(scalp), `scalp ${scalp} vs skin ${skin}`).toBeLessThan(0.6 * lum(skin));
    expect(r.textures.completion.fromPhoto).toBeGreaterThan(0.3);
  });

  it('the eyeballs: each one\'s front maps to the eye texture\'s centre, where the photo\'s iris is painted', () => {
    const topo = model.topology;
    const g = topo.groups.find((x) => x.name === 'eye')!;
    const pack = model.pack;
    for (const sign of [-1, 1]) {
      // The front-most vertex of each eyeball (the optical axis) in the model's mean head.
      let best = -1, bestZ = -Infinity;
      for (let i = g.start; i < g.start + g.count; i++) {
        const r = topo.indices[i];
        const v = topo.usedVertices[topo.renderToUsed[r]];
        if (Math.sign(pack.mean[3 * v]) !== sign) continue;
        if (pack.mean[3 * v + 2] > bestZ) [best, bestZ] = [r, pack.mean[3 * v + 2]];
      }
      expect(topo.uvs[2 * best]).toBeCloseTo(EYE_TILE + 0.5, 2);
      expect(topo.uvs[2 * best + 1]).toBeCloseTo(0.5, 2);
    }
    // The painted iris ring (0.45-0.85 of its radius, as sampleIrisColour reads the photo's) has the
    // photo's iris colour: per-channel medians compared.
    for (const name of NEUTRAL) {
      const r = results.get(name)!;
      const img = r.morph.eyeTexture;
      const s = img.width;
      const ch: number[][] = [[], [], []];
      for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) {
        const f = (Math.hypot(x + 0.5 - s / 2, y + 0.5 - s / 2) / (s / 2)) * (EYE_UV_RADIUS_MM / IRIS_RADIUS_MM);
        if (f >= 0.45 && f <= 0.85) for (let c = 0; c < 3; c++) ch[c].push(img.data[3 * (y * s + x) + c]);
      }
      const texel = ch.map((a) => a.sort((p, q) => p - q)[a.length >> 1]);
      const photoIris = sampleIrisColour(r.photo, faces.get(name)!);
      for (let c = 0; c < 3; c++) expect(Math.abs(texel[c] - photoIris[c]), `${name}: ${texel} vs ${photoIris}`).toBeLessThan(30);
    }
  });

  it('exports an OBJ with the head materials and a GLB with ARKit morph targets that gltf-validator accepts', async () => {
    const r = results.get('000031.jpg')!;
    const assets = await exportAssets(model, r.head, r.textures, { result: {} });
    const dec = new TextDecoder();
    const mtl = dec.decode(assets.files.mtl!);
    expect(mtl).toMatch(/^map_Kd texture\.png$/m);
    expect(mtl).toMatch(/^map_Kd texture_head\.png$/m);
    expect(mtl).toMatch(/^map_Kd texture_eye\.png$/m);
    expect(assets.files.texture_eye).toBeDefined();
    expect(dec.decode(assets.files.obj!).match(/^usemtl /gm)).toHaveLength(model.topology.groups.length);
    expect(assets.files.texture_head).toBeDefined();

    const report = await gltfValidator.validateBytes(assets.files.glb);
    const errors = report.issues.messages.filter((m: { severity: number }) => m.severity === 0);
    expect(errors, JSON.stringify(errors.slice(0, 3))).toEqual([]);
    // The JSON chunk names the targets in ARKit terms and carries the fitted weights as defaults.
    const glb = assets.files.glb!;
    const jsonLen = new DataView(glb.buffer, glb.byteOffset).getUint32(12, true);
    const gltf = JSON.parse(dec.decode(glb.subarray(20, 20 + jsonLen)));
    // The eyes: textured (painted from the photo) and glossy, so renderers put a live highlight on them.
    const eye = gltf.materials.find((m: { name: string }) => m.name === 'eye');
    expect(eye.pbrMetallicRoughness.roughnessFactor).toBeCloseTo(0.15, 6);
    expect(eye.pbrMetallicRoughness.baseColorTexture).toBeDefined();
    const names: string[] = gltf.meshes[0].extras.targetNames;
    const arkitInPack = ARKIT_NAMES.filter((a) => !namedExpressionWeights(r.morph.expressionNames, r.morph.expression, 'arkit').unfitted.includes(a));
    expect(names.slice(0, arkitInPack.length)).toEqual(arkitInPack); // ARKit's names, in ARKit's order, extras after
    const j = names.indexOf('mouthSmileLeft');
    expect(gltf.meshes[0].weights[j]).toBeCloseTo(r.morph.expression[r.morph.expressionNames.indexOf('mouthSmile_L')], 3);
    expect(gltf.meshes[0].primitives[0].targets).toHaveLength(names.length);
    expect(names.at(-1)).toBe('fitResidual');
    expect(gltf.meshes[0].weights.at(-1)).toBe(1);
    // Each moving target also turns normals (lit correctly when animated): NORMAL deltas, sparse.
    const jaw = gltf.meshes[0].primitives[0].targets[names.indexOf('jawOpen')];
    expect(jaw.NORMAL).toBeDefined();
    expect(gltf.accessors[jaw.NORMAL].sparse.count).toBeGreaterThan(100);
    // They are computed once on the mean head and rotated into this head's frame (+20 ms, where
    // computing them on each head costs ~0.2 s): against the deltas computed on this very head
    // (independently, here), they remove well over half of the error that no normal deltas leave.
    const desc = model.exportDescription(r.head);
    const approx = desc.morphTargets!.find((t) => t.name === 'jawOpen')!;
    const exact = withNormalDeltas([approx], { positions: r.morph.neutralPositions, indices: model.topology.indices, weld: model.topology.renderToUsed })[0];
    const at = (t: typeof exact) => new Map(Array.from(t.normalIndices!, (v, k) => [v, Array.from(t.normalDeltas!.subarray(3 * k, 3 * k + 3))]));
    const [a, e] = [at(approx), at(exact)];
    const errs = [...new Set([...a.keys(), ...e.keys()])].map((v) => Math.hypot(...[0, 1, 2].map((d) => (a.get(v)?.[d] ?? 0) - (e.get(v)?.[d] ?? 0))));
    const mags = [...e.values()].map((d) => Math.hypot(...d)).sort((p, q) => p - q);
    errs.sort((p, q) => p - q);
    expect(errs[Math.floor(errs.length * 0.95)]).toBeLessThan(0.5 * mags[Math.floor(mags.length * 0.95)]);
    expect(errs[Math.floor(errs.length * 0.5)]).toBeLessThan(0.5 * mags[Math.floor(mags.length * 0.5)]);
  });

  it("under ARKit names the GLB at its default weights is the OBJ's mesh, shape and normals: fitResidual carries what the named targets leave", () => {
    let carried = 0;
    for (const [name, r] of results) {
      // The neutral base plus every target at its default weight, summed here, against the OBJ's positions.
      const described = model.exportDescription(r.head);
      expect(described.morphTargets!.at(-1)!.name).toBe('fitResidual');
      const atDefaults = Float64Array.from(described.glb!.positions);
      described.morphTargets!.forEach((t, k) => {
        const w = described.morphWeights![k];
        for (let i = 0; i < t.indices.length; i++) for (let d = 0; d < 3; d++) atDefaults[3 * t.indices[i] + d] += w * t.deltas[3 * i + d];
      });
      let off = 0;
      for (let i = 0; i < atDefaults.length; i++) off = Math.max(off, Math.abs(atDefaults[i] - described.obj.positions[i]));
      expect(off, name).toBeLessThan(2e-3); // mm: the floor of what a target stores, and float32
      // Shading too: the base's normals plus every target's normal deltas at its weight, normalised as a
      // renderer does, against the OBJ's normals (the targets alone are >20 degrees off on a smile's lips).
      const n = Float64Array.from(described.glb!.normals);
      described.morphTargets!.forEach((t, k) => {
        const w = described.morphWeights![k];
        if (!t.normalIndices) return;
        for (let i = 0; i < t.normalIndices.length; i++) for (let d = 0; d < 3; d++) n[3 * t.normalIndices[i] + d] += w * t.normalDeltas![3 * i + d];
      });
      let worstDeg = 0;
      for (let v = 0; v < n.length / 3; v++) {
        const o = described.obj.normals.subarray(3 * v, 3 * v + 3);
        const dot = (n[3 * v] * o[0] + n[3 * v + 1] * o[1] + n[3 * v + 2] * o[2]) / (Math.hypot(n[3 * v], n[3 * v + 1], n[3 * v + 2]) * Math.hypot(o[0], o[1], o[2]));
        worstDeg = Math.max(worstDeg, (Math.acos(Math.min(1, dot)) * 180) / Math.PI);
      }
      expect(worstDeg, name).toBeLessThan(1.5); // NORMAL_RESIDUAL_FLOOR, ~0.6 degrees, and float32
      // What it carries is the halves' difference: present exactly where ICT fitted the two halves apart.
      const m = r.morph;
      const apart = ['browInnerUp', 'cheekPuff'].some((b) => Math.abs(m.expression[m.expressionNames.indexOf(`${b}_L`)] - m.expression[m.expressionNames.indexOf(`${b}_R`)]) > 0.01);
      const asym = described.morphTargets!.at(-1)!;
      let biggest = 0;
      for (let i = 0; i < asym.deltas.length; i += 3) biggest = Math.max(biggest, Math.hypot(asym.deltas[i], asym.deltas[i + 1], asym.deltas[i + 2]));
      expect(biggest > 0.01, `${name}: halves apart ${apart}, largest offset ${biggest} mm`).toBe(apart);
      if (apart) carried++;
    }
    expect(carried).toBeGreaterThanOrEqual(1); // 015259 puffs one cheek more than the other
  });

  it("reprojection of the delivered head: its own landmark points, from the render mesh, projected by result.json's pose", () => {
    for (const name of ['000031.jpg', '015259.jpg']) {
      const r = results.get(name)!;
      const pack = model.pack;
      const points = faces.get(name)!;
      // Independently: each landmark's point on the render mesh (first render copy of each pack vertex).
      const renderOf = new Map<number, number>();
      const topo = model.topology;
      for (let v = 0; v < topo.renderToUsed.length; v++) {
        const packVertex = topo.usedVertices[topo.renderToUsed[v]];
        if (!renderOf.has(packVertex)) renderOf.set(packVertex, v);
      }
      const k = pack.correspondence.landmarks.length;
      const arity = pack.correspondence.vertices.length / k;
      let sum = 0;
      let n = 0;
      for (let i = 0; i < k; i++) {
        const q = [0, 0, 0];
        let ok = true;
        for (let c = 0; c < arity; c++) {
          const v = renderOf.get(pack.correspondence.vertices[i * arity + c]);
          if (v === undefined) ok = false;
          else for (let d = 0; d < 3; d++) q[d] += (arity === 1 ? 1 : pack.correspondence.barycentric[i * arity + c]) * r.mesh.positions[3 * v + d];
        }
        if (!ok) continue;
        const [x, y] = projectHeadPoint(r.geometry.camera, q[0], q[1], q[2]);
        const id = pack.correspondence.landmarks[i];
        sum += Math.hypot(x - points[3 * id], y - points[3 * id + 1]);
        n++;
      }
      expect(n).toBeGreaterThan(400);
      expect(r.head.meshReprojectionErrorPx, name).toBeCloseTo(sum / n, 3);
      // Not the landmark mesh's own zero: the model cannot follow every landmark exactly.
      expect(r.head.meshReprojectionErrorPx!).toBeGreaterThan(0.2);
      expect(r.head.meshReprojectionErrorPx!).toBeLessThan(15);
    }
  });

  it('morph targets are the blendshapes in the head frame: jawOpen lowers the chin, neutral + weights = the fitted mesh', () => {
    const r = results.get('000031.jpg')!;
    const targets = expressionTargets({ pack: model.pack, topology: model.topology, expressionNames: r.morph.expressionNames, rotation: r.morph.rotation, scale: r.morph.scale });
    const jaw = targets[r.morph.expressionNames.indexOf('jawOpen')];
    // The lowest exported vertex that jawOpen moves goes down (head frame +Y up).
    let meanDy = 0;
    for (let i = 0; i < jaw.indices.length; i++) meanDy += jaw.deltas[3 * i + 1] / jaw.indices.length;
    expect(meanDy).toBeLessThan(-1);
    expect(jaw.indices.length).toBeLessThan(r.mesh.positions.length / 3); // sparse: the skull does not move
    // Independent check of the export contract: the GLB's neutral base plus weighted targets is the OBJ's mesh.
    const rebuilt = Float64Array.from(r.morph.neutralPositions);
    targets.forEach((t, k) => {
      const w = r.morph.expression[k];
      for (let i = 0; i < t.indices.length; i++) for (let d = 0; d < 3; d++) rebuilt[3 * t.indices[i] + d] += w * t.deltas[3 * i + d];
    });
    let worst = 0;
    for (let i = 0; i < rebuilt.length; i++) worst = Math.max(worst, Math.abs(rebuilt[i] - r.mesh.positions[i]));
    // Up to the offsets each target leaves out (each under MORPH_DELTA_FLOOR_MM, scaled into the head), weighted.
    const dropped = r.morph.expression.reduce((a, w) => a + Math.abs(w), 0) * MORPH_DELTA_FLOOR_MM * r.morph.scale;
    expect(worst).toBeLessThan(1e-3 + dropped); // mm
    expect(dropped).toBeLessThan(0.05); // and that is far below anything a render shows
  });
});

describe('sampleIrisColour', () => {
  it('the median of the ring between the pupil and the limbus, from a drawn pair of eyes: not the pupil, the lid or the skin', () => {
    const photo = createRgbImage(200, 100);
    photo.data.fill(200); // skin-ish grey
    const iris = [52, 104, 160] as const;
    const points = new Float32Array(478 * 3);
    for (const [c, cx] of [[468, 60], [473, 140]] as const) {
      const cy = 50, r = 12;
      for (let y = 0; y < 100; y++) for (let x = 0; x < 200; x++) {
        const d = Math.hypot(x + 0.5 - cx, y + 0.5 - cy);
        if (d > r) continue;
        // Pupil inside 0.35 r; an upper lid covers the top fifth of the eye.
        const colour = y + 0.5 < cy - 0.6 * r ? [70, 50, 45] : d < 0.35 * r ? [5, 5, 5] : iris;
        photo.data.set(colour, 3 * (y * 200 + x));
      }
      points.set([cx, cy, 0], 3 * c);
      [[r, 0], [0, -r], [-r, 0], [0, r]].forEach(([dx, dy], k) => points.set([cx + dx, cy + dy, 0], 3 * (c + 1 + k)));
    }
    expect(Array.from(sampleIrisColour(photo, points))).toEqual(Array.from(iris));
  });
});

describe('the back-of-head tile is not mirrored (it has no left/right symmetry in ICT\'s layout)', () => {
  it.skipIf(!hasIct)(hasIct ? 'layout: the face tile mirrors, the head tile does not; both settle on the skin tone' : `skipped: ${ICT} not found`, () => {
    const m = createIctFaceModel({ pack: loadModelPack(ictTestPack()), canonical: loadCanonicalFace() });
    expect(m.layout.tiles.map((t) => [t.asset, t.mirrorU, t.toneFill])).toEqual([['texture', true, true], ['texture_head', false, true]]);
  });
});
