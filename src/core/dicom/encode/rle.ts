/**
 * RLE Lossless encoder (transfer syntax 1.2.840.10008.1.2.5), PS3.5 Annex G — the inverse of decode/rle.ts.
 *
 * - G.2: the composite pixel code is split into byte planes, one RLE segment per plane: for each sample
 *   (the single grey sample, or R, G, B) the most significant byte first. 16-bit grey → 2 segments.
 * - G.3.1: each segment is PackBits. A header byte n = 0…127 is followed by n+1 literal bytes; n = −1…−127
 *   (129…255 unsigned) by one byte to repeat −n+1 times; −128 is never written. Each row of the image is
 *   encoded separately and runs never cross a row boundary.
 * - G.5: a frame is a 64-byte header (segment count, then 15 little-endian uint32 offsets from the start of
 *   the header, unused ones 0) followed by the segments, each padded with one zero byte to even length.
 */
import { DicomError } from '../errors';

/** Samples of one frame, colour interleaved (RGBRGB…), as stored bit patterns. */
export type RleInput = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/** Geometry of the frame to encode. */
export interface RleGeometry {
  rows: number;
  columns: number;
  /** 1 (grey) or 3 (colour). */
  samplesPerPixel: number;
  /** 8, 16 or 32: bytes per sample = bitsAllocated / 8. */
  bitsAllocated: number;
}

/**
 * PackBits-encode `src` (one row of one byte plane) into `out` at `o`; returns the new end offset.
 * `out` must have room for `src.length + ceil(src.length / 128)` bytes (all-literal worst case).
 */
export function packBitsRow(src: Uint8Array, out: Uint8Array, o: number): number {
  const n = src.length;
  let i = 0;
  while (i < n) {
    // Length of the run of equal bytes starting at i (at most 128, G.3.1).
    let run = 1;
    while (i + run < n && run < 128 && src[i + run] === src[i]) run++;
    if (run >= 2) {
      out[o++] = 257 - run; // −(run − 1) as an unsigned byte
      out[o++] = src[i];
      i += run;
      continue;
    }
    // Literal run: up to the next run of ≥ 3 equal bytes (a run of 2 inside a literal costs the same as
    // breaking it), at most 128 bytes.
    const start = i;
    i++;
    while (i < n && i - start < 128) {
      if (i + 2 < n && src[i] === src[i + 1] && src[i] === src[i + 2]) break;
      i++;
    }
    out[o++] = i - start - 1;
    out.set(src.subarray(start, i), o);
    o += i - start;
  }
  return o;
}

/**
 * Encode one frame as an RLE Lossless frame (G.5 header + segments). Signed samples are encoded as their
 * two's complement bit patterns (PS3.5 8.2.1), which is what a decoder gives back.
 */
export function encodeRle(samples: RleInput, geometry: RleGeometry): Uint8Array {
  const { rows, columns, samplesPerPixel: spp, bitsAllocated } = geometry;
  if (![8, 16, 32].includes(bitsAllocated)) throw new DicomError('BAD_ARGUMENT', `RLE: Bits Allocated ${bitsAllocated} is not 8, 16 or 32`);
  if (spp !== 1 && spp !== 3) throw new DicomError('BAD_ARGUMENT', `RLE: Samples per Pixel ${spp} is not 1 or 3`);
  if (!Number.isInteger(rows) || !Number.isInteger(columns) || rows < 1 || columns < 1) throw new DicomError('BAD_ARGUMENT', `RLE: bad size ${rows}×${columns}`);
  const bytesPer = bitsAllocated / 8;
  const segments = spp * bytesPer;
  if (segments > 15) throw new DicomError('BAD_ARGUMENT', `RLE: ${segments} segments needed, at most 15 allowed (G.5)`);
  const pixels = rows * columns;
  if (samples.length !== pixels * spp) throw new DicomError('BAD_ARGUMENT', `RLE: ${samples.length} samples given, expected ${rows}×${columns}×${spp}`);
  if (samples.BYTES_PER_ELEMENT !== bytesPer) throw new DicomError('BAD_ARGUMENT', `RLE: ${samples.BYTES_PER_ELEMENT}-byte samples for Bits Allocated ${bitsAllocated}`);

  const rowMax = columns + Math.ceil(columns / 128);
  const out = new Uint8Array(64 + segments * (rows * rowMax + 1));
  const header = new DataView(out.buffer, 0, 64);
  header.setUint32(0, segments, true);
  const rowBytes = new Uint8Array(columns);
  let o = 64;
  for (let s = 0; s < spp; s++) {
    for (let b = 0; b < bytesPer; b++) {
      header.setUint32(4 + 4 * (s * bytesPer + b), o, true);
      const shift = 8 * (bytesPer - 1 - b); // G.2: most significant byte first
      for (let r = 0; r < rows; r++) {
        for (let c = 0, k = (r * columns) * spp + s; c < columns; c++, k += spp) rowBytes[c] = (samples[k] >>> shift) & 0xff;
        o = packBitsRow(rowBytes, out, o);
      }
      if (o % 2) out[o++] = 0; // G.5: segments have even length
    }
  }
  return out.slice(0, o);
}
