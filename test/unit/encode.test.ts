/**
 * Encoders (src/core/dicom/encode): RLE Lossless (PS3.5 Annex G) and JPEG lossless SV1 (ITU-T T.81 Annex H,
 * Huffman tables per Annex K.2), and Part 10 files with encapsulated pixel data (PS3.5 A.4).
 * Every check is an exact round trip: through our decoders, through pydicom 3 (plugins named per case:
 * its own numpy RLE decoder, pylibjpeg, GDCM) and through dcmtk (dcmdrle / dcmdjpeg to explicit VR little
 * endian, then read back). Reference tolerance: none — lossless means equal samples.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeRle } from '../../src/core/dicom/decode/rle';
import { decodeJpegLossless } from '../../src/core/dicom/decode/jpegLosslessFast';
import { encodeJpegLosslessSV1, huffmanCodeSizes } from '../../src/core/dicom/encode/jpegLossless';
import { encodeCtSliceAs, encapsulatePixelData, type SliceSyntax } from '../../src/core/dicom/encode/part10';
import { encodeRle, packBitsRow } from '../../src/core/dicom/encode/rle';
import { loadImage, loadStored } from '../../src/core/dicom/load';
import { uidFrom, type CtSlice } from '../../src/core/dicom/write';

const ROOT = resolve(__dirname, '../..');
const PYTHON = join(ROOT, '.venv/bin/python');

/** Deterministic test data (LCG). */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; return s / 2 ** 32; };
}

/** Images that exercise the coders: runs of every length around 128, noise, extremes, smooth ramps. */
function samples(kind: 'runs' | 'noise' | 'extremes' | 'smooth', n: number, max: number, seed = 1): number[] {
  const r = lcg(seed);
  const out: number[] = [];
  if (kind === 'runs') {
    while (out.length < n) {
      const len = [1, 2, 3, 127, 128, 129, 130, 255, 256, 257][Math.floor(r() * 10)];
      const v = Math.floor(r() * (max + 1));
      for (let i = 0; i < len && out.length < n; i++) out.push(v);
    }
  } else if (kind === 'noise') for (let i = 0; i < n; i++) out.push(Math.floor(r() * (max + 1)));
  else if (kind === 'extremes') for (let i = 0; i < n; i++) out.push(r() < 0.5 ? 0 : max);
  else for (let i = 0; i < n; i++) out.push(Math.round((max * (1 + Math.sin(i / 37) * Math.cos(i / 101))) / 2));
  return out;
}

/** Decode a PackBits stream, asserting that no run crosses a multiple of `rowLength` (PS3.5 G.3.1). */
function unpackRows(src: Uint8Array, total: number, rowLength: number): number[] {
  const out: number[] = [];
  let i = 0;
  while (out.length < total) {
    const h = src[i++];
    const before = out.length;
    if (h < 128) for (let k = 0; k <= h; k++) out.push(src[i++]);
    else if (h > 128) { const v = src[i++]; for (let k = 0; k < 257 - h; k++) out.push(v); } else assert.fail('encoder wrote the -128 no-op');
    assert.equal(Math.floor(before / rowLength), Math.floor((out.length - 1) / rowLength), `run at byte ${before} crosses a row boundary`);
  }
  return out;
}

void test('PackBits: runs of 1…257 bytes round-trip and never cross a row (PS3.5 G.3.1)', () => {
  for (const columns of [1, 2, 3, 127, 128, 129, 300]) {
    const row = Uint8Array.from(samples('runs', columns, 3, columns));
    const out = new Uint8Array(columns + Math.ceil(columns / 128));
    const end = packBitsRow(row, out, 0);
    assert.deepEqual(unpackRows(out.subarray(0, end), columns, columns), [...row], `${columns} columns`);
  }
  // A constant 300-byte row is three replicate runs (128 + 128 + 44): 6 bytes.
  const out = new Uint8Array(400);
  assert.equal(packBitsRow(new Uint8Array(300).fill(9), out, 0), 6);
});

