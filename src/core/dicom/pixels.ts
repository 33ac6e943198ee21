/**
 * From a parsed file to stored values of one frame: pick the frame's bytes (native slice or encapsulated
 * fragments), decode with the table's decoder, then apply Bits Stored / High Bit / Pixel Representation
 * (PS3.5 8.1.1: bits outside Bits Stored are not part of the value; two's complement when signed).
 */
import * as dicomParser from 'dicom-parser';
import { conformColour } from './colour';
import { DicomError, describeThrown } from './errors';
import type { ImageInfo } from './image';
import type { DicomFile } from './parse';
import { decoderFor } from './decode/index';
import { nativeFrameBytes } from './decode/native';
import type { SampleArray } from './decode/types';
import { isNativeSyntax, TS } from './uids';

/** Stored values of one frame after masking and sign extension; colour interleaved. */
export type StoredPixels = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/** The bytes of frame `index` (0-based): a slice of native pixel data, or the frame's joined fragments. */
export function frameBytes(file: DicomFile, info: ImageInfo, index: number): Uint8Array {
  if (!Number.isInteger(index) || index < 0 || index >= info.frames) {
    throw new DicomError('BAD_FRAME', `frame ${index} out of range (the file has ${info.frames} frame${info.frames === 1 ? '' : 's'}, numbered from 0)`);
  }
  const ds = file.dataSet;
  const el = ds.elements.x7fe00010 ?? (info.floatPixels === 32 ? ds.elements.x7fe00008 : info.floatPixels === 64 ? ds.elements.x7fe00009 : undefined);
  if (!el) throw new DicomError('NO_PIXEL_DATA', 'no Pixel Data (7FE0,0010)');
  if (info.floatPixels && !isNativeSyntax(info.transferSyntaxUID)) {
    throw new DicomError('UNSUPPORTED_TRANSFER_SYNTAX', `${info.floatPixels === 32 ? 'Float' : 'Double Float'} Pixel Data under transfer syntax ${info.transferSyntaxUID} is not supported (native syntaxes only)`);
  }
  if (isNativeSyntax(info.transferSyntaxUID) && el.encapsulatedPixelData) {
    // Fragments under a native syntax: a compressed image whose transfer syntax was lost or is wrong (e.g. a meta
    // without (0002,0010)); which codec made it cannot be known, so no values are guessed.
    throw new DicomError('MALFORMED', `Pixel Data is encapsulated (compressed) but the transfer syntax is ${info.transferSyntaxUID} (native): the compression cannot be known`);
  }
  if (isNativeSyntax(info.transferSyntaxUID) && info.bitsAllocated === 1) {
    return bitPackedFrame(ds.byteArray, el.dataOffset, el.length, info, index, info.transferSyntaxUID === TS.ExplicitVRBigEndian && el.vr === 'OW');
  }
  if (isNativeSyntax(info.transferSyntaxUID)) {
    const size = nativeFrameBytes(info);
    const start = el.dataOffset + index * size;
    if (start + size > el.dataOffset + el.length || start + size > ds.byteArray.length) {
      throw new DicomError('TRUNCATED', `pixel data holds ${el.length} bytes, frame ${index} needs bytes ${index * size}…${(index + 1) * size}`);
    }
    if (info.transferSyntaxUID === TS.ExplicitVRBigEndian && info.bitsAllocated === 8 && el.vr === 'OW') return unswapWords(ds.byteArray, el.dataOffset, start, size);
    return ds.byteArray.subarray(start, start + size);
  }
  if (!el.encapsulatedPixelData || !el.fragments) {
    throw new DicomError('MALFORMED', `transfer syntax ${info.transferSyntaxUID} is compressed but Pixel Data is not encapsulated`);
  }
  if (el.fragments.length === 0) throw new DicomError('NO_PIXEL_DATA', 'encapsulated Pixel Data has no fragments');
  try {
    if (info.frames === 1) {
      return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, 0, el.fragments.length) as Uint8Array;
    }
    if (el.basicOffsetTable && el.basicOffsetTable.length > 0) {
      return dicomParser.readEncapsulatedImageFrame(ds, el, index) as Uint8Array;
    }
    // PS3.5 A.4: without a Basic Offset Table, one fragment per frame is the common (and only unambiguous
    // generic) case; JPEG frames can be found by their SOI markers.
    if (el.fragments.length === info.frames) {
      return dicomParser.readEncapsulatedPixelDataFromFragments(ds, el, index, 1) as Uint8Array;
    }
    const table = dicomParser.createJPEGBasicOffsetTable(ds, el);
    return dicomParser.readEncapsulatedImageFrame(ds, el, index, table) as Uint8Array;
  } catch (thrown) {
    throw new DicomError('MALFORMED', `cannot read frame ${index} from encapsulated pixel data: ${describeThrown(thrown).replace(/^dicomParser\.\w+:\s*/, '')}`, undefined, { cause: thrown });
  }
}

