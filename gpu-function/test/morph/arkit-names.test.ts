/**
 * The ARKit naming of ICT-FaceKit's expressions (src/morph/data/arkit-blendshapes.json): complete and
 * one-to-one against the full model's own file list, and the renamed weights and morph targets
 * checked against sums computed here independently.
 */
import { existsSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import table from '../../src/morph/data/arkit-blendshapes.json';
import { ARKIT_NAMES, namedExpressionWeights, namedMorphTargets } from '../../src/morph/arkit';

const FULL = resolve(import.meta.dirname, '../../../../shared/ict-facekit-full');
const hasFull = existsSync(FULL);

describe('ARKit names for ICT-FaceKit', () => {
  it('Apple\'s 52 names, each once; only tongueOut without an ICT shape', () => {
    expect(ARKIT_NAMES).toHaveLength(52);
    expect(new Set(ARKIT_NAMES).size).toBe(52);
    expect(ARKIT_NAMES.filter((a) => !(a in table.fromIct))).toEqual(['tongueOut']);
    expect(table.unfitted).toEqual(['tongueOut']);
  });

  it.skipIf(!hasFull)(`every expression of the full model is used exactly once, as an ARKit part or an extra${hasFull ? '' : ' (skipped: ../shared/ict-facekit-full not found)'}`, () => {
    const ict = readdirSync(FULL).filter((f) => f.endsWith('.obj.gz') && !f.startsWith('identity') && !f.startsWith('generic_neutral')).map((f) => f.replace('.obj.gz', ''));
    expect(ict).toHaveLength(57);
    const parts = Object.values(table.fromIct as Record<string, string[]>).flat();
    expect([...parts, ...table.extras].sort()).toEqual([...ict].sort());
    expect(new Set(parts).size).toBe(parts.length);
    // Two ICT pairs fold into one ARKit shape each; everything else maps one to one.
    expect(Object.entries(table.fromIct as Record<string, string[]>).filter(([, p]) => p.length > 1).map(([a]) => a)).toEqual(['browInnerUp', 'cheekPuff']);
    expect(table.extras.sort()).toEqual(['PupilDilate_L', 'PupilDilate_R', 'cheekRaiser_L', 'cheekRaiser_R']);
  });

  it('weights: split pairs averaged, extras kept, what the pack lacks listed as unfitted', () => {
    const names = ['browInnerUp_L', 'browInnerUp_R', 'eyeBlink_L', 'jawOpen', 'cheekRaiser_L'];
    const w = namedExpressionWeights(names, [0.6, 0.2, 0.9, 0.25, 0.1], 'arkit');
    expect(w.expressions).toEqual({ browInnerUp: 0.4, eyeBlinkLeft: 0.9, jawOpen: 0.25 });
    expect(w.extras).toEqual({ cheekRaiser_L: 0.1 });
    expect(w.unfitted).toContain('tongueOut');
    expect(w.unfitted).toContain('eyeBlinkRight');
    expect(w.unfitted).toHaveLength(52 - 3);
    expect(namedExpressionWeights(names, [0.6, 0.2, 0.9, 0.25, 0.1], 'ict').expressions).toEqual({ browInnerUp_L: 0.6, browInnerUp_R: 0.2, eyeBlink_L: 0.9, jawOpen: 0.25, cheekRaiser_L: 0.1 });
  });

  it('morph targets: a pair becomes one target with the halves\' offsets added; Apple\'s 52 in Apple\'s order (empty at weight 0 where the model lacks a shape), then extras', () => {
    const t = (name: string, idx: number[], d: number[]) => ({ name, indices: Uint32Array.from(idx), deltas: Float32Array.from(d) });
    const L = t('browInnerUp_L', [1, 4], [1, 0, 0, 0, 2, 0]);
    const R = t('browInnerUp_R', [2, 4], [0, 0, 3, 0, 0.5, 1]);
    const { targets, weights } = namedMorphTargets([t('cheekRaiser_R', [0], [1, 1, 1]), L, t('jawOpen', [7], [0, -5, 0]), R], [0.3, 0.8, 0.5, 0.2], 'arkit');
    expect(targets.map((x) => x.name)).toEqual([...ARKIT_NAMES, 'cheekRaiser_R']);
    const at = (name: string) => targets.findIndex((x) => x.name === name);
    expect(Array.from(targets[at('browInnerUp')].indices)).toEqual([1, 2, 4]);
    expect(Array.from(targets[at('browInnerUp')].deltas)).toEqual([1, 0, 0, 0, 0, 3, 0, 2.5, 1]);
    expect(targets[at('tongueOut')].indices).toHaveLength(0);
    expect(weights[at('browInnerUp')]).toBe(Math.fround(0.5));
    expect(weights[at('jawOpen')]).toBe(Math.fround(0.5));
    expect(weights[at('cheekRaiser_R')]).toBe(Math.fround(0.3));
    expect(weights[at('tongueOut')]).toBe(0);
    expect(weights.reduce((s, x) => s + x, 0)).toBeCloseTo(1.3, 6); // every other ARKit target at 0
  });
});
