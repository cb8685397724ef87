/**
 * npm run reconstruct -- <photo> [--out dir] [--uv 512|1024] [--provider cpu|cuda] [--model mediapipe|ict]
 * Writes face.obj + face.mtl, texture.png, texture_grid.png, face.glb, preview.png,
 * preview_geometry.png and result.json; with --model ict (the ICT-FaceKit pack, npm run models:ict) the
 * full head, texture_head.png, a GLB with ARKit morph targets, and identity and expression weights. Exit 0 on success, 2 when the photo has no usable face, 1 on errors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ERROR_SPECS, FaceReconError } from '@facerecon/shared';
import { readImageFile } from '../adapters/image-io';
import { createFaceLandmarker } from '../face/landmarker';
import { ASSET_NAMES, exportAssets, reconstructionResultJson, type AssetKey } from '../recon/assets';
import { createReconstructor } from '../recon/reconstruct';
import { ictPackDir } from '@facerecon/models';
import { expressionWeights } from '../morph/morph-export';
import { loadMorphReconstructor } from '../morph/reconstruct-morph';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, uv: { type: 'string', default: '1024' }, provider: { type: 'string' }, model: { type: 'string', default: 'mediapipe' } },
  });
  const photo = positionals[0];
  if (!photo || (values.uv !== '512' && values.uv !== '1024') || (values.model !== 'mediapipe' && values.model !== 'ict')) {
    console.error('usage: npm run reconstruct -- <photo> [--out dir] [--uv 512|1024] [--provider cpu|cuda] [--model mediapipe|ict]');
    return 1;
  }
  const outDir = values.out ?? join('out', basename(photo, extname(photo)));
  const providers = values.provider === 'cuda' ? (['cuda', 'cpu'] as const) : values.provider === 'cpu' ? (['cpu'] as const) : undefined;
  const landmarker = await createFaceLandmarker({ providers });
  const reconstructor = createReconstructor();
  const morph = values.model === 'ict' ? loadMorphReconstructor(process.env.FACERECON_ICT_PACK ?? ictPackDir(), reconstructor) : undefined;
  try {
    let t = performance.now();
    const { image } = await readImageFile(photo);
    const decode = performance.now() - t;
    const lm = await landmarker.landmarks(image);
    if (!lm.ok) {
      console.error(`${photo}: ${lm.code}: ${ERROR_SPECS[lm.code].en} (${lm.detail})`);
      return 2;
    }
    t = performance.now();
    const ropts = { uvSize: Number(values.uv) as 512 | 1024 };
    const recon = morph ? morph.textureStage(morph.geometryStage(image, lm.face, ropts)) : reconstructor.reconstruct(image, lm.face, ropts);
    const timings: Record<string, number> = { decode, ...lm.timings, ...recon.timings };
    const placeholder = reconstructionResultJson(lm.face, recon, timings);
    const assets = await exportAssets(recon, { result: placeholder });
    Object.assign(timings, assets.timings, { total_after_landmarks: performance.now() - t });
    assets.files.result = new TextEncoder().encode(JSON.stringify(reconstructionResultJson(lm.face, recon, timings), null, 2));
    mkdirSync(outDir, { recursive: true });
    for (const [key, bytes] of Object.entries(assets.files)) if (bytes) writeFileSync(join(outDir, ASSET_NAMES[key as AssetKey]), bytes);
    const g = recon.geometry;
    console.log(
      `${photo}: yaw ${g.pose.yaw.toFixed(1)}, pitch ${g.pose.pitch.toFixed(1)}, roll ${g.pose.roll.toFixed(1)} deg; ` +
        `${recon.mesh.positions.length / 3} vertices; ${recon.uvSize}px texture (${(recon.completion.fromPhoto * 100).toFixed(0)}% from photo)` +
        `${recon.conservative.enabled ? `; conservative: ${recon.conservative.reasons.join(', ')}` : ''}; ` +
        `${timings.total_after_landmarks.toFixed(0)} ms after landmarks -> ${outDir}/` +
        (recon.morph ? `\n  ${recon.morph.model}: ${Object.entries(expressionWeights(recon.morph)).filter(([, v]) => v >= 0.1).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ') || 'neutral'}` : ''),
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
