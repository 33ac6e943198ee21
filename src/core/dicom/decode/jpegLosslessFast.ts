/**
 * JPEG lossless, non-hierarchical, Huffman (ITU-T T.81 process 14, Annex H; PS3.5 A.4.1: transfer syntaxes
 * 1.2.840.10008.1.2.4.57 any predictor and .70 selection value 1) — our own decoder.
 *
 * Why not jpeg-lossless-decoder-js (decode/jpegLossless.ts): on a 512×512 16-bit CT slice it takes ~1.4×
 * pydicom's time (pylibjpeg-libjpeg, C++), and the decode-speed issue asks for ≤ 0.5×. It also decodes bit
 * by bit through method calls and ignores the point transform. This one is built for speed:
 *  - the scan's entropy-coded data is unstuffed once (0xFF00 → 0xFF, split at RSTn) into a zero-padded
 *    buffer, so the bit reader has no marker checks: a 32-bit accumulator refilled 16 bits at a time;
 *  - 12-bit lookahead Huffman tables that also fold in the additional bits when code + bits fit, with a
 *    canonical slow path for longer codes (jpegLosslessFastTables.ts);
 *  - one fused loop per scan (decode, predict, store; no per-sample calls or allocation), specialised for
 *    selection value 1 with one component — the RSNA and DICOM .70 case — and for one component with any
 *    predictor (.57); interleaved colour scans go row by row in two passes (jpegLosslessFastScan.ts).
 * Supported: predictors 1–7, point transform, precision 2–16, any number of components with equal sampling
 * (one interleaved scan or one scan per component), restart intervals of whole lines, DHT/DRI anywhere
 * before a scan, fill bytes. Not supported (clear DECODE_FAILED errors): DNL (height 0), restart intervals
 * that end inside a line, subsampled components in an interleaved scan, arithmetic coding, hierarchical mode.
 *
 * Samples are the stored bit patterns (signed data is encoded as its two's complement, PS3.5 8.2.1), colour
 * interleaved; Uint8Array for precision ≤ 8, else Uint16Array. Corrupt or truncated data throws
 * DicomError('DECODE_FAILED'): every scan checks that it did not consume bits beyond its data.
 */
import type { ImageInfo } from '../image';
import { decodeScan, type FrameHeader, type ScanHeader } from './jpegLosslessFastScan';
import { buildHuffmanTable, jpegError, readEntropySegments, type HuffmanTable } from './jpegLosslessFastTables';
import type { FrameDecoder, SampleArray } from './types';

/** A decoded JPEG lossless image. */
export interface JpegLosslessImage {
  width: number;
  height: number;
  /** Number of components (1 grey, 3 colour). */
  components: number;
  /** Sample precision P in bits (2…16). */
  precision: number;
  /** width×height×components samples, colour interleaved, row-major; values already shifted by Pt. */
  samples: Uint8Array | Uint16Array;
}

/** What the caller expects; a frame header that disagrees is an error before any allocation. */
export interface JpegGeometry {
  width: number;
  height: number;
  components: number;
}

interface RawTable {
  counts: Uint8Array;
  values: Uint8Array;
  built?: HuffmanTable;
}

/** Refuse frames larger than this many samples unless the caller vouched for the geometry. */
const MAX_SAMPLES = 1 << 28;

/** Decoder for both JPEG lossless transfer syntaxes. */
export const jpegLosslessFast: FrameDecoder = {
  name: 'jpeg-lossless',
  lossy: false,
  async decode(frame: Uint8Array, info: ImageInfo): Promise<SampleArray> {
    const image = decodeJpegLossless(frame, { width: info.columns, height: info.rows, components: info.samplesPerPixel });
    if (image.precision > info.bitsAllocated) {
      throw jpegError(`the JPEG precision is ${image.precision} bits but Bits Allocated is ${info.bitsAllocated}`);
    }
    return image.samples;
  },
};

/**
 * Decode one JPEG lossless stream (SOI … EOI). A missing EOI after complete scans is accepted; anything
 * that leaves samples undecoded or reads past the data throws DicomError('DECODE_FAILED').
 */
