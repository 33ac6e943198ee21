/**
 * Colour images after decoding (PS3.3 C.7.6.3.1.2 Photometric Interpretation), as pydicom 3's `pixel_array` gives
 * them by default: YBR_FULL and YBR_FULL_422 come out as RGB, whatever the transfer syntax; RGB as it is; PALETTE
 * COLOR as the stored indices (the palette is applied on request: palette.ts). So after `decodeFrame` a 3-sample
 * frame is always RGB, rows×columns×3 interleaved (R, G, B per pixel, row by row).
 *
 * For display, {@link frameRgb8} turns one decoded frame of any colour image (RGB, YBR converted to RGB, palette)
 * into interleaved 8-bit RGB.
 */
import { DicomError } from './errors';
import type { ImageInfo } from './image';
import { paletteRgb8 } from './palette';
import type { StoredPixels } from './pixels';
import { isNativeSyntax, TS } from './uids';

/**
 * JPEG 2000 syntaxes — Part 1 (.90/.91), Part 2 multi-component (.92/.93), HTJ2K (.201–.203): the codec undoes the
 * codestream's own RCT/ICT (PS3.5 8.2.4), so YBR_RCT / YBR_ICT come out as RGB.
 */
const JPEG2000_FAMILY = /^1\.2\.840\.10008\.1\.2\.4\.(9[0-3]|20[1-3])$/;

/** Photometric Interpretations whose samples are YCbCr (full range) and become RGB in `pixel_array`. */
const YBR_FULL = new Set(['YBR_FULL', 'YBR_FULL_422']);

/**
 * Native YBR_FULL_422 (PS3.3 C.7.6.3.1.2): two horizontally adjacent pixels share one Cb and Cr, stored as
 * Y1 Y2 Cb Cr — a frame holds rows×columns×2 samples, not ×3. Only uncompressed data is laid out so; in JPEG the
 * subsampling is the codestream's own business.
 */
export function isNativeYbr422(info: Pick<ImageInfo, 'photometricInterpretation' | 'transferSyntaxUID' | 'samplesPerPixel'>): boolean {
  return info.samplesPerPixel === 3 && info.photometricInterpretation === 'YBR_FULL_422' && isNativeSyntax(info.transferSyntaxUID);
}

/** Samples one native frame holds (rows×columns×samples, two thirds of that for native YBR_FULL_422). */
export function nativeFrameSamples(info: Pick<ImageInfo, 'rows' | 'columns' | 'samplesPerPixel' | 'photometricInterpretation' | 'transferSyntaxUID'>): number {
  const n = info.rows * info.columns * info.samplesPerPixel;
  return isNativeYbr422(info) ? (n / 3) * 2 : n;
}

/**
 * Y1 Y2 Cb Cr per pair of pixels → Y Cb Cr per pixel (Cb, Cr repeated), as pydicom does for native
 * YBR_FULL_422. `samples`: rows×columns×2 values; returns rows×columns×3, same array type.
 */
export function expandYbr422<T extends StoredPixels | Uint8Array | Uint16Array | Uint32Array>(samples: T, pixels: number): T {
  if (pixels % 2 !== 0) throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', `YBR_FULL_422: ${pixels} pixels per frame is odd; pixels come in pairs sharing Cb and Cr (PS3.3 C.7.6.3.1.2)`);
  const out = new (samples.constructor as new (n: number) => T)(pixels * 3);
  for (let p = 0, i = 0, o = 0; p < pixels; p += 2, i += 4, o += 6) {
    const cb = samples[i + 2];
    const cr = samples[i + 3];
    out[o] = samples[i];
    out[o + 1] = cb;
    out[o + 2] = cr;
    out[o + 3] = samples[i + 1];
    out[o + 4] = cb;
    out[o + 5] = cr;
  }
  return out;
}

// pydicom 3.0's _convert_YBR_FULL_to_RGB (PS3.3 C.7.6.3.1.2, ITU T.871 §7): Float32 coefficients, the YCbCr
// offsets subtracted, a Float32 matrix product, + 0.5, floor, clamp to 0…255. numpy does the product with BLAS
// fused multiply-adds (Y, then + Cb·m, then + Cr·m, one rounding each): reproduced below — a product of an 8-bit
// integer and a Float32 is exact in a double, so `fround(a + b·c)` rounds once, as an FMA does. Checked against
// pydicom on all 2^24 YCbCr triples (test/unit/colour.test.ts).
const f = Math.fround;
const CB_G = f((-0.114 * 1.772) / 0.587);
const CB_B = f(1.772);
const CR_R = f(1.402);
const CR_G = f((-0.299 * 1.402) / 0.587);

