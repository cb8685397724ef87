/**
 * npm run bench:lighting [-- --write]: the photo's lighting and the albedo (issue 19), on the shared
 * portraits (../shared/photos; the project's astronaut when absent). Per photo, as the service runs
 * texture=albedo at 1024:
 * - albedo flatness: the mean linear luminance of the left half's skin over the right half's, on
 *   mirrored texel pairs that the photo saw clearly on both sides (bake weight >= 0.8, facing the
 *   camera n_z >= 0.5), in albedo.png and in texture.png; 1 is flat;
 * - relighting: albedo.png shaded again by the estimated lighting, as result.json's `albedo_relation`
 *   states (albedo x max(shading, floor) / reference), against texture.png, PSNR over those texels
 *   that are skin (bench/skin-regions.ts: not eyes, brows, lips or nostrils);
 * - the lighting fit itself: the share of samples kept as skin, and the light's direction (the
 *   brightest normal of the estimated shading over the seen hemisphere: x right, y up, z to the viewer);
 * - cost: the lighting estimate and the albedo, ms.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { readImageFile } from '../gpu-function/src/adapters/image-io';
import { createFaceLandmarker } from '../gpu-function/src/face/landmarker';
import { reconstructFace } from '../gpu-function/src/core/reconstruct';
import { ModelRegistry } from '../gpu-function/src/core/registry';
import { createMediaPipeFaceModel } from '../gpu-function/src/face-models/mediapipe';
import { bakeUvTexture } from '../gpu-function/src/recon/bake';
import { texelNormals } from '../gpu-function/src/recon/photo-lighting';
import { shadeSh } from '../gpu-function/src/recon/sh-lighting';
import { linearToSrgb, srgbToLinear } from '../gpu-function/src/recon/srgb';
import { fmt, machineLine, median } from './stats';
import { sharedPortraits } from './portraits';
import { skinRegionMask } from './skin-regions';
import { resultsLog, writeResultsSection } from './results-file';
import { loadModelPack } from '../gpu-function/src/morph/model-pack';
import { createIctFaceModel } from '../gpu-function/src/face-models/ict';
import { loadCanonicalFace } from '../gpu-function/src/recon/canonical';
import { ICT_SOURCE_LABEL, hasIct, ictTestPack } from '../scripts/lib/ict-pack';

const { values } = parseArgs({ options: { write: { type: 'boolean', default: false } } });
const ROOT = resolve(import.meta.dirname, '..');
const photos = sharedPortraits(ROOT);

const toLinear = srgbToLinear;
const toSrgb = linearToSrgb;
const lum = (d: Uint8Array, o: number) => 0.2126 * toLinear(d[o]) + 0.7152 * toLinear(d[o + 1]) + 0.0722 * toLinear(d[o + 2]);

const landmarker = await createFaceLandmarker();
const installed = new ModelRegistry([createMediaPipeFaceModel()]).get('mediapipe');
const { lines, log } = resultsLog();
log('| photo | left/right skin luminance: texture -> albedo | relit albedo vs texture, PSNR dB | skin share of samples | brightest normal (x, y, z) | lighting + albedo ms |');
log('|---|---|---|---|---|---|');
const flatBefore: number[] = [], flatAfter: number[] = [], psnrs: number[] = [], costs: number[] = [];
// Issue 19's group: photos with a clear side light, taken as a texture left/right ratio off 1 by more than 15%.
const sideLit: number[] = [];
/**
 * One reconstruction's albedo measures: left/right luminance of the texture and the albedo over mirrored
 * texels of the face tile seen clearly on both sides and facing the camera, restricted to `region` (1 =
 * measured; all when absent), and the relighting PSNR over the same texels.
 */
