/**
 * The only file that imports sharp. Decodes uploads into the neutral RgbImage (EXIF orientation applied,
 * alpha dropped, sRGB) and encodes RGB buffers as PNG. Decoder failures become FaceReconError codes so
 * that no sharp/libvips message ever reaches a caller.
 */
import sharp from 'sharp';
import { FaceReconError, UPLOAD_LIMITS, createRgbImage, type RgbImage } from '@facerecon/shared';
import { displayedRect, filledRects, previewDisagreement, previewFits, previewInStoredFrame, rgbaToRgb, stretchPreview, tilesCovering, type NormRect, type PixelRect } from '../image/heif-focus';
import { assembleHeifGrid, planHeifGrid, THUMBNAIL_MAX_PIXELS, type DecodedTile, type HeifGridPlan } from '../image/heif-grid';
import { exifSharpOps, jpegCellPlan, storedExtract } from '../image/jpeg-focus';
import { countJpegScans, MAX_JPEG_SCANS } from '../image/jpeg-scans';
import { stripPngText } from '../image/png-chunks';
import { createHeicPool, type HeicPool } from './heic-pool';
import { srgbTablesFor } from '../image/icc-srgb';
import type { SrgbTables } from '../image/icc-apply.mjs';

// One request must not hog every core of the host; the pool above us gives the parallelism.
sharp.concurrency(1);
sharp.cache(false);

export interface DecodeOptions {
  /** Refuse images with more pixels than this before decoding them (decompression bombs). */
  maxPixels?: number;
  /** The request's deadline or hang-up: a HEIC's tiles not yet decoding are dropped (heic-pool.ts). */
  signal?: AbortSignal;
  /**
   * Where the picture matters, asked of a cheap preview when the file has one (a grid HEIC's
   * thumbnail, or a large turned JPEG (jpegFocusPays) decoded at 1/8 scale; upright): the
   * regions (normalised, displayed frame) to decode at full resolution, or undefined for the whole
   * picture. The rest is painted from the preview (heif-focus.ts, jpeg-focus.ts).
   */
  focus?: (preview: RgbImage) => Promise<NormRect[] | undefined>;
}

export interface DecodedImage {
  image: RgbImage;
  /** Format sharp detected from the bytes (jpeg, png, webp, ...). */
  format: string;
  /** EXIF orientation tag found in the file (1 = none); the returned pixels are already upright. */
  orientation: number;
  /**
   * Set when `focus` was taken: the pixel rectangles painted from the preview rather than decoded
   * (empty when every tile was decoded after all), and how many of the grid's tiles (a JPEG's
   * virtual cells, jpeg-focus.ts) were decoded.
   */
  focused?: { filled: PixelRect[]; tilesDecoded: number; tiles: number };
}

const SUPPORTED = new Set(['jpeg', 'png', 'webp', 'heif']);
type SharpMetadata = Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;

/**
 * HEIC (HEVC in HEIF, what iPhones save) is decoded by libheif + libde265 compiled to wasm
 * (libheif-js, LGPL-3.0, the copy heic-decode (ISC) installs; heic-worker.mjs): sharp's prebuilt libvips reads HEIF metadata and AV1
 * (AVIF) but carries no HEVC decoder. The decodes run on a pool of threads (heic-pool.ts); a
 * grid-tiled photo (every iPhone photo) is cut into its tiles, which decode in parallel and are put
 * back together with the grid's irot/imir here (heif-grid.ts); any other HEIC goes whole to one
 * thread, where libheif applies its transforms itself.
 */
let pool: HeicPool | undefined;
/**
 * Called at service start-up so that the first iPhone photo does not pay for starting the threads, and
 * so that a decoder that cannot start fails start-up rather than that photo.
 */