function to8(x: number): number {
  const v = Math.floor(f(x + 0.5));
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/** YCbCr (YBR_FULL, 8-bit) → RGB in place, exactly as pydicom's `convert_color_space(arr, 'YBR_FULL', 'RGB')`. */
export function ybrFullToRgb(samples: Uint8Array): Uint8Array {
  for (let i = 0; i + 2 < samples.length; i += 3) {
    const y = samples[i];
    const cb = samples[i + 1] - 128;
    const cr = samples[i + 2] - 128;
    samples[i] = to8(f(y + cr * CR_R));
    samples[i + 1] = to8(f(f(y + cb * CB_G) + cr * CR_G));
    samples[i + 2] = to8(f(y + cb * CB_B));
  }
  return samples;
}

/**
 * Whether a decoded frame is still YCbCr: YBR_FULL / YBR_FULL_422 and a decoder that hands the components back
 * as they are coded (native, RLE, JPEG-LS, JPEG Lossless, JPEG 2000 without its own colour transform). The JPEG
 * Baseline/Extended decoders already convert (jpeg.ts, following the stream's markers as pydicom does); JPEG 2000
 * YBR_RCT / YBR_ICT come out of OpenJPEG as RGB.
 */
export function needsYbrToRgb(info: Pick<ImageInfo, 'photometricInterpretation' | 'transferSyntaxUID' | 'samplesPerPixel'>): boolean {
  if (info.samplesPerPixel !== 3 || !YBR_FULL.has(info.photometricInterpretation)) return false;
  return info.transferSyntaxUID !== TS.JPEGBaseline8Bit && info.transferSyntaxUID !== TS.JPEGExtended12Bit;
}

/**
 * The colour step of `decodeFrame`: what pydicom's `pixel_array` returns by default for this frame. YBR_FULL /
 * YBR_FULL_422 still in YCbCr become RGB (8-bit only — pydicom defines no conversion for wider samples, so those
 * are refused); other YBR interpretations that no codec converted (YBR_PARTIAL_422/420, retired or MPEG-only) are
 * refused rather than returned as if they were RGB.
 */
export function conformColour(stored: StoredPixels, info: ImageInfo): StoredPixels {
  if (info.samplesPerPixel !== 3) return stored;
  const pi = info.photometricInterpretation;
  if (needsYbrToRgb(info)) {
    if (!(stored instanceof Uint8Array) || info.bitsStored !== 8) {
      throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', `${pi} with Bits Stored ${info.bitsStored}${info.pixelRepresentation ? ', signed' : ''}: YCbCr to RGB is defined for unsigned 8-bit samples only (pydicom refuses it too)`);
    }
    return ybrFullToRgb(Uint8Array.from(stored)); // a copy: the decoder's array may be shared
  }
  const convertedByCodec = info.transferSyntaxUID === TS.JPEGBaseline8Bit || info.transferSyntaxUID === TS.JPEGExtended12Bit
    || ((pi === 'YBR_RCT' || pi === 'YBR_ICT') && JPEG2000_FAMILY.test(info.transferSyntaxUID));
  if (pi.startsWith('YBR') && !convertedByCodec) {
    throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', `Photometric Interpretation ${pi} under transfer syntax ${info.transferSyntaxUID}: no conversion to RGB is defined for it here`);
  }
  return stored;
}

/** Whether the image is colour: three samples per pixel, or PALETTE COLOR indices. */
export function isColour(info: Pick<ImageInfo, 'samplesPerPixel' | 'photometricInterpretation'>): boolean {
  return info.samplesPerPixel === 3 || info.photometricInterpretation === 'PALETTE COLOR';
}

/**
 * Refuse a colour image where modality values (HU, grey intensities) are needed: RGB samples and palette indices
 * are not values of a physical quantity, so using them as such would give silently wrong numbers.
 */
export function refuseColourValues(info: Pick<ImageInfo, 'samplesPerPixel' | 'photometricInterpretation'>, purpose = 'modality values'): void {
  if (!isColour(info)) return;
  const what = info.photometricInterpretation === 'PALETTE COLOR' ? 'its pixel values are palette indices' : `its pixels are ${info.photometricInterpretation === 'RGB' ? 'RGB' : `${info.photometricInterpretation} (as RGB)`} colour samples`;
  throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', `${info.photometricInterpretation} image: ${what}, not ${purpose} (dicom-ml pixels and render read colour images)`);
}

/**
 * One decoded frame of a colour image (what `decodeFrame` returns) as interleaved 8-bit RGB for display:
 * rows×columns×3 bytes, R G B per pixel, row by row. RGB (and YBR, already RGB after decoding) samples are scaled
 * to 8 bits by dropping the bits past the eighth (Bits Stored > 8); PALETTE COLOR indices go through the palette
 * (palette.ts paletteRgb8: 16-bit entries scaled down). Throws for a monochrome image.
 */
export function frameRgb8(stored: StoredPixels, info: Pick<ImageInfo, 'samplesPerPixel' | 'photometricInterpretation' | 'bitsStored' | 'palette' | 'rows' | 'columns'>): Uint8Array {
  const pixels = info.rows * info.columns;
  if (info.photometricInterpretation === 'PALETTE COLOR' && info.palette) {
    const { red, green, blue } = paletteRgb8(info.palette);
    const out = new Uint8Array(3 * pixels);
    const last = red.length - 1;
    const first = info.palette.first;
    for (let i = 0; i < pixels; i++) {
      const k0 = stored[i] - first;
      const k = k0 < 0 ? 0 : k0 > last ? last : k0;
      out[3 * i] = red[k];
      out[3 * i + 1] = green[k];
      out[3 * i + 2] = blue[k];
    }
    return out;
  }
  if (info.samplesPerPixel !== 3) throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', `${info.photometricInterpretation} is not a colour image`);
  const out = new Uint8Array(3 * pixels);
  const shift = Math.max(0, info.bitsStored - 8);
  for (let i = 0; i < out.length; i++) {
    const v = stored[i] >> shift;
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}
