/**
 * High-Throughput JPEG 2000 (PS3.5 A.4.12 / 10.18: 1.2.840.10008.1.2.4.201 lossless, .202 lossless RPCL,
 * .203 lossless or lossy) with OpenJPH (@cornerstonejs/codec-openjph).
 *
 * The main header is read here first (ITU-T T.800 A.5–A.6: SIZ, COD, CAP, then the tile-parts' SOT
 * lengths), because the codec is silent about damage: a codestream cut inside its tile data decodes
 * "successfully" into wrong numbers, so a cut codestream must be caught before it reaches the codec.
 * Where the codec cannot give exact numbers, the frame goes to OpenJPEG (the JPEG 2000 decoder, which also
 * decodes HT code-blocks) or is refused with a DicomError:
 * - no CAP marker with the Part 15 bit: a plain Part 1 codestream, which OpenJPH does not decode → OpenJPEG;
 * - several components without the multi-component transform: codec-openjph 2.4.11's HTJ2KDecoder asks
 *   OpenJPH for planar output (`set_planar(true)`) but reads the lines as if interleaved, scrambling the
 *   rows of colour images (checked against OpenJPEG and ojph_expand) → OpenJPEG, until the codec is fixed;
 * - signed samples of ≤ 8 bits (the codec clamps its 8-bit output to 0…255) and samples of more than
 *   16 bits (it writes 16-bit words) → refused; subsampled components (not valid in DICOM) → refused.
 * Lossy (.203 with the irreversible wavelet, or coded above Bits Stored) overshoot saturates at the stored
 * range, signed or not, instead of wrapping when masked to Bits Stored.
 */
import { DicomError } from '../errors';
import type { ImageInfo } from '../image';
import { TS } from '../uids';
import { jpeg2000 } from './jpeg2000';
import type { FrameDecoder, SampleArray } from './types';
import { checkGeometry, copySamples, lazyCodec, runDecoder } from './wasm';

const openjph = lazyCodec('OpenJPH', () => import('@cornerstonejs/codec-openjph/wasmjs'));

/** What the main header says about a codestream (ITU-T T.800 A.5.1 SIZ, A.6.1 COD; T.814 A.3 CAP). */
export interface CodestreamHeader {
  width: number;
  height: number;
  components: number;
  /** Bit depth of component 0 (all components are checked to agree). */
  precision: number;
  signed: boolean;
  /** Every component has XRsiz = YRsiz = 1. */
  fullResolution: boolean;
  /** SGcod multiple component transform (RCT/ICT) on the first three components. */
  colourTransform: boolean;
  /** SPcod wavelet: true for the 5/3 reversible filter, false for 9/7 irreversible. */
  reversible: boolean;
  /** A CAP marker declares Part 15 (HT) capabilities. */
  highThroughput: boolean;
}

const SOC = 0xff4f;
const SIZ = 0xff51;
const COD = 0xff52;
const CAP = 0xff50;
const SOT = 0xff90;
const EOC = 0xffd9;

/**
 * Read the main header and walk the tile-parts by their Psot lengths: a codestream cut short, or one missing
 * tile-parts, is a DECODE_FAILED error saying so (the codec itself would decode it into wrong numbers).
 */
export function readCodestreamHeader(frame: Uint8Array): CodestreamHeader {
  const fail = (why: string): never => {
    throw new DicomError('DECODE_FAILED', `HTJ2K: ${why}`);
  };
  const n = frame.length;
  const u16 = (p: number) => (frame[p] << 8) | frame[p + 1];
  const u32 = (p: number) => u16(p) * 0x10000 + u16(p + 2);
  if (n < 4 || u16(0) !== SOC || u16(2) !== SIZ) {
    fail(`the frame is not a JPEG 2000 codestream (it starts ${[...frame.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0')).join(' ')}, not the SOC and SIZ markers ff4f ff51)`);
  }
  let header: Partial<CodestreamHeader> = { highThroughput: false };
  let numTiles = 1;
  let pos = 2;
  for (;;) {
    if (pos + 4 > n) fail(`the codestream is cut inside its main header (${n} bytes)`);
    const marker = u16(pos);
    if (marker === SOT) break;
    if (marker >>> 8 !== 0xff) fail(`no marker at byte ${pos} of the main header (found ${marker.toString(16)})`);
    const length = u16(pos + 2);
    if (length < 2 || pos + 2 + length > n) fail(`the codestream is cut inside its main header (marker ${marker.toString(16)} at byte ${pos} needs ${length} bytes)`);
    const at = pos + 4;
    if (marker === SIZ) {
      const [xsiz, ysiz, xo, yo, xt, yt, xto, yto] = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => u32(at + 2 + i * 4));
      const components = u16(at + 34);
      if (components === 0 || length < 38 + 3 * components || xt === 0 || yt === 0) fail('the SIZ marker is malformed');
      const ssiz = frame[at + 36];
      let fullResolution = true;
      let uniform = true;
      for (let c = 0; c < components; c++) {
        const base = at + 36 + c * 3;
        if (frame[base] !== ssiz) uniform = false;
        if (frame[base + 1] !== 1 || frame[base + 2] !== 1) fullResolution = false;
      }
      if (!uniform) fail('components of different bit depth or signedness are not supported');
      header = { ...header, width: xsiz - xo, height: ysiz - yo, components, precision: (ssiz & 0x7f) + 1, signed: (ssiz & 0x80) !== 0, fullResolution };
      numTiles = Math.ceil((xsiz - xto) / xt) * Math.ceil((ysiz - yto) / yt);
    } else if (marker === COD) {
      if (length < 12) fail('the COD marker is malformed');
      header.colourTransform = frame[at + 4] !== 0;
      header.reversible = frame[at + 9] === 1;
    } else if (marker === CAP) {
      // Pcap bit 15 (counted from the most significant bit, 1-based) announces a Part 15 Ccap entry.
      header.highThroughput = (u32(at) & (1 << (32 - 15))) !== 0;
    }
    pos += 2 + length;
  }
  if (header.width === undefined || header.colourTransform === undefined) fail('the main header has no SIZ or no COD marker');
  // Tile-parts (A.4.2): Psot is the tile-part's length from its SOT marker; 0 means "up to EOC".
  const parts = new Map<number, { seen: number; declared: number }>();
  let index = 0;
  while (pos + 2 <= n && u16(pos) === SOT) {
    if (pos + 12 > n) fail(`the codestream is cut inside tile-part ${index}'s SOT marker`);
    const tile = u16(pos + 4);
    const psot = u32(pos + 6);
    const entry = parts.get(tile) ?? { seen: 0, declared: 0 };
    entry.seen++;
    if (frame[pos + 11] !== 0) entry.declared = frame[pos + 11];
    parts.set(tile, entry);
    if (psot === 0) {
      pos = lastEoc(frame);
      if (pos < 0) fail(`the codestream is cut: its last tile-part runs to the end of the codestream, and there is no EOC marker`);
      break;
    }
    if (pos + psot > n) fail(`the codestream is cut: tile-part ${index} needs ${psot} bytes, ${n - pos} are left`);
    pos += psot;
    index++;
  }
  if (pos + 2 <= n && u16(pos) !== EOC && frame.subarray(pos).some((b) => b !== 0)) {
    fail(`unexpected bytes after tile-part ${index} at byte ${pos} (${u16(pos).toString(16)})`);
  }
  for (let tile = 0; tile < numTiles; tile++) {
    const entry = parts.get(tile);
    if (!entry || (entry.declared > 0 && entry.seen < entry.declared)) {
      fail(`the codestream is cut: tile ${tile} of ${numTiles} has ${entry?.seen ?? 0} of its ${entry?.declared || 1} tile-part(s)`);
    }
  }
  return header as CodestreamHeader;
}