export function warmHeicDecoders(): Promise<void> {
  return (pool ??= createHeicPool()).warm();
}
async function decodeHeic(bytes: Uint8Array, plan: HeifGridPlan | undefined, size: { width: number; height: number }, maxPixels: number, signal?: AbortSignal, focus?: DecodeOptions['focus'], colour?: SrgbTables): Promise<Pick<DecodedImage, 'image' | 'focused'>> {
  const decoders = (pool ??= createHeicPool());
  if (plan) {
    const expect = { width: plan.tileWidth, height: plan.tileHeight };
    const plannedFocus = plan.thumbnail && focus ? await focusTiles(decoders, plan, focus, signal, colour) : undefined;
    if (!plannedFocus) return { image: assembleHeifGrid(plan, await decoders.decode(plan.tiles, { expect, signal, colour })) };
    const { need, preview } = plannedFocus;
    const tiles: Array<DecodedTile | undefined> = new Array(plan.tiles.length);
    /** The tiles whose `want` is true, decoded into their slots. */
    const decodeWhere = async (want: (needed: boolean) => boolean) => {
      const at = need.flatMap((n, i) => (want(n) ? [i] : []));
      (await decoders.decode(at.map((i) => plan.tiles[i]), { expect, signal, colour })).forEach((t, k) => (tiles[at[k]] = t));
    };
    await decodeWhere((n) => n);
    let decoded = need;
    if (previewDisagreement(plan, tiles, preview) > MAX_PREVIEW_DISAGREEMENT) {
      // Not a preview of this picture as displayed: decode the rest rather than paint from it.
      await decodeWhere((n) => !n);
      decoded = need.map(() => true);
    }
    const tilesDecoded = decoded.filter(Boolean).length;
    const canvas = decoded.every(Boolean) ? undefined : stretchPreview(preview, plan.width, plan.height);
    return { image: assembleHeifGrid(plan, tiles, canvas), focused: { filled: filledRects(plan, decoded), tilesDecoded, tiles: plan.tiles.length } };
  }
  // The whole file: its primary image must be the picture sharp's libheif measured for the upload
  // limits (a file of two images once decoded the other one); the thread refuses another size before
  // decoding a pixel (heic-worker.mjs), and returns that size.
  const [whole] = await decoders.decode([bytes], { expect: { ...size, maxPixels }, signal, colour });
  return { image: rgbaToRgb(whole) };
}

/**
 * A thumbnail's preview differs from the mean of the tile pixels it stands for by 1-4 levels on the
 * fixtures' HEICs (its own scaling and compression); turned half round or of another picture, by
 * 30 and more.
 */
const MAX_PREVIEW_DISAGREEMENT = 12;

/** The thumbnail decoded and asked where to look; undefined (decode everything) when it cannot help. */
async function focusTiles(decoders: HeicPool, plan: HeifGridPlan, focus: NonNullable<DecodeOptions['focus']>, signal?: AbortSignal, colour?: SrgbTables): Promise<{ need: boolean[]; preview: RgbImage } | undefined> {
  let thumb: DecodedTile;
  try {
    // The thumbnail in its own profile when it has one (an encoder may store it in sRGB beside a P3
    // picture), else in its picture's: the painted parts and the preview check then compare like with like.
    const own = (await sharp(plan.thumbnail!.file).metadata()).icc;
    const thumbColour = own ? srgbTablesFor(new Uint8Array(own)) : colour;
    [thumb] = await decoders.decode([plan.thumbnail!.file], { expect: { maxPixels: THUMBNAIL_MAX_PIXELS }, signal, colour: thumbColour });
  } catch (err) {
    if (signal?.aborted) throw err;
    return undefined; // a thumbnail that does not decode costs nothing but the shortcut
  }
  if (!previewFits(plan, thumb)) return undefined;
  const upright = rgbaToRgb(thumb);
  let regions: NormRect[] | undefined;
  try {
    regions = await focus(upright);
  } catch (err) {
    // The shortcut's own failure (the detector on the thumbnail) must not fail a good photo as INVALID_IMAGE.
    if (signal?.aborted) throw err;
    return undefined;
  }
  if (!regions?.length) return undefined;
  const need = tilesCovering(plan, regions);
  if (need.every(Boolean)) return undefined;
  return { need, preview: previewInStoredFrame(upright, plan.transforms) };
}

