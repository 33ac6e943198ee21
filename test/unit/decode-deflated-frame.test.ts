// Deflated Image Frame Compression (1.2.840.10008.1.2.8.1, PS3.5 8.2.16 / A.4.13; issue 11 item 6): fixtures made
// by test/fixtures/make_deflated_frames.py (each frame deflated by Python's zlib, raw RFC 1951, one fragment per
// frame). pydicom 3.0.1 has no decoder for this syntax, so the reference is pydicom's pixel_array of the same data
// set written uncompressed, and the numpy array it was made from: both exact. Broken deflate streams are
// DicomErrors. Needs .venv (node scripts/setup-python.mjs); skips with the reason otherwise.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { DicomError } from '../../src/core/dicom/errors';
import { decoderFor } from '../../src/core/dicom/decode/index';
import { loadImage, loadModality, loadStored, type LoadedImage } from '../../src/core/dicom/load';
import { frameBytes } from '../../src/core/dicom/pixels';
import { TS } from '../../src/core/dicom/uids';
import { PYTHON, ROOT } from '../fixtures/fixtures';

const skip = existsSync(PYTHON) ? false : '.venv missing (node scripts/setup-python.mjs)';
const BIN = join(ROOT, 'bin', 'dicom-ml.js');

interface Made { name: string; path: string; native: string; original: number[]; pydicom: number[] }

async function allFrames(image: LoadedImage, read: (image: LoadedImage, k: number) => Promise<ArrayLike<number>>): Promise<number[]> {
  const out: number[] = [];
  for (let k = 0; k < image.info.frames; k++) out.push(...Array.from(await read(image, k)));
  return out;
}

async function decodeError(image: LoadedImage, frame: Uint8Array): Promise<DicomError> {
  try {
    await decoderFor(image.info.transferSyntaxUID).decode(frame, image.info);
  } catch (err) {
    assert.ok(err instanceof DicomError, `a DicomError, got ${String(err)}`);
    return err;
  }
  assert.fail('decoding succeeded');
}

void describe('Deflated Image Frame Compression against pydicom on the uncompressed data', { skip }, () => {
  if (skip) return;
  const dir = join(ROOT, 'test-output', 'deflated-frame');
  mkdirSync(dir, { recursive: true });
  const made = JSON.parse(execFileSync(PYTHON, [join(ROOT, 'test', 'fixtures', 'make_deflated_frames.py'), dir],
    { encoding: 'utf8', maxBuffer: 1 << 26 })) as Made[];

  for (const m of made) {
    void test(`${m.name}: stored values equal pydicom's pixel_array of the uncompressed file and the original, exactly`, async () => {
      const image = await loadImage(m.path);
      assert.equal(image.info.transferSyntaxUID, TS.DeflatedImageFrameCompression);
      const ours = await allFrames(image, loadStored);
      assert.deepEqual(ours, m.pydicom);
      assert.deepEqual(ours, m.original);
      // And every frame equals our own decode of the uncompressed file (modality values, rescale included).
      const native = await loadImage(m.native);
      if (image.info.samplesPerPixel === 1) assert.deepEqual(await allFrames(image, loadModality), await allFrames(native, loadModality));
    });
  }

  void test('dicom-ml info names the syntax and dicom-ml pixels writes the values', { skip: existsSync(join(ROOT, 'dist', 'cli.js')) ? false : 'dist/cli.js missing (npm run build)' }, () => {
    const m = made.find((x) => x.name === 'u12_rescale_64x50');
    assert.ok(m);
    const info = spawnSync(process.execPath, [BIN, 'info', m.path], { encoding: 'utf8' });
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout, /Deflated Image Frame Compression/);
    const out = join(dir, 'pixels.f32');
    const r = spawnSync(process.execPath, [BIN, 'pixels', m.path, '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const buf = readFileSync(out);
    assert.deepEqual([...new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)], m.pydicom.map((v) => v * 0.5 - 1024));
  });

  void describe('broken frames are a clear DicomError', () => {
    const load = async () => {
      const m = made.find((x) => x.name === 's16_2frames_33x47');
      assert.ok(m);
      const image = await loadImage(m.path);
      return { image, frame: frameBytes(image.file, image.info, 1) };
    };

    void test('bytes that are not a deflate stream', async () => {
      const { image } = await load();
      const err = await decodeError(image, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x00, 0x12]));
      assert.equal(err.code, 'DECODE_FAILED');
      assert.match(err.message, /deflated frame does not inflate \(/);
    });

    void test('a deflate stream cut short', async () => {
      const { image, frame } = await load();
      assert.match((await decodeError(image, frame.subarray(0, frame.length >> 1))).message, /deflated frame does not inflate \(unexpected end of file\)/);
    });

    void test('a stream that inflates to less than a frame', async () => {
      const { image } = await load();
      assert.match((await decodeError(image, deflateRawSync(new Uint8Array(100)))).message, /inflates to 100 bytes, a 47×33×1 16-bit frame needs 3102/);
    });

    void test('a stream that inflates to more than a frame is stopped there', async () => {
      const { image } = await load();
      assert.match((await decodeError(image, deflateRawSync(new Uint8Array(1 << 20)))).message, /inflates to more than the 3102 bytes of a 47×33×1 16-bit frame/);
    });
  });
});
