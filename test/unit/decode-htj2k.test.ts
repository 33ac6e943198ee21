// HTJ2K (1.2.840.10008.1.2.4.201 lossless, .202 lossless RPCL, .203 lossy; issue 11 item 6) through the decoder
// table: fixtures made by test/fixtures/make_htj2k.py (ojph_compress, codec-openjph's encoder for signed
// samples, OpenJPEG for a Part 1 codestream), each compared with pydicom 3.0.1 + pylibjpeg-openjpeg 2.4
// (OpenJPEG 2.5, an independent HT decoder) and with the numpy array it was made from. Lossless: exact.
// Lossy (.203, 9/7 wavelet): within 1 stored value of pydicom — OpenJPEG and OpenJPH both run the inverse 9/7
// transform in floating point, in different orders, so a sample on a rounding boundary may land one apart —
// and within 2% of the range of the original. Broken codestreams are DicomErrors, never numbers.
// Needs .venv (node scripts/setup-python.mjs) and ojph_compress (openjph-tools); skips with the reason otherwise.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DicomError } from '../../src/core/dicom/errors';
import { decoderFor } from '../../src/core/dicom/decode/index';
import { loadImage, loadModality, type LoadedImage } from '../../src/core/dicom/load';
import { finishSamples, frameBytes } from '../../src/core/dicom/pixels';
import { TS } from '../../src/core/dicom/uids';
import { PYTHON, ROOT } from '../fixtures/fixtures';

const ojph = spawnSync('sh', ['-c', 'command -v ojph_compress'], { stdio: 'ignore' }).status === 0;
const skip = !existsSync(PYTHON) ? '.venv missing (node scripts/setup-python.mjs)' : !ojph ? 'ojph_compress missing (apt-get install openjph-tools)' : false;
const BIN = join(ROOT, 'bin', 'dicom-ml.js');

interface Made { name: string; path: string; syntax: string; lossy: boolean; original: number[]; pydicom: number[] }

/** Our stored values for every frame, straight from the table's decoder (no colour step), concatenated. */
async function ourStored(image: LoadedImage): Promise<number[]> {
  const out: number[] = [];
  const decoder = decoderFor(image.info.transferSyntaxUID);
  for (let k = 0; k < image.info.frames; k++) {
    out.push(...finishSamples(await decoder.decode(frameBytes(image.file, image.info, k), image.info), image.info));
  }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'sample count');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** The decoder's error for `frame` under `info`, which must be a DicomError. */
async function decodeError(image: LoadedImage, frame: Uint8Array, info = image.info): Promise<DicomError> {
  try {
    await decoderFor(info.transferSyntaxUID).decode(frame, info);
  } catch (err) {
    assert.ok(err instanceof DicomError, `a DicomError, got ${String(err)}`);
    return err;
  }
  assert.fail('decoding succeeded');
}

