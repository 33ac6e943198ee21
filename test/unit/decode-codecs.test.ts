// Every decoder family on the dcmtk/gdcm fixtures (test/fixtures/make-fixtures.sh), checked against our
// own reading of the uncompressed source: lossless syntaxes must give the source's stored values exactly
// (Bits Stored masking, sign extension, odd sizes, multi-frame, colour), lossy ones stay near it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { decoderFor } from '../../src/core/dicom/decode/index';
import { DicomError } from '../../src/core/dicom/errors';
import { loadImage, loadStored } from '../../src/core/dicom/load';
import { frameBytes, type StoredPixels } from '../../src/core/dicom/pixels';
import { TS } from '../../src/core/dicom/uids';
import { FIXTURES_DIR, ROOT, makeFixtures, missingTools } from '../fixtures/fixtures';

const missing = missingTools();
const LOSSLESS_TAGS = ['ile', 'ebe', 'dfl', 'rle', 'rle-gdcm', 'jpeg-sv1', 'jpeg-p14', 'jpeg-p14-sv2', 'jpeg-sv1-gdcm', 'jls', 'jls-gdcm', 'j2k'];

async function stored(file: string): Promise<{ frames: StoredPixels[]; uid: string }> {
  const image = await loadImage(file);
  const frames: StoredPixels[] = [];
  for (let f = 0; f < image.info.frames; f++) frames.push(await loadStored(image, f));
  return { frames, uid: image.info.transferSyntaxUID };
}

const fx = (source: string, tag: string) => join(FIXTURES_DIR, `${source}.${tag}.dcm`);
const src = (source: string) => join(FIXTURES_DIR, 'src', `${source}.dcm`);

