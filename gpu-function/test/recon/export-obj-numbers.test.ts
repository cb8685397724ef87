/**
 * The OBJ writer's number format (export-obj.ts f6) against its definition, the double's own shortest
 * round-trip string of x rounded to 6 decimals, over random coordinates, normals and edge cases.
 */
import { describe, expect, it } from 'vitest';
import { f6 } from '../../src/recon/export-obj';

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
