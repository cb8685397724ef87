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

const ICT = resolve(import.meta.dirname, '../../../shared/ict-facekit');
const has = existsSync(join(ICT, 'generic_neutral_mesh.obj'));
const f32 = (p: string) => new Float32Array(new Uint8Array(readFileSync(p)).buffer);

describe.skipIf(!has)(has ? 'ICT-FaceKit pack (../shared/ict-facekit)' : `ICT-FaceKit pack skipped: ${ICT} not found`, () => {
  const out = join(mkdtempSync(join(tmpdir(), 'ict-pack-')), 'ict');
  const manifest = has ? buildIctPack(ICT, out) : undefined!;

  it('records the topology, the modes with their ARKit names, and the licence', () => {
    expect(manifest).toMatchObject({ format: 'facerecon-3dmm', version: 1, vertexCount: 26719, uvCount: 28911 });
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
    expect(() => buildIctPack(empty, join(empty, 'out'))).toThrow(/generic_neutral_mesh\.obj is missing/);
    const broken = mkdtempSync(join(tmpdir(), 'broken-ict-'));
    for (const f of ['generic_neutral_mesh.obj', 'vertex_indices.json', 'LICENSE']) copyFileSync(join(ICT, f), join(broken, f));
    const lines = readFileSync(join(ICT, 'jawOpen.obj'), 'utf8').split('\n');
    const firstFace = lines.findIndex((l) => l.startsWith('f '));
    lines.splice(firstFace, 1); // one face fewer
    writeFileSync(join(broken, 'jawOpen.obj'), lines.join('\n'));
    expect(() => buildIctPack(broken, join(broken, 'out'))).toThrow(/jawOpen\.obj does not share the neutral mesh's topology/);
  });
});

it(`ICT-FaceKit pack suite status: ${has ? `ran on ${ICT}` : `skipped: ${ICT} not found (a clone without the team's shared folder)`}`, () => {
  expect(typeof has).toBe('boolean');
});
