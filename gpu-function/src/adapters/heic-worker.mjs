// One HEVC decoder (heic-decode over libheif-js, wasm) per thread: decodes whole HEIF files sent by
// heic-pool.ts and returns RGBA, transferring the buffer instead of copying it. Plain JS so that a
// thread starts the same way under node, tsx and vitest.
// `expect` (heic-pool.ts TileExpectation) is checked against the size the file declares before any
// pixel is decoded; libheif itself refuses a bitstream larger than that declared size.
import { parentPort } from 'node:worker_threads';
import decode from 'heic-decode';

parentPort.on('message', async ({ job, bytes, expect }) => {
  let images;
  try {
    images = await decode.all({ buffer: bytes });
    const image = images[0];
    if (expect?.width !== undefined && (image.width !== expect.width || image.height !== expect.height)) {
      throw new Error(`tile is ${image.width}x${image.height}, not the ${expect.width}x${expect.height} the grid was checked with`);
    }
    if (expect?.maxPixels !== undefined && image.width * image.height > expect.maxPixels) {
      throw new Error(`image is ${image.width}x${image.height}, over ${expect.maxPixels} pixels`);
    }
    const { width, height, data } = await image.decode();
    if (data.byteLength !== width * height * 4) throw new Error(`decoded ${data.byteLength} bytes for ${width}x${height}`);
    const px = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    parentPort.postMessage({ job, width, height, data: px }, [px.buffer]);
  } catch (err) {
    parentPort.postMessage({ job, error: String(err?.message ?? err) });
  } finally {
    images?.dispose();
  }
});