/**
 * Mask each sample to Bits Stored (after shifting down when High Bit + 1 > Bits Stored) and sign-extend
 * when Pixel Representation is 1. Returns the narrowest typed array that holds the values.
 */
export function finishSamples(samples: SampleArray, info: ImageInfo): StoredPixels {
  const { bitsStored, highBit, pixelRepresentation, bitsAllocated } = info;
  const shift = highBit + 1 - bitsStored;
  const signed = pixelRepresentation === 1;
  const width = bitsAllocated <= 8 && bitsStored <= 8 ? 8 : bitsAllocated <= 16 ? 16 : 32;
  if (shift === 0 && bitsStored === width && samples.BYTES_PER_ELEMENT * 8 === width) {
    // Nothing to mask: reinterpret the same bytes with the right signedness, no copy.
    const { buffer, byteOffset, length } = samples;
    if (width === 8) return signed ? new Int8Array(buffer, byteOffset, length) : new Uint8Array(buffer, byteOffset, length);
    if (width === 16) return signed ? new Int16Array(buffer, byteOffset, length) : new Uint16Array(buffer, byteOffset, length);
    return signed ? new Int32Array(buffer, byteOffset, length) : new Uint32Array(buffer, byteOffset, length);
  }
  const out: StoredPixels = width === 8 ? (signed ? new Int8Array(samples.length) : new Uint8Array(samples.length))
    : width === 16 ? (signed ? new Int16Array(samples.length) : new Uint16Array(samples.length))
      : (signed ? new Int32Array(samples.length) : new Uint32Array(samples.length));
  if (bitsStored === 32) {
    for (let i = 0; i < samples.length; i++) out[i] = samples[i];
    return out;
  }
  const mask = (1 << bitsStored) - 1; // bitsStored ≤ 31 here, so 32-bit integer arithmetic is exact
  const up = 32 - bitsStored;
  if (signed) {
    // Shift the sign bit of the stored value into bit 31, then arithmetic-shift back (sign extension).
    for (let i = 0; i < samples.length; i++) out[i] = (((samples[i] >>> shift) & mask) << up) >> up;
  } else {
    for (let i = 0; i < samples.length; i++) out[i] = (samples[i] >>> shift) & mask;
  }
  return out;
}

/**
 * Frame `index` of bit-packed native data (Bits Allocated 1): frames follow each other bit after bit, so a frame
 * may start inside a byte (PS3.5 8.1.1); its bits are shifted down to start at bit 0 of a fresh buffer. In explicit VR
 * big endian an OW value is 16-bit words in big-endian order, so the bytes are un-swapped first (`swapWords`), as
 * DCMTK writes and GDCM reads them; pydicom 3.0.1 does not (its "be_swap_ow" covers 8-bit samples only) and so
 * reads such files with pairs of bytes exchanged. OB is never swapped.
 */
