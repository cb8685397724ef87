/**
 * A small software rasteriser for previews and for the quality check (the project's one raster rule,
 * raster-kernel.ts): z-buffered triangles,
 * perspective-correct attribute interpolation (attributes / w interpolated in screen space, then
 * divided by the interpolated 1 / w), bilinear texture lookup, Lambert shading.
 *
 * Frames: mesh positions in the head frame (mm, +Y up, +Z out of the face). Screen: pixels, x right,
 * y down, pixel centres at +0.5.
 */
import { createRgbImage, type RgbImage, type TriMesh } from '@facerecon/shared';
import { projectHeadPoint, type WeakPerspectiveCamera } from './face-geometry';
import { mat3Mul, rotationAxisAngle, type Mat3 } from './linalg';
import { EDGE_TOLERANCE, setupTriangle } from './raster-kernel';

export type RenderCamera =
  | { kind: 'orbit'; yawDeg: number; pitchDeg: number; fovDeg: number; /** fraction of the image the mesh's bounding sphere fills */ fill: number }
  | { kind: 'photo'; camera: WeakPerspectiveCamera };

export interface RenderOptions {
  mesh: TriMesh & { normals: Float32Array };
  width: number;
  height: number;
  camera: RenderCamera;
  /** Textured, or flat-shaded grey geometry with per-face normals (per-pixel mapped normals on tile 0 with `normalMap`). */
  mode: 'textured' | 'flat';
  texture?: RgbImage;
  /** UDIM tiles instead of one texture: a triangle whose UVs lie in [k, k + 1) samples tiles[k]. */
  tiles?: RgbImage[];
  /** Lighting: ambient + diffuse * max(0, n.l); `unlit` renders the texture as is (for photo comparison). */
  unlit?: boolean;
  background?: RgbImage | readonly [number, number, number];
  /** Also write the flat-shaded geometry view of the same camera into this image (one raster pass for both previews). */
  flatTarget?: RgbImage;
  /**
   * Shading detail for the flat geometry view (mode 'flat' and flatTarget; the textured view ignores
   * it): a tangent-space normal map of tile 0 (glTF / OpenGL convention, as DetailMaps in
   * detail-maps.ts: R = +T, G = +B = up the image, B = +N, 128 = 0) and the mesh's per-vertex
   * tangents (n x 4, gltfTangents in tangents.ts, in the mesh frame: rotated by the view like the
   * normals). Triangles in tile 0 (mean u in [0, 1)) are then shaded per pixel with the interpolated
   * smooth normal perturbed by the map, instead of their flat face normal, so the geometry preview
   * shows the recovered detail; other triangles keep the flat look.
   */
  normalMap?: { image: RgbImage; tangents: Float32Array };
}

/**
 * The one light of every render, in the view frame (x right, y up, z towards the viewer): from the
 * upper left, in front. Textured shading is 0.45 + 0.65 max(0, n.l) on the texture; the flat view's
 * grey is 205 (0.25 + 0.75 max(0, n.l)) (blue 4% higher).
 */
export const VIEW_LIGHT: readonly number[] = normalise([-0.35, 0.45, 0.82]);

export interface RenderResult {
  image: RgbImage;
  /** 1 where the mesh covers the pixel centre. */
  mask: Uint8Array;
}

