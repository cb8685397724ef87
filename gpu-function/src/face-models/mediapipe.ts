/**
 * The default face model: MediaPipe's 468-point canonical face (Apache-2.0, from @mediapipe/face_mesh).
 * The photo's landmarks, lifted to metric head-frame millimetres (reconstructFaceGeometry), are the
 * mesh's vertices; two levels of Loop subdivision smooth it to 7257 vertices. One UV tile, MediaPipe's
 * own face chart, which is left/right symmetric (u -> 1 - u, within 1.2e-3 of a texel pair at 1024), so the side a turned head
 * hides is completed from the side it shows.
 */
import type { RgbImage } from '@facerecon/shared';
import type { FaceLandmarks } from '../face/landmarker';
import { loadCanonicalFace, type CanonicalFace } from '../recon/canonical';
import { landmarkReprojectionErrorPx, reconstructFaceGeometry } from '../recon/face-geometry';
import { computeVertexNormals, planLoopSubdivision, type LoopPlan } from '../recon/subdivide';
import { decideBakeMode, type FaceModel, type FittedHead, type UvLayout, type UvSize } from '../core/face-model';

export interface MediaPipeFaceModel extends FaceModel {
  readonly canonical: CanonicalFace;
}

/** `levels`: Loop subdivision levels (default 2: 468 -> 7257 vertices). Throws if the canonical face is missing. */
export function createMediaPipeFaceModel(opts: { canonicalPath?: string; levels?: number } = {}): MediaPipeFaceModel {
  const canonical = loadCanonicalFace(opts.canonicalPath);
  const levels = opts.levels ?? 2;
  const plans: LoopPlan[] = [];
  let topo = { uvs: canonical.uvs, indices: canonical.triangles, count: canonical.positions.length / 3 };
  for (let l = 0; l < levels; l++) {
    const plan = planLoopSubdivision(topo.indices, topo.uvs, topo.count);
    plans.push(plan);
    topo = { uvs: plan.uvs, indices: plan.indices, count: plan.vertexCount };
  }
  const layout: UvLayout = {
    tiles: [{ index: 0, asset: 'texture', sizeFor: (s: UvSize) => s, mirrorU: true, toneFill: false }],
    uvs: topo.uvs,
    indices: topo.indices,
    // The grid shows the base topology's edges (898 triangles), not the subdivided ones.
    wire: { uvs: canonical.uvs, indices: canonical.triangles },
  };
  const baseVertices = canonical.positions.length / 3;

  return {
    name: 'mediapipe',
    canonical,
    layout,
    fit(_photo: RgbImage, face: FaceLandmarks, fopts): FittedHead {
      let t0 = performance.now();
      const geometry = reconstructFaceGeometry(face.points, canonical);
      const mode = decideBakeMode(face, geometry, fopts.uvSize);
      const fit = performance.now() - t0;
      t0 = performance.now();
      let positions: Float32Array = Float32Array.from(geometry.points.subarray(0, baseVertices * 3));
      for (const plan of plans) positions = plan.apply(positions);
      const mesh = { positions, uvs: topo.uvs, indices: topo.indices, normals: computeVertexNormals(positions, topo.indices) };
      // Loop subdivision approximates: it moves the 468 landmark vertices (by ~1 mm, 3 mm at most, on
      // the lips and lids), so the delivered mesh's error is measured on its own vertices 0-467, not
      // taken from the landmark points (which reported 0 for a mesh that is not exactly on them).
      const meshReprojectionErrorPx = landmarkReprojectionErrorPx(geometry.camera, positions, face.points);
      return { model: 'mediapipe', geometry, mesh, mode, meshReprojectionErrorPx, timings: { fit, mesh: performance.now() - t0 } };
    },
    exportDescription(head) {
      return { obj: head.mesh, glb: head.mesh, materials: [{ name: 'face', tile: 0, doubleSided: true }], name: 'face' };
    },
    meshNote(head) {
      return { vertices: head.mesh.positions.length / 3, triangles: head.mesh.indices.length / 3, subdivision: `Loop, ${levels} levels, from MediaPipe canonical topology (${baseVertices} vertices, ${canonical.triangles.length / 3} triangles)` };
    },
  };
}