void test('RLE frames: 8/16/32-bit, 1 and 3 samples, signed, odd sizes round-trip through our decoder; G.5 header', () => {
  const cases: [string, Uint8Array | Uint16Array | Int16Array | Uint32Array, number, number, number, number][] = [
    ['8-bit grey 5×7', Uint8Array.from(samples('runs', 35, 255)), 5, 7, 1, 8],
    ['8-bit RGB 3×130', Uint8Array.from(samples('noise', 3 * 130 * 3, 255)), 3, 130, 3, 8],
    ['16-bit grey 64×64 runs', Uint16Array.from(samples('runs', 4096, 65535)), 64, 64, 1, 16],
    ['16-bit grey 1×1', Uint16Array.of(0xabcd), 1, 1, 1, 16],
    ['signed 16-bit 33×17', Int16Array.from(samples('noise', 33 * 17, 65535).map((v) => v - 32768)), 33, 17, 1, 16],
    ['16-bit RGB 9×11', Uint16Array.from(samples('smooth', 9 * 11 * 3, 65535)), 9, 11, 3, 16],
    ['32-bit grey 7×9', Uint32Array.from(samples('noise', 63, 2 ** 32 - 1)), 7, 9, 1, 32],
  ];
  for (const [name, data, rows, columns, spp, bits] of cases) {
    const frame = encodeRle(data, { rows, columns, samplesPerPixel: spp, bitsAllocated: bits });
    const view = new DataView(frame.buffer, frame.byteOffset);
    const segments = view.getUint32(0, true);
    assert.equal(segments, spp * (bits / 8), `${name}: segment count`);
    for (let s = 0; s < 15; s++) {
      const offset = view.getUint32(4 + 4 * s, true);
      if (s >= segments) assert.equal(offset, 0, `${name}: unused offset ${s}`);
      else assert.equal(offset % 2, 0, `${name}: segment ${s} starts at an even offset (segments have even length)`);
    }
    assert.equal(frame.length % 2, 0);
    const decoded = decodeRle(frame, { rows, columns, samplesPerPixel: spp, bitsAllocated: bits });
    const expected = data instanceof Int16Array ? Array.from(data, (v) => v & 0xffff) : [...data];
    assert.deepEqual([...decoded], expected, name);
  }
  assert.throws(() => encodeRle(new Uint16Array(4), { rows: 2, columns: 2, samplesPerPixel: 1, bitsAllocated: 8 }), /Bits Allocated 8/);
});

void test('Huffman code sizes (T.81 K.2): at most 16 bits, a prefix code with the all-ones code point unused', () => {
  const fib = [1, 1];
  while (fib.length < 17) fib.push(fib[fib.length - 1] + fib[fib.length - 2]); // maximally skewed: needs Adjust_BITS
  for (const freq of [fib, [5], [0, 0, 7], Array.from({ length: 17 }, (_, i) => 1000 >> (i % 11))]) {
    const { bits, values } = huffmanCodeSizes(freq);
    assert.equal(bits.length, 16);
    assert.equal(values.length, freq.filter((f) => f > 0).length, 'one code per used symbol');
    assert.equal(bits.reduce((a, b) => a + b, 0), values.length);
    const kraft = bits.reduce((sum, n, i) => sum + n / 2 ** (i + 1), 0);
    assert.ok(kraft < 1, `Kraft sum ${kraft} must leave the all-ones code free`);
  }
});

void test('JPEG lossless SV1: precisions 2…16, edge sizes and ±32768 differences round-trip through our decoder', () => {
  for (const P of [2, 8, 12, 15, 16]) {
    const max = 2 ** P - 1;
    for (const [w, h] of [[1, 1], [1, 9], [9, 1], [37, 23]]) {
      for (const kind of ['noise', 'extremes', 'smooth', 'runs'] as const) {
        const data = Uint16Array.from(samples(kind, w * h, max, P * 100 + w));
        const jpeg = encodeJpegLosslessSV1({ width: w, height: h, precision: P, samples: data });
        assert.deepEqual([jpeg[0], jpeg[1], jpeg[jpeg.length - 2], jpeg[jpeg.length - 1]], [0xff, 0xd8, 0xff, 0xd9], 'SOI … EOI');
        const sof = jpeg.indexOf(0xc3, 2);
        assert.equal(jpeg[sof - 1], 0xff);
        assert.equal(jpeg[sof + 3], P, 'SOF3 precision');
        const image = decodeJpegLossless(jpeg, { width: w, height: h, components: 1 });
        assert.deepEqual([...image.samples], [...data], `P=${P} ${w}×${h} ${kind}`);
      }
    }
  }
  // Signed data: 16-bit two's complement patterns (PS3.5 8.2.1).
  const signed = Int16Array.from(samples('extremes', 64, 65535).map((v, i) => (i % 3 ? v - 32768 : -1)));
  const image = decodeJpegLossless(encodeJpegLosslessSV1({ width: 8, height: 8, precision: 16, samples: signed }), { width: 8, height: 8, components: 1 });
  assert.deepEqual([...image.samples], Array.from(signed, (v) => v & 0xffff));
  assert.throws(() => encodeJpegLosslessSV1({ width: 2, height: 1, precision: 8, samples: Uint16Array.of(1, 256) }), /does not fit precision 8/);
});

void test('encapsulated Pixel Data (PS3.5 A.4): empty offset table, even-length fragment, sequence delimiter', () => {
  const bytes = encapsulatePixelData([Uint8Array.of(1, 2, 3)]);
  const v = new DataView(bytes.buffer);
  assert.deepEqual([v.getUint16(0, true), v.getUint16(2, true), String.fromCharCode(bytes[4], bytes[5]), v.getUint32(8, true)], [0x7fe0, 0x0010, 'OB', 0xffffffff]);
  assert.deepEqual([v.getUint16(12, true), v.getUint16(14, true), v.getUint32(16, true)], [0xfffe, 0xe000, 0], 'empty Basic Offset Table');
  assert.deepEqual([v.getUint16(20, true), v.getUint16(22, true), v.getUint32(24, true)], [0xfffe, 0xe000, 4], 'fragment padded to 4 bytes');
  assert.deepEqual([...bytes.subarray(28, 32)], [1, 2, 3, 0]);
  assert.deepEqual([v.getUint16(32, true), v.getUint16(34, true), v.getUint32(36, true)], [0xfffe, 0xe0dd, 0]);
});

