/**
 * npm run reconstruct -- <photo> [--out dir] [--uv 512|1024] [--provider cpu|cuda] [--model mediapipe|ict] [--detail]
 * Writes face.obj + face.mtl, texture.png, texture_grid.png, face.glb, preview.png,
 * preview_geometry.png and result.json; with --model ict (the ICT-FaceKit pack, npm run models:ict) the
 * full head, texture_head.png, a GLB with ARKit morph targets, and identity and expression weights.
 * --detail (the API's formats=detail) adds the shading detail: normal.png and displacement.png, which
 * the OBJ's MTL, the GLB and the geometry preview then carry. Exit 0 on success, 2 when the photo has
 * no usable face, 1 on errors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ictPackDir } from '@facerecon/models';
import { ASSET_FILES, ERROR_SPECS, FaceReconError, type AssetKind } from '@facerecon/shared';
import { readImageFile } from '../adapters/image-io';
import { exportAssets } from '../core/export';
import { reconstructFace } from '../core/reconstruct';
import { ModelRegistry } from '../core/registry';
import { reconstructionResultJson } from '../core/result-json';
import { createFaceLandmarker } from '../face/landmarker';
import { loadIctFaceModel } from '../face-models/ict';
import { createMediaPipeFaceModel } from '../face-models/mediapipe';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, uv: { type: 'string', default: '1024' }, provider: { type: 'string' }, model: { type: 'string', default: 'mediapipe' }, detail: { type: 'boolean', default: false } },
  });
  const photo = positionals[0];
  if (!photo || (values.uv !== '512' && values.uv !== '1024') || (values.model !== 'mediapipe' && values.model !== 'ict')) {
    console.error('usage: npm run reconstruct -- <photo> [--out dir] [--uv 512|1024] [--provider cpu|cuda] [--model mediapipe|ict] [--detail]');
    return 1;
  }
  const outDir = values.out ?? join('out', basename(photo, extname(photo)));
  const providers = values.provider === 'cuda' ? (['cuda', 'cpu'] as const) : values.provider === 'cpu' ? (['cpu'] as const) : undefined;
  const landmarker = await createFaceLandmarker({ providers });
  const face = createMediaPipeFaceModel();
  const models = new ModelRegistry([face, values.model === 'ict' ? loadIctFaceModel(process.env.FACERECON_ICT_PACK ?? ictPackDir(), face) : undefined]);
  try {
    const installed = models.get(values.model);
    let t = performance.now();
    const { image } = await readImageFile(photo);
    const decode = performance.now() - t;
    const lm = await landmarker.landmarks(image);
    if (!lm.ok) {
      console.error(`${photo}: ${lm.code}: ${ERROR_SPECS[lm.code].en} (${lm.detail})`);
      return 2;
    }
    t = performance.now();
    const recon = reconstructFace(installed, image, lm.face, { uvSize: Number(values.uv) as 512 | 1024, detail: values.detail });
    const timings: Record<string, number> = { decode, ...lm.timings, ...recon.timings };
    const resultOf = () => reconstructionResultJson({ model: installed.model, face: lm.face, head: recon.head, textures: recon.textures, timings, image });
    const assets = await exportAssets(installed.model, recon.head, recon.textures, { result: resultOf() });
    Object.assign(timings, assets.timings, { total_after_landmarks: performance.now() - t });
    const result = resultOf();
    assets.files.result = new TextEncoder().encode(JSON.stringify(result, null, 2));
    mkdirSync(outDir, { recursive: true });
    for (const [kind, bytes] of Object.entries(assets.files)) if (bytes) writeFileSync(join(outDir, ASSET_FILES[kind as AssetKind].file), bytes);
    const g = recon.head.geometry;
    const expressions = (result.morph?.expressions ?? {}) as Record<string, number>;
    console.log(
      `${photo}: yaw ${g.pose.yaw.toFixed(1)}, pitch ${g.pose.pitch.toFixed(1)}, roll ${g.pose.roll.toFixed(1)} deg; ` +
        `${recon.head.mesh.positions.length / 3} vertices; ${recon.head.mode.uvSize}px texture (${(recon.textures.completion.fromPhoto * 100).toFixed(0)}% from photo)` +
        `${recon.head.mode.conservative.enabled ? `; conservative: ${recon.head.mode.conservative.reasons.join(', ')}` : ''}; ` +
        `${timings.total_after_landmarks.toFixed(0)} ms after landmarks -> ${outDir}/` +
        (result.morph ? `\n  ${result.morph.model}: ${Object.entries(expressions).filter(([, v]) => v >= 0.1).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') || 'neutral'}` : ''),
    );
    return 0;
  } catch (err) {
    if (err instanceof FaceReconError) {
      console.error(`${photo}: ${err.code}: ${err.message}`);
      return 2;
    }
    throw err;
  } finally {
    await landmarker.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
    process.exit(1);
  },
);
