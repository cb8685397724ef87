/** The JSON form of a landmark result: plain numbers, rounded to what the models can resolve. */
import type { RgbImage } from '@facerecon/shared';
import type { LandmarkResult } from './landmarker';
import type { ImageDetection } from './roi';

const r2 = (x: number) => Math.round(x * 100) / 100;

export interface LandmarkJson {
  image: { width: number; height: number };
  ok: boolean;
  error?: { code: string; detail: string };
  faces: Array<{ box: [number, number, number, number]; score: number; keypoints: Array<[number, number]> }>;
  face?: {
    presence: number;
    pass: number;
    roi: { cx: number; cy: number; size: number; angle_deg: number };
    refined_eyes: { right: boolean; left: boolean };
    /** 478 x [x, y, z] in photo pixels. */
    points: Array<[number, number, number]>;
  };
}

function detectionJson(d: ImageDetection) {
  return {
    box: [r2(d.box.x), r2(d.box.y), r2(d.box.width), r2(d.box.height)] as [number, number, number, number],
    score: Math.round(d.score * 1e4) / 1e4,
    keypoints: d.keypoints.map(([x, y]) => [r2(x), r2(y)] as [number, number]),
  };
}

export function landmarkResultToJson(image: RgbImage, result: LandmarkResult): LandmarkJson {
  const base = { image: { width: image.width, height: image.height }, ok: result.ok, faces: result.faces.map(detectionJson) };
  if (!result.ok) return { ...base, error: { code: result.code, detail: result.detail } };
  const f = result.face;
  const points: Array<[number, number, number]> = [];
  for (let i = 0; i < f.points.length / 3; i++) points.push([r2(f.points[3 * i]), r2(f.points[3 * i + 1]), r2(f.points[3 * i + 2])]);
  return {
    ...base,
    face: {
      presence: Math.round(f.presence * 1e4) / 1e4,
      pass: f.pass,
      roi: { cx: r2(f.roi.cx), cy: r2(f.roi.cy), size: r2(f.roi.size), angle_deg: r2((f.roi.angle * 180) / Math.PI) },
      refined_eyes: f.refinedEyes,
      points,
    },
  };
}
