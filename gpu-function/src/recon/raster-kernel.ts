/**
 * The one triangle-rasterisation rule of the project, shared by the texel maps (UV space), the bake's
 * depth buffer (photo space) and the preview renderer (screen space): a pixel is sampled at its centre
 * (x + 0.5, y + 0.5); its barycentrics (l1, l2 for the second and third corner, l0 = 1 - l1 - l2) come
 * from the edge functions divided by the signed area; it is inside when all three are >= -EDGE_TOLERANCE.
 *
 * EDGE_TOLERANCE is a fraction of the triangle (barycentric units): 1e-5 lets a sample that lies on an
 * edge shared by two triangles land in at least one of them whatever the floating-point rounding (no
 * cracks), while growing a 100-pixel triangle by a thousandth of a pixel. Callers decide what to do
 * with overlap: the texel map keeps the first triangle, the z-buffers the nearest.
 */
export const EDGE_TOLERANCE = 1e-5;

export interface TriangleRaster {
  /** Inclusive pixel bounds, clamped to the target. */
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** 1 / signed area (twice the triangle's area, in pixels^2). */
  inv: number;
  /** dl1/dx and dl2/dx: the barycentrics step by these along a row. */
  d1x: number;
  d2x: number;
}

/**
 * Setup for triangle (a, b, c) in pixel coordinates over a width x height target; undefined when it is
 * degenerate (|area| < minArea) or entirely outside. The barycentrics at pixel (x, y) are
 * l1 = ((x + 0.5 - ax)(cy - ay) - (y + 0.5 - ay)(cx - ax)) * inv, l2 = ((bx - ax)(y + 0.5 - ay) - (by - ay)(x + 0.5 - ax)) * inv.
 */
export function setupTriangle(ax: number, ay: number, bx: number, by: number, cx: number, cy: number, width: number, height: number, minArea = 1e-12): TriangleRaster | undefined {
  const area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  if (!(Math.abs(area) >= minArea)) return undefined;
  const x0 = Math.max(0, Math.floor(Math.min(ax, bx, cx)));
  const x1 = Math.min(width - 1, Math.ceil(Math.max(ax, bx, cx)));
  const y0 = Math.max(0, Math.floor(Math.min(ay, by, cy)));
  const y1 = Math.min(height - 1, Math.ceil(Math.max(ay, by, cy)));
  if (x0 > x1 || y0 > y1) return undefined;
  const inv = 1 / area;
  return { x0, x1, y0, y1, inv, d1x: (cy - ay) * inv, d2x: -(by - ay) * inv };
}