export function renderMesh(opts: RenderOptions): RenderResult {
  const { mesh, width: W, height: H } = opts;
  const n = mesh.positions.length / 3;
  const sx = new Float32Array(n), sy = new Float32Array(n), key = new Float32Array(n), invW = new Float32Array(n);
  const vn = new Float32Array(n * 3); // normals in the view frame (z towards the viewer)
  let view: Mat3;
  if (opts.camera.kind === 'photo') {
    const cam = opts.camera.camera;
    view = cam.rotation;
    for (let i = 0; i < n; i++) {
      const [x, y, z] = projectHeadPoint(cam, mesh.positions[3 * i], mesh.positions[3 * i + 1], mesh.positions[3 * i + 2]);
      sx[i] = x;
      sy[i] = y;
      key[i] = z;
      invW[i] = 1;
    }
  } else {
    const c = opts.camera;
    view = mat3Mul(rotationAxisAngle([1, 0, 0], (c.pitchDeg * Math.PI) / 180), rotationAxisAngle([0, 1, 0], (-c.yawDeg * Math.PI) / 180));
    // Bounding sphere of the mesh, so any face fills the frame the same way.
    const centre = [0, 0, 0];
    for (let i = 0; i < n; i++) for (let d = 0; d < 3; d++) centre[d] += mesh.positions[3 * i + d] / n;
    let radius = 0;
    for (let i = 0; i < n; i++) radius = Math.max(radius, Math.hypot(mesh.positions[3 * i] - centre[0], mesh.positions[3 * i + 1] - centre[1], mesh.positions[3 * i + 2] - centre[2]));
    const f = (Math.min(W, H) / 2) / Math.tan((c.fovDeg * Math.PI) / 360);
    const dist = radius / Math.sin((c.fovDeg * Math.PI) / 360) / c.fill;
    for (let i = 0; i < n; i++) {
      const p = [mesh.positions[3 * i] - centre[0], mesh.positions[3 * i + 1] - centre[1], mesh.positions[3 * i + 2] - centre[2]];
      const x = view[0] * p[0] + view[1] * p[1] + view[2] * p[2];
      const y = view[3] * p[0] + view[4] * p[1] + view[5] * p[2];
      const z = view[6] * p[0] + view[7] * p[1] + view[8] * p[2];
      const w = dist - z;
      sx[i] = W / 2 + (f * x) / w;
      sy[i] = H / 2 - (f * y) / w;
      key[i] = -w;
      invW[i] = 1 / w;
    }
    // Centre the projected silhouette (the sphere's centre is not the face's visual centre).
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      x0 = Math.min(x0, sx[i]);
      x1 = Math.max(x1, sx[i]);
      y0 = Math.min(y0, sy[i]);
      y1 = Math.max(y1, sy[i]);
    }
    const dx = W / 2 - (x0 + x1) / 2;
    const dy = H / 2 - (y0 + y1) / 2;
    for (let i = 0; i < n; i++) {
      sx[i] += dx;
      sy[i] += dy;
    }
  }
  for (let i = 0; i < n; i++) {
    const a = mesh.normals[3 * i], b = mesh.normals[3 * i + 1], c = mesh.normals[3 * i + 2];
    vn[3 * i] = view[0] * a + view[1] * b + view[2] * c;
    vn[3 * i + 1] = view[3] * a + view[4] * b + view[5] * c;
    vn[3 * i + 2] = view[6] * a + view[7] * b + view[8] * c;
  }
  const flatData = opts.flatTarget?.data;
  // Tangents in the view frame, w (the bitangent's handedness) kept: only when the flat view has a normal map to decode.
  const normalMap = opts.normalMap && (opts.mode === 'flat' || flatData) ? opts.normalMap : undefined;
  let vt: Float32Array | undefined;
  if (normalMap) {
    if (normalMap.tangents.length !== 4 * n) throw new RangeError(`normalMap.tangents: ${normalMap.tangents.length} values for ${n} vertices (n x 4 expected)`);
    vt = new Float32Array(n * 4);
    const T = normalMap.tangents;
    for (let i = 0; i < n; i++) {
      const a = T[4 * i], b = T[4 * i + 1], c = T[4 * i + 2];
      vt[4 * i] = view[0] * a + view[1] * b + view[2] * c;
      vt[4 * i + 1] = view[3] * a + view[4] * b + view[5] * c;
      vt[4 * i + 2] = view[6] * a + view[7] * b + view[8] * c;
      vt[4 * i + 3] = T[4 * i + 3];
    }
  }

  const out = createRgbImage(W, H);
  const bg = opts.background ?? [236, 238, 242];
  if (Array.isArray(bg) || !('data' in bg)) {
    const [r, g, b] = bg as readonly number[];
    for (let i = 0; i < W * H; i++) {
      out.data[3 * i] = r;
      out.data[3 * i + 1] = g;
      out.data[3 * i + 2] = b;
    }
  } else {
    out.data.set((bg as RgbImage).data.subarray(0, W * H * 3));
  }
  const mask = new Uint8Array(W * H);
  if (opts.flatTarget && (opts.flatTarget.width !== W || opts.flatTarget.height !== H)) throw new RangeError('flatTarget size differs from the render');
  if (flatData) flatData.set(out.data);
  const zbuf = new Float32Array(W * H).fill(-Infinity);
  rasterTriangles({ F: mesh.indices, uvs: mesh.uvs, sx, sy, key, invW, vn, vt, normalMap: normalMap?.image, W, H, flat: opts.mode === 'flat', unlit: !!opts.unlit, tex: opts.texture, tiles: opts.tiles, out: out.data, flatData, zbuf, mask });
  return { image: out, mask };
}

