/**
 * CT slices in a chosen transfer syntax: native explicit VR little endian (write.ts as it is), or encapsulated
 * RLE Lossless / JPEG Lossless SV1 (PS3.5 A.4): Pixel Data (7FE0,0010) as OB with undefined length, an
 * empty Basic Offset Table item, one fragment per frame (padded to even length), a Sequence Delimitation Item.
 * The data set without Pixel Data goes through write.ts's encodePart10, which declares the real transfer
 * syntax in the File Meta Information (PS3.10 7.1) and appends the encapsulated Pixel Data (the highest tag).
 */
import { DicomError } from '../errors';
import { TS } from '../uids';
import { CT_IMAGE_STORAGE, ctDataSet, encodeCtSlice, encodePart10, type CtSlice } from '../write';
import { encodeJpegLosslessSV1 } from './jpegLossless';
import { encodeRle } from './rle';

/** Pixel encodings the phantom writer offers (RSNA 2022 ships native and JPEG lossless SV1 files). */
export type SliceSyntax = 'native' | 'rle' | 'jpeg-lossless';

/** Transfer syntax UID per {@link SliceSyntax}. */
export const SYNTAX_UID: Record<SliceSyntax, string> = {
  native: TS.ExplicitVRLittleEndian,
  rle: TS.RLELossless,
  'jpeg-lossless': TS.JPEGLosslessSV1,
};

const PIXEL_DATA = 0x7fe00010;

function le16(v: number): number[] { return [v & 0xff, (v >> 8) & 0xff]; }
function le32(v: number): number[] { return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]; }
function tagBytes(tag: number): number[] { return [...le16(tag >>> 16), ...le16(tag & 0xffff)]; }

/**
 * Encapsulated Pixel Data (PS3.5 A.4): OB, undefined length; an empty Basic Offset Table (allowed for any
 * number of frames, A.4 Table A.4-1); one item per frame, padded with a trailing 0x00 to even length
 * (A.4: "the last fragment … padded"); then the Sequence Delimitation Item.
 */
export function encapsulatePixelData(frames: readonly Uint8Array[]): Uint8Array {
  const parts: number[][] = [[...tagBytes(PIXEL_DATA), 0x4f, 0x42, 0, 0, ...le32(0xffffffff)], [...tagBytes(0xfffee000), ...le32(0)]];
  let total = parts[0].length + parts[1].length + 8;
  for (const f of frames) total += 8 + f.length + (f.length % 2);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  for (const f of frames) {
    const len = f.length + (f.length % 2);
    out.set([...tagBytes(0xfffee000), ...le32(len)], o);
    out.set(f, o + 8);
    o += 8 + len; // the pad byte is already 0
  }
  out.set([...tagBytes(0xfffee0dd), ...le32(0)], o);
  return out;
}

/**
 * A complete Part 10 CT file in `syntax`. The pixel values are validated by write.ts (they must fit Bits
 * Stored); compression is lossless, so a decoder returns exactly `slice.pixelData`. Single frame only.
 */
export function encodeCtSliceAs(slice: CtSlice, syntax: SliceSyntax): Uint8Array {
  if (syntax === 'native') return encodeCtSlice(slice);
  if ((slice.frames ?? 1) !== 1) throw new DicomError('BAD_ARGUMENT', 'compressed slices are written one frame per file');
  const dataSet = ctDataSet(slice).filter((el) => el.tag !== PIXEL_DATA);
  const late = dataSet.find((el) => el.tag > PIXEL_DATA);
  if (late) throw new DicomError('BAD_ARGUMENT', `element ${late.tag.toString(16)} follows Pixel Data; not supported with encapsulation`);
  const bitsStored = slice.bitsStored ?? 16;
  const frame = syntax === 'rle'
    ? encodeRle(slice.pixelData, { rows: slice.rows, columns: slice.columns, samplesPerPixel: 1, bitsAllocated: 16 })
    // PS3.5 8.2.1: signed pixels are JPEG-coded as their 16-bit two's complement patterns, so P = 16.
    : encodeJpegLosslessSV1({ width: slice.columns, height: slice.rows, precision: slice.pixelData instanceof Int16Array ? 16 : bitsStored, samples: slice.pixelData });
  return encodePart10(dataSet, {
    sopClassUID: slice.sopClassUID ?? CT_IMAGE_STORAGE,
    sopInstanceUID: slice.sopInstanceUID,
    transferSyntaxUID: SYNTAX_UID[syntax],
    trailer: encapsulatePixelData([frame]),
  });
}
