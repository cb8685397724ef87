/**
 * npm run bench:landmarks [-- --dir ../shared/eval/aflw2000-dev --limit N --write]
 * Landmark accuracy on AFLW2000-3D with the protocol the 3D-alignment literature uses (cleardusk/3DDFA
 * benchmark_aflw2000.py): the 68 iBUG points' 2D error normalised by sqrt(w * h) of the ground-truth
 * points' bounding box, averaged per image; images binned by |yaw| in [0, 30], (30, 60], (60, 90];
 * "balanced" is the mean of the three bins. The landmarker runs as the service runs it (its own
 * detector, the 478 points, then iBUG-68 through gpu-function/src/face/ibug68.ts); NME-51 leaves out
 * the jaw contour (points 17-67). Faces not found are counted per bin with their failure code and kept
 * out of the NME, as the detection rate says.
 *
 * The data (AFLW terms, research use) is read from ../shared; it is never copied here and nothing is
 * fitted on it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage } from '../gpu-function/src/adapters/image-io';
import { createFaceLandmarker } from '../gpu-function/src/face/landmarker';
import { ibug68From } from '../gpu-function/src/face/ibug68';
import { fmt, machineLine, median } from './stats';
import { writeResultsSection } from './results-file';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({ options: { dir: { type: 'string', default: resolve(ROOT, '../shared/eval/aflw2000-dev') }, limit: { type: 'string' }, write: { type: 'boolean', default: false }, 'no-flip': { type: 'boolean', default: false } } });
const DIR = values.dir!;
if (!existsSync(DIR)) {
  console.log(`bench:landmarks: ${DIR} not found (the AFLW2000-3D development split is in the team's ../shared/eval); nothing measured.`);
  process.exit(0);
}

/** NME of `pred` against `gt` over the points in `idx`, normalised by sqrt(w h) of gt's box (all 68). */
export function nme(pred: number[][], gt: number[][], idx: number[]): number {
  const xs = gt.map((p) => p[0]);
  const ys = gt.map((p) => p[1]);
  const d = Math.sqrt((Math.max(...xs) - Math.min(...xs)) * (Math.max(...ys) - Math.min(...ys)));
  return idx.reduce((s, i) => s + Math.hypot(pred[i][0] - gt[i][0], pred[i][1] - gt[i][1]), 0) / idx.length / d;
}

const ALL = Array.from({ length: 68 }, (_, i) => i);
const INNER = ALL.slice(17);
const bins = [
  { label: '[0, 30]', ok: (y: number) => y <= 30 },
  { label: '(30, 60]', ok: (y: number) => y > 30 && y <= 60 },
  { label: '(60, 90]', ok: (y: number) => y > 60 },
];
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort().slice(0, values.limit ? Number(values.limit) : undefined);
// Without segmentation: ms per face is detect + landmarks, as the protocol times it.
const landmarker = await createFaceLandmarker({ threads: 1, segmentation: false, flipAverage: !values['no-flip'] });
if (values['no-flip']) console.log('without flip averaging (--no-flip)');
const per = bins.map(() => ({ n: 0, found: 0, nme68: [] as number[], nme51: [] as number[], fails: {} as Record<string, number> }));
const ms: number[] = [];
for (const f of files) {
  const meta = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as { image: string; pt3d_68: number[][]; pose_deg: { yaw: number } };
  const b = per[bins.findIndex((x) => x.ok(Math.abs(meta.pose_deg.yaw)))];
  b.n++;
  const { image } = await decodeImage(new Uint8Array(readFileSync(join(DIR, meta.image))));
  const t = performance.now();
  const r = await landmarker.landmarks(image);
  ms.push(performance.now() - t);
  if (!r.ok) {
    b.fails[r.code] = (b.fails[r.code] ?? 0) + 1;
    continue;
  }
  b.found++;
  const pts: number[][] = [];
  for (let i = 0; i < 478; i++) pts.push([r.face.points[3 * i], r.face.points[3 * i + 1]]);
  const pred = ibug68From(pts);
  const gt = meta.pt3d_68.map((p) => [p[0], p[1]]);
  b.nme68.push(nme(pred, gt, ALL));
  b.nme51.push(nme(pred, gt, INNER));
}
await landmarker.close();

const mean = (a: number[]) => (a.length ? (100 * a.reduce((s, x) => s + x, 0)) / a.length : NaN);
const pct = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const balanced = (k: 'nme68' | 'nme51') => per.reduce((s, b) => s + mean(b[k]), 0) / per.length;
const lines = [
  `| | ${bins.map((b) => b.label).join(' | ')} | balanced |`,
  '|---|---|---|---|---|',
  `| NME-68 (%) | ${per.map((b) => pct(mean(b.nme68))).join(' | ')} | ${pct(balanced('nme68'))} |`,
  `| NME-51 (%, no jaw) | ${per.map((b) => pct(mean(b.nme51))).join(' | ')} | ${pct(balanced('nme51'))} |`,
  `| faces found | ${per.map((b) => `${b.found}/${b.n} (${((100 * b.found) / Math.max(1, b.n)).toFixed(1)}%)`).join(' | ')} | |`,
  `| failures | ${per.map((b) => Object.entries(b.fails).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none').join(' | ')} | |`,
  '',
  `${files.length} images of ${DIR.replace(/^.*\/shared\//, '../shared/')} (AFLW2000-3D, every 4th image), protocol of cleardusk/3DDFA benchmark_aflw2000.py (68 points, 2D, sqrt(w h) of the ground-truth box, mean of the three yaw bins). Anchors: 3DDFA_V2 3.51% balanced NME-68, PRNet 3.62%. Jaw points from gpu-function/src/face/data/ibug68.json (fitted on ICT-FaceKit's head, no photo). Landmarker ${fmt(median(ms))} ms median per image (detector + mesh + iris, 1 thread). Machine: ${await machineLine()}.`,
];
for (const l of lines) console.log(l);
if (values.write) writeResultsSection('landmarks', 'Landmarks on AFLW2000-3D (`npm run bench:landmarks`)', lines);
process.exit(0);
