/**
 * JPEG lossless encoder, process 14, selection value 1 (ITU-T T.81 Annex H; DICOM transfer syntax
 * 1.2.840.10008.1.2.4.70, PS3.5 A.4.1) for one grey component of 2…16 bits — the RSNA 2022 encoding.
 *
 * - H.1.2.1: prediction. First sample of the first line: 2^(P−Pt−1); rest of the first line: Ra (left);
 *   first sample of every later line: Rb (above); everything else: predictor 1, Ra. Pt = 0 (lossless).
 * - H.1.2.2: the difference is taken modulo 2^16 and coded as SSSS (its bit length, 0…16) with the Huffman
 *   table, then SSSS additional bits (F.1.2.1: negative values as diff − 1 in SSSS bits); SSSS = 16
 *   (difference 32768) has no additional bits.
 * - Huffman table: optimal for this image's SSSS histogram, built with the procedure of Annex K.2
 *   (Figures K.1–K.3: code sizes, adjusted to at most 16 bits, reserving the all-ones code point), and
 *   codes assigned per Annex C. One DHT, SOF3, one SOS, no restart intervals.
 * - F.1.2.3: a 0xFF byte in the entropy-coded data is followed by a stuffed 0x00; the last byte is padded
 *   with 1-bits.
 */
import { DicomError } from '../errors';

/** Geometry and precision of the image to encode. */
export interface JpegLosslessInput {
  width: number;
  height: number;
  /** Sample precision P, 2…16 (for DICOM: Bits Stored, or 16 for signed data stored as two's complement). */
  precision: number;
  /** width × height samples, row-major. Int16Array values are encoded as their 16-bit two's complement. */
  samples: Uint8Array | Uint16Array | Int16Array;
}

/** Code sizes for symbols 0…16 from their frequencies (T.81 K.2, Figures K.1 and K.2). */
export function huffmanCodeSizes(frequencies: ArrayLike<number>): { bits: number[]; values: number[] } {
  const n = frequencies.length;
  const freq = Array.from({ length: n + 1 }, (_, i) => (i < n ? frequencies[i] : 1)); // symbol n: reserved
  const codesize = new Array<number>(n + 1).fill(0);
  const others = new Array<number>(n + 1).fill(-1);
  for (;;) {
    // K.1: the two least frequent (ties: the larger symbol value, as libjpeg does), merged.
    let c1 = -1;
    let c2 = -1;
    for (let i = 0; i <= n; i++) if (freq[i] > 0 && (c1 < 0 || freq[i] <= freq[c1])) c1 = i;
    for (let i = 0; i <= n; i++) if (freq[i] > 0 && i !== c1 && (c2 < 0 || freq[i] <= freq[c2])) c2 = i;
    if (c2 < 0) break;
    freq[c1] += freq[c2];
    freq[c2] = 0;
    codesize[c1]++;
    while (others[c1] >= 0) { c1 = others[c1]; codesize[c1]++; }
    others[c1] = c2;
    codesize[c2]++;
    while (others[c2] >= 0) { c2 = others[c2]; codesize[c2]++; }
  }
  const bits = new Array<number>(33).fill(0);
  for (let i = 0; i <= n; i++) if (codesize[i]) bits[codesize[i]]++;
  // K.2 Adjust_BITS: no code longer than 16 bits.
  for (let i = 32; i > 16; i--) {
    while (bits[i] > 0) {
      let j = i - 2;
      while (bits[j] === 0) j--;
      bits[i] -= 2;
      bits[i - 1]++;
      bits[j + 1] += 2;
      bits[j]--;
    }
  }
  let last = 16;
  while (bits[last] === 0) last--;
  bits[last]--; // drop the reserved code point (the longest code, all ones)
  // K.3 Sort_input: symbols by code size, then value; the reserved symbol n sorts last and is left out.
  const values: number[] = [];
  for (let size = 1; size <= 32; size++) for (let s = 0; s < n; s++) if (codesize[s] === size) values.push(s);
  return { bits: bits.slice(1, 17), values: values.slice(0, bits.slice(1, 17).reduce((a, b) => a + b, 0)) };
}

/** Annex C: canonical codes for BITS/HUFFVAL; returns code and length per symbol. */
function canonicalCodes(bits: number[], values: number[], symbols: number): { code: Uint32Array; size: Uint8Array } {
  const code = new Uint32Array(symbols);
  const size = new Uint8Array(symbols);
  let next = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < bits[len - 1]; i++) {
      code[values[k]] = next++;
      size[values[k]] = len;
      k++;
    }
    next <<= 1;
  }
  return { code, size };
}

