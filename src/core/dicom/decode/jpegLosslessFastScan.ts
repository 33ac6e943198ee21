/**
 * The scan loops of the fast JPEG lossless decoder (jpegLosslessFast.ts): Huffman decoding of the
 * differences and reconstruction (ITU-T T.81 H.1.2), restart intervals, truncation checks.
 *
 * The bit reader is inlined in every loop: the low `bits` bits of `acc` are unread, most significant
 * first. Refilling 16 bits whenever fewer than 16 remain keeps ≥ 16 bits for any code and at most 31 in
 * `acc`; after the code, SSSS ≤ 15 additional bits need at most one more refill. The data comes from
 * readEntropySegments, unstuffed and zero-padded, so the loops have no marker checks; instead every row
 * checks that it did not consume bits beyond its restart interval's data.
 */
import { ENTRY_DIFF, LOOKAHEAD, jpegError, slowDecode, type EntropySegments, type HuffmanTable } from './jpegLosslessFastTables';

/** The frame header (SOF3, B.2.2) as the scan loops need it. */
export interface FrameHeader {
  precision: number;
  width: number;
  height: number;
  /** Component identifiers in frame order (the output's colour order). */
  ids: number[];
  /** Sampling factors, equal for all components. */
  h: number;
  v: number;
}

/** A scan header (SOS, B.2.3) resolved against the frame and the Huffman tables. */
export interface ScanHeader {
  /** Frame component indices of the scan's components, in scan order. */
  comps: Int32Array;
  tables: HuffmanTable[];
  /** Selection value (T.81 Table H.1), 1…7. */
  predictor: number;
  /** Point transform Pt. */
  pointTransform: number;
}

// Module-local copies: under tsx (tests, benchmarks) imported bindings are property getters, too slow
// for the per-sample loop; esbuild bundles would inline them anyway.
const LOOK_SHIFT = LOOKAHEAD;
const LOOK_MASK = (1 << LOOKAHEAD) - 1;
const DIFF_FLAG = ENTRY_DIFF;
const slowDecodeLocal = slowDecode;

let diffScratch = new Int32Array(0);

/**
 * Decode one scan into `out` (interleaved, stride = frame components), then apply the point transform.
 * Restart intervals must be whole lines (MCU rows): IJG's lossless decoder, as in GDCM, refuses others
 * ("must be an integer multiple of the number of MCUs in an MCU_row"), and libjpeg reconstructs them
 * differently, so there is no agreed meaning to follow.
 */
export function decodeScan(out: Uint8Array | Uint16Array, frame: FrameHeader, scan: ScanHeader, entropy: EntropySegments, restartInterval: number): void {
  if (restartInterval % frame.width !== 0) {
    throw jpegError(`restart interval ${restartInterval} is not a multiple of the ${frame.width} MCUs per line (lossless restart intervals must be whole lines)`);
  }
  const rowsPerInterval = restartInterval / frame.width;
  if (scan.comps.length === 1 && scan.predictor === 1) decodeScanSv1(out, frame, scan, entropy, rowsPerInterval);
  else if (scan.comps.length === 1) decodeScanSingle(out, frame, scan, entropy, rowsPerInterval);
  else decodeScanRows(out, frame, scan, entropy, rowsPerInterval);
  const pt = scan.pointTransform;
  if (pt > 0) {
    // H.1.2.1 / A.4: the decoder output is the reconstructed value shifted left by Pt.
    const stride = frame.ids.length;
    for (const c of scan.comps) {
      for (let j = c; j < out.length; j += stride) out[j] <<= pt;
    }
  }
}

/**
 * At the start of restart interval `seg` (≥ 1): the previous interval must not have consumed bits beyond
 * its data, and the interval must exist and follow RST((seg − 1) mod 8) (B.2.5, E.2.4).
 */
function checkRestart(entropy: EntropySegments, seg: number, consumedBits: number, y: number, frame: FrameHeader): void {
  if (consumedBits > entropy.starts[seg] * 8) throw truncatedError(y - 1, frame);
  if (seg >= entropy.count) throw jpegError(`truncated or corrupt: restart marker ${seg} (before row ${y + 1}) is missing`);
  if (entropy.rst[seg] !== ((seg - 1) & 7)) throw jpegError(`restart marker RST${entropy.rst[seg]} found where RST${(seg - 1) & 7} was expected`);
}

