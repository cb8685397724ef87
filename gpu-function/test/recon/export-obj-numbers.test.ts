/**
 * The OBJ writer's number format (export-obj.ts f6) against its definition, the double's own shortest
 * round-trip string of x rounded to 6 decimals, over random coordinates, normals and edge cases; and
 * the byte writer's whole file against the same file built line by line from that definition.
 */
import { describe, expect, it } from 'vitest';
import { f6, writeObj, writeObjBytes } from '../../src/recon/export-obj';

const definition = (x: number) => (Math.round(x * 1e6) / 1e6).toString();

describe('f6', () => {
  it('writes what (Math.round(x * 1e6) / 1e6).toString() writes, for 300k values of every scale an OBJ holds', () => {
    let s = 12345;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    let mismatches = 0;
    const first: string[] = [];
    for (let i = 0; i < 300_000; i++) {
      // Metres (a face is ~0.2 m), unit normals, UVs, millimetres, and values near the 6th decimal.
      const scale = [0.2, 1, 1, 200, 1e-5][i % 5];
      const x = (rnd() - 0.5) * 2 * scale;
      if (f6(x) !== definition(x)) {
        mismatches++;
        if (first.length < 5) first.push(`${x}: ${f6(x)} vs ${definition(x)}`);
      }
    }
    expect(first).toEqual([]);
    expect(mismatches).toBe(0);
  });

  it('agrees on the edges: zero of either sign, halves at the 7th decimal, whole numbers, large values', () => {
    for (const x of [0, -0, 1e-7, -1e-7, 5e-7, -5e-7, 4.9999e-7, 1e-6, -1e-6, 2.5e-6, -2.5e-6, 1, -1, 10, 0.1, -0.1, 123.4565, 1.0000005, -1.0000005, 999999.999999, 1e9 - 1e-6, 5e9, -7.25e12, 1e21, Number.MAX_VALUE]) {
      expect(f6(x), String(x)).toBe(definition(x));
    }
    expect(f6(-1e-7)).toBe('0');
    expect(f6(0.0000015)).toBe(definition(0.0000015));
  });
});

describe('writeObjBytes', () => {
  /** The file as lines of strings from the number format's definition: what the writer must produce. */
  function reference(m: { positions: Float32Array; normals: Float32Array; uvs: Float32Array; indices: Uint32Array }, weld: Uint32Array | undefined, groups: Array<{ start: number; count: number; name: string }> | undefined, scale: number): string {
    const n = m.positions.length / 3;
    const order = new Int32Array(n).fill(-1);
    const reps: number[] = [];
    for (let i = 0; i < n; i++) {
      const w = weld ? weld[i] : i;
      if (order[w] < 0) order[w] = reps.push(i) - 1;
    }
    const num = (x: number) => definition(x);
    const lines = ['# facerecon face mesh', '# units: metres; right-handed, +Y up, +Z out of the face, origin between the eyes', 'mtllib face.mtl', 'o face'];
    for (const i of reps) lines.push(`v ${num(m.positions[3 * i] * scale)} ${num(m.positions[3 * i + 1] * scale)} ${num(m.positions[3 * i + 2] * scale)}`);
    for (let i = 0; i < n; i++) lines.push(`vt ${num(m.uvs[2 * i])} ${num(1 - m.uvs[2 * i + 1])}`);
    for (const i of reps) lines.push(`vn ${num(m.normals[3 * i])} ${num(m.normals[3 * i + 1])} ${num(m.normals[3 * i + 2])}`);
    const pos = (i: number) => order[weld ? weld[i] : i] + 1;
    const face = (k: number) => `f ${[0, 1, 2].map((j) => m.indices[k + j]).map((i) => `${pos(i)}/${i + 1}/${pos(i)}`).join(' ')}`;
    const faces = (from: number, to: number) => Array.from({ length: (to - from) / 3 }, (_, t) => face(from + 3 * t));
    if (!groups) lines.push('usemtl skin', 's 1', ...faces(0, m.indices.length));
    else for (const g of groups) lines.push(`g ${g.name}`, `usemtl ${g.name}`, 's 1', ...faces(g.start, g.start + g.count));
    return `${lines.join('\n')}\n`;
  }

  it('writes, byte for byte, the file built line by line from the definition: welded or not, one material or groups, odd values', () => {
    let s = 777;
    const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const n = 500;
    const positions = Float32Array.from({ length: 3 * n }, (_, i) => (rnd() - 0.5) * [200, 1e5, 1e-3][i % 3]);
    const normals = Float32Array.from({ length: 3 * n }, () => rnd() * 2 - 1);
    positions.set([0, -0, 5e-4, -5e-4, 1e-6, 123456.5], 0);
    normals.set([-0, 1, -1, 0.0000005, -0.0000005], 0);
    const uvs = Float32Array.from({ length: 2 * n }, () => rnd());
    const indices = Uint32Array.from({ length: 3 * 800 }, () => Math.floor(rnd() * n));
    const weld = Uint32Array.from({ length: n }, (_, i) => (i % 7 === 3 ? i - 1 : i));
    const groups = [{ start: 0, count: 900, name: 'skin' }, { start: 900, count: 1200, name: 'eyes' }, { start: 2100, count: 300, name: 'teeth' }];
    const mesh = { positions, normals, uvs, indices };
    for (const w of [undefined, weld]) {
      for (const g of [undefined, groups]) {
        const names = { mtl: 'face.mtl', texture: 't.png', material: 'skin', ...(g ? { groups: g.map((x) => ({ start: x.start, count: x.count, material: { name: x.name } })) } : {}) };
        const expected = reference(mesh, w, g, 0.001);
        const bytes = writeObjBytes(mesh, names, { weld: w });
        expect(new TextDecoder().decode(bytes), `weld ${!!w}, groups ${!!g}`).toBe(expected);
        // A second face on the same topology (cached blocks) writes its own numbers.
        const moved = { ...mesh, positions: positions.map((v) => v + 1) };
        expect(writeObj(moved, names, { weld: w })).toBe(reference(moved, w, g, 0.001));
      }
    }
  });
});
