/**
 * A face cut by the photo's border. MediaPipe's mesh model extrapolates the points it cannot see, and
 * well (the 468 points of a face with a third of its box cropped away lie 2-3% of the face size from
 * where the whole photo puts them), so the landmarker alone would accept it, the gate would let it
 * through, and the texture would be invented wherever the frame ends: the mirror fill on a cheek, a
 * smear on a chin or a forehead. Measured on the astronaut and 26 shared portraits cropped 5-55% of
 * their landmarks' box from each side in turn (1,056 crops, `.cache` diagnostics, bench/RESULTS.md):
 * up to 10% of the points outside the photo the landmarks sit 1.3% (median) of the face size from
 * the uncropped ones, and a tight selfie that cuts the hairline or the top of the forehead by a fifth
 * of the box puts 4-8% of them outside; past that the cropped side's texture is mostly completion.
 * Such a face is refused as FACE_CUT_OFF, with the hint that fixes it (move the phone back), rather
 * than as a poor or turned face.
 */

/** The largest share of the 468 landmarks that may lie outside the photo. */
export const MAX_SHARE_OUTSIDE_FRAME = 0.1;

/**
 * The share of `count` points (x, y, z triples in image pixels, the pixel grid [0, width) x [0,
 * height), y down) that lie outside the photo. Points that are not finite count as outside.
 */
export function shareOutsideFrame(points: Float32Array | Float64Array, count: number, width: number, height: number): number {
  let outside = 0;
  for (let i = 0; i < count; i++) {
    const x = points[3 * i];
    const y = points[3 * i + 1];
    if (!(x >= 0 && x < width && y >= 0 && y < height)) outside++;
  }
  return count > 0 ? outside / count : 0;
}
