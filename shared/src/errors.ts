/**
 * The one error model of facerecon. Every failure the product can report has a stable code, an HTTP
 * status and a message in English and Chinese. Codes are part of the public contract: never rename
 * one; add new ones instead.
 */

import { UPLOAD_LIMITS, mb } from './limits';

export interface ErrorSpec {
  readonly status: number;
  readonly en: string;
  readonly zh: string;
  /** Optional advice on what to do next, in both languages. */
  readonly hint?: { readonly en: string; readonly zh: string };
}

export const ERROR_SPECS = {
  NO_FACE: {
    status: 422,
    en: 'No face found: upload a photo with one clearly visible face',
    zh: '未检测到人脸，请上传一张清晰可见人脸的照片',
    hint: { en: 'Face the camera in good light, without covering the face.', zh: '请在光线充足处正对镜头，不要遮挡面部。' },
  },
  MULTIPLE_FACES: {
    status: 422,
    en: 'Several faces found: upload a photo of one person',
    zh: '检测到多人，请上传单人照片',
    hint: { en: 'Crop the photo to the person you want to reconstruct.', zh: '请裁剪照片，只保留需要重建的人。' },
  },
  FACE_TOO_SMALL: {
    status: 422,
    en: 'The face is too small in the photo: move closer or crop the photo',
    zh: '照片中的人脸太小，请靠近镜头或裁剪照片',
    hint: { en: 'Move closer, or crop the photo around the face.', zh: '请靠近一些拍摄，或将照片裁剪到面部周围。' },
  },
  FACE_CUT_OFF: {
    status: 422,
    en: 'Part of the face is outside the photo: include the whole face',
    zh: '部分面部超出照片范围，请让整张脸都在画面内',
    hint: { en: 'Hold the phone a little further away, with your face in the middle of the frame.', zh: '请将手机拿远一些，让脸位于画面中央。' },
  },
  LOW_CONFIDENCE: {
    status: 422,
    en: 'The face could not be read reliably: use a sharper, better lit, unobstructed photo',
    zh: '无法可靠识别人脸，请使用更清晰、光线更好且无遮挡的照片',
    hint: { en: 'Use a sharper photo in good light, with nothing covering the face.', zh: '请使用光线充足、清晰且面部无遮挡的照片。' },
  },
  FACE_TURNED_AWAY: {
    status: 422,
    en: 'The face is turned too far from the camera to reconstruct it reliably',
    zh: '人脸偏转角度过大，无法可靠重建',
    hint: { en: 'Turn towards the camera: both eyes should be visible.', zh: '请转向镜头，确保双眼都清晰可见。' },
  },
  LOW_QUALITY: {
    status: 422,
    en: 'The face could not be reconstructed well enough from this photo',
    zh: '无法根据这张照片高质量地重建人脸',
    hint: { en: 'Face the camera in even light, with nothing covering the face.', zh: '请在均匀光线下正对镜头，不要遮挡面部。' },
  },
  LIGHTING_UNAVAILABLE: {
    status: 422,
    en: 'The light on the face could not be estimated from this photo, so the albedo and the shading detail were left out',
    zh: '无法从这张照片估计面部光照，因此未生成反照率和细节贴图',
    hint: { en: 'The rest of the result is complete. For the albedo and detail, use a photo where the face is clearly visible and evenly lit.', zh: '其余结果完整。如需反照率和细节，请使用面部清晰可见、光照均匀的照片。' },
  },
  INVALID_IMAGE: {
    status: 400,
    en: 'The file is not a readable image (it may be truncated or corrupt)',
    zh: '文件不是可读取的图片（可能已损坏或不完整）',
    hint: { en: 'Send the photo file again as the camera saved it; a file cut off in transfer cannot be read.', zh: '请重新发送相机保存的原始照片文件；传输中被截断的文件无法读取。' },
  },
  UNSUPPORTED_FORMAT: {
    status: 415,
    en: 'Unsupported image format: send JPEG, PNG, WebP, HEIC or AVIF',
    zh: '不支持的图片格式，请使用 JPEG、PNG、WebP、HEIC 或 AVIF',
    hint: { en: 'Send the photo as the camera saved it; GIF, BMP and TIFF are not accepted.', zh: '请直接发送相机保存的照片；不支持 GIF、BMP 和 TIFF。' },
  },
  IMAGE_TOO_LARGE: {
    status: 413,
    en: `The image is too large (at most ${mb(UPLOAD_LIMITS.maxBytes)}, ${UPLOAD_LIMITS.maxLongSide} px on the long side and ${UPLOAD_LIMITS.maxPixels / 1e6} megapixels)`,
    zh: `图片过大（最大 ${mb(UPLOAD_LIMITS.maxBytes)}，长边不超过 ${UPLOAD_LIMITS.maxLongSide} 像素，总像素不超过 ${UPLOAD_LIMITS.maxPixels / 1e4} 万）`,
    hint: { en: `Compress the photo to ${mb(UPLOAD_LIMITS.hintBytes)} or less.`, zh: `请将照片压缩到 ${mb(UPLOAD_LIMITS.hintBytes)} 以内。` },
  },
  INVALID_REQUEST: {
    status: 400,
    en: 'The request is malformed',
    zh: '请求格式错误',
  },
  UNAUTHORIZED: {
    status: 401,
    en: 'Missing or invalid API key',
    zh: 'API 密钥缺失或无效',
    hint: { en: 'Send Authorization: Bearer <your API key>.', zh: '请在请求头中发送 Authorization: Bearer <您的 API 密钥>。' },
  },
  HTTPS_REQUIRED: {
    status: 403,
    en: 'This API is served over HTTPS only',
    zh: '此 API 仅支持 HTTPS 访问',
    hint: { en: 'Use the https:// address: an API key must never travel in clear text.', zh: '请使用 https:// 地址：API 密钥不能以明文传输。' },
  },
  /** The gpu-function's internal API: the edge's request signature is missing, stale, replayed or wrong. */
  BAD_SIGNATURE: {
    status: 401,
    en: 'The request is not signed, its signature is invalid, or it was already used',
    zh: '请求未签名、签名无效或已被使用',
  },
  NOT_FOUND: {
    status: 404,
    en: 'Not found',
    zh: '未找到',
  },
  /** A path the API has, under a method it does not have there; `Allow` lists the ones it has. */
  METHOD_NOT_ALLOWED: {
    status: 405,
    en: 'This method is not allowed on this path: the Allow header lists the methods that are',
    zh: '此地址不支持该请求方法，支持的方法见响应头 Allow',
  },
  LINK_EXPIRED: {
    status: 410,
    en: 'This download link has expired: run the reconstruction again',
    zh: '下载链接已过期，请重新生成',
  },
  FORBIDDEN: {
    status: 403,
    en: 'This link is not valid',
    zh: '链接无效',
  },
  KEY_REVOKED: {
    status: 403,
    en: 'This API key has been revoked',
    zh: '此 API 密钥已被吊销',
    hint: { en: 'Ask the account owner for a new API key.', zh: '请向账户所有者申请新的 API 密钥。' },
  },
  RATE_LIMITED: {
    status: 429,
    en: 'Too many requests: slow down and retry after the indicated time',
    zh: '请求过于频繁，请稍后重试',
    hint: { en: 'Wait the seconds Retry-After gives, then retry.', zh: '请等待 Retry-After 指定的秒数后重试。' },
  },
  QUOTA_EXCEEDED: {
    status: 402,
    en: 'The monthly quota of this API key is used up',
    zh: '此 API 密钥的月度额度已用完',
    hint: { en: 'Upgrade the plan or wait for the next month.', zh: '请升级套餐或等待下个月。' },
  },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    en: 'This Idempotency-Key was already used with a different request body',
    zh: '此 Idempotency-Key 已用于不同的请求内容',
    hint: { en: 'Use a new Idempotency-Key for a new photo.', zh: '新照片请使用新的 Idempotency-Key。' },
  },
  IDEMPOTENCY_IN_PROGRESS: {
    status: 409,
    en: 'A request with this Idempotency-Key is still being processed',
    zh: '使用此 Idempotency-Key 的请求仍在处理中',
    hint: { en: 'Retry after the Retry-After seconds with the same Idempotency-Key to get the result.', zh: '请在 Retry-After 指定的秒数后使用相同的 Idempotency-Key 重试以获取结果。' },
  },
  IMAGE_TOO_SMALL: {
    status: 422,
    en: `The image is too small: the short side must be at least ${UPLOAD_LIMITS.minShortSide} pixels`,
    zh: `图片太小，短边至少需要 ${UPLOAD_LIMITS.minShortSide} 像素`,
    hint: { en: `Send the photo as the camera saved it: at least ${UPLOAD_LIMITS.minShortSide} pixels on its short side.`, zh: `请发送相机保存的原始照片：短边至少 ${UPLOAD_LIMITS.minShortSide} 像素。` },
  },
  UPSTREAM_UNAVAILABLE: {
    status: 502,
    en: 'The reconstruction service is unavailable: try again shortly',
    zh: '重建服务暂不可用，请稍后重试',
    hint: { en: 'Retry shortly (after Retry-After, when given) with the same Idempotency-Key: a retry is never billed twice.', zh: '请稍后（如有 Retry-After，则在其指定的秒数后）使用相同的 Idempotency-Key 重试，重试不会重复计费。' },
  },
  MODEL_NOT_INSTALLED: {
    status: 501,
    en: 'The requested face model is not installed on this service',
    zh: '此服务未安装所请求的人脸模型',
    hint: { en: 'Use model=mediapipe (always installed), or ask the operator to install the model.', zh: '请使用 model=mediapipe（始终可用），或联系运营方安装该模型。' },
  },
  MODEL_UNAVAILABLE: {
    status: 503,
    en: 'The face models could not run: try again shortly',
    zh: '人脸模型暂时无法运行，请稍后重试',
    hint: { en: 'Retry shortly (after Retry-After, when given) with the same Idempotency-Key: a retry is never billed twice.', zh: '请稍后（如有 Retry-After，则在其指定的秒数后）使用相同的 Idempotency-Key 重试，重试不会重复计费。' },
  },
  OVERLOADED: {
    status: 503,
    en: 'The service is busy: retry after a short wait',
    zh: '服务繁忙，请稍后重试',
    hint: { en: 'Retry shortly (after Retry-After, when given) with the same Idempotency-Key: a retry is never billed twice.', zh: '请稍后（如有 Retry-After，则在其指定的秒数后）使用相同的 Idempotency-Key 重试，重试不会重复计费。' },
  },
  TIMEOUT: {
    status: 504,
    en: 'Processing took too long and was stopped',
    zh: '处理超时，已停止',
    hint: { en: 'Retry shortly (after Retry-After, when given) with the same Idempotency-Key: a retry is never billed twice.', zh: '请稍后（如有 Retry-After，则在其指定的秒数后）使用相同的 Idempotency-Key 重试，重试不会重复计费。' },
  },
  STORAGE_UNAVAILABLE: {
    status: 503,
    en: 'Result storage is unavailable: try again shortly',
    zh: '结果存储暂不可用，请稍后重试',
    hint: { en: 'Retry shortly (after Retry-After, when given) with the same Idempotency-Key: a retry is never billed twice.', zh: '请稍后（如有 Retry-After，则在其指定的秒数后）使用相同的 Idempotency-Key 重试，重试不会重复计费。' },
  },
  CANCELED: {
    status: 409,
    en: 'The reconstruction was canceled before it finished',
    zh: '重建在完成前已被取消',
  },
  INTERNAL: {
    status: 500,
    en: 'Internal error',
    zh: '内部错误',
    hint: { en: 'Retry with the same Idempotency-Key; if it persists, contact support with the request_id.', zh: '请使用相同的 Idempotency-Key 重试；若问题持续，请携带 request_id 联系支持。' },
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_SPECS;
export type Lang = 'en' | 'zh';

export const ERROR_CODES = Object.keys(ERROR_SPECS) as ErrorCode[];

/** A failure the product reports to its callers; carries only the code and safe detail, never a stack. */
export class FaceReconError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Internal detail for logs; never shown to callers. */
  readonly detail?: string;

  constructor(code: ErrorCode, options: { detail?: string; cause?: unknown } = {}) {
    super(ERROR_SPECS[code].en, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'FaceReconError';
    this.code = code;
    this.status = ERROR_SPECS[code].status;
    this.detail = options.detail;
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string; message_zh: string; request_id?: string; hint?: string };
}

/** IMAGE_TOO_LARGE's hint when the picture's size, not its bytes, is over (a small PNG of 9000 x 9000 px). */
export const IMAGE_TOO_LARGE_PIXELS_HINT = {
  en: `Resize the photo to at most ${UPLOAD_LIMITS.maxLongSide} px on its long side and ${UPLOAD_LIMITS.maxPixels / 1e6} megapixels.`,
  zh: `请将照片缩小到长边不超过 ${UPLOAD_LIMITS.maxLongSide} 像素、总像素不超过 ${UPLOAD_LIMITS.maxPixels / 1e4} 万。`,
} as const;

/** The one response shape for every failure; `lang` picks which language `hint` is in. */
export function toErrorBody(code: ErrorCode, opts: { requestId?: string; lang?: Lang } = {}): ErrorBody {
  const spec: ErrorSpec = ERROR_SPECS[code];
  const lang = opts.lang ?? 'en';
  return {
    error: {
      code,
      message: lang === 'zh' ? spec.zh : spec.en,
      message_zh: spec.zh,
      ...(opts.requestId ? { request_id: opts.requestId } : {}),
      ...(spec.hint ? { hint: spec.hint[lang] } : {}),
    },
  };
}