/** CT slices with awkward values: unsigned 12-bit (0…4095) and signed 16-bit (negative padding, extremes). */
function ctCases(): { name: string; slice: CtSlice }[] {
  const rows = 61; const columns = 67; // odd sizes: odd fragment lengths get padded
  const u12 = Uint16Array.from(samples('smooth', rows * columns, 4095), (v, i) => (i % 97 === 0 ? 4095 : i % 89 === 0 ? 0 : v));
  const s16 = Int16Array.from(samples('noise', rows * columns, 65535), (v, i) => (i < 300 ? -976 : i % 7 === 0 ? -32768 : v - 32768));
  const base = (name: string, pixelData: Uint16Array | Int16Array, bitsStored: number): CtSlice => ({
    rows, columns, pixelData, bitsStored, rescaleIntercept: -1024, rescaleSlope: 1,
    sopInstanceUID: uidFrom('encode test', name), seriesInstanceUID: uidFrom('encode test series'), studyInstanceUID: uidFrom('encode test study'),
    imagePositionPatient: [-100, -90, 12.5], imageOrientationPatient: [1, 0, 0, 0, 1, 0], pixelSpacing: [0.5, 0.5], instanceNumber: 1,
  });
  return [{ name: 'u12', slice: base('u12', u12, 12) }, { name: 's16', slice: base('s16', s16, 16) }];
}

const SYNTAX_TOOLS: Record<Exclude<SliceSyntax, 'native'>, { dcmtk: string; plugins: string[] }> = {
  rle: { dcmtk: 'dcmdrle', plugins: ['pydicom', 'pylibjpeg'] }, // pydicom offers no GDCM plugin for RLE
  'jpeg-lossless': { dcmtk: 'dcmdjpeg', plugins: ['pylibjpeg', 'gdcm'] },
};

function tool(name: string): boolean {
  return spawnSync(name, ['--version'], { timeout: 10_000 }).status === 0;
}

void test('Part 10 RLE and JPEG lossless files: our reader, pydicom (each plugin) and dcmtk give back the exact stored values', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'encode-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const havePydicom = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pydicom'], { timeout: 30_000 }).status === 0;
  for (const syntax of ['rle', 'jpeg-lossless'] as const) {
    for (const { name, slice } of ctCases()) {
      const file = join(dir, `${syntax}-${name}.dcm`);
      await writeFile(file, encodeCtSliceAs(slice, syntax));
      const expected = Array.from(slice.pixelData);
      // Ours.
      const image = await loadImage(file);
      assert.deepEqual([...(await loadStored(image))], expected, `${syntax} ${name}: our decoder`);
      // pydicom, one plugin at a time.
      if (havePydicom) {
        for (const plugin of SYNTAX_TOOLS[syntax].plugins) {
          const out = join(dir, `${syntax}-${name}-${plugin}`);
          const run = spawnSync(PYTHON, [join(ROOT, 'test/python/phantom_check.py'), 'pixels', out, '--plugin', plugin, file], { encoding: 'utf8', timeout: 60_000 });
          assert.equal(run.status, 0, run.stderr);
          const [entry] = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as { error?: string; data?: string }[];
          if (entry.error && /not available|missing|No module|is not installed/i.test(entry.error)) { t.diagnostic(`pydicom plugin ${plugin} unavailable: ${entry.error}`); continue; }
          assert.equal(entry.error, undefined, `${syntax} ${name} pydicom/${plugin}: ${entry.error}`);
          const raw = await readFile(join(out, entry.data!));
          assert.deepEqual([...new Int32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)], expected, `${syntax} ${name}: pydicom/${plugin}`);
        }
      } else t.diagnostic('pydicom not available (.venv): skipped');
      // dcmtk: decompress to explicit VR little endian, read the native file.
      const tool_ = SYNTAX_TOOLS[syntax].dcmtk;
      if (tool(tool_)) {
        const plain = join(dir, `${syntax}-${name}-dcmtk.dcm`);
        const run = spawnSync(tool_, [file, plain], { encoding: 'utf8', timeout: 60_000 });
        assert.equal(run.status, 0, `${tool_}: ${run.stderr}`);
        const back = await loadImage(plain);
        assert.equal(back.info.transferSyntaxUID, '1.2.840.10008.1.2.1');
        assert.deepEqual([...(await loadStored(back))], expected, `${syntax} ${name}: ${tool_}`);
      } else t.diagnostic(`${tool_} not installed: skipped`);
    }
  }
});
