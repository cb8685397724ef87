/**
 * ICT-FaceKit expression weights and morph targets under ARKit's 52 blendshape names, from the table
 * in data/arkit-blendshapes.json (its `about` says how it was made and what each rule is): the names
 * every ARKit, Unity, Unreal and MediaPipe face driver binds to without a rename map. Pure functions:
 * weights in [0, 1] in, weights out; morph targets in the head frame (mm) in, renamed targets out.
 */
import type { GlbMorphTarget } from '../recon/export-glb';
import table from './data/arkit-blendshapes.json';

export const ARKIT_NAMES: readonly string[] = table.arkit;
const FROM_ICT = table.fromIct as Record<string, string[]>;

export type ExpressionNaming = 'arkit' | 'ict';

/** The model's shapes an exported target is made of (under ARKit naming a split pair has two). */
export function targetParts(name: string, naming: ExpressionNaming): readonly string[] {
  if (naming !== 'arkit') return [name];
  if (FROM_ICT[name]) return FROM_ICT[name];
  return ARKIT_NAMES.includes(name) ? [] : [name]; // an ARKit shape the model lacks: made of nothing
}

export interface NamedWeights {
  /** ARKit name (or the model's own name under naming 'ict') -> weight in [0, 1]. */
  expressions: Record<string, number>;
  /** The model's shapes that have no ARKit name, under their own names (naming 'arkit' only). */
  extras: Record<string, number>;
  /** ARKit names this model cannot fit (ICT has no tongue; a subset pack lacks more), reported as absent. */
  unfitted: string[];
}

const round = (x: number) => Math.round(x * 1e4) / 1e4;

/** Weights of the model's expressions (`names[i]` -> `weights[i]`) under the chosen naming. */
export function namedExpressionWeights(names: readonly string[], weights: ArrayLike<number>, naming: ExpressionNaming): NamedWeights {
  const byName = new Map(names.map((n, i) => [n, weights[i]]));
  if (naming === 'ict') return { expressions: Object.fromEntries(names.map((n, i) => [n, round(weights[i])])), extras: {}, unfitted: [] };
  const expressions: Record<string, number> = {};
  const unfitted: string[] = [];
  const used = new Set<string>();
  for (const a of ARKIT_NAMES) {
    const parts = FROM_ICT[a]?.filter((p) => byName.has(p)) ?? [];
    if (!FROM_ICT[a] || parts.length !== FROM_ICT[a].length) {
      unfitted.push(a);
      continue;
    }
    // A symmetric ARKit shape that ICT splits in two: the mean of the halves.
    expressions[a] = round(parts.reduce((s, p) => s + byName.get(p)!, 0) / parts.length);
    for (const p of parts) used.add(p);
  }
  const extras = Object.fromEntries(names.filter((n) => !used.has(n)).map((n) => [n, round(byName.get(n)!)]));
  return { expressions, extras, unfitted };
}

/**
 * Morph targets renamed the same way: a split pair becomes one target whose offsets are the sum of
 * the halves (so weight w on it equals w on each half), extras keep their names, the order is
 * ARKit's then the extras'. `weights` are the fitted weights, returned in the targets' order. An ARKit
 * shape the model lacks (ICT's tongueOut) is an empty target at weight 0, so targets 0-51 are Apple's
 * 52 in ARBlendShapeLocation's order: a driver binding by index finds the extras after them, not
 * PupilDilate_L where tongueOut belongs.
 */
export function namedMorphTargets(targets: readonly GlbMorphTarget[], weights: ArrayLike<number>, naming: ExpressionNaming): { targets: GlbMorphTarget[]; weights: Float32Array } {
  if (naming === 'ict') return { targets: [...targets], weights: Float32Array.from(weights) };
  const byName = new Map(targets.map((t, i) => [t.name, { t, w: weights[i] }]));
  const out: GlbMorphTarget[] = [];
  const w: number[] = [];
  const used = new Set<string>();
  for (const a of ARKIT_NAMES) {
    const parts = FROM_ICT[a]?.map((p) => byName.get(p));
    if (!parts || parts.some((p) => !p)) {
      out.push({ name: a, indices: new Uint32Array(0), deltas: new Float32Array(0) });
      w.push(0);
      continue;
    }
    for (const p of FROM_ICT[a]) used.add(p);
    out.push(parts.length === 1 ? { ...parts[0]!.t, name: a } : { name: a, ...sumTargets(parts.map((p) => p!.t)) });
    w.push(parts.reduce((s, p) => s + p!.w, 0) / parts.length);
  }
  for (const [name, { t, w: wt }] of byName) {
    if (used.has(name)) continue;
    out.push(t);
    w.push(wt);
  }
  return { targets: out, weights: Float32Array.from(w) };
}

function sumTargets(ts: GlbMorphTarget[]): Pick<GlbMorphTarget, 'indices' | 'deltas'> {
  const acc = new Map<number, [number, number, number]>();
  for (const t of ts) {
    for (let k = 0; k < t.indices.length; k++) {
      const v = acc.get(t.indices[k]) ?? [0, 0, 0];
      v[0] += t.deltas[3 * k];
      v[1] += t.deltas[3 * k + 1];
      v[2] += t.deltas[3 * k + 2];
      acc.set(t.indices[k], v);
    }
  }
  const idx = [...acc.keys()].sort((a, b) => a - b);
  return { indices: Uint32Array.from(idx), deltas: Float32Array.from(idx.flatMap((i) => acc.get(i)!)) };
}
