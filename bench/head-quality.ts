/**
 * The full head's quality measures for `npm run bench:quality` (model=ict; needs ../shared's ICT model):
 * - Identity that shows: the ROC AUC of identity-coefficient distances, same person vs different people,
 *   over every pair of ../shared/photos/identity (real different photos of one person, not copies).
 * - Clean heads: on the skin-only neck, the share of texels whose final colour is
 *   not this person's skin (clothing, background), and over both tiles the share whose colour matches
 *   the photo's background palette (estimated from the photo's border, outside the face) and is not
 *   skin: before (no segmentation, no skin gate) and now.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RgbImage } from '@facerecon/shared';
import { readImageFile } from '../gpu-function/src/adapters/image-io';
import type { FaceLandmarker } from '../gpu-function/src/face/landmarker';
import { reconstructFace } from '../gpu-function/src/core/reconstruct';
import { ModelRegistry } from '../gpu-function/src/core/registry';
import type { IctFaceModel, IctHead } from '../gpu-function/src/face-models/ict';
import { interpolateAtTexels, rasterizeUvTriangles } from '../gpu-function/src/recon/texel-map';
import { skinLikelihood, type SkinColourModel } from '../gpu-function/src/recon/skin-gate';

/** P(distance of a same-person pair < distance of a different-people pair); ties count half. */
export function rocAuc(same: readonly number[], different: readonly number[]): number {
  let wins = 0;
  for (const s of same) for (const d of different) wins += s < d ? 1 : s === d ? 0.5 : 0;
  return wins / (same.length * different.length);
}

/** 8x8x8 RGB bins holding >= 0.5% of the photo's border pixels (outside 1.6x the face box). */
function backgroundPalette(photo: RgbImage, box: { x: number; y: number; width: number; height: number }): Uint8Array {
  const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
  const hx = box.width * 0.8 * 1.6, hy = box.height * 0.8 * 1.6;
  const hist = new Uint32Array(512);
  let n = 0;
  for (let y = 0; y < photo.height; y += 2) {
    for (let x = 0; x < photo.width; x += 2) {
      if (Math.abs(x - cx) < hx && Math.abs(y - cy) < hy) continue;
      const o = 3 * (y * photo.width + x);
      hist[((photo.data[o] >> 5) << 6) | ((photo.data[o + 1] >> 5) << 3) | (photo.data[o + 2] >> 5)]++;
      n++;
    }
  }
  return Uint8Array.from(hist, (c) => (n > 0 && c >= 0.005 * n ? 1 : 0));
}

