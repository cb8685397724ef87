/**
 * npm run models:ibug68: the iBUG-68 points as combinations of MediaPipe's 478, written as data to
 * gpu-function/src/face/data/ibug68.json (committed: it is small and changes only with this script).
 *
 * - 52 points (brows, nose, eyes, lips, chin) have a MediaPipe vertex of the same meaning:
 *   IBUG68_TO_MEDIAPIPE (models/src/correspondence.ts), one to one; 13 of them (the brows, the top
 *   of the nose bridge, the lower lip's points beside the corners) then sit between vertices instead:
 *   IBUG68_BLEND_MEDIAPIPE, weighted means of MediaPipe vertices (see there).
 * - The 16 other jaw points are not surface features MediaPipe names. The 300-W / Multi-PIE markup
 *   spreads them evenly along the jaw line from the ear to the chin, so ibug68.ts places them at equal
 *   3D arclength steps along MediaPipe's face oval, from the chin (152) to the oval's point by the ear.
 *   That end point is one discrete choice among the oval's points (93, 234, 127), made on the
 *   AFLW2000-3D development split (bench:landmarks, recorded in bench/RESULTS.md); nothing is fitted
 *   to photos. The earlier table, interpolated towards ICT-FaceKit's iBUG jaw vertices, lay up to
 *   14 mm off the oval and was 0.3 points of balanced NME-68 worse.
 * - Some points lie behind the surface MediaPipe traces: IBUG68_DEPTH_MM (the jaw behind the face
 *   oval, the nose base behind the nostril rim); ibug68.ts moves them along the head's depth axis.
 *
 * Usage: npm run models:ibug68
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { IBUG68_BLEND_MEDIAPIPE, IBUG68_DEPTH_MM, IBUG68_TO_MEDIAPIPE } from '../src/correspondence';
import { FACE_OVAL } from '../../gpu-function/src/morph/calibration';

const CHIN = 152;
const EAR = { right: 127, left: 356 };
/** The oval from the chin to `end`, walking in direction `step` (+1 or -1) through FACE_OVAL. */
function arc(end: number, step: 1 | -1): number[] {
  const n = FACE_OVAL.length;
  const out = [CHIN];
  for (let i = FACE_OVAL.indexOf(CHIN); FACE_OVAL[i] !== end; ) {
    i = (i + step + n) % n;
    out.push(FACE_OVAL[i]);
  }
  return out;
}
// FACE_OVAL runs clockwise on screen from the forehead: after the chin come the subject's right side's points.
const jawArcs = { right: arc(EAR.right, 1), left: arc(EAR.left, -1) };
const data = {
  about:
    'iBUG-68 (the 300-W / AFLW2000-3D point order) from MediaPipe face mesh landmarks. direct: [ibug, mediapipe] one-to-one (models/src/correspondence.ts IBUG68_TO_MEDIAPIPE). blend: [ibug, [[mediapipe, weight], ...]], a weighted mean of MediaPipe vertices, overriding direct (IBUG68_BLEND_MEDIAPIPE: the centre line of the brows, the top of the nose bridge, the lower lip beside the corners). jawArcs: MediaPipe face-oval landmarks from the chin to the ear on each side; iBUG 7..0 (right) and 9..16 (left) sit at equal 3D arclength steps along them, as the 300-W markup spreads the jaw points evenly from ear to chin. depthMm: [ibug, mm], how far behind the MediaPipe surface point the iBUG point lies along the head\'s depth axis (IBUG68_DEPTH_MM: the jaw behind the face oval, the nose base behind the nostril rim). Written by models/scripts/build-ibug68.ts.',
  direct: IBUG68_TO_MEDIAPIPE,
  blend: IBUG68_BLEND_MEDIAPIPE,
  jawArcs,
  depthMm: IBUG68_DEPTH_MM,
};
const file = resolve(import.meta.dirname, '../../gpu-function/src/face/data/ibug68.json');
writeFileSync(file, `${JSON.stringify(data)}\n`);
console.log(`ibug68: ${data.direct.length} direct points (${data.blend.length} of them between vertices) + jaw arcs right ${jawArcs.right.join(',')} / left ${jawArcs.left.join(',')} -> ${file}`);
