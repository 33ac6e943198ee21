// RLE Lossless (PS3.5 Annex G) on hand-made frames: PackBits runs, byte-plane order, 8/16/32-bit,
// 1 and 3 samples, odd sizes, and the errors a damaged frame must give.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DicomError } from '../../src/core/dicom/errors';
import type { ImageInfo } from '../../src/core/dicom/image';
import { finishSamples } from '../../src/core/dicom/pixels';
import { decodeRle, rleLossless, unpackBits } from '../../src/core/dicom/decode/rle';

/** A G.5 header (segment count + 15 offsets) followed by the segments, each padded to even length. */
function rleFrame(segments: number[][]): Uint8Array {
  const padded = segments.map((s) => (s.length % 2 ? [...s, 0] : s));
  const out = new Uint8Array(64 + padded.reduce((n, s) => n + s.length, 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, segments.length, true);
  let offset = 64;
  padded.forEach((s, i) => {
    view.setUint32(4 + 4 * i, offset, true);
    out.set(s, offset);
    offset += s.length;
  });
  return out;
}

/** Encode bytes as literal runs only (valid PackBits, G.3.1). */
function literal(bytes: number[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 128) {
    const chunk = bytes.slice(i, i + 128);
    out.push(chunk.length - 1, ...chunk);
  }
  return out;
}

const info = (rows: number, columns: number, samplesPerPixel: number, bitsAllocated: number) => ({ rows, columns, samplesPerPixel, bitsAllocated });

void test('PackBits: literal run, replicate run and the -128 no-op (PS3.5 G.3.1)', () => {
  const out = new Uint8Array(8);
  // 2 literals (n = 1), -128 no-op, replicate 0x7 four times (n = -3 = 253), then one literal.
  const n = unpackBits(Uint8Array.from([1, 0xaa, 0xbb, 128, 253, 7, 0, 0xcc, 128]), out);
  assert.equal(n, 7);
  assert.deepEqual([...out.subarray(0, 7)], [0xaa, 0xbb, 7, 7, 7, 7, 0xcc]);
});

void test('PackBits: a run longer than the output is clipped, a short segment reports what it wrote', () => {
  const out = new Uint8Array(3);
  assert.equal(unpackBits(Uint8Array.from([129, 9]), out), 3); // replicate 128 times, only 3 fit
  assert.deepEqual([...out], [9, 9, 9]);
  assert.equal(unpackBits(Uint8Array.from([0, 1]), new Uint8Array(4)), 1);
});

void test('8-bit grey, odd size 3×5: one segment, padded segment trimmed', () => {
  const pixels = Array.from({ length: 15 }, (_, i) => i * 17);
  const out = decodeRle(rleFrame([literal(pixels)]), info(3, 5, 1, 8));
  assert.ok(out instanceof Uint8Array);
  assert.deepEqual([...out], pixels);
});

void test('16-bit grey: two segments, most significant byte first (G.2)', () => {
  const values = [0x0102, 0xff00, 0x8001, 0x00ff, 0xfc18]; // 0xfc18 = -1000 as int16
  const frame = rleFrame([literal(values.map((v) => v >> 8)), literal(values.map((v) => v & 255))]);
  const raw = decodeRle(frame, info(1, 5, 1, 16));
  assert.ok(raw instanceof Uint16Array);
  assert.deepEqual([...raw], values);
  const signed = finishSamples(raw, { bitsAllocated: 16, bitsStored: 16, highBit: 15, pixelRepresentation: 1 } as ImageInfo);
  assert.deepEqual([...signed], [258, -256, -32767, 255, -1000]);
});

void test('32-bit grey: four segments recombine exactly, including bit 31', () => {
  const values = [0xdeadbeef, 0x80000001, 7];
  const planes = [24, 16, 8, 0].map((shift) => literal(values.map((v) => (v >>> shift) & 255)));
  const out = decodeRle(rleFrame(planes), info(1, 3, 1, 32));
  assert.ok(out instanceof Uint32Array);
  assert.deepEqual([...out], values);
});

void test('8-bit RGB: one segment per colour plane, returned colour-by-pixel', () => {
  const r = [1, 2, 3, 4], g = [10, 20, 30, 40], b = [100, 110, 120, 130];
  const out = decodeRle(rleFrame([literal(r), literal(g), literal(b)]), info(2, 2, 3, 8));
  assert.deepEqual([...out], [1, 10, 100, 2, 20, 110, 3, 30, 120, 4, 40, 130]);
});

void test('16-bit RGB: six segments in order R-high, R-low, G-high, G-low, B-high, B-low', () => {
  const px = [[0x1234, 0xabcd, 0x00ff], [0xff00, 0x0001, 0x8000]];
  const seg = (c: number, high: boolean) => literal(px.map((p) => (high ? p[c] >> 8 : p[c] & 255)));
  const frame = rleFrame([seg(0, true), seg(0, false), seg(1, true), seg(1, false), seg(2, true), seg(2, false)]);
  assert.deepEqual([...decodeRle(frame, info(1, 2, 3, 16))], px.flat());
});

void test('replicate runs compress a flat image (what encoders emit for air)', () => {
  // 300 pixels of 0x55: runs of 128 + 128 + 44 (n = 257 - count).
  const seg = [129, 0x55, 129, 0x55, 257 - 44, 0x55];
  assert.deepEqual([...decodeRle(rleFrame([seg]), info(10, 30, 1, 8))], new Array(300).fill(0x55));
});

void test('multi-frame: the RLE decoder gets each frame separately and decodes each', async () => {
  const frames = [rleFrame([literal([1, 2, 3])]), rleFrame([[130, 9]])]; // second: replicate 9 three times
  const meta = { ...info(1, 3, 1, 8) } as ImageInfo;
  assert.deepEqual([...(await rleLossless.decode(frames[0], meta))], [1, 2, 3]);
  assert.deepEqual([...(await rleLossless.decode(frames[1], meta))], [9, 9, 9]);
});

void test('damaged frames give DECODE_FAILED with the reason', () => {
  const decodeError = (frame: Uint8Array, i = info(1, 4, 1, 16)) => {
    try {
      decodeRle(frame, i);
    } catch (err) {
      assert.ok(err instanceof DicomError);
      assert.equal(err.code, 'DECODE_FAILED');
      return err.message;
    }
    assert.fail('no error');
  };
  assert.match(decodeError(new Uint8Array(10)), /shorter than its 64-byte header/);
  assert.match(decodeError(rleFrame([literal([1, 2, 3, 4])])), /declares 1 segment.*needs 2/);
  assert.match(decodeError(rleFrame([literal([1, 2, 3, 4]), literal([1, 2])])), /segment 2 decodes to 2 bytes, expected 4/);
  const bad = rleFrame([literal([1, 2, 3, 4]), literal([1, 2, 3, 4])]);
  new DataView(bad.buffer).setUint32(8, 9999, true);
  assert.match(decodeError(bad), /outside the frame/);
});