export async function measureHeads(opts: { model: IctFaceModel; landmarker: FaceLandmarker; photos: string; log: (s: string) => void }): Promise<void> {
  const { model, landmarker, log } = opts;
  const now = new ModelRegistry([model]).get('ict');
  const before = new ModelRegistry([{ ...model, layout: { ...model.layout, regions: undefined } }]).get('ict');
  const dir = join(opts.photos, 'identity');
  const files = readdirSync(dir).filter((f) => /\.(jpe?g|png)$/i.test(f)).sort();
  const ids: Array<{ person: string; identity: Float64Array }> = [];
  /** The ICT fit's RMS landmark residual per photo, mm (how well the model follows the landmarks). */
  const fitRms: number[] = [];
  const rows: string[] = [];
  const regions = model.layout.regions!;
  // Per bake size: conservative mode bakes at 512, and its tiles must be read with maps of their own size.
  const tileRegionsAt = new Map<number, Array<{ map: ReturnType<typeof rasterizeUvTriangles>; skinOnly: Float32Array }>>();
  const tileRegionsFor = (uvSize: 512 | 1024) => {
    if (!tileRegionsAt.has(uvSize)) {
      tileRegionsAt.set(uvSize, model.layout.tiles.map((tile, t) => {
        const map = rasterizeUvTriangles(t === 0 ? model.layout.uvs : model.layout.uvs.map((v, i) => (i % 2 === 0 ? v - tile.index : v)), model.layout.indices, tile.sizeFor(uvSize));
        return { map, skinOnly: interpolateAtTexels(map, model.layout.indices, regions.skinOnly) };
      }));
    }
    return tileRegionsAt.get(uvSize)!;
  };
  let sumNeck = [0, 0], sumBg = [0, 0], count = 0;
  for (const f of files) {
    const { image } = await readImageFile(join(dir, f));
    const lm = await landmarker.landmarks(image);
    if (!lm.ok) {
      rows.push(`| ${f} | ${lm.code} | | |`);
      continue;
    }
    const palette = backgroundPalette(image, lm.face.detection.box);
    const cells: string[] = [];
    const neckBg: number[][] = [];
    let judged = true;
    for (const [k, [installed, face]] of ([[before, { ...lm.face, personMask: undefined }], [now, lm.face]] as const).entries()) {
      const recon = reconstructFace(installed, image, face, { uvSize: 1024 });
      if (k === 1) {
        ids.push({ person: f.split('_')[0], identity: (recon.head as IctHead).morph.identity });
        fitRms.push((recon.head as IctHead).morph.fit.rmsMm);
      }
      // The judge of "skin": the pipeline's own robust skin colour of this photo (colour.ts skinMean,
      // after correction), with a fixed chroma spread, so both bakes are judged by the same model.
      const s = recon.textures.colour.skinAfter;
      const skin: SkinColourModel | undefined = s[1] > 0
        ? { mean: [Math.log(s[0] / s[1]), Math.log(s[2] / s[1])], invCov: [1 / 0.08 ** 2, 0, 0, 1 / 0.08 ** 2], luminance: 0.2126 * s[0] + 0.7152 * s[1] + 0.0722 * s[2], samples: 1 }
        : undefined;
      if (!skin) judged = false;
      let neck = 0, neckN = 0, bg = 0, all = 0;
      const tileRegions = tileRegionsFor(recon.head.mode.uvSize);
      recon.textures.tiles.forEach((img, t) => {
        const { map, skinOnly } = tileRegions[t];
        for (let i = 0; i < map.texels.length; i++) {
          const o = 3 * map.texels[i];
          const r = img.data[o], g = img.data[o + 1], b = img.data[o + 2];
          const isSkin = skin ? skinLikelihood(skin, r, g, b) >= 0.3 : true;
          if (skinOnly[i] > 0.5) {
            neckN++;
            if (!isSkin) neck++;
          }
          all++;
          if (!isSkin && palette[((r >> 5) << 6) | ((g >> 5) << 3) | (b >> 5)]) bg++;
        }
      });
      neckBg.push([neck / Math.max(1, neckN), bg / all]);
    }
    if (!judged) {
      rows.push(`| ${f} | ok (conservative: no skin statistics to judge by) | n/a | n/a |`);
      continue;
    }
    for (let k = 0; k < 2; k++) {
      sumNeck[k] += neckBg[k][0];
      sumBg[k] += neckBg[k][1];
    }
    count++;
    cells.push(`${(100 * neckBg[0][0]).toFixed(1)}% -> ${(100 * neckBg[1][0]).toFixed(1)}%`, `${(100 * neckBg[0][1]).toFixed(2)}% -> ${(100 * neckBg[1][1]).toFixed(2)}%`);
    rows.push(`| ${f} | ok | ${cells.join(' | ')} |`);
  }
  const same: number[] = [];
  const different: number[] = [];
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      let d = 0;
      for (let c = 0; c < ids[i].identity.length; c++) d += (ids[i].identity[c] - ids[j].identity[c]) ** 2;
      (ids[i].person === ids[j].person ? same : different).push(Math.sqrt(d));
    }
  }
  log('| photo | fit | neck texels not skin, before -> now | background-coloured texels (both tiles), before -> now |');
  log('|---|---|---|---|');
  for (const r of rows) log(r);
  log('');
  log(`Means over ${count} photos: neck not skin ${(100 * sumNeck[0] / count).toFixed(1)}% -> ${(100 * sumNeck[1] / count).toFixed(1)}%; background-coloured ${(100 * sumBg[0] / count).toFixed(2)}% -> ${(100 * sumBg[1] / count).toFixed(2)}%.`);
  const auc = same.length && different.length ? rocAuc(same, different) : NaN;
  const sortedRms = [...fitRms].sort((a, b) => a - b);
  log(`ICT fit RMS landmark residual: median ${(sortedRms[sortedRms.length >> 1] ?? NaN).toFixed(2)} mm over ${fitRms.length} photos.`);
  log(`Identity: ROC AUC ${auc.toFixed(3)} of identity-coefficient distances (${same.length} same-person pairs, ${different.length} different-people pairs over ${ids.length} photos of ${new Set(ids.map((x) => x.person)).size} people; 0.5 = chance). Median distance same ${median(same).toFixed(2)}, different ${median(different).toFixed(2)}.`);
}

const median = (a: number[]) => (a.length ? [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] : NaN);