/** What rasterTriangles reads and writes: the projected mesh and the render's buffers (renderMesh builds it). */
interface RasterJob {
  F: Uint32Array;
  uvs: Float32Array;
  sx: Float32Array;
  sy: Float32Array;
  key: Float32Array;
  invW: Float32Array;
  vn: Float32Array;
  vt: Float32Array | undefined;
  normalMap: RgbImage | undefined;
  W: number;
  H: number;
  flat: boolean;
  unlit: boolean;
  tex: RgbImage | undefined;
  tiles: RgbImage[] | undefined;
  out: Uint8Array;
  flatData: Uint8Array | undefined;
  zbuf: Float32Array;
  mask: Uint8Array;
}

/**
 * renderMesh's triangle loop, a function of its own for V8's sake (see detail-maps.ts: inside the
 * longer function it was compiled on-stack on each request and its code discarded after the loop).
 */
function rasterTriangles(job: RasterJob): void {
  const { F, uvs, sx, sy, key, invW, vn, vt, normalMap, W, H, flat, unlit, tex, tiles, out, flatData, zbuf, mask } = job;
  const light = VIEW_LIGHT;
  for (let t = 0; t < F.length; t += 3) {
    const a = F[t], b = F[t + 1], c = F[t + 2];
    // Counter-clockwise in a y-up frame is clockwise on a y-down screen: front faces have area < 0.
    const tri = setupTriangle(sx[a], sy[a], sx[b], sy[b], sx[c], sy[c], W, H, 1e-9);
    if (!tri || tri.inv > 0) continue;
    const { x0, x1, y0, y1, inv, d1x, d2x } = tri;
    let flatGrey = 0;
    if (flat || flatData) {
      const fx = vn[3 * a] + vn[3 * b] + vn[3 * c], fy = vn[3 * a + 1] + vn[3 * b + 1] + vn[3 * c + 1], fz = vn[3 * a + 2] + vn[3 * b + 2] + vn[3 * c + 2];
      const l = Math.sqrt(fx * fx + fy * fy + fz * fz) || 1;
      flatGrey = Math.round(205 * flatShade((fx * light[0] + fy * light[1] + fz * light[2]) / l));
    }
    // Edge functions are affine in the pixel position: step them along the row instead of recomputing.
    let ua = uvs[2 * a], va = uvs[2 * a + 1], ub = uvs[2 * b], vb = uvs[2 * b + 1], uc = uvs[2 * c], vc = uvs[2 * c + 1];
    // A tile-0 triangle under a normal map is shaded per pixel in the flat view; everything else per face.
    const detailed = vt !== undefined && Math.floor((ua + ub + uc) / 3) === 0;
    let triTex = tex;
    if (tiles) {
      const tile = Math.max(0, Math.min(tiles.length - 1, Math.floor((ua + ub + uc) / 3)));
      triTex = tiles[tile];
      ua -= tile;
      ub -= tile;
      uc -= tile;
    }
    const wa = invW[a], wb = invW[b], wc = invW[c];
    const ka = key[a], kb = key[b], kc = key[c];
    if (detailed) {
      PIX[3] = ua;
      PIX[4] = va;
      PIX[5] = ub;
      PIX[6] = vb;
      PIX[7] = uc;
      PIX[8] = vc;
    }
    for (let y = y0; y <= y1; y++) {
      const py = y + 0.5;
      let l1 = ((x0 + 0.5 - sx[a]) * (sy[c] - sy[a]) - (py - sy[a]) * (sx[c] - sx[a])) * inv;
      let l2 = ((sx[b] - sx[a]) * (py - sy[a]) - (sy[b] - sy[a]) * (x0 + 0.5 - sx[a])) * inv;
      for (let x = x0; x <= x1; x++, l1 += d1x, l2 += d2x) {
        const l0 = 1 - l1 - l2;
        if (l0 < -EDGE_TOLERANCE || l1 < -EDGE_TOLERANCE || l2 < -EDGE_TOLERANCE) continue;
        const z = l0 * ka + l1 * kb + l2 * kc;
        const i = y * W + x;
        if (z <= zbuf[i]) continue;
        zbuf[i] = z;
        mask[i] = 1;
        const o = 3 * i;
        let fv = flatGrey;
        if (detailed) {
          PIX[0] = l0 * wa;
          PIX[1] = l1 * wb;
          PIX[2] = l2 * wc;
          normalMappedShade(normalMap!, vn, vt!, a, b, c, light);
          fv = Math.round(205 * PIX[12]);
        }
        if (flatData) {
          flatData[o] = fv;
          flatData[o + 1] = fv;
          flatData[o + 2] = Math.round(fv * 1.04);
        }
        if (flat) {
          const v = fv;
          out[o] = v;
          out[o + 1] = v;
          out[o + 2] = Math.round(v * 1.04);
          continue;
        }
        // Perspective-correct barycentrics.
        const q0 = l0 * wa, q1 = l1 * wb, q2 = l2 * wc;
        const qs = 1 / (q0 + q1 + q2);
        const u = (q0 * ua + q1 * ub + q2 * uc) * qs;
        const v = (q0 * va + q1 * vb + q2 * vc) * qs;
        let shade = 1;
        if (!unlit) {
          const nx = q0 * vn[3 * a] + q1 * vn[3 * b] + q2 * vn[3 * c];
          const ny = q0 * vn[3 * a + 1] + q1 * vn[3 * b + 1] + q2 * vn[3 * c + 1];
          const nz = q0 * vn[3 * a + 2] + q1 * vn[3 * b + 2] + q2 * vn[3 * c + 2];
          const dot = (nx * light[0] + ny * light[1] + nz * light[2]) / (Math.sqrt(nx * nx + ny * ny + nz * nz) || 1);
          shade = 0.45 + 0.65 * (dot > 0 ? dot : 0);
        }
        if (triTex) {
          PIX[9] = u;
          PIX[10] = v;
          PIX[11] = shade;
          sampleBilinear(triTex, out, o);
        }
        else {
          out[o] = Math.min(255, 200 * shade);
          out[o + 1] = Math.min(255, 190 * shade);
          out[o + 2] = Math.min(255, 185 * shade);
        }
      }
    }
  }
}

