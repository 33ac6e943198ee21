/**
 * RLE Lossless (1.2.840.10008.1.2.5), PS3.5 Annex G. No npm package decodes it; the scheme is short:
 *
 * - G.5: a frame starts with a 64-byte header, 16 little-endian uint32: the number of segments (1…15),
 *   then the byte offset of each segment from the start of the header (unused offsets are 0).
 * - G.2: one segment per byte plane: for each sample (R, G, B or the single grey sample), the most
 *   significant byte first. So 16-bit grey has 2 segments, 8-bit RGB 3, 16-bit RGB 6, 32-bit RGB 12.
 * - G.3.1: each segment is PackBits: a header byte n; 0…127 copy the next n+1 bytes literally;
 *   -1…-127 repeat the next byte -n+1 times; -128 does nothing. A segment decodes to Rows × Columns bytes
 *   (encoders may pad a segment to even length, so a longer segment is trimmed, a shorter one is an error).
 *
 * The planes are recombined into colour-by-pixel samples whatever Planar Configuration says (G.2: RLE data
 * is always stored by plane; PS3.5 8.2.2 tells decoders to ignore the attribute's value here).
 */
import { DicomError } from '../errors';
import type { ImageInfo } from '../image';
import type { FrameDecoder, SampleArray } from './types';

const HEADER_BYTES = 64;

/**
 * Decode one PackBits segment `src` into `out` (exactly out.length bytes). Returns the number of bytes
 * written, which is less than out.length when the segment ran out early.
 */
export function unpackBits(src: Uint8Array, out: Uint8Array): number {
  let i = 0;
  let o = 0;
  const end = out.length;
  while (i < src.length && o < end) {
    const n = src[i++];
    if (n < 128) {
      // Literal run of n + 1 bytes (clipped to what the segment and the output hold).
      const count = Math.min(n + 1, src.length - i, end - o);
      out.set(src.subarray(i, i + count), o);
      i += n + 1;
      o += count;
    } else if (n > 128) {
      // Replicate run: 257 - n copies (n is -(count - 1) as a signed byte).
      if (i >= src.length) break;
      const value = src[i++];
      const count = Math.min(257 - n, end - o);
      out.fill(value, o, o + count);
      o += count;
    }
    // n === 128 (-128): no operation (G.3.1).
  }
  return o;
}

/** Read the G.5 header: the segment offsets, validated against the frame length. */
function segmentBounds(frame: Uint8Array, expected: number): Array<[number, number]> {
  if (frame.length < HEADER_BYTES) {
    throw new DicomError('DECODE_FAILED', `RLE frame is ${frame.length} bytes, shorter than its 64-byte header (PS3.5 G.5)`);
  }
  const view = new DataView(frame.buffer, frame.byteOffset, HEADER_BYTES);
  const count = view.getUint32(0, true);
  if (count !== expected) {
    throw new DicomError('DECODE_FAILED', `RLE header declares ${count} segment(s); Samples per Pixel × Bits Allocated/8 needs ${expected} (PS3.5 G.2)`);
  }
  const offsets: number[] = [];
  for (let s = 0; s < count; s++) offsets.push(view.getUint32(4 + 4 * s, true));
  return offsets.map((start, s) => {
    const end = s + 1 < count ? offsets[s + 1] : frame.length;
    if (start < HEADER_BYTES || start > end || end > frame.length) {
      throw new DicomError('DECODE_FAILED', `RLE segment ${s + 1} has offset ${start}…${end}, outside the frame of ${frame.length} bytes (PS3.5 G.5)`);
    }
    return [start, end];
  });
}

/**
 * Decode one RLE frame into rows×columns×samplesPerPixel samples (colour interleaved), each the stored
 * bit pattern in a word of Bits Allocated (8, 16 or 32) bits.
 */
export function decodeRle(frame: Uint8Array, info: Pick<ImageInfo, 'rows' | 'columns' | 'samplesPerPixel' | 'bitsAllocated'>): SampleArray {
  const { rows, columns, samplesPerPixel: spp, bitsAllocated } = info;
  const bytesPer = bitsAllocated / 8;
  const pixels = rows * columns;
  const bounds = segmentBounds(frame, spp * bytesPer);
  const out: SampleArray = bytesPer === 1 ? new Uint8Array(pixels * spp) : bytesPer === 2 ? new Uint16Array(pixels * spp) : new Uint32Array(pixels * spp);
  const plane = new Uint8Array(pixels);
  for (let s = 0; s < spp; s++) {
    for (let b = 0; b < bytesPer; b++) {
      const seg = s * bytesPer + b;
      const [start, end] = bounds[seg];
      const got = unpackBits(frame.subarray(start, end), plane);
      if (got < pixels) {
        throw new DicomError('DECODE_FAILED', `RLE segment ${seg + 1} decodes to ${got} bytes, expected ${pixels} (${rows}×${columns})`);
      }
      // G.2: segment b of a sample holds byte (bytesPer - 1 - b) counted from the least significant.
      const shift = 8 * (bytesPer - 1 - b);
      if (shift === 0) {
        for (let i = 0, o = s; i < pixels; i++, o += spp) out[o] |= plane[i];
      } else {
        // Uint32Array stores ToUint32 of the value, so a byte shifted into bit 31 stays exact.
        for (let i = 0, o = s; i < pixels; i++, o += spp) out[o] |= plane[i] << shift;
      }
    }
  }
  return out;
}

/** RLE Lossless decoder. */
export const rleLossless: FrameDecoder = {
  name: 'rle',
  lossy: false,
  async decode(frame: Uint8Array, info: ImageInfo): Promise<SampleArray> {
    return decodeRle(frame, info);
  },
};
