/**
 * The ICT-FaceKit pack converter on the subset in ../shared/ict-facekit (skipped, saying why, in a
 * clone without it): counts, exact reconstruction of a source mesh from mean + offset, the licence
 * next to the derived files, and clear refusals of folders that are not ICT-FaceKit.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PackError, buildIctPack } from '../scripts/build-ict';
import { parseObj } from '../src/obj-reader';
import { IBUG68_TO_MEDIAPIPE } from '../src/correspondence';
import { canonicalFacePath } from '../src/index';

const ICT = resolve(import.meta.dirname, '../../../shared/ict-facekit');
const has = existsSync(join(ICT, 'generic_neutral_mesh.obj'));
const f32 = (p: string) => new Float32Array(new Uint8Array(readFileSync(p)).buffer);

describe.skipIf(!has)(has ? 'ICT-FaceKit pack (../shared/ict-facekit)' : `ICT-FaceKit pack skipped: ${ICT} not found`, () => {
  const out = join(mkdtempSync(join(tmpdir(), 'ict-pack-')), 'ict');
  const manifest = has ? buildIctPack(ICT, out) : undefined!;

  it('records the topology, the modes with their ARKit names, and the licence', () => {
    expect(manifest).toMatchObject({ format: 'facerecon-3dmm', version: 2, vertexCount: 26719, uvCount: 28911 });
    expect(manifest.identity.count).toBe(10);
    expect(manifest.expression.count).toBe(20);
    expect(manifest.expression.names).toEqual(expect.arrayContaining(['jawOpen', 'mouthSmile_L', 'eyeBlink_R']));
    expect(manifest.landmarks68).toHaveLength(68);
    expect(readFileSync(join(out, 'LICENSE'), 'utf8')).toMatch(/MIT License/);
    // Quads split in two: more triangles than polygons, every index in range.
    const tri = new Uint32Array(new Uint8Array(readFileSync(join(out, 'triangles.u32'))).buffer);
    expect(tri.length / 3).toBe(manifest.triangleCount);
    expect(Math.max(...tri.subarray(0, 100000))).toBeLessThan(manifest.vertexCount);
  });

  it('embeds all 468 MediaPipe landmarks on the ICT face: anchors exact, mirror pairs symmetric', () => {
    const mean = f32(join(out, 'mean.f32'));
    const tri = new Uint32Array(new Uint8Array(readFileSync(join(out, 'triangles.u32'))).buffer);
    const pairs = new Uint32Array(new Uint8Array(readFileSync(join(out, manifest.correspondence468.file))).buffer);
    const bary = f32(join(out, manifest.correspondence468.barycentrics));
    expect(manifest.correspondence468.count).toBe(468);
    expect(manifest.correspondence468.medianDistanceMm).toBeLessThan(1);
    const at = new Map<number, number[]>();
    for (let k = 0; k < pairs.length / 2; k++) {
      const t = pairs[2 * k + 1];
      expect(tri[3 * t]).toBeLessThan(manifest.parts.face[1]); // on the face part
      const b = [bary[3 * k], bary[3 * k + 1], bary[3 * k + 2]];
      expect(Math.abs(b[0] + b[1] + b[2] - 1)).toBeLessThan(1e-5);
      at.set(pairs[2 * k], [0, 1, 2].map((d) => b.reduce((s, w, j) => s + w * mean[3 * tri[3 * t + j] + d], 0)));
    }
    // The warp interpolates the anchors, so an anchor lands on ICT's own iBUG vertex.
    for (const [ibug, mp] of IBUG68_TO_MEDIAPIPE) {
      const v = manifest.landmarks68![ibug];
      const p = at.get(mp)!;
      expect(Math.hypot(p[0] - mean[3 * v], p[1] - mean[3 * v + 1], p[2] - mean[3 * v + 2]), `iBUG ${ibug} / MediaPipe ${mp}`).toBeLessThan(0.05);
    }
    // Both topologies are left/right symmetric, and the warp was fitted without knowing it: MediaPipe's
    // mirror pairs must land on mirror-image ICT points (x -> -x).
    const canonical = JSON.parse(readFileSync(canonicalFacePath(), 'utf8')).positions as number[];
    let pairsChecked = 0;
    for (let i = 0; i < 468; i++) {
      const j = [...Array(468).keys()].find((c) => Math.hypot(canonical[3 * i] + canonical[3 * c], canonical[3 * i + 1] - canonical[3 * c + 1], canonical[3 * i + 2] - canonical[3 * c + 2]) < 0.01);
      if (j === undefined) continue;
      const a = at.get(i)!, b = at.get(j)!;
      expect(Math.hypot(a[0] + b[0], a[1] - b[1], a[2] - b[2]), `${i} <-> ${j}`).toBeLessThan(0.1); // 1 mm
      pairsChecked++;
    }
    expect(pairsChecked).toBeGreaterThan(400);
  });

  it('mean + expression offset reproduces the source expression mesh exactly', () => {
    const mean = f32(join(out, 'mean.f32'));
    const expr = f32(join(out, 'expression.f32'));
    const k = manifest.expression.names.indexOf('jawOpen');
    const src = parseObj(readFileSync(join(ICT, 'jawOpen.obj'), 'utf8')).positions;
    const n = manifest.vertexCount * 3;
    let worst = 0;
    for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(mean[i] + expr[k * n + i] - src[i]));
    expect(worst).toBeLessThan(1e-4);
    // jawOpen moves the chin, not the forehead.
    let moved = 0;
    for (let i = 0; i < n; i += 3) if (Math.hypot(expr[k * n + i], expr[k * n + i + 1], expr[k * n + i + 2]) > 0.1) moved++;
    expect(moved).toBeGreaterThan(100);
  });

  it('refuses a folder that is not ICT-FaceKit, and meshes that disagree in topology', () => {
    const empty = mkdtempSync(join(tmpdir(), 'not-ict-'));
    expect(() => buildIctPack(empty, join(empty, 'out'))).toThrow(PackError);
    expect(() => buildIctPack(empty, join(empty, 'out'))).toThrow(/generic_neutral_mesh\.obj(\(\.gz\))? is missing/);
    const broken = mkdtempSync(join(tmpdir(), 'broken-ict-'));
    for (const f of ['generic_neutral_mesh.obj', 'vertex_indices.json', 'LICENSE']) copyFileSync(join(ICT, f), join(broken, f));
    const lines = readFileSync(join(ICT, 'jawOpen.obj'), 'utf8').split('\n');
    const firstFace = lines.findIndex((l) => l.startsWith('f '));
    lines.splice(firstFace, 1); // one face fewer
    writeFileSync(join(broken, 'jawOpen.obj'), lines.join('\n'));
    expect(() => buildIctPack(broken, join(broken, 'out'))).toThrow(/jawOpen\.obj does not share the neutral mesh's topology/);
  });
});
