/**
 * Where the face chart is skin, for the benches' skin measures: the chart minus the eyes, brows, lips
 * and the nose's underside (nostrils), as polygons of MediaPipe landmarks in the canonical UVs (the
 * eye, brow and lip loops of MediaPipe's face_mesh_connections; the nostrils between the alar points
 * 64 / 294 and the subnasale 2), each grown by a margin (eyelashes, brow hairs, the lip line's shade).
 * Geometric on purpose: a mask from the colours under test would drop exactly the texels a bad albedo
 * got wrong. Beards are not excluded (a landmark polygon cannot know them).
 */
import { loadCanonicalFace } from '../gpu-function/src/recon/canonical';

const LOOPS: Record<string, number[]> = {
  lips: [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185],
  rightEye: [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246],
  leftEye: [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466],
  rightBrow: [46, 53, 52, 65, 55, 107, 66, 105, 63, 70],
  leftBrow: [276, 283, 282, 295, 285, 336, 296, 334, 293, 300],
  nostrils: [64, 98, 97, 2, 326, 327, 294, 1],
};

/** 1 where a texel of a size x size face chart lies outside every region grown by `margin` of the chart (default 1/128). */
export function skinRegionMask(size: number, margin = 1 / 128): Uint8Array {
  const { uvs } = loadCanonicalFace();
  const out = new Uint8Array(size * size).fill(1);
  const grow = margin * size;
  for (const loop of Object.values(LOOPS)) {
    const px = loop.map((i) => uvs[2 * i] * size), py = loop.map((i) => uvs[2 * i + 1] * size);
    const x0 = Math.max(0, Math.floor(Math.min(...px) - grow)), x1 = Math.min(size - 1, Math.ceil(Math.max(...px) + grow));
    const y0 = Math.max(0, Math.floor(Math.min(...py) - grow)), y1 = Math.min(size - 1, Math.ceil(Math.max(...py) + grow));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const qx = x + 0.5, qy = y + 0.5;
        if (insidePolygon(px, py, qx, qy) || distanceToPolygon(px, py, qx, qy) <= grow) out[y * size + x] = 0;
      }
    }
  }
  return out;
}

function insidePolygon(px: number[], py: number[], x: number, y: number): boolean {
  let inside = false;
  for (let i = 0, j = px.length - 1; i < px.length; j = i++) {
    if (py[i] > y !== py[j] > y && x < ((px[j] - px[i]) * (y - py[i])) / (py[j] - py[i]) + px[i]) inside = !inside;
  }
  return inside;
}

function distanceToPolygon(px: number[], py: number[], x: number, y: number): number {
  let best = Infinity;
  for (let i = 0, j = px.length - 1; i < px.length; j = i++) {
    const dx = px[i] - px[j], dy = py[i] - py[j];
    const t = Math.max(0, Math.min(1, ((x - px[j]) * dx + (y - py[j]) * dy) / (dx * dx + dy * dy || 1)));
    best = Math.min(best, Math.hypot(px[j] + t * dx - x, py[j] + t * dy - y));
  }
  return best;
}
