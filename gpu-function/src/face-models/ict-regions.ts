/**
 * The ICT head's layout regions, per render vertex of the exported head: where only skin may be baked
 * (the neck, where collars sit), where nothing from the photo is (the bust) and where the scalp is
 * (core/texture.ts applies them through skin-gate.ts).
 */
import { FACE_OVAL } from '../morph/calibration';
import type { HeadTopology } from '../morph/head-topology';
import { smoothstep } from '../recon/smoothstep';

/**
 * Where on ICT's head only skin may be baked, where nothing is, and where the scalp is, per render
 * vertex, from the mean head (model frame, mm; the chin is at y = -76, the eyes at +34, the crown at
 * +145; the neck is ~60 mm either side of x = 0). Collars sit on the neck: on the face part, below
 * y = -80 and under the jaw line (underJaw); on the head part, below the ear lobes. The shoulders and
 * the bust below the neck are fill only (bustFillOnly). The scalp is what lies above the ears' tops on
 * the head part, and behind the ears (z past -30..-60) down to the nape's hairline (y -45..-10: the
 * nape's hollow is at y ~ -50); on the face part, beside the temples (|x| past 50-65 mm). With the hair
 * ending at the ears' tops all round, every head looked shaved at the back; and the face tile, which
 * reaches round the sides of the head, put a band of skin tone between the photo's hair and the head
 * tile's. Both are only what unseen texels are seeded with: a bald head's scalp keeps the skin tone
 * (skin-gate.ts scalpHairTone).
 *
 * Height alone missed the underside of the jaw: that surface is nearly level, a band of UV from the
 * chin back to the throat at y = -76 to -82, and in a portrait taken from a little below (obama_2) the
 * shirt collar projects onto it and was baked under the chin. `jawLine` (jawLineOnMeanHead) marks it.
 */
export function headRegions(topology: HeadTopology, meanUsed: Float32Array, jawLine?: Float64Array): { skinOnly: Float32Array; scalp: Float32Array; fillOnly: Float32Array } {
  const nr = topology.renderToUsed.length;
  const skinOnly = new Float32Array(nr);
  const scalp = new Float32Array(nr);
  const fillOnly = new Float32Array(nr);
  for (const g of topology.groups) {
    if (g.name !== 'face' && g.name !== 'head') continue;
    for (let i = g.start; i < g.start + g.count; i++) {
      const r = topology.indices[i];
      const u = 3 * topology.renderToUsed[r];
      const x = meanUsed[u], y = meanUsed[u + 1], z = meanUsed[u + 2];
      const aboveEars = smoothstep(25, 90, y);
      if (g.name === 'face') {
        skinOnly[r] = Math.max(smoothstep(-80, -100, y), jawLine ? underJaw(jawLine, x, y, z) : 0);
        scalp[r] = aboveEars * smoothstep(50, 65, Math.abs(x));
      } else {
        skinOnly[r] = smoothstep(-30, -60, y);
        scalp[r] = Math.max(aboveEars, smoothstep(-30, -60, z) * smoothstep(-45, -10, y));
      }
      fillOnly[r] = bustFillOnly(x, y);
    }
  }
  return { skinOnly, scalp, fillOnly };
}

/**
 * The shoulders (past the neck's width, below y = -105..-120) and everything below y = -145..-160 take
 * the skin-tone fill and nothing from the photo: in nearly every portrait they are clothing, and the
 * skin gate cannot refuse clothing of skin's colour (a beige sweater, a grey fur on a desaturated
 * photo): it baked it in patches over the bare bust (harington_2's cloak).
 */
function bustFillOnly(x: number, y: number): number {
  return Math.max(smoothstep(55, 70, Math.abs(x)) * smoothstep(-105, -120, y), smoothstep(-145, -160, y));
}

/** The jaw line's part used by underJaw: MediaPipe's face oval below this height (mm), from one jaw angle round the chin to the other; above it the oval runs up past the ears. */
const JAW_LINE_TOP_MM = -35;

/**
 * The mean head's jaw line as [x, y, z] triples (mm, x ascending): MediaPipe's face oval, the rim of
 * its face mesh, through the model's landmark correspondence (`landmarkMean`: k x 3 at `landmarkIds`,
 * MediaPipe ids), below JAW_LINE_TOP_MM.
 */
export function jawLineOnMeanHead(landmarkMean: Float64Array, landmarkIds: ArrayLike<number>): Float64Array {
  const row = new Map<number, number>();
  for (let i = 0; i < landmarkIds.length; i++) row.set(landmarkIds[i], i);
  const pts: number[][] = [];
  for (const id of FACE_OVAL) {
    const i = row.get(id);
    if (i === undefined) continue;
    const p = [landmarkMean[3 * i], landmarkMean[3 * i + 1], landmarkMean[3 * i + 2]];
    if (p[1] < JAW_LINE_TOP_MM) pts.push(p);
  }
  pts.sort((a, b) => a[0] - b[0]);
  return Float64Array.from(pts.flat());
}

/**
 * How far a point (mean head, mm) is under the jaw, in [0, 1]: below the jaw line at its x (from 4 mm
 * above it to 4 mm below) and behind it (from 3 to 12 mm), so the chin's front and the jaw's rim,
 * which MediaPipe's face mesh covers, stay face; 0 beyond the jaw angles.
 */
function underJaw(jaw: Float64Array, x: number, y: number, z: number): number {
  const n = jaw.length / 3;
  if (n < 2 || x <= jaw[0] || x >= jaw[3 * (n - 1)]) return 0;
  let k = 1;
  while (jaw[3 * k] < x) k++;
  const a = 3 * (k - 1), b = 3 * k;
  const t = (x - jaw[a]) / Math.max(1e-9, jaw[b] - jaw[a]);
  const yj = jaw[a + 1] + t * (jaw[b + 1] - jaw[a + 1]);
  const zj = jaw[a + 2] + t * (jaw[b + 2] - jaw[a + 2]);
  return smoothstep(yj + 4, yj - 4, y) * smoothstep(zj - 3, zj - 12, z);
}
