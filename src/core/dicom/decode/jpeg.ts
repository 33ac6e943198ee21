/**
 * JPEG Baseline (process 1, 8-bit: 1.2.840.10008.1.2.4.50) and JPEG Extended (processes 2 & 4, 8 or
 * 12-bit: .51), PS3.5 A.4.1 and 8.2.1.
 *
 * Baseline goes through libjpeg-turbo (@cornerstonejs/codec-libjpeg-turbo-8bit, WASM); it cannot do 12-bit,
 * so Extended goes through our sequential DCT decoder (jpegDct.ts, IJG-exact), which also takes over when a
 * file labelled Baseline turns out to hold 12-bit data, and decodes colour, because the WASM build always
 * applies libjpeg's own colour-space guess and cannot be told otherwise.
 *
 * Colour follows pydicom (its default `pixel_array`) and GDCM: the DICOM Photometric Interpretation decides
 * (PS3.5 8.2.1: YBR_FULL / YBR_FULL_422 are YCbCr in the stream and come out as RGB; RGB is not
 * transformed), except that component ids 'R','G','B' mean RGB and a JFIF marker means YCbCr.
 */
import { DicomError } from '../errors';
import type { ImageInfo } from '../image';
import { decodeJpegDct, type JpegColorHints } from './jpegDct';
import type { FrameDecoder, SampleArray } from './types';
import { checkGeometry, copySamples, lazyCodec, runDecoder } from './wasm';

const libjpegTurbo = lazyCodec('libjpeg-turbo', () => import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs'));

/** Sample precision from the first SOFn marker (T.81 B.2.2), or undefined if none is found. */
export function jpegPrecision(frame: Uint8Array): number | undefined {
  let p = 2;
  while (p + 4 < frame.length) {
    if (frame[p] !== 0xff) return undefined;
    const m = frame[p + 1];
    if (m === 0xff) { p++; continue; }
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) return frame[p + 4];
    p += 2 + ((frame[p + 2] << 8) | frame[p + 3]);
  }
  return undefined;
}

/** Whether 3 decoded components are YCbCr to turn into RGB (pydicom's _conform_jpg_colorspace). */
export function jpegIsYcc(hints: JpegColorHints, photometricInterpretation: string): boolean {
  const [a, b, c] = hints.componentIds;
  if ((a === 82 && b === 71 && c === 66) || (a === 114 && b === 103 && c === 98)) return false;
  if (hints.jfif) return true;
  return photometricInterpretation.startsWith('YBR');
}

function decodeWithDct(frame: Uint8Array, info: ImageInfo): SampleArray {
  const image = decodeJpegDct(frame, (hints) => jpegIsYcc(hints, info.photometricInterpretation));
  checkGeometry('JPEG', { width: image.width, height: image.height, componentCount: image.components }, info);
  if (image.precision > info.bitsAllocated) {
    throw new DicomError('DECODE_FAILED', `JPEG: ${image.precision}-bit samples do not fit Bits Allocated ${info.bitsAllocated}`);
  }
  return image.samples;
}

/** JPEG Baseline 8-bit decoder (libjpeg-turbo). */
export const jpegBaseline: FrameDecoder = {
  name: 'jpeg-baseline',
  lossy: true,
  async decode(frame: Uint8Array, info: ImageInfo): Promise<SampleArray> {
    if (info.samplesPerPixel !== 1 || (jpegPrecision(frame) ?? 8) > 8) return decodeWithDct(frame, info);
    const codec = await libjpegTurbo();
    return runDecoder('libjpeg-turbo', new codec.JPEGDecoder(), frame, (decoder) => {
      const fi = decoder.getFrameInfo();
      checkGeometry('libjpeg-turbo', fi, info);
      return copySamples(decoder.getDecodedBuffer(), fi.bitsPerSample, info.rows * info.columns * info.samplesPerPixel, 'libjpeg-turbo');
    });
  },
};

/** JPEG Extended (8 or 12-bit) decoder. */
export const jpegExtended: FrameDecoder = {
  name: 'jpeg-extended',
  lossy: true,
  async decode(frame: Uint8Array, info: ImageInfo): Promise<SampleArray> {
    return decodeWithDct(frame, info);
  },
};