export function decodeJpegLossless(data: Uint8Array, expect?: JpegGeometry): JpegLosslessImage {
  const n = data.length;
  if (n < 2 || data[0] !== 0xff || data[1] !== 0xd8) throw jpegError('the frame does not start with an SOI marker (0xFFD8)');
  const tables: (RawTable | undefined)[] = [undefined, undefined, undefined, undefined];
  let restartInterval = 0;
  let frame: FrameHeader | undefined;
  let samples: Uint8Array | Uint16Array | undefined;
  let decoded: Uint8Array | undefined; // per component: decoded by a scan
  let pos = 2;
  while (pos < n) {
    if (data[pos] !== 0xff) throw jpegError(`expected a marker at byte ${pos}, found 0x${hex(data[pos])}`);
    while (pos < n && data[pos] === 0xff) pos++; // fill bytes (B.1.1.2)
    if (pos >= n) break;
    const marker = data[pos++];
    if (marker === 0xd9) break; // EOI
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      throw jpegError(`unexpected marker 0xFF${hex(marker)} at byte ${pos - 2}`);
    }
    if (pos + 2 > n) throw jpegError(`truncated: the data ends inside the 0xFF${hex(marker)} marker segment`);
    const length = (data[pos] << 8) | data[pos + 1];
    if (length < 2 || pos + length > n) throw jpegError(`truncated: the 0xFF${hex(marker)} marker segment at byte ${pos - 2} runs past the data (length ${length})`);
    const seg = data.subarray(pos + 2, pos + length);
    pos += length;
    switch (marker) {
      case 0xc3: {
        if (frame) throw jpegError('more than one frame header (SOF) in the stream');
        frame = parseFrameHeader(seg, expect);
        const count = frame.width * frame.height * frame.ids.length;
        samples = frame.precision <= 8 ? new Uint8Array(count) : new Uint16Array(count);
        decoded = new Uint8Array(frame.ids.length);
        break;
      }
      case 0xc4:
        parseHuffmanTables(seg, tables);
        break;
      case 0xdd:
        if (seg.length < 2) throw jpegError('DRI marker segment is shorter than 4 bytes');
        restartInterval = (seg[0] << 8) | seg[1];
        break;
      case 0xda: {
        if (!frame || !samples || !decoded) throw jpegError('a scan (SOS) comes before the frame header (SOF3)');
        const scan = parseScanHeader(seg, frame, tables, decoded);
        const rowSamples = frame.width * scan.comps.length;
        // Per row at most 32 bits per sample are consumed before the row's overrun check: pad that much.
        const entropy = readEntropySegments(data, pos, restartInterval > 0, 4 * rowSamples + 16);
        decodeScan(samples, frame, scan, entropy, restartInterval);
        for (const c of scan.comps) decoded[c] = 1;
        pos = entropy.end;
        break;
      }
      case 0xdc:
        throw jpegError('DNL marker (number of lines defined after the first scan) is not supported');
      case 0xc0: case 0xc1: case 0xc2:
        throw jpegError(`SOF${marker - 0xc0} is a DCT (lossy) frame, not lossless (SOF3)`);
      case 0xc5: case 0xc6: case 0xc7: case 0xc9: case 0xca: case 0xcb: case 0xcd: case 0xce: case 0xcf:
        throw jpegError(`SOF${marker - 0xc0} (hierarchical or arithmetic-coded JPEG) is not supported; only SOF3 (Huffman lossless)`);
      case 0xcc: case 0xde: case 0xdf:
        throw jpegError(`marker 0xFF${hex(marker)} (arithmetic coding or hierarchical mode) is not supported`);
      default:
        break; // APPn, COM, DQT, JPGn: nothing for a lossless decoder
    }
  }
  if (!frame || !samples || !decoded) throw jpegError('truncated: no frame header (SOF3) before the end of the data');
  const missing = decoded.indexOf(0);
  if (missing >= 0) throw jpegError(`truncated: the data ends before component ${frame.ids[missing]} was decoded`);
  return { width: frame.width, height: frame.height, components: frame.ids.length, precision: frame.precision, samples };
}

function hex(byte: number): string {
  return byte.toString(16).toUpperCase().padStart(2, '0');
}