/**
 * JPEGs from this many pixels up whose EXIF orientation turns or mirrors them (a phone held upright
 * writes 6) are decoded around the face when the caller asks (`focus`). Turning the whole picture is a
 * second pass over it (12 MP: ~240 ms to decode here, ~430 ms decoded and turned), which the focus
 * avoids; an upright JPEG decodes in one streaming pass that costs about what painting the canvas
 * does on this machine (decode + landmarks, 12 / 24 / 48 MP: upright 349 / 659 / 1565 ms whole against
 * 376 / 603 / 1535 focused; orientation 6: 598 / 1596 / 2322 against 467 / 925 / 1958), so it is
 * decoded whole, as are smaller photos: cheap, and exact.
 */
export const JPEG_FOCUS_MIN_PIXELS = 8_000_000;
/**
 * Whether a JPEG is decoded around the face. Not a progressive one: libjpeg holds every scan of it
 * before it gives a row, so each part cut from it would cost a whole decode on top of the preview's.
 */
export const jpegFocusPays = (width: number, height: number, orientation: number, progressive = false) =>
  width * height >= JPEG_FOCUS_MIN_PIXELS && orientation >= 2 && orientation <= 8 && !progressive;
/**
 * The JPEG preview's long side: at most 512 px, and small enough that libjpeg decodes at 1/8 (libvips
 * asks libjpeg for 1/8 only when the shrink is 9 or more; 12 MP at 512 got 1/4, ~39 ms against ~31).
 */
const jpegPreviewSide = (width: number, height: number) => Math.min(512, Math.floor(Math.max(width, height) / 9));

/**
 * What an aborted decode throws: the signal's reason (the queue's TIMEOUT or OVERLOADED), so a deadline,
 * a hang-up or a shutdown is never INVALID_IMAGE; a reason that is no Error (a server's string) is TIMEOUT.
 */
const abortReason = (signal: AbortSignal, err?: unknown) => (signal.reason instanceof Error ? signal.reason : new FaceReconError('TIMEOUT', { detail: 'decode aborted', cause: err }));

