// Our sequential DCT decoder (jpegDct.ts) against the IJG family: libjpeg-turbo (WASM) on 8-bit baseline
// and DCMTK's dcmdjpeg (IJG 6b 12-bit) on dcmcjpeg +ee output — both must be matched bit for bit.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { jpegBaseline, jpegExtended, jpegPrecision, jpegIsYcc } from '../../src/core/dicom/decode/jpeg';
import { decodeJpegDct, ijgGuessYcc } from '../../src/core/dicom/decode/jpegDct';
import { DicomError } from '../../src/core/dicom/errors';
import { loadImage, loadStored } from '../../src/core/dicom/load';
import { frameBytes } from '../../src/core/dicom/pixels';
import { FIXTURES_DIR, ROOT, makeFixtures, missingTools } from '../fixtures/fixtures';

const missing = missingTools();

async function frameOf(file: string, index = 0) {
  const image = await loadImage(file);
  return { image, bytes: frameBytes(image.file, image.info, index) };
}

void test('colour-space rules: IJG guess and the DICOM rule (PS3.5 8.2.1, pydicom _conform_jpg_colorspace)', () => {
  const ycc = { componentIds: [1, 2, 3], jfif: false };
  assert.equal(ijgGuessYcc(ycc), true);
  assert.equal(ijgGuessYcc({ componentIds: [82, 71, 66], jfif: false }), false);
  assert.equal(ijgGuessYcc({ ...ycc, adobeTransform: 0 }), false);
  assert.equal(jpegIsYcc(ycc, 'YBR_FULL_422'), true);
  assert.equal(jpegIsYcc(ycc, 'RGB'), false);
  assert.equal(jpegIsYcc({ ...ycc, jfif: true }, 'RGB'), true);
  assert.equal(jpegIsYcc({ componentIds: [82, 71, 66], jfif: true }, 'YBR_FULL'), false);
});

void test('not a JPEG stream: DECODE_FAILED with the reason', () => {
  assert.throws(() => decodeJpegDct(Uint8Array.from([0, 1, 2, 3])), (err: unknown) => err instanceof DicomError && /no SOI/.test(err.message));
  // SOI, then SOF2 (progressive) with a minimal header.
  const progressive = Uint8Array.from([0xff, 0xd8, 0xff, 0xc2, 0, 11, 8, 0, 1, 0, 1, 1, 1, 0x11, 0, 0xff, 0xd9]);
  assert.throws(() => decodeJpegDct(progressive), (err: unknown) => err instanceof DicomError && /progressive/.test(err.message));
  assert.equal(jpegPrecision(progressive), 8);
});

void describe('JPEG decoders on dcmtk fixtures', { skip: missing ? `fixture tools missing: ${missing}` : false }, () => {
  if (missing) return;
  makeFixtures();

  for (const source of ['mr_u8', 'rgb_u8']) {
    void test(`${source}.jpeg-baseline: our DCT decoder equals libjpeg-turbo exactly (IJG islow IDCT, fancy upsampling, YCbCr)`, async () => {
      const { image, bytes } = await frameOf(join(FIXTURES_DIR, `${source}.jpeg-baseline.dcm`));
      const ours = decodeJpegDct(bytes);
      if (image.info.samplesPerPixel === 1) {
        assert.deepEqual(ours.samples, await jpegBaseline.decode(bytes, image.info)); // monochrome goes to libjpeg-turbo
      } else {
        // The baseline decoder sends colour to our decoder too; compare with the libjpeg-turbo codec directly.
        const codec = await import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs');
        const lib = await codec.default({ print: () => undefined, printErr: () => undefined });
        const d = new lib.JPEGDecoder();
        d.getEncodedBuffer(bytes.length).set(bytes);
        d.decode();
        const fromTurbo = d.getDecodedBuffer().slice();
        d.delete();
        assert.deepEqual(ours.samples, new Uint8Array(fromTurbo.buffer, 0, ours.samples.length));
      }
    });
  }

  void test('12-bit JPEG Extended (dcmcjpeg +ee): equals dcmdjpeg (IJG 6b 12-bit) exactly, all frames', async () => {
    const out = join(ROOT, 'test-output', 'jpeg-test');
    mkdirSync(out, { recursive: true });
    for (const source of ['ct_s16', 'ct_multi', 'ct_odd', 'mono1_u12']) {
      const file = join(FIXTURES_DIR, `${source}.jpeg-extended.dcm`);
      const decompressed = join(out, `${source}.dcmdjpeg.dcm`);
      execFileSync('dcmdjpeg', [file, decompressed]);
      const [ours, ref] = await Promise.all([loadImage(file), loadImage(decompressed)]);
      assert.equal(jpegPrecision(frameBytes(ours.file, ours.info, 0)), 12);
      for (let f = 0; f < ours.info.frames; f++) assert.deepEqual(await loadStored(ours, f), await loadStored(ref, f), `${source} frame ${f}`);
    }
  });

  void test('the extended decoder also takes 8-bit process 2 data', async () => {
    const { image, bytes } = await frameOf(join(FIXTURES_DIR, 'mr_u8.jpeg-extended.dcm'));
    const samples = await jpegExtended.decode(bytes, image.info);
    assert.ok(samples instanceof Uint8Array);
    assert.equal(samples.length, image.info.rows * image.info.columns);
  });

  void test('odd sizes: 313×511 decodes to the right geometry', async () => {
    const { image, bytes } = await frameOf(join(FIXTURES_DIR, 'ct_odd.jpeg-extended.dcm'));
    const d = decodeJpegDct(bytes);
    assert.deepEqual([d.width, d.height, d.components, d.precision], [image.info.columns, image.info.rows, 1, 12]);
  });
});
