// One HEVC decoder (heic-decode over libheif-js, wasm) per thread: decodes whole HEIF files sent by
// heic-pool.ts and returns RGBA, transferring the buffer instead of copying it. Plain JS so that a
// thread starts the same way under node, tsx and vitest.
import { parentPort } from 'node:worker_threads';
import decode from 'heic-decode';

parentPort.on('message', async ({ job, bytes }) => {
  try {
    const { width, height, data } = await decode({ buffer: bytes });
    const px = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    parentPort.postMessage({ job, width, height, data: px }, [px.buffer]);
  } catch (err) {
    parentPort.postMessage({ job, error: String(err?.message ?? err) });
  }
});