/** Offset of an EOC marker that ends the codestream (only zero padding after it), or -1. */
function lastEoc(frame: Uint8Array): number {
  let end = frame.length;
  while (end > 0 && frame[end - 1] === 0) end--;
  return end >= 2 && frame[end - 2] === 0xff && frame[end - 1] === 0xd9 ? end - 2 : -1;
}

/** Clamp lossy overshoot to the Bits Stored range (two's complement 16-bit words when signed). */
function saturate(samples: SampleArray, info: ImageInfo): SampleArray {
  const bits = info.bitsStored;
  if (info.pixelRepresentation === 0) {
    const max = 2 ** bits - 1;
    for (let i = 0; i < samples.length; i++) if (samples[i] > max) samples[i] = max;
    return samples;
  }
  const lo = -(2 ** (bits - 1));
  const hi = 2 ** (bits - 1) - 1;
  const view = samples.BYTES_PER_ELEMENT === 1 ? new Int8Array(samples.buffer, samples.byteOffset, samples.length) : new Int16Array(samples.buffer, samples.byteOffset, samples.length);
  for (let i = 0; i < view.length; i++) view[i] = Math.min(hi, Math.max(lo, view[i]));
  return samples;
}

async function decodeOpenJph(frame: Uint8Array, info: ImageInfo): Promise<SampleArray> {
  const codec = await openjph();
  return runDecoder('OpenJPH', new codec.HTJ2KDecoder(), frame, (decoder) => {
    if (!decoder.getIsHeaderValid()) {
      throw new DicomError('DECODE_FAILED', `OpenJPH: ${decoder.getLastErrorMessage() || 'the codestream header is invalid'}`);
    }
    const fi = decoder.getFrameInfo();
    checkGeometry('OpenJPH', fi, info);
    return copySamples(decoder.getDecodedBuffer(), fi.bitsPerSample, info.rows * info.columns * info.samplesPerPixel, 'OpenJPH');
  });
}

/** Decoder for the three HTJ2K transfer syntaxes. */
export const htj2k: FrameDecoder = {
  name: 'htj2k',
  lossy: true,
  async decode(frame: Uint8Array, info: ImageInfo): Promise<SampleArray> {
    const header = readCodestreamHeader(frame);
    checkGeometry('HTJ2K', { width: header.width, height: header.height, componentCount: header.components }, info);
    if (!header.fullResolution) throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', 'HTJ2K: subsampled components are not supported');
    if (header.precision > 16) throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', `HTJ2K: ${header.precision}-bit samples are not supported (16 at most)`);
    if (header.precision > info.bitsAllocated) {
      throw new DicomError('DECODE_FAILED', `HTJ2K: the codestream has ${header.precision}-bit samples but Bits Allocated is ${info.bitsAllocated}`);
    }
    if (header.signed && header.precision <= 8) {
      throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', 'HTJ2K: signed samples of 8 bits or fewer are not supported (the OpenJPH codec clamps them to 0…255)');
    }
    const viaOpenJpeg = !header.highThroughput || (header.components > 1 && !header.colourTransform);
    const samples = viaOpenJpeg ? await jpeg2000.decode(frame, info) : await decodeOpenJph(frame, info);
    const lossy = info.transferSyntaxUID === TS.HTJ2K && (!header.reversible || header.precision > info.bitsStored);
    return lossy ? saturate(samples, info) : samples;
  },
};