function measureAlbedo(recon: ReturnType<typeof reconstructFace>, image: Parameters<typeof reconstructFace>[1], personMask: Parameters<typeof bakeUvTexture>[0]['personMask'], map: ReturnType<typeof installed.baker.texelMap>, region?: Uint8Array): { before: number; after: number; psnr: number } | undefined {
  const { lighting, albedo } = recon.textures;
  if (!lighting || !albedo) return undefined;
  const tex = recon.textures.tiles[0];
  const size = tex.width;
  const { mesh, geometry } = recon.head;
  const w = bakeUvTexture({ mesh, camera: geometry.camera, photo: image, texelMap: map, personMask }).weight;
  const ks = Int32Array.from({ length: map.texels.length }, (_, k) => k);
  const n = texelNormals(map, mesh.indices, mesh.normals, geometry.camera.rotation, ks);
  const kOf = new Int32Array(size * size).fill(-1);
  for (let k = 0; k < map.texels.length; k++) kOf[map.texels[k]] = k;
  const skin = (t: number) => kOf[t] >= 0 && (!region || region[t] === 1) && w[t] >= 0.8 && n[3 * kOf[t] + 2] >= 0.5;
  // Flatness over mirrored pairs seen clearly on both sides.
  const sums = { tl: 0, tr: 0, al: 0, ar: 0 };
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size / 2 - 4; x++) {
      const l = y * size + x, r = y * size + size - 1 - x;
      if (!skin(l) || !skin(r)) continue;
      sums.tl += lum(tex.data, 3 * l);
      sums.tr += lum(tex.data, 3 * r);
      sums.al += lum(albedo.data, 3 * l);
      sums.ar += lum(albedo.data, 3 * r);
    }
  }
  // Relighting as result.json states it: albedo x max(shading, floor) / reference, against the texture.
  const s = new Float64Array(3);
  const ref = lighting.albedoReference!, floor = lighting.shadingFloor!;
  let se = 0, cnt = 0;
  for (let k = 0; k < ks.length; k++) {
    const t = map.texels[k];
    if (!skin(t)) continue;
    shadeSh(lighting, n[3 * k], n[3 * k + 1], n[3 * k + 2], s);
    for (let c = 0; c < 3; c++) {
      const relit = toSrgb((toLinear(albedo.data[3 * t + c]) * Math.max(s[c], floor[c])) / ref[c]);
      se += (relit - tex.data[3 * t + c]) ** 2;
      cnt++;
    }
  }
  return { before: sums.tl / sums.tr, after: sums.al / sums.ar, psnr: 10 * Math.log10((255 * 255) / Math.max(1e-9, se / cnt)) };
}