/** The flat view's grey level (before the 205 scale) for the cosine between the surface normal and the light. */
function flatShade(cos: number): number {
  return 0.25 + 0.75 * Math.max(0, cos);
}

/**
 * Flat-view shade of one pixel of a normal-mapped triangle (a, b, c): the smooth normal and tangent
 * interpolated with the perspective-correct weights q (PIX[0..2], normalised here), the tangent made orthogonal
 * to the normal, B = cross(N, T) * w, the map sampled bilinearly at the interpolated UV and decoded
 * as (level - 128) / 127 per channel, N' = normalize(x T + y B + z N), then the same Lambert term as
 * the per-face shading, into PIX[12].
 */
function normalMappedShade(map: RgbImage, vn: Float32Array, vt: Float32Array, a: number, b: number, c: number, light: readonly number[]): void {
  let q0 = PIX[0], q1 = PIX[1], q2 = PIX[2];
  const ua = PIX[3], va = PIX[4], ub = PIX[5], vb = PIX[6], uc = PIX[7], vc = PIX[8];
  const qs = 1 / (q0 + q1 + q2);
  q0 *= qs;
  q1 *= qs;
  q2 *= qs;
  let nx = q0 * vn[3 * a] + q1 * vn[3 * b] + q2 * vn[3 * c];
  let ny = q0 * vn[3 * a + 1] + q1 * vn[3 * b + 1] + q2 * vn[3 * c + 1];
  let nz = q0 * vn[3 * a + 2] + q1 * vn[3 * b + 2] + q2 * vn[3 * c + 2];
  const nl = Math.sqrt(nx * nx + ny * ny + nz * nz) || 1;
  nx /= nl;
  ny /= nl;
  nz /= nl;
  let tx = q0 * vt[4 * a] + q1 * vt[4 * b] + q2 * vt[4 * c];
  let ty = q0 * vt[4 * a + 1] + q1 * vt[4 * b + 1] + q2 * vt[4 * c + 1];
  let tz = q0 * vt[4 * a + 2] + q1 * vt[4 * b + 2] + q2 * vt[4 * c + 2];
  const d = tx * nx + ty * ny + tz * nz;
  tx -= d * nx;
  ty -= d * ny;
  tz -= d * nz;
  const tl = Math.sqrt(tx * tx + ty * ty + tz * tz) || 1;
  tx /= tl;
  ty /= tl;
  tz /= tl;
  // One chart has one handedness; the first corner's w stands for the triangle.
  const w = vt[4 * a + 3] < 0 ? -1 : 1;
  const bx = (ny * tz - nz * ty) * w, by = (nz * tx - nx * tz) * w, bz = (nx * ty - ny * tx) * w;
  PIX[9] = q0 * ua + q1 * ub + q2 * uc;
  PIX[10] = q0 * va + q1 * vb + q2 * vc;
  sampleLevels(map, SAMPLE);
  const x = (SAMPLE[0] - 128) / 127, y = (SAMPLE[1] - 128) / 127, z = (SAMPLE[2] - 128) / 127;
  const px = x * tx + y * bx + z * nx, py = x * ty + y * by + z * ny, pz = x * tz + y * bz + z * nz;
  const pl = Math.sqrt(px * px + py * py + pz * pz) || 1;
  PIX[12] = flatShade((px * light[0] + py * light[1] + pz * light[2]) / pl);
}

