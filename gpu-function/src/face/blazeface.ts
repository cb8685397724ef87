/**
 * BlazeFace decoding: anchors, box/keypoint regression, weighted non-maximum suppression.
 *
 * Method: Bazarevsky et al., "BlazeFace: Sub-millisecond Neural Face Detection on Mobile GPUs" (2019),
 * and MediaPipe's SsdAnchorsCalculator / TensorsToDetectionsCalculator / NonMaxSuppressionCalculator
 * (weighted mode) configured as in face_detection_full_range/back: 256x256 input, strides 16 and 32,
 * 2 and 6 anchors per cell, fixed anchor size 1 (so regressions are absolute pixel sizes).
 *
 * Frame: detector input pixels, x right, y down, origin at the input's top-left corner.
 * Keypoints, in the order the model emits them: 0 eye that appears on the image's left (the subject's
 * right eye), 1 the other eye, 2 nose tip, 3 mouth centre, 4 and 5 the two ear tragions.
 */

export interface RawDetection {
  /** Box in detector-input pixels (x, y = top-left). */
  x: number;
  y: number;
  width: number;
  height: number;
  /** Probability in [0, 1] after the sigmoid. */
  score: number;
  /** 6 keypoints as [x0, y0, x1, y1, ...] in detector-input pixels. */
  keypoints: Float32Array;
}

export interface AnchorLayer {
  stride: number;
  anchorsPerCell: number;
}

export const BLAZEFACE_INPUT_SIZE = 256;
export const BLAZEFACE_LAYERS: readonly AnchorLayer[] = [
  { stride: 16, anchorsPerCell: 2 },
  { stride: 32, anchorsPerCell: 6 },
];

/** Anchor centres [x0, y0, x1, y1, ...] in input pixels, in the order the model's outputs use (row, column, anchor). */
export function generateSsdAnchors(inputSize = BLAZEFACE_INPUT_SIZE, layers = BLAZEFACE_LAYERS): Float32Array {
  let count = 0;
  for (const l of layers) count += (inputSize / l.stride) ** 2 * l.anchorsPerCell;
  const out = new Float32Array(count * 2);
  let i = 0;
  for (const l of layers) {
    const cells = inputSize / l.stride;
    for (let y = 0; y < cells; y++) {
      for (let x = 0; x < cells; x++) {
        for (let a = 0; a < l.anchorsPerCell; a++) {
          out[i++] = (x + 0.5) * l.stride;
          out[i++] = (y + 0.5) * l.stride;
        }
      }
    }
  }
  return out;
}

export interface DecodeOptions {
  /** Minimum probability kept before suppression. MediaPipe uses 0.5 for its face detectors. */
  minScore?: number;
  /** Logits are clipped to this magnitude before the sigmoid, as MediaPipe's score_clipping_thresh. */
  scoreClip?: number;
}

/**
 * Decodes raw outputs. `scores` are logits (one per anchor) and `boxes` 16 regressors per anchor:
 * centre offset (dx, dy) from the anchor, size (w, h), and 6 keypoint offsets, all in input pixels.
 * Both arrays concatenate the layers in BLAZEFACE_LAYERS order.
 */
export function decodeBlazeFace(scores: Float32Array, boxes: Float32Array, anchors: Float32Array, options: DecodeOptions = {}): RawDetection[] {
  const n = anchors.length / 2;
  if (scores.length !== n || boxes.length !== n * 16) {
    throw new RangeError(`blazeface outputs do not match ${n} anchors (scores ${scores.length}, boxes ${boxes.length})`);
  }
  const minScore = options.minScore ?? 0.5;
  const clip = options.scoreClip ?? 100;
  const out: RawDetection[] = [];
  for (let i = 0; i < n; i++) {
    const logit = Math.max(-clip, Math.min(clip, scores[i]));
    const score = 1 / (1 + Math.exp(-logit));
    if (score < minScore) continue;
    const ax = anchors[2 * i];
    const ay = anchors[2 * i + 1];
    const r = i * 16;
    const cx = ax + boxes[r];
    const cy = ay + boxes[r + 1];
    const w = boxes[r + 2];
    const h = boxes[r + 3];
    if (!(w > 0 && h > 0)) continue;
    const kp = new Float32Array(12);
    for (let k = 0; k < 6; k++) {
      kp[2 * k] = ax + boxes[r + 4 + 2 * k];
      kp[2 * k + 1] = ay + boxes[r + 5 + 2 * k];
    }
    out.push({ x: cx - w / 2, y: cy - h / 2, width: w, height: h, score, keypoints: kp });
  }
  return out;
}

export function intersectionOverUnion(a: RawDetection, b: RawDetection): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Weighted NMS (MediaPipe's WEIGHTED algorithm): detections overlapping the best remaining one by more
 * than `iouThreshold` are merged into it, box and keypoints averaged with score weights; the merged
 * detection keeps the best score. Averaging many overlapping anchors is what makes BlazeFace boxes
 * stable, which plain NMS would throw away.
 */
export function weightedNonMaxSuppression(detections: readonly RawDetection[], iouThreshold = 0.3): RawDetection[] {
  const remaining = [...detections].sort((a, b) => b.score - a.score);
  const out: RawDetection[] = [];
  while (remaining.length > 0) {
    const best = remaining[0];
    const group: RawDetection[] = [];
    const rest: RawDetection[] = [];
    for (const d of remaining) (intersectionOverUnion(best, d) > iouThreshold || d === best ? group : rest).push(d);
    let wsum = 0;
    let x = 0, y = 0, w = 0, h = 0;
    const kp = new Float32Array(12);
    for (const d of group) {
      wsum += d.score;
      x += d.x * d.score;
      y += d.y * d.score;
      w += d.width * d.score;
      h += d.height * d.score;
      for (let k = 0; k < 12; k++) kp[k] += d.keypoints[k] * d.score;
    }
    for (let k = 0; k < 12; k++) kp[k] /= wsum;
    out.push({ x: x / wsum, y: y / wsum, width: w / wsum, height: h / wsum, score: best.score, keypoints: kp });
    remaining.length = 0;
    remaining.push(...rest);
  }
  return out;
}
