/**
 * Colour slices in the viewer (RGB; YBR_FULL, YBR_FULL_422, YBR_RCT, YBR_ICT decoded to RGB; PALETTE COLOR): drawn
 * as the host sends them — 8-bit RGB, no window. A window is a VOI transform of grey values (PS3.3 C.11.2); colour
 * samples are not values of one quantity, so OHIF and Cornerstone draw colour images as they are too. The pixel
 * readout names R, G, B (and the palette index) instead of a modality value. Browser code only.
 */
import type { ViewerSlice } from '../../src/protocol/viewer';

/** Interleaved 8-bit RGB (rows×columns×3) into opaque little-endian RGBA words (one per pixel). */
export function rgbToRgba(rgb: Uint8Array, rgba: Uint32Array): void {
  for (let i = 0, j = 0; i < rgba.length; i++, j += 3) rgba[i] = (0xff000000 | (rgb[j + 2] << 16) | (rgb[j + 1] << 8) | rgb[j]) >>> 0;
}

/** What the colour samples are, in a few words: "RGB", "YBR_FULL_422 as RGB", "PALETTE COLOR". */
function kind(slice: ViewerSlice): string {
  const pi = slice.colour?.photometricInterpretation ?? '';
  return pi.startsWith('YBR') ? `${pi} as RGB` : pi;
}

/** The line shown where the window is for a grey slice. */
export function colourNote(slice: ViewerSlice): string {
  const bits = slice.colour && slice.colour.bitsStored > 8 ? `, top 8 of ${slice.colour.bitsStored} bits` : '';
  return `Colour (${kind(slice)}${bits}): shown as stored, no window`;
}

/**
 * The readout of pixel `i` (row-major): its displayed R G B and, for PALETTE COLOR, the stored palette index
 * (`indices`, rows×columns; empty for other colour images).
 */
export function colourReadout(rgb: Uint8Array, indices: ArrayLike<number>, i: number): string {
  const index = indices.length > i ? ` · palette index ${indices[i]}` : '';
  return `R ${rgb[3 * i]} G ${rgb[3 * i + 1]} B ${rgb[3 * i + 2]}${index}`;
}