/** sharp's output as the neutral RGB image (sRGB, no alpha). */
async function rgbOf(p: ReturnType<typeof sharp>): Promise<RgbImage> {
  const { data, info } = await p.toColourspace('srgb').removeAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded ${info.channels} channels`);
  return createRgbImage(info.width, info.height, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/**
 * A large JPEG decoded around the faces `focus` finds on its 1/8-scale preview (jpeg-focus.ts), the
 * cells under them cut as one rectangle; undefined
 * (decode it whole) when the preview cannot be had, finds no face, or the faces' crops need every cell.
 * The parts are cut from the stored picture and turned by the EXIF orientation on their own (sharp:
 * flip/flop, then rotate), bit-equal to the same pixels of the whole decode turned; the canvas they are
 * copied onto is the upright preview stretched, so the picture itself is never turned whole.
 */
async function decodeJpegFocused(bytes: Uint8Array, meta: SharpMetadata, maxPixels: number, focus: NonNullable<DecodeOptions['focus']>, signal?: AbortSignal): Promise<Pick<DecodedImage, 'image' | 'focused'> | undefined> {
  const input = () => sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' });
  const plan = jpegCellPlan(meta.width ?? 0, meta.height ?? 0, meta.orientation ?? 1);
  let preview: RgbImage;
  let regions: NormRect[] | undefined;
  try {
    // libjpeg scales by 1/8 while decoding (shrink-on-load); every scan is still read, so a damaged
    // file fails here as it would whole.
    const side = jpegPreviewSide(plan.width, plan.height);
    preview = await rgbOf(input().rotate().resize(side, side, { fit: 'inside', fastShrinkOnLoad: true }));
    regions = await focus(preview);
  } catch (err) {
    if (signal?.aborted) throw abortReason(signal, err);
    return undefined; // the whole decode says whether the file is bad; the detector's failure costs only the shortcut
  }
  if (!regions?.length) return undefined;
  const part = storedExtract(plan, regions);
  if (!part || part.cells.every(Boolean)) return undefined;
  if (signal?.aborted) throw abortReason(signal);
  const displayed = displayedRect(plan, { x0: 0, y0: 0, x1: plan.width, y1: plan.height });
  const image = stretchPreview(preview, displayed.x1, displayed.y1);
  const { rect } = part;
  const turn = exifSharpOps(meta.orientation ?? 1);
  let p = input().extract({ left: rect.x0, top: rect.y0, width: rect.x1 - rect.x0, height: rect.y1 - rect.y0 });
  if (turn.flop) p = p.flop();
  if (turn.flip) p = p.flip();
  if (turn.angle) p = p.rotate(turn.angle);
  const piece = await rgbOf(p);
  const at = displayedRect(plan, rect);
  if (piece.width !== at.x1 - at.x0 || piece.height !== at.y1 - at.y0) throw new Error(`a ${piece.width}x${piece.height} part for ${at.x1 - at.x0}x${at.y1 - at.y0}`);
  for (let y = 0; y < piece.height; y++) image.data.set(piece.data.subarray(y * piece.width * 3, (y + 1) * piece.width * 3), ((at.y0 + y) * image.width + at.x0) * 3);
  return { image, focused: { filled: filledRects(plan, part.cells), tilesDecoded: part.cells.filter(Boolean).length, tiles: part.cells.length } };
}

export async function decodeImage(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodedImage> {
  const maxPixels = options.maxPixels ?? UPLOAD_LIMITS.maxPixels;
  // Before libvips sees it: libpng would inflate every compressed text chunk (png-chunks.ts).
  bytes = stripPngText(bytes);
  let meta: SharpMetadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: maxPixels }).metadata();
  } catch (err) {
    throw new FaceReconError('INVALID_IMAGE', { detail: `metadata: ${(err as Error).message}`, cause: err });
  }
  if (!meta.format || !SUPPORTED.has(meta.format)) {
    throw new FaceReconError('UNSUPPORTED_FORMAT', { detail: `format ${meta.format ?? 'unknown'}` });
  }
  if ((meta.width ?? 0) * (meta.height ?? 0) > maxPixels) {
    throw new FaceReconError('IMAGE_TOO_LARGE', { detail: `${meta.width}x${meta.height}` });
  }
  // What sharp's metadata does not bound: a HEIF grid decodes its tiles, however many and however large
  // (heif-grid.ts checks them against the picture for AV1 grids too), and a JPEG decodes every scan.
  let plan: HeifGridPlan | undefined;
  try {
    if (meta.format === 'heif') plan = planHeifGrid(bytes, { maxPixels });
  } catch (err) {
    throw new FaceReconError('INVALID_IMAGE', { detail: `heif: ${(err as Error).message}`, cause: err });
  }
  if (meta.format === 'jpeg' && countJpegScans(bytes) > MAX_JPEG_SCANS) {
    throw new FaceReconError('INVALID_IMAGE', { detail: `jpeg with more than ${MAX_JPEG_SCANS} scans` });
  }
  if (meta.format === 'heif' && meta.compression === 'hevc') {
    try {
      // libheif hands back the file's own RGB, where sharp converts every other format to sRGB: an
      // iPhone's Display P3 would otherwise be taken for sRGB (icc-srgb.ts). The decoder threads convert
      // each tile as it is decoded.
      const colour = meta.icc ? srgbTablesFor(new Uint8Array(meta.icc)) : undefined;
      return { ...(await decodeHeic(bytes, plan, { width: meta.width ?? 0, height: meta.height ?? 0 }, maxPixels, options.signal, options.focus, colour)), format: 'heic', orientation: 1 };
    } catch (err) {
      if (err instanceof FaceReconError) throw err; // the deadline's TIMEOUT, not a bad file
      if (options.signal?.aborted) throw abortReason(options.signal, err); // a hang-up or a shutdown, not a bad file
      throw new FaceReconError('INVALID_IMAGE', { detail: `heic decode: ${(err as Error).message}`, cause: err });
    }
  }
  try {
    if (meta.format === 'jpeg' && options.focus && jpegFocusPays(meta.width ?? 0, meta.height ?? 0, meta.orientation ?? 1, meta.isProgressive)) {
      const part = await decodeJpegFocused(bytes, meta, maxPixels, options.focus, options.signal);
      if (part) return { ...part, format: meta.format, orientation: meta.orientation ?? 1 };
    }
    // .rotate() applies the EXIF orientation, then strips the tag.
    const image = await rgbOf(sharp(bytes, { limitInputPixels: maxPixels, failOn: 'error' }).rotate());
    return { image, format: meta.format, orientation: meta.orientation ?? 1 };
  } catch (err) {
    if (err instanceof FaceReconError) throw err;
    if (options.signal?.aborted) throw abortReason(options.signal, err);
    throw new FaceReconError('INVALID_IMAGE', { detail: `decode: ${(err as Error).message}`, cause: err });
  }
}

export async function readImageFile(path: string, options?: DecodeOptions): Promise<DecodedImage> {
  const { readFile } = await import('node:fs/promises');
  return decodeImage(await readFile(path), options);
}

export interface PngOptions {
  /**
   * zlib level 0-9. Default 1: a 1024x1024 face texture encodes in ~17 ms at 1.7 MB, against ~35 ms
   * at level 6 for 1.35 MB (bench/RESULTS.md); the encode is on every request's critical path.
   */
  compressionLevel?: number;
  /** Write the first channel alone, as an 8-bit greyscale PNG (a map whose channels are equal: the displacement). */
  grey?: boolean;
  /**
   * The values are data (a normal map, a displacement), not colours: no sRGB chunk. Colour images get
   * one, so colour-managed editors read them as the sRGB they are rather than in their working space.
   */
  data?: boolean;
}

/** PNG's sRGB chunk, rendering intent perceptual (0): length 1, type, the intent, CRC-32 of type and data. */
const SRGB_CHUNK = Uint8Array.of(0, 0, 0, 1, 0x73, 0x52, 0x47, 0x42, 0, 0xae, 0xce, 0x1c, 0xe9);
/** The signature (8) and the IHDR chunk (25): chunks that qualify the colours go right after. */
const AFTER_IHDR = 33;

export async function encodePng(image: RgbImage, options: PngOptions = {}): Promise<Uint8Array> {
  let p = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  if (options.grey) p = p.extractChannel(0).toColourspace('b-w');
  const buf = await p.png({ compressionLevel: options.compressionLevel ?? 1, adaptiveFiltering: false }).toBuffer();
  const png = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (options.data) return png;
  const out = new Uint8Array(png.byteLength + SRGB_CHUNK.byteLength);
  out.set(png.subarray(0, AFTER_IHDR));
  out.set(SRGB_CHUNK, AFTER_IHDR);
  out.set(png.subarray(AFTER_IHDR), AFTER_IHDR + SRGB_CHUNK.byteLength);
  return out;
}

/**
 * Encodes RGB pixels as JPEG, WebP or PNG bytes; tests use it to make fixtures (rotated, tiled) from
 * real photos. WebP only: `lossless` keeps every level exactly (for data such as normal maps, which
 * lossy WebP's chroma subsampling would mix across channels); `effort` 0-6 trades time for size
 * (libwebp's method, default 4).
 */
export async function encodeImage(image: RgbImage, format: 'png' | 'jpeg' | 'webp', options: { exifOrientation?: number; quality?: number; lossless?: boolean; effort?: number } = {}): Promise<Uint8Array> {
  let p = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  if (format === 'jpeg') p = p.jpeg({ quality: options.quality ?? 92 });
  else if (format === 'webp') p = p.webp({ ...(options.lossless ? { lossless: true } : { quality: options.quality ?? 90 }), ...(options.effort !== undefined ? { effort: options.effort } : {}) });
  else p = p.png();
  if (options.exifOrientation) p = p.withMetadata({ orientation: options.exifOrientation });
  const buf = await p.toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
