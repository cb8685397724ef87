/** Neutral mesh type shared by the pipeline stages and exporters: indexed triangles, one UV per vertex. */
export interface TriMesh {
  /** n x (x, y, z). */
  readonly positions: Float32Array;
  /** n x (u, v); v grows downwards (image rows), as in the texture PNG. */
  readonly uvs: Float32Array;
  /** m x 3 vertex indices, counter-clockwise seen from outside the surface. */
  readonly indices: Uint32Array;
  /** n x (nx, ny, nz), unit length, when computed. */
  readonly normals?: Float32Array;
}
