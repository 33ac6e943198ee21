/**
 * Native (uncompressed) pixel data: implicit/explicit VR little endian, deflated (already inflated by the
 * parser) and explicit VR big endian (PS3.5 A.3: words are byte-swapped, OB 8-bit data is not; 8-bit data in OW
 * is un-swapped by pixels.ts frameBytes, which knows the element's VR).
 */
import { DicomError } from '../errors';
import { expandYbr422, isNativeYbr422, nativeFrameSamples } from '../colour';
import type { ImageInfo } from '../image';
import type { FrameDecoder, SampleArray } from './types';

/**
 * Bytes one frame occupies in native encoding (PS3.5 8.1.1); bit-packed (Bits Allocated 1) frames round up; native
 * YBR_FULL_422 holds two samples per pixel (colour.ts nativeFrameSamples).
 */
export function nativeFrameBytes(info: ImageInfo): number {
  if (info.bitsAllocated === 1) return Math.ceil((info.rows * info.columns * info.samplesPerPixel) / 8);
  return nativeFrameSamples(info) * (info.bitsAllocated / 8);
}

/**
 * Bit-packed samples (Bits Allocated 1, PS3.5 8.1.1 / D.2): the first pixel in the least significant bit of the
 * first byte, as pydicom's unpack_bits (numpy bitorder "little"). One byte per sample, 0 or 1.
 */
export function unpackBits(packed: Uint8Array, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) out[i] = (packed[i >> 3] >> (i & 7)) & 1;
  return out;
}

/** Colour-by-plane (RR…GG…BB…) to colour-by-pixel (RGBRGB…). */
export function interleavePlanes<T extends SampleArray>(planar: T, pixels: number): T {
  const out = new (planar.constructor as new (n: number) => T)(planar.length);
  for (let s = 0; s < 3; s++) {
    const base = s * pixels;
    for (let i = 0; i < pixels; i++) out[i * 3 + s] = planar[base + i];
  }
  return out;
}

function makeNative(bigEndian: boolean): FrameDecoder {
  return {
    name: bigEndian ? 'native-big-endian' : 'native',
    lossy: false,
    async decode(frame: Uint8Array, info: ImageInfo): Promise<SampleArray> {
      const expected = nativeFrameBytes(info);
      if (frame.length < expected) {
        throw new DicomError('TRUNCATED', `pixel data holds ${frame.length} bytes for a frame of ${expected} (${info.rows}×${info.columns}×${info.samplesPerPixel}, ${info.bitsAllocated}-bit)`);
      }
      if (info.bitsAllocated === 1) return unpackBits(frame, info.rows * info.columns * info.samplesPerPixel);
      const bytesPer = info.bitsAllocated / 8;
      const count = nativeFrameSamples(info);
      // Copy into an aligned buffer: the frame may start at an odd offset inside the file.
      const copy = new Uint8Array(count * bytesPer);
      copy.set(frame.subarray(0, count * bytesPer));
      if (bigEndian && bytesPer === 2) {
        for (let i = 0; i < copy.length; i += 2) {
          const t = copy[i];
          copy[i] = copy[i + 1];
          copy[i + 1] = t;
        }
      } else if (bigEndian && bytesPer === 4) {
        for (let i = 0; i < copy.length; i += 4) {
          let t = copy[i];
          copy[i] = copy[i + 3];
          copy[i + 3] = t;
          t = copy[i + 1];
          copy[i + 1] = copy[i + 2];
          copy[i + 2] = t;
        }
      }
      let samples: SampleArray = bytesPer === 1 ? copy : bytesPer === 2 ? new Uint16Array(copy.buffer) : new Uint32Array(copy.buffer);
      if (isNativeYbr422(info)) {
        // PS3.3 C.7.6.3.1.3: YBR_FULL_422 is colour-by-pixel only; Y1 Y2 Cb Cr → Y Cb Cr per pixel, as pydicom.
        if (info.planarConfiguration !== 0) throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', `YBR_FULL_422 with Planar Configuration ${info.planarConfiguration}: it is defined colour-by-pixel only (PS3.3 C.7.6.3.1.3)`);
        return expandYbr422(samples, info.rows * info.columns);
      }
      if (info.samplesPerPixel === 3 && info.planarConfiguration === 1) samples = interleavePlanes(samples, info.rows * info.columns);
      return samples;
    },
  };
}

/** Little-endian native decoder (implicit, explicit, deflated). */
export const nativeLittleEndian = makeNative(false);
/** Explicit VR big endian (retired, still met in archives). */
export const nativeBigEndian = makeNative(true);
