/**
 * The morphable model's expression blendshapes as GLB morph targets (named by arkit.ts).
 */
import type { GlbMorphTarget } from '../recon/export-glb';
import type { Mat3 } from '../recon/linalg';
import type { HeadTopology } from './head-topology';
import type { MorphableModel } from './model-pack';

/**
 * One morph target per expression of the pack: the blendshape's offsets at the exported vertices,
 * rotated and scaled into the head frame (mm). ICT's blendshapes are exactly zero where they do not
 * act, so each target stores only the vertices it moves.
 */
export function expressionTargets(opts: { pack: MorphableModel; topology: HeadTopology; expressionNames: string[]; rotation: Mat3; scale: number }): GlbMorphTarget[] {
  const { pack, topology, rotation: R, scale: s } = opts;
  const n = pack.manifest.vertexCount;
  const nr = topology.renderToUsed.length;
  return opts.expressionNames.map((name, j) => {
    const idx: number[] = [];
    const d: number[] = [];
    const base = j * n * 3;
    for (let r = 0; r < nr; r++) {
      const v = topology.usedVertices[topology.renderToUsed[r]];
      const x = pack.expression[base + 3 * v], y = pack.expression[base + 3 * v + 1], z = pack.expression[base + 3 * v + 2];
      if (x === 0 && y === 0 && z === 0) continue;
      idx.push(r);
      d.push(s * (R[0] * x + R[1] * y + R[2] * z), s * (R[3] * x + R[4] * y + R[5] * z), s * (R[6] * x + R[7] * y + R[8] * z));
    }
    return { name, indices: Uint32Array.from(idx), deltas: Float32Array.from(d) };
  });
}
