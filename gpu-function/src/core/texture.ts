/**
 * The one texture stage, for every face model: the fitted mesh's visibility in the photo, the bake
 * of each tile of the model's UV layout, specular down-weighting and colour statistics on the face
 * tile, completion (the tile's own mirror symmetry where it has one, the person's skin tone where no
 * photo can reach, then push-pull), the colour correction, and the grid image. It reads only the
 * layout's description (face-model.ts), never which model made the mesh.
 *
 * Per layout, what does not depend on the photo (texel maps, grid coverage, bake buffers) is computed
 * once. The bake is synchronous and copies its results out, so one baker never has two bakes in
 * flight and its buffers can be reused across requests.
 */
import type { RgbImage } from '@facerecon/shared';
import { bakeUvTexture, bakeVisibility } from '../recon/bake';
import { applyColourLuts, backgroundLuminanceMedian, downweightSpecular, estimateColourCorrection, photoLuminanceQuantile, skinMean, type ColourReport } from '../recon/colour';
import { completeTexture, type CompletionStats } from '../recon/complete';
import { dropFillOnly, fitSkinColourModel, gateBySkin, scalpHairTone } from '../recon/skin-gate';
import { interpolateAtTexels, rasterizeUvTriangles, type TexelMap } from '../recon/texel-map';
import { albedoTexture } from '../recon/albedo';
import { estimatePhotoLighting, type PhotoLighting } from '../recon/photo-lighting';
import { drawUvGrid, toRgbImage, uvGridCoverage, type UvGridCoverage } from '../recon/uv-grid';
import type { PersonMask } from '../face/person-mask';
import { computeShadingDetail, type ShadingDetail } from '../recon/shading-detail';
import { uvTangentFrames } from '../recon/tangents';
import type { FittedHead, UvLayout, UvSize } from './face-model';

export interface TextureSet {
  /** One image per layout tile, in the layout's tile order. */
  tiles: RgbImage[];
  /** Tile 0 with the layout's wireframe drawn over it. */
  grid: RgbImage;
  colour: ColourReport;
  /** The per-channel 8-bit LUTs applied to every tile, when a correction was. */
  colourLuts?: [Uint8Array, Uint8Array, Uint8Array];
  /** Completion statistics of the face tile (tile 0). */
  completion: CompletionStats;
  /** The photo's lighting as second-order SH, estimated on the face tile's clear texels (photo-lighting.ts). */
  lighting?: PhotoLighting;
  /** Tile 0 with that lighting divided out, when asked for (bake's `albedo` option). */
  albedo?: RgbImage;
  /** Shading detail of tile 0 (normal and displacement maps, shading-detail.ts), when asked for (bake's `detail` option). */
  detail?: ShadingDetail;
  specularTexels: number;
  timings: { bake: number; colour: number; completion: number; grid: number; lighting: number; albedo: number; detail: number };
}

export interface TextureBaker {
  readonly layout: UvLayout;
  /** The texel map of tile `tile` at the size a request of `uvSize` bakes it. */
  texelMap(tile: number, uvSize: UvSize): TexelMap;
  /** personMask: the photo's person segmentation; background texels are then completed, not baked. */
  bake(head: FittedHead, photo: RgbImage, opts?: { personMask?: PersonMask; albedo?: boolean; detail?: boolean }): TextureSet;
}

const NO_COLOUR_CORRECTION: ColourReport = { applied: false, exposureGain: 1, whiteBalanceGains: [1, 1, 1], skinBefore: [0, 0, 0], skinAfter: [0, 0, 0], skinTexels: 0 };

/** Mean colour of every texel the photo saw (weight > 0): the tone of last resort when no skin texel was classified. */
function seenMean(color: Float32Array, weight: Float32Array): [number, number, number] {
  const s = [0, 0, 0];
  let n = 0;
  for (let i = 0; i < weight.length; i++) {
    if (weight[i] <= 0) continue;
    for (let ch = 0; ch < 3; ch++) s[ch] += color[3 * i + ch];
    n++;
  }
  return n ? [s[0] / n, s[1] / n, s[2] / n] : [128, 128, 128];
}