/** After the last row: restart intervals left over mean a corrupt stream (empty ones are tolerated). */
function checkNoExtraIntervals(entropy: EntropySegments, seg: number): void {
  if (entropy.count > seg + 1 && entropy.starts[seg + 1] !== entropy.starts[entropy.count]) {
    throw jpegError(`corrupt: ${entropy.count - seg - 1} restart interval(s) more than the frame holds`);
  }
}

function truncatedError(row: number, frame: FrameHeader): Error {
  return jpegError(`truncated or corrupt: the compressed data ends before row ${row + 1} of ${frame.height} is complete`);
}

function badCode(row: number): Error {
  return jpegError(`corrupt: invalid Huffman code in row ${row + 1}`);
}

/**
 * The common case in one fused loop: one component, selection value 1. The first sample of a line comes
 * from 2^(P−Pt−1) on the first line of the scan or of a restart interval, else from the sample above; the
 * others from the sample to the left (H.1.2.1).
 */
function decodeScanSv1(out: Uint8Array | Uint16Array, frame: FrameHeader, scan: ScanHeader, entropy: EntropySegments, rowsPerInterval: number): void {
  const width = frame.width;
  const height = frame.height;
  const stride = frame.ids.length;
  const o = scan.comps[0];
  const init = 1 << (frame.precision - scan.pointTransform - 1);
  // Reconstruction is modulo 2^16 (H.1.2.1); `prev` must wrap as the stored sample does.
  const mask = out.BYTES_PER_ELEMENT === 1 ? 0xff : 0xffff;
  const buf = entropy.bytes;
  const table = scan.tables[0];
  const look = table.lookup;
  let acc = 0;
  let bits = 0;
  let pos = 0;
  let seg = 0;
  let segEndBits = entropy.starts[1] * 8;
  for (let y = 0; y < height; y++) {
    let first = y === 0;
    if (rowsPerInterval > 0 && y > 0 && y % rowsPerInterval === 0) {
      checkRestart(entropy, ++seg, pos * 8 - bits, y, frame);
      pos = entropy.starts[seg];
      segEndBits = entropy.starts[seg + 1] * 8;
      acc = 0;
      bits = 0;
      first = true;
    }
    const base = y * width * stride + o;
    let prev = first ? init : out[base - width * stride];
    const end = base + width * stride;
    for (let i = base; i < end; i += stride) {
      if (bits < 16) {
        acc = (acc << 16) | (buf[pos] << 8) | buf[pos + 1];
        pos += 2;
        bits += 16;
      }
      const e = look[(acc >>> (bits - LOOK_SHIFT)) & LOOK_MASK];
      let d: number;
      if (e & DIFF_FLAG) {
        bits -= e & 31;
        d = e >> 8;
      } else {
        let s: number;
        if (e !== 0) {
          bits -= e & 31;
          s = e >> 8;
        } else {
          const r = slowDecodeLocal(table, acc, bits);
          if (r < 0) throw badCode(y);
          bits -= r & 31;
          s = r >> 8;
        }
        if (s === 16) {
          d = 32768; // H.1.2.1: category 16 has no additional bits
        } else {
          if (bits < s) {
            acc = (acc << 16) | (buf[pos] << 8) | buf[pos + 1];
            pos += 2;
            bits += 16;
          }
          bits -= s;
          const v = (acc >>> bits) & ((1 << s) - 1);
          d = v < 1 << (s - 1) ? v - (1 << s) + 1 : v; // EXTEND (F.2.2.1)
        }
      }
      prev = (prev + d) & mask;
      out[i] = prev;
    }
    // Consumed beyond the interval's data: truncated or corrupt. Checked every row, so the reader never
    // runs past the zero padding (≤ 32 bits per sample).
    if (pos * 8 - bits > segEndBits) throw truncatedError(y, frame);
  }
  checkNoExtraIntervals(entropy, seg);
}

/**
 * One component, any predictor, fused like decodeScanSv1: the first line of the scan or of a restart
 * interval uses Ra (2^(P−Pt−1) for its first sample), later lines start with Rb and then use the selected
 * predictor of Table H.1 (the switch is loop-invariant, so well predicted).
 */
