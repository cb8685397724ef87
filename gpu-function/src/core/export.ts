/**
 * The one export stage, for every face model: from a fitted head and its textures to the files a
 * caller downloads (texture tiles and grid as PNG, OBJ + MTL, GLB, USDZ and the optimised GLB on request, the two previews). The model says
 * what the meshes carry (ExportDescription); this module never asks which model it was. PNG encoding
 * goes through the image adapter; everything else is built here in memory.
 *
 * Shading detail (TextureSet.detail, formats=detail): normal.png and displacement.png, and the
 * materials that carry the face tile (tile 0, whose UVs the maps share) get the normal map in every
 * mesh format: the GLB's normalTexture with a TANGENT attribute computed on the GLB's own mesh, the
 * MTL's `norm` line, the USDZ's UsdPreviewSurface normal input. Other materials (the ICT
 * head tile, eyes, flat colours) get nothing. The geometry preview shows it too.
 */
import { ASSET_FILES, createRgbImage, type AssetKind, type RgbImage } from '@facerecon/shared';
import { encodeImage, encodePng } from '../adapters/image-io';
import { writeGlb } from '../recon/export-glb';
import { optimizeGlb } from '../recon/optimize-glb';
import { writeMtl, writeObjBytes, type ObjMaterial } from '../recon/export-obj';
import { packUsdz, writeUsda } from '../recon/export-usdz';
import { renderMesh } from '../recon/render';
import { gltfTangents } from '../recon/tangents';
import type { ExportMaterial, FaceModel, FittedHead } from './face-model';
import type { TextureSet } from './texture';

export interface ExportTimings { png: number; obj: number; glb: number; glbOptimized: number; usdz: number; preview: number }

export interface ExportedAssets {
  /** Every asset the model produces (texture_head only for a layout with a second tile). */
  files: Partial<Record<AssetKind, Uint8Array>>;
  timings: ExportTimings;
}

/** Three-quarter preview: the subject's right cheek towards the camera, slightly from above. */
export const PREVIEW_VIEW = { kind: 'orbit', yawDeg: -30, pitchDeg: 8, fovDeg: 24, fill: 0.92 } as const;

/**
 * The textured preview and the flat geometry view, one raster pass. With shading detail the geometry
 * view shades the face tile through its normal map (render.ts normalMap), with `tangents` (gltfTangents
 * of head.mesh) when the caller already has them.
 */
export function renderPreviews<H extends FittedHead>(model: FaceModel<H>, head: H, textures: TextureSet, size = 512, tangents?: Float32Array): { preview: RgbImage; geometry: RgbImage } {
  const geometry = createRgbImage(size, size);
  const tiles = [...textures.tiles, ...(model.previewTiles?.(head) ?? [])];
  const normalMap = textures.detail ? { image: textures.detail.normal, tangents: tangents ?? gltfTangents(head.mesh) } : undefined;
  const preview = renderMesh({ mesh: head.mesh, width: size, height: size, camera: PREVIEW_VIEW, mode: 'textured', tiles, flatTarget: geometry, normalMap }).image;
  return { preview, geometry };
}

/**
 * libwebp's effort for the normal map's lossless WebP in the optimised GLB: 0, the fastest. On a
 * 1024 map, 0 takes 70-370 ms for 0.25-1.1 MB where 4 (the default) takes 250-790 ms for 0.15-0.8 MB;
 * the PNG is 0.4-2.3 MB (a mostly flat map with a detailed face, and a noisy one all over).
 */
const NORMAL_WEBP_EFFORT = 0;