function bitPackedFrame(bytes: Uint8Array, dataOffset: number, length: number, info: ImageInfo, index: number, swapWords: boolean): Uint8Array {
  const n = info.rows * info.columns * info.samplesPerPixel;
  const firstBit = index * n;
  const start = dataOffset + (firstBit >> 3);
  const shift = firstBit & 7;
  const size = Math.ceil(n / 8);
  const needed = Math.ceil((shift + n) / 8);
  if ((firstBit >> 3) + needed > length || start + needed > bytes.length) {
    throw new DicomError('TRUNCATED', `pixel data holds ${length} bytes, bit-packed frame ${index} needs bits ${firstBit}…${firstBit + n} (bytes up to ${(firstBit >> 3) + needed})`);
  }
  const raw = swapWords ? unswapWords(bytes, dataOffset, start, needed) : bytes.subarray(start, start + needed);
  if (shift === 0) return raw.subarray(0, size);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = ((raw[i] >> shift) | ((raw[i + 1] ?? 0) << (8 - shift))) & 0xff;
  return out;
}

/**
 * 8-bit samples in an OW Pixel Data of explicit VR big endian: on disk the value is a stream of 16-bit words in
 * big-endian order (PS3.5 A.3), so each pair of samples is swapped. Undo it for bytes [start, start + size) of
 * the element that begins at `dataOffset` (a frame may start in the middle of a word).
 */
function unswapWords(bytes: Uint8Array, dataOffset: number, start: number, size: number): Uint8Array {
  const from = start - ((start - dataOffset) & 1);
  const words = new Uint8Array(Math.ceil((start + size - from) / 2) * 2);
  words.set(bytes.subarray(from, Math.min(bytes.length, from + words.length)));
  for (let i = 0; i < words.length; i += 2) {
    const t = words[i];
    words[i] = words[i + 1];
    words[i + 1] = t;
  }
  return words.subarray(start - from, start - from + size);
}

/** A frame of Float / Double Float Pixel Data (IEEE 754, in the syntax's byte order) as numbers. */
function floatFrame(bytes: Uint8Array, info: ImageInfo): Float32Array | Float64Array {
  const width = (info.floatPixels as number) / 8;
  const n = info.rows * info.columns * info.samplesPerPixel;
  const little = info.transferSyntaxUID !== TS.ExplicitVRBigEndian;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = width === 4 ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = width === 4 ? dv.getFloat32(i * 4, little) : dv.getFloat64(i * 8, little);
  return out;
}

/**
 * Decode frame `index` of a parsed file into stored values, as pydicom's default `pixel_array`: colour interleaved,
 * rows×columns×3, YBR_FULL / YBR_FULL_422 converted to RGB; PALETTE COLOR gives the indices.
 */
export async function decodeFrame(file: DicomFile, info: ImageInfo, index = 0): Promise<StoredPixels> {
  const decoder = decoderFor(info.transferSyntaxUID);
  const bytes = frameBytes(file, info, index);
  if (info.floatPixels) return floatFrame(bytes, info);
  let samples: SampleArray;
  try {
    samples = await decoder.decode(bytes, info);
  } catch (thrown) {
    if (thrown instanceof DicomError) throw thrown;
    throw new DicomError('DECODE_FAILED', `${decoder.name} decoder failed on frame ${index}: ${describeThrown(thrown)}`, undefined, { cause: thrown });
  }
  const expected = info.rows * info.columns * info.samplesPerPixel;
  if (samples.length < expected) {
    throw new DicomError('DECODE_FAILED', `${decoder.name} decoder returned ${samples.length} samples, expected ${expected} (${info.rows}×${info.columns}×${info.samplesPerPixel})`);
  }
  // Colour as pydicom's pixel_array gives it: YBR_FULL / YBR_FULL_422 as RGB (colour.ts).
  return conformColour(finishSamples(samples.length === expected ? samples : samples.subarray(0, expected), info), info);
}
