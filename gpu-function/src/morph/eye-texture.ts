/**
 * paintEyeTexture: the eyeballs' texture, painted from the photo rather than flat colours, so the
 * eyes read as the person's and not as staring discs.
 *
 * Texture frame: one square shared by both eyeballs, a planar projection along each eyeball's optical
 * axis. The centre is the axis. A texel at distance rho (mm, in the plane across the axis) lies at
 * rho / EYE_UV_RADIUS_MM of the half-side, with +x the subject's left and v growing downwards, as seen
 * from the front. head-topology.ts gives the eye vertices these UVs.
 * - Iris (rho < IRIS_RADIUS_MM): sampled from the photo through the iris model's landmarks (centre
 *   and contour: radius). A texel at (rho, phi) reads the photo at the same fraction of the photo
 *   iris's radius and the same angle, from both eyes, each only where the lids leave it visible (inside
 *   the eye contour). Angles the lids hide everywhere take the median ring colour at that radius (the
 *   iris is close to rotationally symmetric). Pupil and limbus come from the photo too.
 * - Limbus: the dark ring at the iris's rim (anatomy: the limbal ring) is reinforced softly, because at
 *   a selfie's resolution it is a pixel or two wide and blurs away.
 * - Sclera: the photo's sclera colour (the brightest quarter of the visible eye-white pixels, pulled
 *   towards a neutral white when the photo shows too little of it), with the shading the lids give it:
 *   darker towards the rim of the visible eye, most under the upper lid.
 * - No specular highlight is painted: the GLB's eye material is glossy (roughness 0.15), so renderers
 *   place a real, view-dependent highlight.
 * Failure: with less than a tenth of the iris visible (closed eyes, out of frame) the iris takes
 * `irisFallback`; with no eye white visible the sclera takes `scleraFallback`.
 */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import topology from '../face/data/mesh-topology.json';
import { smoothstep } from '../recon/smoothstep';
import { EYE_UV_RADIUS_MM, IRIS_RADIUS_MM } from './head-topology';


type Rgb = readonly [number, number, number];

export interface EyePaintOptions {
  photo: RgbImage;
  /** 478 landmarks (x, y, z) in photo pixels. */
  points: Float32Array;
  size?: number;
  scleraFallback: Rgb;
  irisFallback: Rgb;
}

const eyes = [
  { centre: 468, contour: [...topology.rightEye.lower0, ...[...topology.rightEye.upper0].reverse()] },
  { centre: 473, contour: [...topology.leftEye.lower0, ...[...topology.leftEye.upper0].reverse()] },
];