function decodeScanSingle(out: Uint8Array | Uint16Array, frame: FrameHeader, scan: ScanHeader, entropy: EntropySegments, rowsPerInterval: number): void {
  const width = frame.width;
  const height = frame.height;
  const stride = frame.ids.length;
  const up = width * stride;
  const o = scan.comps[0];
  const init = 1 << (frame.precision - scan.pointTransform - 1);
  const mask = out.BYTES_PER_ELEMENT === 1 ? 0xff : 0xffff;
  const buf = entropy.bytes;
  const table = scan.tables[0];
  const look = table.lookup;
  let acc = 0;
  let bits = 0;
  let pos = 0;
  let seg = 0;
  let segEndBits = entropy.starts[1] * 8;
  for (let y = 0; y < height; y++) {
    let first = y === 0;
    if (rowsPerInterval > 0 && y > 0 && y % rowsPerInterval === 0) {
      checkRestart(entropy, ++seg, pos * 8 - bits, y, frame);
      pos = entropy.starts[seg];
      segEndBits = entropy.starts[seg + 1] * 8;
      acc = 0;
      bits = 0;
      first = true;
    }
    const predictor = first ? 1 : scan.predictor;
    const base = y * up + o;
    const end = base + up;
    // `ra` is the previous reconstructed sample; for the line's first sample, its prediction.
    let ra = first ? init : out[base - up];
    for (let i = base; i < end; i += stride) {
      if (bits < 16) {
        acc = (acc << 16) | (buf[pos] << 8) | buf[pos + 1];
        pos += 2;
        bits += 16;
      }
      const e = look[(acc >>> (bits - LOOK_SHIFT)) & LOOK_MASK];
      let d: number;
      if (e & DIFF_FLAG) {
        bits -= e & 31;
        d = e >> 8;
      } else {
        let s: number;
        if (e !== 0) {
          bits -= e & 31;
          s = e >> 8;
        } else {
          const r = slowDecodeLocal(table, acc, bits);
          if (r < 0) throw badCode(y);
          bits -= r & 31;
          s = r >> 8;
        }
        if (s === 16) {
          d = 32768; // H.1.2.1: category 16 has no additional bits
        } else {
          if (bits < s) {
            acc = (acc << 16) | (buf[pos] << 8) | buf[pos + 1];
            pos += 2;
            bits += 16;
          }
          bits -= s;
          const v = (acc >>> bits) & ((1 << s) - 1);
          d = v < 1 << (s - 1) ? v - (1 << s) + 1 : v; // EXTEND (F.2.2.1)
        }
      }
      let px: number;
      if (i === base) px = ra;
      else {
        switch (predictor) {
          case 1: px = ra; break;
          case 2: px = out[i - up]; break;
          case 3: px = out[i - up - stride]; break;
          case 4: px = ra + out[i - up] - out[i - up - stride]; break;
          case 5: px = ra + ((out[i - up] - out[i - up - stride]) >> 1); break;
          case 6: px = out[i - up] + ((ra - out[i - up - stride]) >> 1); break;
          default: px = (ra + out[i - up]) >> 1;
        }
      }
      ra = (px + d) & mask;
      out[i] = ra;
    }
    if (pos * 8 - bits > segEndBits) throw truncatedError(y, frame);
  }
  checkNoExtraIntervals(entropy, seg);
}

/**
 * Interleaved scans (several components, e.g. RGB), row by row in two passes: Huffman-decode the row's
 * differences (components interleaved, each with its table), then reconstruct each component's line.
 */