/**
 * createTextureBaker: precomputes the layout's texel maps for both request sizes; `bake` then runs
 * the stage for one fitted head. Preconditions: the head's mesh uses the layout's UVs and triangles.
 */
export function createTextureBaker(layout: UvLayout): TextureBaker {
  const maps = new Map<string, TexelMap>();
  const texelMap = (tile: number, uvSize: UvSize) => mapOfSize(tile, layout.tiles[tile].sizeFor(uvSize));
  const mapOfSize = (tile: number, size: number) => {
    const key = `${tile}/${size}`;
    let m = maps.get(key);
    if (!m) {
      const index = layout.tiles[tile].index;
      const uvs = index === 0 ? layout.uvs : layout.uvs.map((v, i) => (i % 2 === 0 ? v - index : v));
      maps.set(key, (m = rasterizeUvTriangles(uvs, layout.indices, size)));
    }
    return m;
  };
  for (let t = 0; t < layout.tiles.length; t++) texelMap(t, 1024);
  for (let t = 0; t < layout.tiles.length; t++) texelMap(t, 512);
  const grids = new Map<number, UvGridCoverage>();
  const gridFor = (size: number) => {
    let g = grids.get(size);
    if (!g) grids.set(size, (g = uvGridCoverage(layout.wire.uvs, layout.wire.indices, size)));
    return g;
  };
  const scratch = new Map<string, { color: Float32Array; weight: Float32Array }>();
  const scratchFor = (tile: number, size: number) => {
    const key = `${tile}/${size}`;
    let b = scratch.get(key);
    if (!b) scratch.set(key, (b = { color: new Float32Array(size * size * 3), weight: new Float32Array(size * size) }));
    return b;
  };
  const needsTone = layout.tiles.some((t) => t.toneFill);
  // The layout's regions at each texel of a tile: per chart texel (gate) and per texel (the seed's mix).
  const regionMaps = new Map<string, { skinOnly: Float32Array; scalp: Float32Array; scalpByTexel: Float32Array; fillOnly: Float32Array | undefined }>();
  const regionsFor = (tile: number, map: TexelMap) => {
    const regions = layout.regions!;
    const key = `${tile}/${map.size}`;
    let r = regionMaps.get(key);
    if (!r) {
      const skinOnly = interpolateAtTexels(map, layout.indices, regions.skinOnly);
      const scalp = interpolateAtTexels(map, layout.indices, regions.scalp);
      const scalpByTexel = new Float32Array(map.size * map.size);
      for (let k = 0; k < scalp.length; k++) scalpByTexel[map.texels[k]] = scalp[k];
      const fillOnly = regions.fillOnly ? interpolateAtTexels(map, layout.indices, regions.fillOnly) : undefined;
      regionMaps.set(key, (r = { skinOnly, scalp, scalpByTexel, fillOnly }));
    }
    return r;
  };

  return {
    layout,
    texelMap,
    bake(head, photo, opts = {}) {
      const { mesh, geometry, mode } = head;
      const timings = { bake: 0, colour: 0, completion: 0, grid: 0, lighting: 0, albedo: 0, detail: 0 };
      let t0 = performance.now();
      const tileMaps = layout.tiles.map((_, t) => texelMap(t, mode.uvSize));
      const visibility = bakeVisibility(mesh, geometry.camera, photo, opts.personMask);
      const baked = tileMaps.map((map, t) => bakeUvTexture({ mesh, camera: geometry.camera, photo, texelMap: map, visibility, scratch: scratchFor(t, map.size) }));
      const face = baked[0];
      const faceMap = tileMaps[0];
      const specularTexels = mode.enhance ? downweightSpecular(face.color, face.weight, faceMap.texels) : 0;
      // Clothing off the neck and the bust, and the seen hair's colour for the unseen scalp (skin-gate.ts).
      let hair: [number, number, number] | undefined;
      if (layout.regions) {
        baked.forEach((b, t) => {
          const fillOnly = regionsFor(t, tileMaps[t]).fillOnly;
          if (fillOnly) dropFillOnly(b.weight, tileMaps[t].texels, fillOnly);
        });
        const faceRegions = regionsFor(0, faceMap);
        const skin = fitSkinColourModel(face.color, face.weight, faceMap.texels, (k) => faceRegions.skinOnly[k] === 0 && faceRegions.scalp[k] === 0);
        if (skin) {
          baked.forEach((b, t) => gateBySkin(b.color, b.weight, tileMaps[t].texels, regionsFor(t, tileMaps[t]).skinOnly, skin));
          const scalpTile = layout.tiles.length - 1;
          hair = scalpHairTone(baked[scalpTile].color, baked[scalpTile].weight, tileMaps[scalpTile].texels, regionsFor(scalpTile, tileMaps[scalpTile]).scalp, skin);
        }
      }
      timings.bake = performance.now() - t0;

      t0 = performance.now();
      // The lighting, like the colour statistics, from the photo's own texels before completion.
      const lighting = estimatePhotoLighting({ color: face.color, weight: face.weight, map: faceMap, sampleMap: mapOfSize(0, faceMap.size / 4), indices: mesh.indices, normals: mesh.normals, rotation: geometry.camera.rotation, mirrorU: layout.tiles[0].mirrorU });
      timings.lighting = performance.now() - t0;

      // Shading detail from the photo's own texels too, before completion invents any.
      let detail: ShadingDetail | undefined;
      if (opts.detail && lighting) {
        t0 = performance.now();
        detail = computeShadingDetail({
          color: face.color,
          weight: face.weight,
          size: faceMap.size,
          workMap: mapOfSize(0, Math.min(256, faceMap.size / 2)),
          mesh,
          frames: uvTangentFrames(mesh),
          rotation: geometry.camera.rotation,
          lighting,
        });
        timings.detail = performance.now() - t0;
      }

      t0 = performance.now();
      // Colour statistics come from the photo's own texels, before completion mixes anything in.
      // Conservative mode limits the correction rather than dropping it: a dim or backlit face is the
      // common reason for a weak photo, and left uncorrected its texture is nearly black.
      const correction = estimateColourCorrection(face.color, face.weight, faceMap.covered, {
        photoP99: photoLuminanceQuantile(photo.data, 0.99),
        backgroundMedian: opts.personMask ? backgroundLuminanceMedian(photo, opts.personMask) : undefined,
        conservative: !mode.enhance,
      });
      let tone: [number, number, number] | undefined;
      if (needsTone) {
        const skin = correction?.report.skinTexels ? { mean: correction.report.skinBefore, count: correction.report.skinTexels } : skinMean(face.color, face.weight, faceMap.covered);
        tone = skin.count > 0 ? skin.mean : seenMean(face.color, face.weight);
      }
      timings.colour = performance.now() - t0;

      t0 = performance.now();
      const completion = layout.tiles.map((tile, t) =>
        completeTexture(baked[t].color, baked[t].weight, tileMaps[t].covered, tileMaps[t].texels, tileMaps[t].size, {
          mirrorU: tile.mirrorU,
          tone: tile.toneFill ? tone : undefined,
          secondTone: hair && layout.regions ? { tone: hair, mix: regionsFor(t, tileMaps[t]).scalpByTexel } : undefined,
        }),
      );
      timings.completion = performance.now() - t0;

      t0 = performance.now();
      const tiles = baked.map((b, t) => {
        const img = toRgbImage(b.color, tileMaps[t].size);
        if (correction?.luts) applyColourLuts(img.data, correction.luts);
        return img;
      });
      timings.colour += performance.now() - t0;

      t0 = performance.now();
      const grid = drawUvGrid(tiles[0], gridFor(tiles[0].width));
      timings.grid = performance.now() - t0;
      t0 = performance.now();
      const divided = opts.albedo && lighting ? albedoTexture({ texture: tiles[0], gainMap: mapOfSize(0, faceMap.size / 4), indices: mesh.indices, normals: mesh.normals, rotation: geometry.camera.rotation, lighting }) : undefined;
      const albedo = divided?.albedo;
      if (divided && lighting) {
        lighting.albedoReference = divided.reference;
        lighting.shadingFloor = divided.floor;
      }
      timings.albedo = performance.now() - t0;
      return { tiles, grid, colour: correction?.report ?? NO_COLOUR_CORRECTION, colourLuts: correction?.luts, completion: completion[0], specularTexels, lighting, albedo, detail, timings };
    },
  };
}