void describe('decoders on dcmtk/gdcm fixtures', { skip: missing ? `fixture tools missing: ${missing}` : false }, () => {
  if (missing) return;
  const manifest = makeFixtures();
  const sources = [...new Set(manifest.map((m) => m.source))];

  for (const source of sources) {
    for (const tag of LOSSLESS_TAGS) {
      if (!manifest.some((m) => m.source === source && m.tag === tag)) continue;
      void test(`${source}.${tag}: stored values equal the uncompressed source's exactly`, async () => {
        const [ours, ref] = await Promise.all([stored(fx(source, tag)), stored(src(source))]);
        assert.equal(ours.frames.length, ref.frames.length);
        ours.frames.forEach((frame, i) => assert.deepEqual(frame, ref.frames[i], `frame ${i}`));
      });
    }
  }

  void test('syntaxes are what the fixture names say (the table picks the decoder by UID)', async () => {
    const expect: Record<string, string> = { rle: TS.RLELossless, 'jpeg-sv1': TS.JPEGLosslessSV1, 'jpeg-p14': TS.JPEGLosslessP14,
      'jpeg-baseline': TS.JPEGBaseline8Bit, 'jpeg-extended': TS.JPEGExtended12Bit, jls: TS.JPEGLSLossless, 'jls-near-gdcm': TS.JPEGLSNearLossless,
      j2k: TS.JPEG2000Lossless, 'j2k-lossy': TS.JPEG2000, dfl: TS.DeflatedExplicitVRLittleEndian, ebe: TS.ExplicitVRBigEndian };
    for (const [tag, uid] of Object.entries(expect)) assert.equal((await loadImage(fx('ct_u12_rescale', tag))).info.transferSyntaxUID, uid, tag);
  });

  void test('Bits Stored 12 with garbage in bits 12-15: every syntax drops the garbage and sign-extends (PS3.5 8.1.1)', async () => {
    const image = await loadImage(src('ct_s12_garbage'));
    const raw = await decoderFor(image.info.transferSyntaxUID).decode(frameBytes(image.file, image.info, 0), image.info);
    const expected = Int16Array.from(raw, (w) => ((w & 0xfff) << 20) >> 20); // computed here, independently of finishSamples
    assert.ok(raw.some((w) => w > 0x0fff), 'the source really has garbage high bits');
    for (const tag of ['ele', 'ebe', 'rle', 'jpeg-sv1', 'jls', 'j2k']) {
      const ours = (await stored(fx('ct_s12_garbage', tag))).frames[0];
      assert.ok(ours instanceof Int16Array, tag);
      assert.deepEqual(ours, expected, tag);
    }
  });

  void test('Pixel Representation 1: 16-bit signed HU come back negative (air ≈ −1000)', async () => {
    const ours = (await stored(fx('ct_s16', 'j2k'))).frames[0];
    assert.ok(ours instanceof Int16Array);
    let min = 0, max = 0;
    for (const v of ours) { min = Math.min(min, v); max = Math.max(max, v); }
    assert.ok(min <= -1000 && max >= 1000, `range ${min}…${max}`);
  });

  void test('Planar Configuration 1 (RR…GG…BB…) decodes to the same RGBRGB… as configuration 0', async () => {
    const [planar, interleaved] = await Promise.all([stored(fx('rgb_u8_planar', 'ele')), stored(fx('rgb_u8', 'ele'))]);
    assert.deepEqual(planar.frames[0], interleaved.frames[0]);
    assert.equal(planar.frames[0].length, 200 * 256 * 3);
  });

  void test('multi-frame: three different frames in every compressed syntax', async () => {
    for (const tag of ['rle', 'jpeg-sv1', 'jls', 'j2k', 'jpeg-extended']) {
      const { frames } = await stored(fx('ct_multi', tag));
      assert.equal(frames.length, 3, tag);
      assert.notDeepEqual(frames[0], frames[1], tag);
    }
  });

  void test('lossy syntaxes stay close to the source (no wrap-around, no swapped bytes)', async () => {
    const bounds: Array<[string, string, number]> = [['ct_u12_rescale', 'jls-near-gdcm', 2], ['ct_s16', 'jls-near-gdcm', 2],
      ['ct_u12_rescale', 'j2k-lossy', 100], ['ct_u12_rescale', 'jpeg-extended', 200], ['mr_u8', 'jpeg-baseline', 40], ['rgb_u8', 'jpeg-baseline', 160]]; // 4:2:2 chroma at sharp colour edges
    for (const [source, tag, bound] of bounds) {
      const [ours, ref] = await Promise.all([stored(fx(source, tag)), stored(src(source))]);
      let max = 0, sum = 0;
      for (let i = 0; i < ref.frames[0].length; i++) {
        const d = Math.abs(ours.frames[0][i] - ref.frames[0][i]);
        max = Math.max(max, d);
        sum += d;
      }
      assert.ok(max <= bound, `${source}.${tag}: max |decoded − source| = ${max} > ${bound}`);
      assert.ok(sum / ref.frames[0].length < Math.max(4, bound / 4), `${source}.${tag}: mean |decoded − source| = ${sum / ref.frames[0].length}`);
    }
  });

  void test('lossy overshoot past an unsigned Bits Stored saturates at 4095 instead of wrapping to 0', async () => {
    for (const tag of ['jls-near-gdcm', 'j2k-lossy']) {
      const ours = (await stored(fx('ct_u12_rescale', tag))).frames[0];
      const ref = (await stored(src('ct_u12_rescale'))).frames[0];
      for (let i = 0; i < ref.length; i++) {
        if (ref[i] === 4095) assert.ok(ours[i] > 3000, `${tag}: saturated source pixel ${i} decoded as ${ours[i]}`);
      }
    }
  });

  void test('a truncated compressed frame is DECODE_FAILED naming the codec, never a crash', async () => {
    for (const tag of ['j2k', 'jls', 'jpeg-baseline', 'jpeg-extended', 'jpeg-sv1']) {
      const image = await loadImage(fx('mr_u8', tag));
      const bytes = frameBytes(image.file, image.info, 0);
      const decoder = decoderFor(image.info.transferSyntaxUID);
      await assert.rejects(decoder.decode(bytes.subarray(0, 40), image.info), (err: unknown) => {
        assert.ok(err instanceof Error, tag);
        return true;
      });
    }
  });

  void test('WASM codecs print nothing on stdout (the CLI\'s --json output must stay clean)', () => {
    const script = `const { loadImage, loadStored } = require('./src/core/dicom/load');
      (async () => { for (const f of ${JSON.stringify([fx('ct_s16', 'j2k'), fx('ct_s16', 'j2k-lossy'), fx('ct_s16', 'jls'), fx('mr_u8', 'jpeg-baseline')])})
        await loadStored(await loadImage(f), 0); })();`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '');
  });
});

void test('an unknown transfer syntax is UNSUPPORTED_TRANSFER_SYNTAX naming the UID', () => {
  const uid = '1.2.840.10008.1.2.4.100'; // MPEG2 Main Profile / Main Level: video, not in the table
  assert.throws(() => decoderFor(uid), (err: unknown) => {
    assert.ok(err instanceof DicomError);
    assert.equal(err.code, 'UNSUPPORTED_TRANSFER_SYNTAX');
    assert.match(err.message, /1\.2\.840\.10008\.1\.2\.4\.100/);
    return true;
  });
});

void test('loadStored on a file in an unknown syntax names the UID and the file', async () => {
  const ct = '/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm';
  const image = await loadImage(ct).catch(() => undefined);
  if (!image) return; // covered by the decoderFor test above when the Debian files are absent
  const file = { ...image.file, transferSyntaxUID: '1.2.840.10008.1.2.4.100' };
  await assert.rejects(loadStored({ ...image, file, info: { ...image.info, transferSyntaxUID: file.transferSyntaxUID } }), (err: unknown) => {
    assert.ok(err instanceof DicomError);
    assert.equal(err.code, 'UNSUPPORTED_TRANSFER_SYNTAX');
    assert.match(err.message, /1\.2\.840\.10008\.1\.2\.4\.100/);
    assert.equal(err.file, ct);
    return true;
  });
});
