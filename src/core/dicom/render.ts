/**
 * A windowed slice as 8-bit grey and as PNG (sharp). Shared by `dicom-ml render` and anything else that
 * needs a picture of a slice; the webview draws with the same VOI function (voi.ts).
 */
import { frameRgb8, isColour } from './colour';
import type { ImageInfo } from './image';
import type { StoredPixels } from './pixels';
import { windowModality, type VoiLut, type Window } from './voi';

/** A rendered slice: rows×columns bytes (grey) or rows×columns×3 RGB interleaved (colour images). */
export interface Gray8Image {
  width: number;
  height: number;
  channels: 1 | 3;
  data: Uint8Array;
}

/**
 * Window modality values for display (voi.ts windowModality: the file's VOI function, MONOCHROME1 inverted,
 * padding pixels black) — the same function the decode workers use for `prepare`.
 * `modality`: rows×columns Float32 (monochrome). Colour images (RGB, YBR — RGB once decoded —, PALETTE COLOR through
 * its palette) are not windowed: colour.ts frameRgb8 makes them 8-bit RGB.
 */
export function renderSlice(modality: Float32Array, stored: StoredPixels, info: ImageInfo, win: Window | VoiLut): Gray8Image {
  const width = info.columns;
  const height = info.rows;
  if (isColour(info)) return { width, height, channels: 3, data: frameRgb8(stored, info) };
  const data = windowModality(modality, info, win);
  return { width, height, channels: 1, data };
}

/** Encode as PNG with sharp (loaded lazily: it is a native addon and slows CLI start-up). */
export async function encodePng(image: Gray8Image): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });
  // Without 'b-w' sharp writes a 3-channel sRGB PNG; a grey slice stays an 8-bit grey PNG.
  return (image.channels === 1 ? pipeline.toColourspace('b-w') : pipeline).png().toBuffer();
}
