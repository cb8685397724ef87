/**
 * What the full-head path hands to the OBJ and GLB writers: the head's material groups (face and
 * back-of-head textures, flat-coloured eyes, teeth and gums), tile-local UVs, and the model's ARKit
 * blendshapes as morph targets in the head frame.
 */
import type { TriMesh } from '@facerecon/shared';
import type { GlbMaterial, GlbMorphTarget } from '../recon/export-glb';
import type { ObjMaterial } from '../recon/export-obj';
import type { MorphResult } from './reconstruct-morph';

export interface MorphExportNames {
  texture: string;
  textureHead: string;
}

/** Material per head group, in the topology's group order. */
export function headMaterials(morph: MorphResult, names: MorphExportNames): Array<ObjMaterial & GlbMaterial & { group: string }> {
  return morph.topology.groups.map((g) => {
    if (g.name === 'face') return { group: g.name, name: 'face', texture: names.texture };
    if (g.name === 'head') return { group: g.name, name: 'head', texture: names.textureHead };
    return { group: g.name, name: g.name, color: morph.palette[g.name] };
  });
}

/** The exported mesh with the fitted expression (OBJ) or neutral (GLB base), tile-local UVs. */
export function headMesh(morph: MorphResult, mesh: TriMesh & { normals: Float32Array }, neutral: boolean): TriMesh & { normals: Float32Array } {
  return {
    positions: neutral ? morph.neutralPositions : mesh.positions,
    normals: neutral ? morph.neutralNormals : mesh.normals,
    uvs: morph.topology.localUvs,
    indices: mesh.indices,
  };
}

/**
 * One morph target per expression of the pack: the blendshape's offsets at the exported vertices,
 * rotated and scaled into the head frame (mm). ICT's blendshapes are exactly zero where they do not
 * act, so each target stores only the vertices it moves.
 */
export function expressionTargets(morph: MorphResult): GlbMorphTarget[] {
  const { pack, topology, rotation: R, scale: s } = morph;
  const n = pack.manifest.vertexCount;
  const nr = topology.renderToUsed.length;
  return morph.expressionNames.map((name, j) => {
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

/** ARKit name -> weight, rounded for JSON. */
export function expressionWeights(morph: MorphResult): Record<string, number> {
  return Object.fromEntries(morph.expressionNames.map((n, i) => [n, Math.round(morph.expression[i] * 1e4) / 1e4]));
}
