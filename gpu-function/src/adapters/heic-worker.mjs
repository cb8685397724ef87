// One HEVC decoder (libheif + libde265 compiled to wasm, libheif-js) per thread: decodes the primary
// image of whole HEIF files sent by heic-pool.ts and returns RGBA, transferring the buffer instead of
// copying it. Plain JS so that a thread starts the same way under node, tsx and vitest.
// `expect` (heic-pool.ts TileExpectation) is checked against the size the file declares before any
// pixel is decoded; libheif itself refuses a bitstream larger than that declared size.
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { applySrgbTables } from '../image/icc-apply.mjs';

// libheif-js as heic-decode loads it (heic-decode's own dependency, resolved from there: the same copy).
// heic-decode's API hands back the file's top-level images with no way to ask which is the primary and
// decodes the first, so a file whose primary is its second image was decoded as another picture; its
// brand sniffing also refused valid files (major brand heim, heis) that libheif, which checks the
// compatible brands, reads. libheif's own image handles say which image is the primary.
const libheif = createRequire(createRequire(import.meta.url).resolve('heic-decode'))('libheif-js/wasm-bundle');

/** The primary image as RGBA, width * height * 4 bytes (libheif applies the item's transforms). */
function rgba(image, width, height) {
  return new Promise((resolve, reject) => {
    image.display({ data: new Uint8ClampedArray(width * height * 4), width, height }, (out) => (out ? resolve(out.data) : reject(new Error('HEIF processing error'))));
  });
}

// Said once the decoder's wasm is compiled, so that start-up can wait for it (heic-pool.ts warm) and
// fail there, not on the first iPhone photo, when the decoder cannot start.
Promise.resolve(libheif.ready).then(
  () => parentPort.postMessage({ ready: true }),
  (err) => parentPort.postMessage({ ready: false, error: String(err) }),
);

parentPort.on('message', async ({ job, bytes, expect, colour }) => {
  const decoder = new libheif.HeifDecoder();
  let images = [];
  try {
    await libheif.ready;
    images = decoder.decode(bytes);
    if (!images.length) throw new Error('no image libheif can read in the file');
    const image = images.find((i) => i.is_primary());
    if (!image) throw new Error('no primary image');
    const width = image.get_width();
    const height = image.get_height();
    if (expect?.width !== undefined && (width !== expect.width || height !== expect.height)) {
      throw new Error(`image is ${width}x${height}, not the ${expect.width}x${expect.height} it was checked as`);
    }
    if (expect?.maxPixels !== undefined && width * height > expect.maxPixels) {
      throw new Error(`image is ${width}x${height}, over ${expect.maxPixels} pixels`);
    }
    const data = await rgba(image, width, height);
    if (data.byteLength !== width * height * 4) throw new Error(`decoded ${data.byteLength} bytes for ${width}x${height}`);
    const px = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    // The file's colours to sRGB (icc-srgb.ts), here on each tile's thread rather than on the whole photo after.
    if (colour) applySrgbTables(px, 4, colour);
    parentPort.postMessage({ job, width, height, data: px }, [px.buffer]);
  } catch (err) {
    parentPort.postMessage({ job, error: String(err?.message ?? err) });
  } finally {
    for (const image of images) image.free();
    decoder.decoder?.delete();
  }
});