/** Scratch for one unrounded normal-map sample. */
const SAMPLE = new Float64Array(3);

/**
 * The per-pixel numbers the shading helpers take, passed through this array rather than as arguments:
 * V8 does not inline them, and each double argument of a call that is not inlined is a heap number
 * (~15 MB of garbage a request for the two 512 previews). [0..2] the perspective weights q0..q2 and
 * [3..8] the triangle's UVs (normalMappedShade), [9, 10] the UV to sample, [11] the shade factor
 * (sampleBilinear), [12] normalMappedShade's result (a double returned from a call is boxed too).
 */
const PIX = new Float64Array(13);

/** sampleBilinear's lookup at (PIX[9], PIX[10]) without rounding (a normal map's levels are decoded, not displayed), into out[0..2]. */
function sampleLevels(tex: RgbImage, out: Float64Array): void {
  const u = PIX[9], v = PIX[10];
  const { width: W, height: H, data } = tex;
  const x = Math.min(W - 1, Math.max(0, u * W - 0.5));
  const y = Math.min(H - 1, Math.max(0, v * H - 0.5));
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const x1 = Math.min(W - 1, x0 + 1), y1 = Math.min(H - 1, y0 + 1);
  const ax = x - x0, ay = y - y0;
  for (let ch = 0; ch < 3; ch++) {
    const top = data[(y0 * W + x0) * 3 + ch] * (1 - ax) + data[(y0 * W + x1) * 3 + ch] * ax;
    const bot = data[(y1 * W + x0) * 3 + ch] * (1 - ax) + data[(y1 * W + x1) * 3 + ch] * ax;
    out[ch] = top * (1 - ay) + bot * ay;
  }
}

function normalise(v: number[]): number[] {
  const l = Math.hypot(v[0], v[1], v[2]);
  return v.map((x) => x / l);
}

function sampleBilinear(tex: RgbImage, out: Uint8Array, o: number): void {
  const k = PIX[11];
  sampleLevels(tex, SAMPLE);
  for (let ch = 0; ch < 3; ch++) out[o + ch] = Math.min(255, Math.round(SAMPLE[ch] * k));
}
