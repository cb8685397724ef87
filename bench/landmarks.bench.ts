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
 * The landmarker's quality gate (face/landmark-quality.ts) refuses untrustworthy landmarks as
 * FACE_TURNED_AWAY / LOW_QUALITY. The headline NME is over the faces the product accepts; the raw
 * landmarks of refused faces are measured too ("all landmarked"), and the gate is scored the way
 * issue 20 asks: the share of accepted faces whose NME-68 exceeds 8%, and the share of refusals whose
 * NME-68 is under 4%. A photo where the landmarker picked another person than the annotated one
 * (their boxes overlap < 25%: AFLW2000-3D has photos of two people where only one is annotated) is
 * counted as "another face", not as a landmark error.
 *
 * The data (AFLW terms, research use) is read from ../shared; it is never copied here and nothing is
 * fitted on it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { decodeImage } from '../gpu-function/src/adapters/image-io';
import { createFaceLandmarker } from '../gpu-function/src/face/landmarker';
import { depthAxisPx, ibug68From } from '../gpu-function/src/face/ibug68';
import { loadCanonicalFace } from '../gpu-function/src/recon/canonical';
import { reconstructFaceGeometry } from '../gpu-function/src/recon/face-geometry';
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
const canonical = loadCanonicalFace();
if (values['no-flip']) console.log('without flip averaging (--no-flip)');
type Bin = { n: number; found: number; located: number; nme68: number[]; nme51: number[]; all68: number[]; fails: Record<string, number> };
const per: Bin[] = bins.map(() => ({ n: 0, found: 0, located: 0, nme68: [], nme51: [], all68: [], fails: {} }));
// Found: the annotated face was located, whatever the API then answered about it: accepted, or refused for
// its pose or quality (FACE_TURNED_AWAY, LOW_QUALITY) or for a second face beside it (MULTIPLE_FACES).
// Not found: NO_FACE, LOW_CONFIDENCE (the mesh model does not see a face), or landmarks on another face.
const LOCATED = new Set(['FACE_TURNED_AWAY', 'LOW_QUALITY', 'MULTIPLE_FACES']);
const gate = { acceptedBad: 0, accepted: 0, refusedGood: 0, refused: 0, bad: 0, badRefused: 0 };
const box = (ps: number[][]) => {
  const xs = ps.map((p) => p[0]);
  const ys = ps.map((p) => p[1]);
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
};
const iou = (a: number[], b: number[]) => {
  const inter = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0])) * Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
};
const ms: number[] = [];
/** Per face found by the detector: detect + mesh (issue 18's 'detect + landmarks'), and the iris model's refinement. */
const detectMesh: number[] = [];
const iris: number[] = [];
/** The quality gate's second look (landmark-quality.ts needsSecondLook), where it was taken. */
const secondLook: number[] = [];
for (const f of files) {
  const meta = JSON.parse(readFileSync(join(DIR, f), 'utf8')) as { image: string; pt3d_68: number[][]; pose_deg: { yaw: number } };
  const b = per[bins.findIndex((x) => x.ok(Math.abs(meta.pose_deg.yaw)))];
  b.n++;
  const { image } = await decodeImage(new Uint8Array(readFileSync(join(DIR, meta.image))));
  const t = performance.now();
  const r = await landmarker.landmarks(image);
  ms.push(performance.now() - t);
  if (r.timings.mesh > 0) detectMesh.push(r.timings.detect + r.timings.mesh);
  if (r.timings.iris > 0) iris.push(r.timings.iris);
  if (r.timings.secondLook !== undefined) secondLook.push(r.timings.secondLook);
  const face = r.ok ? r.face : r.refused;
  const gt = meta.pt3d_68.map((p) => [p[0], p[1]]);
  let e68 = NaN;
  if (face) {
    const pts: number[][] = [];
    for (let i = 0; i < 478; i++) pts.push([face.points[3 * i], face.points[3 * i + 1], face.points[3 * i + 2]]);
    // As result.json's landmarks_68: the points behind the surface (jaw, nose base) through the camera fitted to these landmarks.
    const pred = ibug68From(pts, { depthAxis: depthAxisPx(reconstructFaceGeometry(face.points, canonical).camera) });
    if (iou(box(pred), box(gt)) < 0.25) {
      b.fails['another face'] = (b.fails['another face'] ?? 0) + 1;
      continue;
    }
    e68 = nme(pred, gt, ALL);
    b.all68.push(e68);
    if (e68 > 0.08) gate.bad++;
    if (r.ok) {
      b.nme68.push(e68);
      b.nme51.push(nme(pred, gt, INNER));
      gate.accepted++;
      if (e68 > 0.08) gate.acceptedBad++;
    } else {
      gate.refused++;
      if (e68 < 0.04) gate.refusedGood++;
      if (e68 > 0.08) gate.badRefused++;
    }
  }
  if (!r.ok) {
    b.fails[r.code] = (b.fails[r.code] ?? 0) + 1;
    if (LOCATED.has(r.code)) b.located++;
    continue;
  }
  b.found++;
  b.located++;
}
await landmarker.close();

