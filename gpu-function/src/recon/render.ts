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
  /** Textured, or flat-shaded grey geometry with per-face normals. */
  mode: 'textured' | 'flat';
  texture?: RgbImage;
  /** UDIM tiles instead of one texture: a triangle whose UVs lie in [k, k + 1) samples tiles[k]. */
  tiles?: RgbImage[];
  /** Lighting: ambient + diffuse * max(0, n.l); `unlit` renders the texture as is (for photo comparison). */
  unlit?: boolean;
  background?: RgbImage | readonly [number, number, number];
  /** Also write the flat-shaded geometry view of the same camera into this image (one raster pass for both previews). */
  flatTarget?: RgbImage;
}

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
  const flatData = opts.flatTarget?.data;
  if (opts.flatTarget && (opts.flatTarget.width !== W || opts.flatTarget.height !== H)) throw new RangeError('flatTarget size differs from the render');
  if (flatData) flatData.set(out.data);
  const zbuf = new Float32Array(W * H).fill(-Infinity);
  const tex = opts.texture;
  const light = normalise([-0.35, 0.45, 0.82]);
  const F = mesh.indices;
  for (let t = 0; t < F.length; t += 3) {
    const a = F[t], b = F[t + 1], c = F[t + 2];
    // Counter-clockwise in a y-up frame is clockwise on a y-down screen: front faces have area < 0.
    const tri = setupTriangle(sx[a], sy[a], sx[b], sy[b], sx[c], sy[c], W, H, 1e-9);
    if (!tri || tri.inv > 0) continue;
    const { x0, x1, y0, y1, inv, d1x, d2x } = tri;
    let flat = 0;
    if (opts.mode === 'flat' || flatData) {
      const fn = [vn[3 * a] + vn[3 * b] + vn[3 * c], vn[3 * a + 1] + vn[3 * b + 1] + vn[3 * c + 1], vn[3 * a + 2] + vn[3 * b + 2] + vn[3 * c + 2]];
      const l = Math.hypot(fn[0], fn[1], fn[2]) || 1;
      flat = 0.25 + 0.75 * Math.max(0, (fn[0] * light[0] + fn[1] * light[1] + fn[2] * light[2]) / l);
    }
    // Edge functions are affine in the pixel position: step them along the row instead of recomputing.
    let ua = mesh.uvs[2 * a], va = mesh.uvs[2 * a + 1], ub = mesh.uvs[2 * b], vb = mesh.uvs[2 * b + 1], uc = mesh.uvs[2 * c], vc = mesh.uvs[2 * c + 1];
    let triTex = tex;
    if (opts.tiles) {
      const tile = Math.max(0, Math.min(opts.tiles.length - 1, Math.floor((ua + ub + uc) / 3)));
      triTex = opts.tiles[tile];
      ua -= tile;
      ub -= tile;
      uc -= tile;
    }
    const wa = invW[a], wb = invW[b], wc = invW[c];
    const ka = key[a], kb = key[b], kc = key[c];
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
        if (flatData) {
          const fv = Math.round(205 * flat);
          flatData[o] = fv;
          flatData[o + 1] = fv;
          flatData[o + 2] = Math.round(fv * 1.04);
        }
        if (opts.mode === 'flat') {
          const v = Math.round(205 * flat);
          out.data[o] = v;
          out.data[o + 1] = v;
          out.data[o + 2] = Math.round(v * 1.04);
          continue;
        }
        // Perspective-correct barycentrics.
        const q0 = l0 * wa, q1 = l1 * wb, q2 = l2 * wc;
        const qs = 1 / (q0 + q1 + q2);
        const u = (q0 * ua + q1 * ub + q2 * uc) * qs;
        const v = (q0 * va + q1 * vb + q2 * vc) * qs;
        let shade = 1;
        if (!opts.unlit) {
          const nx = q0 * vn[3 * a] + q1 * vn[3 * b] + q2 * vn[3 * c];
          const ny = q0 * vn[3 * a + 1] + q1 * vn[3 * b + 1] + q2 * vn[3 * c + 1];
          const nz = q0 * vn[3 * a + 2] + q1 * vn[3 * b + 2] + q2 * vn[3 * c + 2];
          const dot = (nx * light[0] + ny * light[1] + nz * light[2]) / (Math.sqrt(nx * nx + ny * ny + nz * nz) || 1);
          shade = 0.45 + 0.65 * (dot > 0 ? dot : 0);
        }
        if (triTex) sampleBilinear(triTex, u, v, shade, out.data, o);
        else {
          out.data[o] = Math.min(255, 200 * shade);
          out.data[o + 1] = Math.min(255, 190 * shade);
          out.data[o + 2] = Math.min(255, 185 * shade);
        }
      }
    }
  }
  return { image: out, mask };
}

function normalise(v: number[]): number[] {
  const l = Math.hypot(v[0], v[1], v[2]);
  return v.map((x) => x / l);
}

function sampleBilinear(tex: RgbImage, u: number, v: number, k: number, out: Uint8Array, o: number): void {
  const { width: W, height: H, data } = tex;
  const x = Math.min(W - 1, Math.max(0, u * W - 0.5));
  const y = Math.min(H - 1, Math.max(0, v * H - 0.5));
  const x0 = Math.floor(x), y0 = Math.floor(y);
  const x1 = Math.min(W - 1, x0 + 1), y1 = Math.min(H - 1, y0 + 1);
  const ax = x - x0, ay = y - y0;
  for (let ch = 0; ch < 3; ch++) {
    const top = data[(y0 * W + x0) * 3 + ch] * (1 - ax) + data[(y0 * W + x1) * 3 + ch] * ax;
    const bot = data[(y1 * W + x0) * 3 + ch] * (1 - ax) + data[(y1 * W + x1) * 3 + ch] * ax;
    out[o + ch] = Math.min(255, Math.round((top * (1 - ay) + bot * ay) * k));
  }
}
