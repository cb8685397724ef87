/** heic-decode ships no types: the one call image-io.ts makes (libheif decode of the primary image to RGBA). */
declare module 'heic-decode' {
  interface DecodedHeic {
    width: number;
    height: number;
    /** width * height * 4, RGBA. */
    data: Uint8ClampedArray;
  }
  function decode(opts: { buffer: Uint8Array | ArrayBuffer }): Promise<DecodedHeic>;
  namespace decode {
    /** Every top-level image with the size it declares, decoded only on request; dispose() frees them. */
    function all(opts: { buffer: Uint8Array | ArrayBuffer }): Promise<Array<{ width: number; height: number; decode(): Promise<DecodedHeic> }> & { dispose(): void }>;
  }
  export default decode;
}
