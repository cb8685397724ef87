/**
 * An independent reader of USDZ packages for tests: the zip walked from its own headers (CRC-32 by
 * node:zlib, not the writer's table), Pixar's rules checked (stored entries, data on 64-byte
 * boundaries, the stage first), and the USDA stage's arrays counted and its references resolved.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { expect } from 'vitest';

export interface UsdzContents {
  entries: Array<{ name: string; data: Uint8Array }>;
  stage: string;
}

const UNZIP = '/usr/bin/unzip';
let unzipSkipSaid = false;

export function readUsdz(b: Uint8Array): UsdzContents {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const entries: UsdzContents['entries'] = [];
  let o = 0;
  while (dv.getUint32(o, true) === 0x04034b50) {
    expect(dv.getUint16(o + 8, true), 'stored, not compressed').toBe(0);
    const size = dv.getUint32(o + 18, true);
    const nameLen = dv.getUint16(o + 26, true);
    const extraLen = dv.getUint16(o + 28, true);
    const name = new TextDecoder().decode(b.subarray(o + 30, o + 30 + nameLen));
    const start = o + 30 + nameLen + extraLen;
    expect(start % 64, `${name}: data on a 64-byte boundary`).toBe(0);
    const data = b.subarray(start, start + size);
    expect(crc32(data), `${name}: CRC-32`).toBe(dv.getUint32(o + 14, true));
    entries.push({ name, data });
    o = start + size;
  }
  expect(dv.getUint32(o, true), 'central directory follows the entries').toBe(0x02014b50);
  expect(entries[0].name).toMatch(/\.usda$/);
  // Info-ZIP's own test of the archive. No script installs Debian's `unzip` (.ci/run is npm ci && npm test), so
  // it may be absent in CI: then the skip is said plainly, once per test file, instead of passing in silence.
  if (existsSync(UNZIP)) {
    const f = join(mkdtempSync(join(tmpdir(), 'usdz-')), 'face.usdz');
    writeFileSync(f, b);
    expect(execFileSync(UNZIP, ['-tq', f]).toString()).toMatch(/No errors detected/);
  } else if (!unzipSkipSaid) {
    unzipSkipSaid = true;
    console.warn(`usdz-check: the independent \`unzip -tq\` check of the USDZ zip was SKIPPED: ${UNZIP} is missing (apt-get install unzip); the zip was checked by this file's own reader only`);
  }
  return { entries, stage: new TextDecoder().decode(entries[0].data) };
}

const count = (stage: string, decl: string) => {
  const m = new RegExp(`${decl.replace(/[[\]:]/g, '\\$&')} = \\[([^\\]]*)\\]`).exec(stage);
  if (!m) throw new Error(`${decl} missing`);
  return m[1].trim() ? m[1].split(decl.startsWith('int[]') ? ',' : '),').length : 0;
};

/** The stage describes `vertices` points with normals and st, `triangles` faces, bound materials whose textures are in the package. */
export function checkUsdStage(u: UsdzContents, expected: { vertices: number; triangles: number }): void {
  const s = u.stage;
  expect(s.startsWith('#usda 1.0')).toBe(true);
  expect(s).toMatch(/upAxis = "Y"/);
  expect(s).toMatch(/metersPerUnit = 1/);
  expect(count(s, 'point3f[] points')).toBe(expected.vertices);
  expect(count(s, 'normal3f[] normals')).toBe(expected.vertices);
  expect(count(s, 'texCoord2f[] primvars:st')).toBe(expected.vertices);
  expect(count(s, 'int[] faceVertexCounts')).toBe(expected.triangles);
  expect(count(s, 'int[] faceVertexIndices')).toBe(3 * expected.triangles);
  // Every bound material is defined; every texture it reads is in the package.
  const defined = new Set([...s.matchAll(/def Material "(\w+)"/g)].map((m) => m[1]));
  const bound = [...s.matchAll(/rel material:binding = <\/\w+\/Materials\/(\w+)>/g)].map((m) => m[1]);
  expect(bound.length).toBeGreaterThan(0);
  for (const m of bound) expect(defined).toContain(m);
  for (const [, file] of s.matchAll(/asset inputs:file = @([^@]+)@/g)) expect(u.entries.map((e) => e.name)).toContain(file);
  // Each prim that binds a material applies MaterialBindingAPI in its metadata (usdchecker's rule): the
  // prim's header, up to its opening brace, is the text between its def and the next '{'.
  for (const m of s.matchAll(/def (Mesh|GeomSubset) "\w+"([^{]*)\{([^{}]*)/g)) {
    if (/rel material:binding/.test(m[3])) expect(m[2], `${m[1]} binding a material`).toMatch(/prepend apiSchemas = \["MaterialBindingAPI"\]/);
  }
  // With GeomSubsets, every face is in exactly one.
  const subsets = [...s.matchAll(/def GeomSubset[\s\S]*?int\[\] indices = \[([^\]]*)\]/g)].map((m) => m[1].split(',').map(Number));
  if (subsets.length) expect(subsets.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: expected.triangles }, (_, i) => i));
}