/** SOF3 (B.2.2): P, Y, X, Nf, then per component C, H|V, Tq. */
function parseFrameHeader(seg: Uint8Array, expect: JpegGeometry | undefined): FrameHeader {
  if (seg.length < 6) throw jpegError('SOF3 marker segment is too short');
  const precision = seg[0];
  const height = (seg[1] << 8) | seg[2];
  const width = (seg[3] << 8) | seg[4];
  const nf = seg[5];
  if (seg.length < 6 + 3 * nf || nf === 0) throw jpegError(`SOF3 marker segment is too short for ${nf} components`);
  if (precision < 2 || precision > 16) throw jpegError(`sample precision ${precision} is outside 2…16 (T.81 B.2.2)`);
  if (height === 0) throw jpegError('the frame has 0 lines (defined later by a DNL marker), which is not supported');
  if (width === 0) throw jpegError('the frame has 0 samples per line');
  if (expect && (expect.width !== width || expect.height !== height || expect.components !== nf)) {
    throw jpegError(`the compressed frame is ${width}×${height} with ${nf} component(s), `
      + `but the DICOM attributes say ${expect.width}×${expect.height} with Samples per Pixel ${expect.components}`);
  }
  if (!expect && width * height * nf > MAX_SAMPLES) throw jpegError(`the frame header claims ${width}×${height}×${nf} samples, more than this decoder accepts`);
  const ids: number[] = [];
  const h = seg[7] >> 4;
  const v = seg[7] & 15;
  for (let i = 0; i < nf; i++) {
    const id = seg[6 + 3 * i];
    if (ids.includes(id)) throw jpegError(`component id ${id} appears twice in the frame header`);
    if (seg[7 + 3 * i] >> 4 !== h || (seg[7 + 3 * i] & 15) !== v) {
      throw jpegError('components with different sampling factors (subsampling) are not supported in lossless frames');
    }
    ids.push(id);
  }
  return { precision, width, height, ids, h, v };
}

/** DHT (B.2.4.2): one or more tables; class 1 (AC) tables are irrelevant to lossless and ignored. */
function parseHuffmanTables(seg: Uint8Array, tables: (RawTable | undefined)[]): void {
  let o = 0;
  while (o < seg.length) {
    if (o + 17 > seg.length) throw jpegError('DHT marker segment is truncated');
    const tc = seg[o] >> 4;
    const th = seg[o] & 15;
    if (tc > 1 || th > 3) throw jpegError(`DHT defines table class ${tc} id ${th}; only classes 0–1 and ids 0–3 exist`);
    const counts = seg.slice(o + 1, o + 17);
    let total = 0;
    for (let i = 0; i < 16; i++) total += counts[i];
    if (total > 256 || o + 17 + total > seg.length) throw jpegError(`DHT table ${th} lists ${total} codes but the segment holds fewer values`);
    if (tc === 0) tables[th] = { counts, values: seg.slice(o + 17, o + 17 + total) };
    o += 17 + total;
  }
}

/** SOS (B.2.3): Ns, per component Cs and Td|Ta, then Ss = predictor, Se, Ah|Al = point transform. */
function parseScanHeader(seg: Uint8Array, frame: FrameHeader, tables: (RawTable | undefined)[], decoded: Uint8Array): ScanHeader {
  const ns = seg[0] ?? 0;
  if (ns < 1 || seg.length < 1 + 2 * ns + 3) throw jpegError('SOS marker segment is too short');
  if (ns > 1 && (frame.h !== 1 || frame.v !== 1)) throw jpegError(`interleaved scans of components sampled ${frame.h}×${frame.v} are not supported`);
  const comps = new Int32Array(ns);
  const used: HuffmanTable[] = [];
  for (let i = 0; i < ns; i++) {
    const id = seg[1 + 2 * i];
    const c = frame.ids.indexOf(id);
    if (c < 0) throw jpegError(`the scan names component ${id}, which the frame header does not define`);
    if (decoded[c] || comps.subarray(0, i).includes(c)) throw jpegError(`component ${id} is coded by more than one scan`);
    comps[i] = c;
    const td = seg[2 + 2 * i] >> 4;
    const raw = tables[td];
    if (!raw) throw jpegError(`the scan uses Huffman table ${td}, which no DHT marker defined`);
    raw.built ??= buildHuffmanTable(raw.counts, raw.values);
    used.push(raw.built);
  }
  const predictor = seg[1 + 2 * ns];
  const pointTransform = seg[3 + 2 * ns] & 15;
  if (predictor < 1 || predictor > 7) throw jpegError(`predictor (selection value) ${predictor} is outside 1…7 (T.81 Table H.1)`);
  if (pointTransform >= frame.precision) throw jpegError(`point transform ${pointTransform} is not below the precision ${frame.precision}`);
  return { comps, tables: used, predictor, pointTransform };
}
