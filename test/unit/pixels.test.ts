import assert from 'node:assert/strict';
import { test } from 'node:test';
import { finishSamples } from '../../src/core/dicom/pixels';
import type { ImageInfo } from '../../src/core/dicom/image';

const base = { bitsAllocated: 16, bitsStored: 16, highBit: 15, pixelRepresentation: 0 } as ImageInfo;

test('Bits Stored masks away bits above the stored value (PS3.5 8.1.1)', () => {
  const out = finishSamples(new Uint16Array([0xf123, 0x0fff, 0xa000]), { ...base, bitsStored: 12, highBit: 11 });
  assert.ok(out instanceof Uint16Array);
  assert.deepEqual([...out], [0x123, 0xfff, 0]);
});

test('signed 12-bit values are sign-extended from bit 11', () => {
  const out = finishSamples(new Uint16Array([0x0800, 0x0fff, 0xf7ff, 0x0001]), { ...base, bitsStored: 12, highBit: 11, pixelRepresentation: 1 });
  assert.ok(out instanceof Int16Array);
  assert.deepEqual([...out], [-2048, -1, 2047, 1]);
});

test('signed decoder output (e.g. openjpeg Int16) keeps its value', () => {
  const out = finishSamples(new Int16Array([-100, 100, -2048]), { ...base, bitsStored: 12, highBit: 11, pixelRepresentation: 1 });
  assert.deepEqual([...out], [-100, 100, -2048]);
});

test('High Bit above Bits Stored − 1 shifts the value down', () => {
  // stored value in bits 4…15 (BitsStored 12, HighBit 15)
  const out = finishSamples(new Uint16Array([0xabc0, 0x0010]), { ...base, bitsStored: 12, highBit: 15 });
  assert.deepEqual([...out], [0xabc, 1]);
});

test('8-bit and 32-bit containers', () => {
  assert.deepEqual([...finishSamples(new Uint8Array([255, 128]), { ...base, bitsAllocated: 8, bitsStored: 8, highBit: 7, pixelRepresentation: 1 })], [-1, -128]);
  const u32 = finishSamples(new Uint32Array([0xffffffff, 7]), { ...base, bitsAllocated: 32, bitsStored: 32, highBit: 31 });
  assert.ok(u32 instanceof Uint32Array);
  assert.deepEqual([...u32], [0xffffffff, 7]);
  const s32 = finishSamples(new Uint32Array([0xffffffff]), { ...base, bitsAllocated: 32, bitsStored: 32, highBit: 31, pixelRepresentation: 1 });
  assert.deepEqual([...s32], [-1]);
});
