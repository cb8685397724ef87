/**
 * A PNG without its text chunks (tEXt, zTXt, iTXt), before libvips reads it. libpng inflates every
 * zTXt and iTXt chunk (up to ~50 MB each) and sharp hands them all to JavaScript as strings, in its
 * metadata call and again in the decode: a 195 KB file of twenty compressed text chunks took 3.4 s and
 * 865 MB, a 10 MB one would take minutes and more memory than the machine has, and no try/catch stops a
 * process that runs out of heap. Nothing here reads the text, and a chunk's CRC covers only itself, so
 * the others stay valid.
 *
 * Failure modes: none thrown; a file that is not a PNG is returned as it is; from a chunk whose length
 * runs past the end on, the bytes are kept as they are, and the decoder judges them.
 */
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const TEXT = new Set(['tEXt', 'zTXt', 'iTXt']);

export function isPng(b: Uint8Array): boolean {
  return b.length >= 8 && SIGNATURE.every((v, i) => b[i] === v);
}

/** `b` with its text chunks left out; `b` itself when it has none or is not a PNG it can follow. */
export function stripPngText(b: Uint8Array): Uint8Array {
  if (!isPng(b)) return b;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // Chunk boundaries: [start, end) of every chunk, and whether it is text.
  const keep: Array<[number, number]> = [];
  let dropped = false;
  let i = 8;
  while (i + 12 <= b.length) {
    const len = dv.getUint32(i);
    const end = i + 12 + len;
    // A chunk running past the end: the rest is copied as it is (the decoder judges it), but the text
    // before it is still left out (returning the file whole let text chunks through behind one bad length).
    if (end > b.length) break;
    const type = String.fromCharCode(b[i + 4], b[i + 5], b[i + 6], b[i + 7]);
    if (TEXT.has(type)) dropped = true;
    else keep.push([i, end]);
    i = end;
    if (type === 'IEND') break;
  }
  if (!dropped) return b;
  const out = new Uint8Array(8 + keep.reduce((n, [s, e]) => n + e - s, 0) + (b.length - i));
  out.set(b.subarray(0, 8));
  let o = 8;
  for (const [s, e] of keep) {
    out.set(b.subarray(s, e), o);
    o += e - s;
  }
  out.set(b.subarray(i), o); // whatever follows IEND, as it was
  return out;
}
