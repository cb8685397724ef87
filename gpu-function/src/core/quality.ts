/**
 * Quality measures of a reconstruction against its own photo (bench and tests).
 *
 * Reprojection PSNR: the textured mesh rendered unlit with the recovered camera over the photo,
 * compared inside the rendered face mask. The photo is passed through the same colour correction as
 * the texture first, so the number measures geometry, alignment and sampling, not the intended
 * colour change.
 */
import { createRgbImage, type RgbImage } from '@facerecon/shared';
import { applyColourLuts } from '../recon/colour';
import { renderMesh } from '../recon/render';
import type { Reconstruction } from './reconstruct';

export interface ReprojectionQuality {
  psnrDb: number;
  maskPixels: number;
  rendered: RgbImage;
}

export function reprojectionPsnr(photo: RgbImage, recon: Reconstruction): ReprojectionQuality {
  const reference = createRgbImage(photo.width, photo.height, photo.data.slice());
  if (recon.textures.colourLuts) applyColourLuts(reference.data, recon.textures.colourLuts);
  const { image, mask } = renderMesh({
    mesh: recon.head.mesh,
    width: photo.width,
    height: photo.height,
    camera: { kind: 'photo', camera: recon.head.geometry.camera },
    mode: 'textured',
    tiles: recon.textures.tiles,
    unlit: true,
    background: reference,
  });
  let se = 0;
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    for (let ch = 0; ch < 3; ch++) se += (image.data[3 * i + ch] - reference.data[3 * i + ch]) ** 2;
    n++;
  }
  const mse = se / Math.max(1, 3 * n);
  return { psnrDb: mse > 0 ? 10 * Math.log10((255 * 255) / mse) : Infinity, maskPixels: n, rendered: image };
}
