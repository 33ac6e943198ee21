/**
 * Building blocks of the fast JPEG lossless decoder (jpegLosslessFast.ts): Huffman tables with a lookahead
 * lookup (ITU-T T.81 Annex C code generation, F.2.2.3 decoding, H.1.2.2 difference categories) and the
 * entropy-coded segment reader that removes byte stuffing and splits the scan at RSTn markers (B.1.1.5).
 */
import { DicomError } from '../errors';

/** Bits looked at in one table lookup. 12 bits: 16 KiB per table, fits L1 next to the pixel rows. */
export const LOOKAHEAD = 12;

/** Lookup entry flag: the entry holds a whole difference (code + additional bits), not only SSSS. */
export const ENTRY_DIFF = 128;

/**
 * A decoding table for one DHT table (class 0) used as a lossless difference table.
 * `lookup[peek LOOKAHEAD bits]`:
 *  - 0: the code is longer than LOOKAHEAD bits (or invalid): use {@link slowDecode};
 *  - flag {@link ENTRY_DIFF} set: `e >> 8` is the difference, `e & 31` the bits to consume (code + extra);
 *  - otherwise: `e >> 8` is SSSS, `e & 31` the code length; SSSS additional bits follow.
 */
export interface HuffmanTable {
  readonly lookup: Int32Array;
  /** Largest code of each length 1…16 (index = length), −1 where there is none (F.2.2.3 MAXCODE). */
  readonly maxCode: Int32Array;
  /** values[code + valueOffset[length]] is the symbol of `code` (VALPTR − MINCODE). */
  readonly valueOffset: Int32Array;
  readonly values: Uint8Array;
}

/** T.81 F.2.2.1 EXTEND: additional bits `v` of category `s` (1…15) to a signed difference. */
export function extend(v: number, s: number): number {
  return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
}

/** A DicomError for a corrupt or unsupported JPEG lossless stream. */
export function jpegError(message: string): DicomError {
  return new DicomError('DECODE_FAILED', `JPEG lossless: ${message}`);
}

/**
 * Build the decoding table from DHT's BITS (16 counts) and HUFFVAL. Codes are canonical (C.2); an
 * over-subscribed table is rejected. Symbols must be difference categories 0…16 (H.1.2.2, Table H.2).
 */
export function buildHuffmanTable(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const maxCode = new Int32Array(18).fill(-1);
  const valueOffset = new Int32Array(18);
  const lookup = new Int32Array(1 << LOOKAHEAD);
  let code = 0;
  let p = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1];
    if (n > 0) {
      valueOffset[len] = p - code;
      for (let i = 0; i < n; i++, p++, code++) {
        const s = values[p];
        if (s > 16) throw jpegError(`Huffman table holds category ${s}; lossless difference categories are 0…16 (T.81 Table H.2)`);
        if (len <= LOOKAHEAD) fillLookup(lookup, code, len, s);
      }
      maxCode[len] = code - 1;
    }
    // The next code must still fit in `len` bits (C.2); libjpeg also refuses the all-ones code, but some
    // 16-bit encoders use it, and accepting it is harmless.
    if (code > 1 << len) throw jpegError('Huffman table is over-subscribed (more codes than its code lengths allow)');
    code <<= 1;
  }
  return { lookup, maxCode, valueOffset, values };
}

/** Fill every lookup index that starts with `code` (length `len`); fold the extra bits in when they fit. */
function fillLookup(lookup: Int32Array, code: number, len: number, s: number): void {
  const rest = LOOKAHEAD - len;
  const first = code << rest;
  const count = 1 << rest;
  for (let j = 0; j < count; j++) {
    let entry: number;
    if (s === 0) entry = ENTRY_DIFF | len;
    // H.1.2.1: category 16 (difference 32768, 16-bit only) has no additional bits.
    else if (s === 16) entry = (32768 << 8) | ENTRY_DIFF | len;
    else if (s <= rest) entry = (extend((j >>> (rest - s)) & ((1 << s) - 1), s) << 8) | ENTRY_DIFF | (len + s);
    else entry = (s << 8) | len;
    lookup[first + j] = entry;
  }
}

/**
 * Decode a code longer than LOOKAHEAD bits from the top `bits` bits of `acc` (at least 16 available).
 * Returns `(SSSS << 8) | length`, or −1 when no code of up to 16 bits matches (corrupt data).
 */
export function slowDecode(table: HuffmanTable, acc: number, bits: number): number {
  for (let len = LOOKAHEAD + 1; len <= 16; len++) {
    const code = (acc >>> (bits - len)) & ((1 << len) - 1);
    if (code <= table.maxCode[len]) return (table.values[code + table.valueOffset[len]] << 8) | len;
  }
  return -1;
}

/** One scan's entropy-coded data with stuffing removed, split into restart intervals. */
export interface EntropySegments {
  /** Unstuffed bytes; `bytes[length…length + pad)` are zeros so the bit reader may read ahead. */
  readonly bytes: Uint8Array;
  readonly length: number;
  /** Start offsets in `bytes` of each restart interval; `starts[count]` = `length`. */
  readonly starts: Int32Array;
  /** Number of intervals found. */
  readonly count: number;
  /** The RSTn number (0…7) that preceded interval i (index 0 unused). */
  readonly rst: Uint8Array;
  /** Offset in the source of the marker that ended the scan (its first 0xFF), or the source length. */
  readonly end: number;
}

// Reused between calls (decoding is synchronous, each worker thread has its own module instance).
let scratch = new Uint8Array(0);

/**
 * Copy the entropy-coded data starting at `start` into a clean buffer: 0xFF00 becomes 0xFF (B.1.1.5),
 * fill bytes (0xFF…) before a marker are dropped, RSTn markers split intervals when `restarts` is true,
 * any other marker ends the scan. `pad` zero bytes follow the data.
 */
export function readEntropySegments(data: Uint8Array, start: number, restarts: boolean, pad: number): EntropySegments {
  const n = data.length;
  const need = n - start + pad;
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  const out = scratch;
  const starts: number[] = [0];
  const rst: number[] = [0];
  let i = start;
  let j = 0;
  let end = n;
  for (;;) {
    const k = data.indexOf(0xff, i);
    if (k < 0) {
      out.set(data.subarray(i, n), j);
      j += n - i;
      break;
    }
    out.set(data.subarray(i, k), j);
    j += k - i;
    let m = k + 1;
    while (m < n && data[m] === 0xff) m++; // fill bytes (B.1.1.2)
    if (m >= n) break; // a trailing 0xFF: the data was cut; the decoder finds it short
    const code = data[m];
    if (code === 0x00) {
      out[j++] = 0xff;
      i = m + 1;
    } else if (restarts && code >= 0xd0 && code <= 0xd7) {
      starts.push(j);
      rst.push(code & 7);
      i = m + 1;
    } else {
      end = k;
      break;
    }
  }
  out.fill(0, j, j + pad);
  starts.push(j);
  return { bytes: out, length: j, starts: Int32Array.from(starts), count: starts.length - 1, rst: Uint8Array.from(rst), end };
}