function decodeScanRows(out: Uint8Array | Uint16Array, frame: FrameHeader, scan: ScanHeader, entropy: EntropySegments, rowsPerInterval: number): void {
  const width = frame.width;
  const height = frame.height;
  const stride = frame.ids.length;
  const ns = scan.comps.length;
  const rowSamples = width * ns;
  const init = 1 << (frame.precision - scan.pointTransform - 1);
  if (diffScratch.length < rowSamples) diffScratch = new Int32Array(rowSamples);
  const diff = diffScratch;
  const buf = entropy.bytes;
  const tables = scan.tables;
  let acc = 0;
  let bits = 0;
  let pos = 0;
  let seg = 0;
  let segEndBits = entropy.starts[1] * 8;
  for (let y = 0; y < height; y++) {
    let first = y === 0;
    if (rowsPerInterval > 0 && y > 0 && y % rowsPerInterval === 0) {
      checkRestart(entropy, ++seg, pos * 8 - bits, y, frame);
      pos = entropy.starts[seg];
      segEndBits = entropy.starts[seg + 1] * 8;
      acc = 0;
      bits = 0;
      first = true;
    }
    for (let k = 0, c = 0; k < rowSamples; k++) {
      const table = tables[c];
      if (++c === ns) c = 0;
      if (bits < 16) {
        acc = (acc << 16) | (buf[pos] << 8) | buf[pos + 1];
        pos += 2;
        bits += 16;
      }
      const e = table.lookup[(acc >>> (bits - LOOK_SHIFT)) & LOOK_MASK];
      if (e & DIFF_FLAG) {
        bits -= e & 31;
        diff[k] = e >> 8;
        continue;
      }
      let s: number;
      if (e !== 0) {
        bits -= e & 31;
        s = e >> 8;
      } else {
        const r = slowDecodeLocal(table, acc, bits);
        if (r < 0) throw badCode(y);
        bits -= r & 31;
        s = r >> 8;
      }
      if (s === 16) {
        diff[k] = 32768; // H.1.2.1: category 16 has no additional bits
        continue;
      }
      if (bits < s) {
        acc = (acc << 16) | (buf[pos] << 8) | buf[pos + 1];
        pos += 2;
        bits += 16;
      }
      bits -= s;
      const v = (acc >>> bits) & ((1 << s) - 1);
      diff[k] = v < 1 << (s - 1) ? v - (1 << s) + 1 : v; // EXTEND (F.2.2.1)
    }
    if (pos * 8 - bits > segEndBits) throw truncatedError(y, frame);
    for (let k = 0; k < ns; k++) {
      const o = scan.comps[k];
      if (first) predictFirstLine(out, diff, y, width, stride, ns, k, o, init);
      else predictLine(out, diff, y, width, stride, ns, k, o, scan.predictor);
    }
  }
  checkNoExtraIntervals(entropy, seg);
}

/** First line of a scan or restart interval (H.1.2.1): 2^(P−Pt−1) for the first sample, then Ra. */
function predictFirstLine(out: Uint8Array | Uint16Array, diff: Int32Array, y: number, width: number, stride: number,
  ns: number, k: number, o: number, init: number): void {
  let i = y * width * stride + o;
  out[i] = init + diff[k];
  for (let x = 1, d = k + ns; x < width; x++, d += ns) {
    out[i + stride] = out[i] + diff[d];
    i += stride;
  }
}

/**
 * Any later line: Rb for the first sample, then the selected predictor (T.81 Table H.1). Stores into the
 * typed array wrap modulo 2^16 as H.1.2.1 requires (8-bit output never needs to wrap).
 */
function predictLine(out: Uint8Array | Uint16Array, diff: Int32Array, y: number, width: number, stride: number,
  ns: number, k: number, o: number, predictor: number): void {
  const up = width * stride;
  const start = y * up + o;
  out[start] = out[start - up] + diff[k];
  const end = start + up;
  let d = k + ns;
  switch (predictor) {
    case 2:
      for (let i = start + stride; i < end; i += stride, d += ns) out[i] = out[i - up] + diff[d];
      break;
    case 3:
      for (let i = start + stride; i < end; i += stride, d += ns) out[i] = out[i - up - stride] + diff[d];
      break;
    case 4:
      for (let i = start + stride; i < end; i += stride, d += ns) out[i] = out[i - stride] + out[i - up] - out[i - up - stride] + diff[d];
      break;
    case 5:
      for (let i = start + stride; i < end; i += stride, d += ns) out[i] = out[i - stride] + ((out[i - up] - out[i - up - stride]) >> 1) + diff[d];
      break;
    case 6:
      for (let i = start + stride; i < end; i += stride, d += ns) out[i] = out[i - up] + ((out[i - stride] - out[i - up - stride]) >> 1) + diff[d];
      break;
    case 7:
      for (let i = start + stride; i < end; i += stride, d += ns) out[i] = ((out[i - stride] + out[i - up]) >> 1) + diff[d];
      break;
    default:
      for (let i = start + stride; i < end; i += stride, d += ns) out[i] = out[i - stride] + diff[d];
  }
}