const mean = (a: number[]) => (a.length ? (100 * a.reduce((s, x) => s + x, 0)) / a.length : NaN);
const pct = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const balanced = (k: 'nme68' | 'nme51' | 'all68') => per.reduce((s, b) => s + mean(b[k]), 0) / per.length;
const share = (a: number, b: number) => `${a}/${b} (${((100 * a) / Math.max(1, b)).toFixed(1)}%)`;
const lines = [
  `| | ${bins.map((b) => b.label).join(' | ')} | balanced |`,
  '|---|---|---|---|---|',
  `| NME-68 (%), accepted faces | ${per.map((b) => pct(mean(b.nme68))).join(' | ')} | ${pct(balanced('nme68'))} |`,
  `| NME-51 (%, no jaw), accepted | ${per.map((b) => pct(mean(b.nme51))).join(' | ')} | ${pct(balanced('nme51'))} |`,
  `| NME-68 (%), all landmarked (refused too) | ${per.map((b) => pct(mean(b.all68))).join(' | ')} | ${pct(balanced('all68'))} |`,
  `| faces accepted | ${per.map((b) => share(b.found, b.n)).join(' | ')} | |`,
  `| faces found (accepted, or refused as turned away, low quality or one of several) | ${per.map((b) => share(b.located, b.n)).join(' | ')} | |`,
  `| not accepted | ${per.map((b) => Object.entries(b.fails).map(([k, v]) => `${k}: ${v}`).join(', ') || 'none').join(' | ')} | |`,
  '',
  `Quality gate (face/landmark-quality.ts): accepted faces with NME-68 > 8%: ${share(gate.acceptedBad, gate.accepted)}; refusals with NME-68 < 4%: ${share(gate.refusedGood, gate.refused)}; faces over 8% refused: ${share(gate.badRefused, gate.bad)}. Faces found in [0, 60]: ${share(per[0].located + per[1].located, per[0].n + per[1].n)} (issue 18: >= 99.5%; past 60: >= 90%).`,
  '',
  `${files.length} images of ${DIR.replace(/^.*\/shared\//, '../shared/')} (AFLW2000-3D, every 4th image), protocol of cleardusk/3DDFA benchmark_aflw2000.py (68 points, 2D, sqrt(w h) of the ground-truth box, mean of the three yaw bins). Anchors: 3DDFA_V2 3.51% balanced NME-68, PRNet 3.62%. Jaw points at equal 3D arclength along the face oval, 10 mm deeper into the head (3 mm beside the chin), the nose base 4 mm (gpu-function/src/face/ibug68.ts). Landmarker ${fmt(median(ms))} ms median per image (detector + mesh + iris + quality, 1 thread): detect + mesh ${fmt(median(detectMesh))} ms (issue 18's detect + landmarks, target 30), the iris model's refinement of both eyes ${fmt(median(iris))} ms, the quality gate's second look (four more crops, each with its mirror) ${secondLook.length ? fmt(median(secondLook)) : 'n/a'} ms on the ${secondLook.length} of ${iris.length} landmarked faces that needed it. Machine: ${await machineLine()}.`,
];
for (const l of lines) console.log(l);
if (values.write) writeResultsSection('landmarks', 'Landmarks on AFLW2000-3D (`npm run bench:landmarks`)', lines);
process.exit(0);