/** The photos the default model measured, for the full head's pass. */
const landmarked: { name: string; image: Parameters<typeof reconstructFace>[1]; face: Parameters<typeof reconstructFace>[2] }[] = [];
for (const [name, path] of photos) {
  const { image } = await readImageFile(path);
  const lm = await landmarker.landmarks(image);
  if (!lm.ok) {
    log(`| ${name} | ${lm.code} | | | | |`);
    continue;
  }
  const recon = reconstructFace(installed, image, lm.face, { uvSize: 1024, albedo: true });
  const { lighting } = recon.textures;
  const m = measureAlbedo(recon, image, lm.face.personMask, installed.baker.texelMap(0, recon.head.mode.uvSize), skinRegionMask(recon.textures.tiles[0].width));
  if (!lighting || !m) {
    log(`| ${name} | no lighting estimate | | | | |`);
    continue;
  }
  const { before, after, psnr } = m;
  landmarked.push({ name, image, face: lm.face });
  const s = new Float64Array(3);
  // Where the light comes from: the brightest normal of the estimated shading over the hemisphere the
  // camera sees (n_z >= 0.2; behind it the order-2 fit is an extrapolation). The order-1 coefficients
  // alone do not say it: over one hemisphere 1, z and 3z^2 - 1 trade off.
  let best = -Infinity;
  let dir = [0, 0, 1];
  for (let a = 0; a < 64; a++) {
    for (let b = 1; b <= 16; b++) {
      const nz = 0.2 + (0.8 * b) / 16, r = Math.sqrt(1 - nz * nz);
      const nx = r * Math.cos((2 * Math.PI * a) / 64), ny = r * Math.sin((2 * Math.PI * a) / 64);
      shadeSh(lighting, nx, ny, nz, s);
      const l = 0.2126 * s[0] + 0.7152 * s[1] + 0.0722 * s[2];
      if (l > best) {
        best = l;
        dir = [nx, ny, nz];
      }
    }
  }
  const len = 1;
  const cost = recon.timings.lighting + recon.timings.albedo;
  flatBefore.push(Math.abs(before - 1));
  if (Math.abs(before - 1) > 0.15) sideLit.push(Math.abs(after - 1));
  flatAfter.push(Math.abs(after - 1));
  psnrs.push(psnr);
  costs.push(cost);
  log(`| ${name} | ${before.toFixed(3)} -> ${after.toFixed(3)} | ${psnr.toFixed(1)} | ${(100 * lighting.inlierShare).toFixed(0)}% | ${dir.map((v) => (v / len).toFixed(2)).join(', ')} | ${fmt(cost)} |`);
}
await landmarker.close();
log('');
log(`Median |left/right - 1|: texture ${(100 * median(flatBefore)).toFixed(1)}% -> albedo ${(100 * median(flatAfter)).toFixed(1)}% (worst ${(100 * Math.max(...flatBefore)).toFixed(1)}% -> ${(100 * Math.max(...flatAfter)).toFixed(1)}%). Relighting PSNR median ${median(psnrs).toFixed(1)} dB, min ${Math.min(...psnrs).toFixed(1)} dB. Lighting + albedo ${fmt(median(costs))} ms median at 1024.`);
log(`Side-lit photos (texture |left/right - 1| > 15%): ${sideLit.length}; albedo within 5% of 1 on ${sideLit.filter((x) => x <= 0.05).length}, median ${(100 * median(sideLit)).toFixed(1)}%, worst ${(100 * Math.max(...sideLit)).toFixed(1)}%.`);
// The full head (issue 19: both face models get the albedo through the shared texture path), over its
// face tile, which mirrors about its vertical midline as the default chart does. bench/skin-regions.ts
// is the default layout's, so here eyes, brows, lips and the hair the face tile reaches count too.
if (hasIct) {
  const ict = new ModelRegistry([createIctFaceModel({ pack: loadModelPack(ictTestPack()), canonical: loadCanonicalFace() })]).get('ict');
  const side: [string, number][] = [], all: number[] = [], relit: number[] = [];
  for (const { name, image, face } of landmarked) {
    const recon = reconstructFace(ict, image, face, { uvSize: 1024, albedo: true });
    const m = measureAlbedo(recon, image, face.personMask, ict.baker.texelMap(0, recon.head.mode.uvSize));
    if (!m) continue;
    all.push(Math.abs(m.after - 1));
    relit.push(m.psnr);
    if (Math.abs(m.before - 1) > 0.15) side.push([name, Math.abs(m.after - 1)]);
  }
  const over = side.filter(([, x]) => x > 0.05);
  log(`Full head (model=ict, ${ICT_SOURCE_LABEL}; its face tile's clearly seen, camera-facing mirrored texels, eyes, brows, lips and hair included): side-lit photos ${side.length}; albedo within 5% of 1 on ${side.length - over.length}, median ${(100 * median(side.map(([, x]) => x))).toFixed(1)}%, worst ${(100 * Math.max(...side.map(([, x]) => x))).toFixed(1)}% (over 5%: ${over.map(([n, x]) => `${n} ${(100 * x).toFixed(1)}%`).join(', ') || 'none'}); all photos median ${(100 * median(all)).toFixed(1)}%; relighting median ${median(relit).toFixed(1)} dB, min ${Math.min(...relit).toFixed(1)} dB.`);
  log('The full head before this session\'s two albedo changes (9c0f581, the same measure over the 36 deep3d and identity photos): side-lit within 5% 12 of 26, worst 20.4%, all photos median 5.0%; relighting min 11.5 dB (lacamoire_1, whose albedo the whole-chart reference had turned grey and dark). The full head\'s shading estimate is the weaker one: its fitted head\'s normals are not the 468 landmarks\' own surface, and miranda_1, evenly lit (texture 1.009), comes out 0.833 under any floor. Dividing the full head\'s texture by the default model\'s lighting estimate instead (the lighting is in the camera frame, so it carries over) leaves it as it is: 12 of 26 within 5%, miranda_1 0.853, so the difference is not its lighting fit. Nor is it the measure (the default model measured this way, over every clearly seen, camera-facing texel, keeps 27 of 27 within 5%), the mirror symmetry of the full head\'s normals (in the head frame as symmetric as the default\'s) or the lift cut (without it: the same). The cause is open.');
} else log('Full head: not measured (no ICT-FaceKit model in ../shared).');
log('');
log('Tried and dropped: a stronger ridge on the SH fit\'s order-1 and order-2 coefficients (the default 1e-4 is for data over the whole sphere; a face spans one hemisphere). Side-lit photos within 5%: 1e-4 18 of 27 (median 2.6%, worst 16.2%), 3e-3 16 (2.5%, 12.6%), 1e-2 19 (3.5%, 14.7%), 3e-2 13 (5.3%, 18.6%); the worst relighting PSNR rises from 23.7 to 33-42 dB. Dropped: on a render with known lighting (test/recon/photo-lighting.test.ts) 3e-3 already misses the shading by 11% RMS instead of < 2%, so the flatter photos come from damping a real estimate, not from a better one.');
log('Kept (2026-12-01): the SH fit keeps Huber weights throughout instead of switching to Tukey\'s biweight. Side-lit photos within 5%: Tukey 18 of 27 (median 3.0%, worst 11.5%), Huber only 20 (2.2%, 11.0%), plain least squares 22 (2.7%, 10.0%) but 19.8% shading error with 15% brows, speculars and lips in a synthetic test where Huber keeps 0.6% (Tukey 0.1%). Tukey\'s zero weights fell on the shadow side, where the Lambertian model fits worst.');
log('Changes of 2026-12-01 (second round), each measured on this bench against the run without it (pair weight 3 unless said):');
log('- Kept: the symmetric-albedo term (mirrored texel pairs, Zhao & Chellappa\'s self-ratio; sh-fit.ts). Side-lit photos within 5% of flat (measured with the former floor 0.25 and cut 1.15): without 20 of 27 (the paired sampling alone, at weight 0: 23), pair weight 1: 22 (median 1.8%), 3: 24 (1.6%), 10: 23 (1.8%). A synthetic symmetric albedo 45% darker at the sides: 9.0% -> 1.5% left/right error (test/recon/sh-lighting.test.ts).');
log('- Kept: the albedo scaled to fit in 8 bits (99% of the chart below white) and result.json\'s `albedo_reference` / `shading_floor`, so the relation is exact to relight: 015259 (a fair face lit from one side) went 25.6 -> 29.9 dB, 85% of its relighting error having been clipping.');
log('- Kept: the shading floor 0.25 -> 0.4 of the mean and the lift cut 1.15 -> 1.3 (albedo.ts). Relighting worst 26.5 dB (floor 0.25, cut 1.15), 27.8 (0.33, 1.15), 29.5 (0.33, 1.3), 28.8 (0.4, 1.15), 29.6 (0.4, 1.2), 30.9 (0.4, 1.3); without any cut 36.5 dB but 22 of 27 flat and the white blotches back. The price: 015316, lit 3.4x from one side, needs more than 2.5x of lift and stays 17-19% off flat. Re-swept with the direction-balanced fit, floor 0.3 / 0.33 / 0.36: 22 / 21 / 21 of 27 flat (worst 9.9 / 8.3 / 10.3%), relighting worst 28.8 / 29.3 / 29.9 dB.');
log('- Kept: the relighting measure over skin (bench/skin-regions.ts: the chart minus eyes, brows, lips and nostrils by landmark polygons) instead of every facing texel, as issue 19 states it.');
log('- Kept: samples balanced over normal directions (photo-lighting.ts directionBalanceWeights, 8 x 8 bins, weights capped at 8x): relighting median 38.9 -> 40.6 dB (worst 30.8 -> 30.6), side-lit photos flat within 5% 24 -> 23 of 27 (lacamoire_2 5.2%), and the albedo\'s glowing nose (an extrapolated falloff on the steep normals) gone from the docs/detail sheet. Bins 6 / 10 and caps 4 / 16: 22-23 of 27, the same relighting. A wider lift-cut neighbourhood (radius 20 or 32 coarse texels instead of 12, to catch the bright eye sockets as spikes): 24 of 27 flat, but relighting worst 29.3 or 27.6 dB.');
log('- Dropped (2026-12-01, later): a shading floor per photo, the 2nd percentile of the estimated shading over clearly seen texels clamped to 0.25-0.4 of the mean (instead of 0.4 always), so that only a photo whose seen shading goes deeper than 0.4 is lifted further. 015316 came flat (1.169 -> 1.023) and lacamoire_2 too (0.948 -> 0.997), but three other photos were over-lifted (015259 0.96 -> 0.88, vd006 1.05 -> 1.08, lacamoire_1 1.04 -> 1.08: their deepest predicted shade is in a concavity, not on a side), so still 23 of 27 flat (worst 12.1%), and the relighting minimum fell to 28.2 dB (5th percentile: the same; 1st percentile with a 0.3 lower limit: 22 of 27, 29.1 dB). The same percentile of the shading box-blurred over 12 or 24 coarse texels (so that a concavity cannot set it, only a lit or shadowed side): 23 of 27 again, relighting minimum 30.7-30.9 dB, 015259 over-lifted to 0.88-0.89: the fixed floor had been making up for that photo\'s overestimated falloff.');
log('- Dropped: lighting restricted to non-negative radiance (the order-2 cone of lights from 160 directions, non-negative least squares): relighting worst 26.3 -> 28.2 dB but side-lit flatness 23 -> 21 of 27 (015259 0.95 -> 0.79).');
log('- Dropped: the lift cut against a local least-squares plane instead of the local mean (for the one-sided window at the chart edge): no change in either measure, 4x the cost.');
log('- Kept (2026-12-02): the shading floor per photo, by its mirrored skin (albedo-floor.ts symmetricFloorRatio): of floors 0.2-0.6 of the mean shading, the one nearest 0.4 under which the camera-facing (n_z >= 0.5) mirrored pairs the photo saw clearly on both sides, every other one of the lighting grid\'s (~4-8k a photo), are even left to right within 2.5%, else the most even one. Side-lit photos within 5%: 23 -> 27 of 27 (015316 16.8 -> 1.3%, 000126 6.5 -> 4.3%, 000114 6.1 -> 4.7%, lacamoire_2 5.2 -> 0.3%), median 1.8% (the same); relighting worst 30.9 -> 30.7 dB (lacamoire_2, floor 0.25), median 40.7 -> 40.9 dB; 14 of the 36 photos leave 0.4 (0.2 for 015316, 000126 and vd034; up to 0.6 for photos whose estimated falloff is too steep). Tolerance 0.02: 27 flat, relighting worst 30.0 dB; 0.03: 26 flat, 30.9 dB; the most even floor alone, with no pull to 0.4: 27 flat, 27.8 dB (harington_1 went to 0.225 for half a percent). Judged first on the SH fit\'s own ~500 sampled pairs weighted by its robust weights: their texture ratio differed from the skin\'s by up to 20% (steep normals, and weights that favour the lit side) and three photos moved the wrong way (015259 0.96 -> 0.86); every clear camera-facing pair agrees with this bench\'s measure to ~3%. Cost ~0.5 ms a photo (one pass over the pairs into bins between the candidate floors).');
log('- Kept (2026-12-02, later): the division\'s reference shading (ref, which keeps the albedo\'s brightness and colour) as the mean over the chart texels the camera faces, weighted by the division\'s fade, instead of over the whole chart. Past the silhouette the SH shading is an extrapolation (near zero or negative, and coloured), and averaged in it drew ref below the seen face\'s shading and off its colour: the full head\'s face tile, which reaches round the head and under the jaw, gave lacamoire_2 a grey face (forehead texture 233,196,187 -> albedo 87,79,80; now 139,111,104, as the default model\'s 150,118,108). On this bench (default model): side-lit photos within 5% 27 of 27 (worst 4.7 -> 4.5%), relighting worst 30.7 -> 31.0 dB, median 40.9 -> 40.6 dB; 015259 0.960 -> 0.981; vd034 (not side-lit: turned 23 degrees) 1.038 -> 1.069, its shading model\'s own left/right error (texture over shading, no floor: 1.058). Tried with it: the lift cut\'s neighbourhood over seen texels only (unseen ones hold a log gain of 0): no change past the third digit.');
log(`Default model at 1024, texture=albedo. Machine: ${await machineLine()}.`);
if (values.write) writeResultsSection('lighting', 'Lighting and albedo (`npm run bench:lighting`)', lines);
process.exit(0);