/** Growable byte output with the F.1.2.3 bit packing and 0xFF stuffing. */
class BitWriter {
  buf: Uint8Array;
  pos = 0;
  private acc = 0;
  private nbits = 0;
  constructor(capacity: number) { this.buf = new Uint8Array(capacity); }
  ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(this.buf.length * 2, this.pos + extra));
    grown.set(this.buf.subarray(0, this.pos));
    this.buf = grown;
  }
  bytes(data: ArrayLike<number>): void {
    this.ensure(data.length);
    for (let i = 0; i < data.length; i++) this.buf[this.pos++] = data[i];
  }
  /** Append `len` ≤ 16 bits of `value`, most significant first. Caller has ensured ~4 bytes of room. */
  put(value: number, len: number): void {
    this.acc = (this.acc << len) | (value & ((1 << len) - 1)); // acc holds < 8 bits before: fits 24 bits
    this.nbits += len;
    while (this.nbits >= 8) {
      this.nbits -= 8;
      const byte = (this.acc >>> this.nbits) & 0xff;
      this.buf[this.pos++] = byte;
      if (byte === 0xff) this.buf[this.pos++] = 0x00;
    }
    this.acc &= (1 << this.nbits) - 1;
  }
  /** F.1.2.3: pad the last byte with 1-bits. */
  flush(): void {
    if (this.nbits > 0) this.put(0x7f, 8 - this.nbits);
  }
}

function segment(marker: number, body: number[]): number[] {
  const length = body.length + 2;
  return [0xff, marker, length >> 8, length & 0xff, ...body];
}

/** Encode one grey image as a JPEG lossless SV1 bitstream (SOI … EOI). */
export function encodeJpegLosslessSV1(input: JpegLosslessInput): Uint8Array {
  const { width, height, precision: P, samples } = input;
  if (!Number.isInteger(P) || P < 2 || P > 16) throw new DicomError('BAD_ARGUMENT', `JPEG lossless: precision ${P} is not in 2…16 (T.81 Table H.2)`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > 0xffff || height > 0xffff) {
    throw new DicomError('BAD_ARGUMENT', `JPEG lossless: size ${width}×${height} is not in 1…65535`);
  }
  if (samples.length !== width * height) throw new DicomError('BAD_ARGUMENT', `JPEG lossless: ${samples.length} samples for ${width}×${height}`);
  const mask = P === 16 ? 0xffff : (1 << P) - 1;
  const n = width * height;
  // Pass 1: differences (as signed 16-bit after the modulo 2^16 of H.1.2.2) and their SSSS histogram.
  const diff = new Int32Array(n);
  const hist = new Array<number>(17).fill(0);
  const x = (i: number) => samples[i] & 0xffff;
  for (let i = 0; i < n; i++) {
    const v = x(i);
    if (v > mask) throw new DicomError('BAD_ARGUMENT', `JPEG lossless: sample ${i} = ${v} does not fit precision ${P}`);
    const col = i % width;
    const pred = i === 0 ? 1 << (P - 1) : col === 0 ? x(i - width) : x(i - 1);
    let d = (v - pred) & 0xffff;
    if (d >= 0x8000) d -= 0x10000;
    diff[i] = d;
    const a = d < 0 ? -d : d;
    hist[a === 0 ? 0 : 32 - Math.clz32(a)]++;
  }
  const { bits, values } = huffmanCodeSizes(hist);
  const { code, size } = canonicalCodes(bits, values, 17);

  const w = new BitWriter(n * 2 + 1024);
  w.bytes([0xff, 0xd8]); // SOI
  w.bytes(segment(0xc4, [0x00, ...bits, ...values])); // DHT: Tc = 0 (DC/lossless), Th = 0
  w.bytes(segment(0xc3, [P, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0])); // SOF3
  w.bytes(segment(0xda, [1, 1, 0x00, 1, 0, 0])); // SOS: Ns 1, Cs 1, Td/Ta 0, Ss = predictor 1, Se 0, Ah/Al 0
  for (let i = 0; i < n; i++) {
    if ((i & 1023) === 0) w.ensure(1024 * 8 + 16); // ≤ 32 bits per sample, doubled by worst-case stuffing
    const d = diff[i];
    const a = d < 0 ? -d : d;
    const ssss = a === 0 ? 0 : 32 - Math.clz32(a);
    w.put(code[ssss], size[ssss]);
    if (ssss > 0 && ssss < 16) w.put(d < 0 ? d - 1 : d, ssss);
  }
  w.ensure(16);
  w.flush();
  w.bytes([0xff, 0xd9]); // EOI
  return w.buf.slice(0, w.pos);
}
