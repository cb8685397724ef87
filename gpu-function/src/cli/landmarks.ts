/**
 * npm run landmarks -- <photo> [--out dir] [--provider cpu|cuda]
 * Writes <out>/landmarks.json (boxes, scores, 478 points, timings) and <out>/overlay.png.
 * Exit code 0 on a usable face, 2 when the photo has no usable face (the JSON says why), 1 on errors.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { ERROR_SPECS, FaceReconError } from '@facerecon/shared';
import { encodePng, readImageFile } from '../adapters/image-io';
import { createFaceLandmarker } from '../face/landmarker';
import { drawLandmarkOverlay } from '../face/overlay';
import { landmarkResultToJson } from '../face/result-json';

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, provider: { type: 'string' } },
  });
  const photo = positionals[0];
  if (!photo) {
    console.error('usage: npm run landmarks -- <photo> [--out dir] [--provider cpu|cuda]');
    return 1;
  }
  const outDir = values.out ?? join('out', basename(photo, extname(photo)));
  // --provider cuda tries CUDA then CPU; without it FACERECON_PROVIDERS (default cpu) decides.
  const providers = values.provider === 'cuda' ? (['cuda', 'cpu'] as const) : values.provider === 'cpu' ? (['cpu'] as const) : undefined;

  const t0 = performance.now();
  const landmarker = await createFaceLandmarker({ providers, segmentation: false });
  const tLoad = performance.now() - t0;
  try {
    const t1 = performance.now();
    const decoded = await readImageFile(photo);
    const decodeMs = performance.now() - t1;
    const result = await landmarker.landmarks(decoded.image);
    const json = { photo, ...landmarkResultToJson(decoded.image, result), timings_ms: { load_models: round(tLoad), decode: round(decodeMs), ...roundAll(result.timings) } };
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'landmarks.json'), JSON.stringify(json, null, 2));
    writeFileSync(join(outDir, 'overlay.png'), await encodePng(drawLandmarkOverlay(decoded.image, result)));
    const summary = result.ok
      ? `1 face, presence ${result.face.presence.toFixed(3)}, ${result.faces.length} detected`
      : `${result.code}: ${ERROR_SPECS[result.code].en} (${result.detail})`;
    console.log(`${photo}: ${summary}; detect ${round(result.timings.detect)} ms, mesh ${round(result.timings.mesh)} ms, iris ${round(result.timings.iris)} ms -> ${outDir}/`);
    return result.ok ? 0 : 2;
  } catch (err) {
    if (err instanceof FaceReconError) {
      console.error(`${photo}: ${err.code}: ${err.message}${err.detail ? ` (${err.detail})` : ''}`);
      return 2;
    }
    throw err;
  } finally {
    await landmarker.close();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;
const roundAll = (o: object) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, round(v as number)]));

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
    process.exit(1);
  },
);