export async function exportAssets<H extends FittedHead>(model: FaceModel<H>, head: H, textures: TextureSet, extra: { result: object; usdz?: boolean; glbOptimized?: boolean; texture?: 'lit' | 'albedo' }): Promise<ExportedAssets> {
  const timings: ExportTimings = { png: 0, obj: 0, glb: 0, glbOptimized: 0, usdz: 0, preview: 0 };
  // The texture PNGs encode on libuv's pool while the previews render and the OBJ is written on this thread.
  let t = performance.now();
  const desc = model.exportDescription(head);
  // Textures the model paints itself (the ICT eyes), one asset each, encoded with the baked tiles.
  const painted = [...new Map(desc.materials.filter((m) => m.texture).map((m) => [m.texture!.asset, m.texture!.image])).entries()];
  const texturePngs = Promise.all([...textures.tiles.map((tile) => encodePng(tile)), ...painted.map(([, img]) => encodePng(img)), encodePng(textures.grid)]);
  const albedoPng = textures.albedo ? encodePng(textures.albedo) : undefined;
  const { detail } = textures;
  const detailPngs = detail ? Promise.all([encodePng(detail.normal, { data: true }), encodePng(detail.displacement, { grey: true, data: true })]) : undefined;
  // The render mesh's tangents, once: the preview reads them, and so does the GLB when it is that mesh.
  const headTangents = detail ? gltfTangents(head.mesh) : undefined;
  const tp = performance.now();
  // The preview shows what the meshes carry: with texture=albedo, the face tile's albedo.
  const carried = extra.texture === 'albedo' && textures.albedo ? { ...textures, tiles: [textures.albedo, ...textures.tiles.slice(1)] } : textures;
  const { preview, geometry } = renderPreviews(model, head, carried, 512, headTangents);
  timings.preview = performance.now() - tp;
  const previewPngs = Promise.all([encodePng(preview), encodePng(geometry)]);

  /** Whether a material carries the shading detail: the detail maps are tile 0's. */
  const detailed = (m: ExportMaterial) => detail !== undefined && m.tile === 0;
  const anyDetailed = desc.materials.some(detailed);
  // With texture=albedo the meshes carry the albedo as their face tile (tile 0).
  const useAlbedo = extra.texture === 'albedo' && textures.albedo !== undefined;
  const tileImages = useAlbedo ? [textures.albedo!, ...textures.tiles.slice(1)] : textures.tiles;
  const tileAsset = (tile: number): AssetKind => (useAlbedo && tile === 0 ? 'albedo' : model.layout.tiles[tile].asset);
  /** The file name of a material's texture: a baked tile or a painted one. */
  const textureFileOf = (m: ExportMaterial): string | undefined =>
    m.tile !== undefined ? ASSET_FILES[tileAsset(m.tile)].file : m.texture ? ASSET_FILES[m.texture.asset].file : undefined;

  // The OBJ needs only the textures' names, so it is written while the PNGs still encode on the pool.
  const files: Partial<Record<AssetKind, Uint8Array>> = {};
  const tObj = performance.now();
  const enc = new TextEncoder();
  const objDetail = detail ? { normal: ASSET_FILES.normal.file } : undefined;
  const objMaterials: ObjMaterial[] = desc.materials.map((m) => {
    const texture = textureFileOf(m);
    return { name: m.name, ...(texture ? { texture } : {}), ...(m.color ? { color: m.color } : {}), ...(detailed(m) ? { detail: objDetail } : {}) };
  });
  const names = {
    mtl: ASSET_FILES.mtl.file,
    texture: ASSET_FILES[tileAsset(0)].file,
    material: objMaterials[0].name,
    detail: objMaterials[0].detail,
    ...(desc.groups ? { groups: desc.groups.map((g) => ({ start: g.start, count: g.count, material: objMaterials[g.material] })) } : {}),
  };
  files.obj = writeObjBytes(desc.obj, names, { weld: desc.objWeld });
  files.mtl = enc.encode(writeMtl(names));
  timings.obj = performance.now() - tObj;

  const [pngs, [previewPng, geometryPng]] = await Promise.all([texturePngs, previewPngs]);
  timings.png = performance.now() - t - timings.preview - timings.obj;
  const tilePngs = pngs.slice(0, textures.tiles.length);
  files.texture_grid = pngs.at(-1)!;
  files.preview = previewPng;
  files.preview_geometry = geometryPng;
  model.layout.tiles.forEach((tile, i) => (files[tile.asset] = tilePngs[i]));
  painted.forEach(([asset], i) => (files[asset] = pngs[textures.tiles.length + i]));
  if (albedoPng) files.albedo = await albedoPng;
  if (detailPngs) [files.normal, files.displacement] = await detailPngs;
  if (useAlbedo) tilePngs[0] = files.albedo!;
  /** The PNG and file name of a material's texture: a baked tile or a painted one. */
  const textureOf = (m: ExportMaterial): { file: string; png: Uint8Array } | undefined => {
    const file = textureFileOf(m);
    return file === undefined ? undefined : { file, png: m.tile !== undefined ? tilePngs[m.tile] : files[m.texture!.asset]! };
  };

  t = performance.now();
  files.glb = writeGlb({
    mesh: desc.glb,
    materials: desc.materials.map((m) => ({ name: m.name, texturePng: textureOf(m)?.png, color: m.color, doubleSided: m.doubleSided, roughness: m.roughness, normalPng: detailed(m) ? files.normal : undefined })),
    // On the GLB's own mesh (for a model with morph targets the neutral face, not the render mesh).
    tangents: anyDetailed ? (desc.glb === head.mesh ? headTangents : gltfTangents(desc.glb)) : undefined,
    groups: desc.groups,
    morphTargets: desc.morphTargets,
    morphWeights: desc.morphWeights,
    name: desc.name,
  });
  timings.glb = performance.now() - t;
  if (extra.glbOptimized) {
    t = performance.now();
    const images = [
      ...tileImages.map((img, i) => ({ img, png: tilePngs[i], lossless: false })),
      ...painted.map(([asset, img]) => ({ img, png: files[asset]!, lossless: false })),
      // A normal map's levels are vectors: lossy WebP's chroma subsampling would mix them.
      ...(anyDetailed ? [{ img: detail!.normal, png: files.normal!, lossless: true }] : []),
    ];
    const webp = await Promise.all(images.map(({ img, lossless }) => encodeImage(img, 'webp', lossless ? { lossless, effort: NORMAL_WEBP_EFFORT } : { quality: 90 })));
    files.glb_optimized = await optimizeGlb({ glb: files.glb, webp: images.map(({ png }, i) => ({ png, webp: webp[i] })) });
    timings.glbOptimized = performance.now() - t;
  }
  if (extra.usdz) {
    // AR Quick Look's format: the OBJ's mesh (the fitted expression) with the same materials.
    t = performance.now();
    const used = [...new Map(desc.materials.map(textureOf).filter((x) => x !== undefined).map((x) => [x.file, x.png])).entries()];
    if (anyDetailed) used.push([ASSET_FILES.normal.file, files.normal!]);
    const stage = writeUsda({
      mesh: desc.obj,
      materials: desc.materials.map((m) => ({
        name: m.name,
        ...(textureOf(m) ? { texture: `textures/${textureOf(m)!.file}` } : {}),
        ...(m.color ? { color: m.color } : {}),
        ...(detailed(m) ? { normalTexture: `textures/${ASSET_FILES.normal.file}` } : {}),
        ...(m.roughness !== undefined ? { roughness: m.roughness } : {}),
      })),
      groups: desc.groups,
      doubleSided: desc.materials.some((m) => m.doubleSided),
      name: desc.name,
    });
    files.usdz = packUsdz([{ name: `${desc.name ?? 'face'}.usda`, data: enc.encode(stage) }, ...used.map(([file, png]) => ({ name: `textures/${file}`, data: png }))]);
    timings.usdz = performance.now() - t;
  }
  files.result = enc.encode(JSON.stringify(extra.result, null, 2));
  return { files, timings };
}