function inside(poly: Array<[number, number]>, x: number, y: number): boolean {
  let hit = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i], [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

function bilinear(img: RgbImage, x: number, y: number, out: number[]): boolean {
  const sx = x - 0.5, sy = y - 0.5;
  const x0 = Math.floor(sx), y0 = Math.floor(sy);
  if (x0 < 0 || y0 < 0 || x0 >= img.width - 1 || y0 >= img.height - 1) return false;
  const ax = sx - x0, ay = sy - y0;
  const i = 3 * (y0 * img.width + x0), j = i + 3 * img.width;
  for (let c = 0; c < 3; c++) out[c] = (img.data[i + c] * (1 - ax) + img.data[i + 3 + c] * ax) * (1 - ay) + (img.data[j + c] * (1 - ax) + img.data[j + 3 + c] * ax) * ay;
  return true;
}

const median = (a: number[]) => (a.length ? [...a].sort((p, q) => p - q)[a.length >> 1] : NaN);

export function paintEyeTexture(opts: EyePaintOptions): RgbImage {
  const { photo, points } = opts;
  const size = opts.size ?? 256;
  const P = (i: number): [number, number] => [points[3 * i], points[3 * i + 1]];
  const eyeData = eyes.map((e) => {
    const [cx, cy] = P(e.centre);
    let r = 0;
    for (let k = 1; k <= 4; k++) r += Math.hypot(P(e.centre + k)[0] - cx, P(e.centre + k)[1] - cy) / 4;
    return { cx, cy, r, poly: e.contour.map(P) };
  });

  // Sclera: visible eye pixels outside the iris circle.
  const sclera: number[][] = [[], [], []];
  for (const e of eyeData) {
    const xs = e.poly.map((p) => p[0]), ys = e.poly.map((p) => p[1]);
    for (let y = Math.max(0, Math.floor(Math.min(...ys))); y <= Math.min(photo.height - 1, Math.ceil(Math.max(...ys))); y++) {
      for (let x = Math.max(0, Math.floor(Math.min(...xs))); x <= Math.min(photo.width - 1, Math.ceil(Math.max(...xs))); x++) {
        if (!inside(e.poly, x + 0.5, y + 0.5) || Math.hypot(x + 0.5 - e.cx, y + 0.5 - e.cy) < 1.15 * e.r) continue;
        for (let c = 0; c < 3; c++) sclera[c].push(photo.data[3 * (y * photo.width + x) + c]);
      }
    }
  }
  // Eye whites in a photo are shaded by the lids and fringed by lashes: the brightest quarter is
  // closest to their colour. A squint or small eyes leave few white pixels and a dark estimate; it is
  // pulled towards the fallback white as its luminance falls from 160 to 80.
  let scleraColour: number[] = [...opts.scleraFallback];
  if (sclera[0].length >= 12) {
    const lum = sclera[0].map((_, i) => 0.2126 * sclera[0][i] + 0.7152 * sclera[1][i] + 0.0722 * sclera[2][i]);
    const order = lum.map((_, i) => i).sort((a, b) => lum[b] - lum[a]).slice(0, Math.max(3, lum.length >> 2));
    const sampled = [0, 1, 2].map((c) => median(order.map((i) => sclera[c][i])));
    const l = 0.2126 * sampled[0] + 0.7152 * sampled[1] + 0.0722 * sampled[2];
    const w = Math.min(1, Math.max(0, (160 - l) / 80));
    scleraColour = sampled.map((v, c) => (1 - w) * v + w * opts.scleraFallback[c]);
  }

  // Iris: polar samples (radius fraction x angle), both eyes, visible only.
  const RADII = 24, ANGLES = 64;
  const polar = new Float32Array(RADII * ANGLES * 3);
  const seen = new Uint8Array(RADII * ANGLES);
  const s: number[] = [0, 0, 0];
  for (let ri = 0; ri < RADII; ri++) {
    const f = (ri + 0.5) / RADII;
    for (let ai = 0; ai < ANGLES; ai++) {
      const phi = (2 * Math.PI * ai) / ANGLES;
      const acc = [0, 0, 0];
      let n = 0;
      for (const e of eyeData) {
        if (e.r < 1) continue;
        // Texture +x is the subject's left: the photo's -x for the right eye seen from the front is the
        // same side for both eyes (a frontal photo is the front view), so no mirroring is needed.
        const x = e.cx + f * e.r * Math.cos(phi);
        const y = e.cy - f * e.r * Math.sin(phi);
        if (!inside(e.poly, x, y) || !bilinear(photo, x, y, s)) continue;
        for (let c = 0; c < 3; c++) acc[c] += s[c];
        n++;
      }
      if (n) {
        seen[ri * ANGLES + ai] = 1;
        for (let c = 0; c < 3; c++) polar[3 * (ri * ANGLES + ai) + c] = acc[c] / n;
      }
    }
  }
  // Closed or nearly closed eyes leave a sliver: what it shows is lid, not iris.
  if (seen.reduce((a, b) => a + b, 0) < 0.1 * RADII * ANGLES) seen.fill(0);
  const ring: number[][] = [];
  for (let ri = 0; ri < RADII; ri++) {
    const ch: number[][] = [[], [], []];
    for (let ai = 0; ai < ANGLES; ai++) if (seen[ri * ANGLES + ai]) for (let c = 0; c < 3; c++) ch[c].push(polar[3 * (ri * ANGLES + ai) + c]);
    ring.push(ch.map(median));
  }
  // Radii no eye shows (eyes closed): the nearest radius that was seen, else the fallback colour.
  for (let ri = 0; ri < RADII; ri++) {
    if (!Number.isNaN(ring[ri][0])) continue;
    let best = -1;
    for (let d = 1; d < RADII && best < 0; d++) for (const q of [ri - d, ri + d]) if (q >= 0 && q < RADII && !Number.isNaN(ring[q][0]) && best < 0) best = q;
    ring[ri] = best >= 0 ? ring[best] : [...opts.irisFallback];
  }

  const img = createRgbImage(size, size);
  const mmPerTexel = (2 * EYE_UV_RADIUS_MM) / size;
  for (let v = 0; v < size; v++) {
    for (let u = 0; u < size; u++) {
      const x = (u + 0.5 - size / 2) * mmPerTexel; // subject's left
      const y = (size / 2 - v - 0.5) * mmPerTexel; // up
      const rho = Math.hypot(x, y);
      let col: number[];
      if (rho < IRIS_RADIUS_MM) {
        const f = rho / IRIS_RADIUS_MM;
        const ri = Math.min(RADII - 1, Math.floor(f * RADII));
        const ai = ((Math.round((Math.atan2(y, x) / (2 * Math.PI)) * ANGLES) % ANGLES) + ANGLES) % ANGLES;
        col = seen[ri * ANGLES + ai] ? [0, 1, 2].map((c) => polar[3 * (ri * ANGLES + ai) + c]) : ring[ri];
        // The limbal ring, darker towards the rim, blended into the sclera over the last 0.3 mm.
        const limbus = 1 - 0.35 * smoothstep(0.8, 0.97, f);
        col = col.map((c) => c * limbus);
        const edge = smoothstep(IRIS_RADIUS_MM - 0.3, IRIS_RADIUS_MM, rho);
        col = col.map((c, k) => c * (1 - edge) + scleraColour[k] * 0.8 * edge);
      } else {
        col = scleraColour;
      }
      // Lid shading: the visible eye darkens towards its rim, most under the upper lid.
      const shade = (1 - 0.35 * smoothstep(6.5, 11.5, rho)) * (1 - 0.2 * smoothstep(1, 9, y));
      const o = 3 * (v * size + u);
      for (let c = 0; c < 3; c++) img.data[o + c] = Math.max(0, Math.min(255, Math.round(col[c] * shade)));
    }
  }
  return img;
}