void describe('HTJ2K decoding against pydicom + pylibjpeg-openjpeg', { skip }, () => {
  if (skip) return;
  const dir = join(ROOT, 'test-output', 'htj2k');
  mkdirSync(dir, { recursive: true });
  const made = JSON.parse(execFileSync(PYTHON, [join(ROOT, 'test', 'fixtures', 'make_htj2k.py'), dir, process.execPath],
    { encoding: 'utf8', maxBuffer: 1 << 26 })) as Made[];
  const byName = new Map(made.map((m) => [m.name, m]));

  void test('the fixtures cover the three HTJ2K syntaxes', () => {
    assert.deepEqual(new Set(made.map((m) => m.syntax)), new Set([TS.HTJ2KLossless, TS.HTJ2KLosslessRPCL, TS.HTJ2K]));
  });

  for (const m of made) {
    const tolerance = m.lossy ? 1 : 0;
    void test(`${m.name} [${m.syntax}]: stored values equal pydicom's pixel_array within ${tolerance}${m.lossy ? '' : ' and the original array exactly'}`, async () => {
      const image = await loadImage(m.path);
      const ours = await ourStored(image);
      assert.ok(maxDiff(ours, m.pydicom) <= tolerance, `max |ours − pydicom| = ${maxDiff(ours, m.pydicom)}`);
      if (m.lossy) {
        const diff = maxDiff(ours, m.original);
        assert.ok(diff > 0 && diff <= 0.02 * 4095, `lossy: max |ours − original| = ${diff} (expected 0 < d ≤ 2% of 4095)`);
      } else {
        assert.equal(maxDiff(ours, m.original), 0);
      }
    });
  }

  void test('modality values (loadModality) equal pydicom\'s pixel_array through the rescale, every frame', async () => {
    for (const name of ['u16_ct_33x47', 's16_ct_33x47', 's16_2frames_33x47', 'u12_rpcl_64x50', 'u16_part1_j2k_33x47']) {
      const m = byName.get(name);
      assert.ok(m);
      const image = await loadImage(m.path);
      const values: number[] = [];
      for (let k = 0; k < image.info.frames; k++) values.push(...await loadModality(image, k));
      const intercept = image.info.rescaleIntercept;
      assert.equal(maxDiff(values, m.pydicom.map((v) => v + intercept)), 0, name);
    }
  });

  void test('dicom-ml info names the syntax and dicom-ml pixels writes pydicom\'s values', { skip: existsSync(join(ROOT, 'dist', 'cli.js')) ? false : 'dist/cli.js missing (npm run build)' }, () => {
    const m = byName.get('s16_2frames_33x47');
    assert.ok(m);
    const info = spawnSync(process.execPath, [BIN, 'info', m.path], { encoding: 'utf8' });
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout, /High-Throughput JPEG 2000 Lossless/);
    const out = join(dir, 'pixels.f32');
    for (let frame = 0; frame < 2; frame++) {
      const r: SpawnSyncReturns<string> = spawnSync(process.execPath, [BIN, 'pixels', m.path, '--frame', String(frame), '--out', out], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const buf = readFileSync(out);
      const n = 33 * 47;
      assert.deepEqual([...new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)], m.pydicom.slice(frame * n, (frame + 1) * n), `frame ${frame}`);
    }
  });

  void describe('broken input is a clear DicomError', () => {
    const load = async (name: string) => {
      const m = byName.get(name);
      assert.ok(m);
      const image = await loadImage(m.path);
      return { image, frame: frameBytes(image.file, image.info, 0) };
    };

    void test('a codestream cut inside its tile data (the codec alone would return wrong numbers)', async () => {
      const { image, frame } = await load('u16_ct_33x47');
      const err = await decodeError(image, frame.subarray(0, Math.floor(frame.length * 0.6)));
      assert.equal(err.code, 'DECODE_FAILED');
      assert.match(err.message, /HTJ2K: the codestream is cut: tile-part 0 needs \d+ bytes, \d+ are left/);
    });

    void test('a codestream cut inside its main header', async () => {
      const { image, frame } = await load('s16_ct_33x47');
      assert.match((await decodeError(image, frame.subarray(0, 30))).message, /cut inside its main header/);
    });

    void test('a file cut inside the pixel data', async () => {
      const m = byName.get('u12_rpcl_64x50');
      assert.ok(m);
      const bytes = readFileSync(m.path);
      const cut = join(dir, 'cut.dcm');
      writeFileSync(cut, bytes.subarray(0, bytes.length - 400));
      await assert.rejects(async () => {
        const image = await loadImage(cut);
        await ourStored(image);
      }, (err: unknown) => err instanceof DicomError && /cut|truncat|past|end/i.test(err.message));
    });

    void test('geometry that disagrees with Rows/Columns/Samples per Pixel', async () => {
      const { image, frame } = await load('u8_grey_31x17');
      const err = await decodeError(image, frame, { ...image.info, rows: image.info.rows + 1 });
      assert.match(err.message, /HTJ2K: the compressed frame is 31×17 with 1 component\(s\), but the DICOM attributes say 31×18/);
    });

    void test('bytes that are not a codestream', async () => {
      const { image } = await load('u8_grey_31x17');
      assert.match((await decodeError(image, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4]))).message, /not a JPEG 2000 codestream \(it starts ff d8 ff e0/);
    });

    void test('signed samples of 8 bits are refused, not clamped to 0…255 by the codec', async () => {
      const { image, frame } = await load('u8_grey_31x17');
      const patched = Uint8Array.from(frame);
      assert.equal(patched[42], 0x07, 'Ssiz of component 0: unsigned 8-bit');
      patched[42] = 0x87;
      const err = await decodeError(image, patched, { ...image.info, pixelRepresentation: 1 });
      assert.equal(err.code, 'UNSUPPORTED_PIXEL_FORMAT');
      assert.match(err.message, /signed samples of 8 bits or fewer are not supported/);
    });
  });
});
