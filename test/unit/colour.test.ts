// Colour (issue 11 item 3): PALETTE COLOR, YBR_FULL / YBR_FULL_422 (native, big endian, RLE), and YBR from the JPEG
// 2000 and JPEG codecs, compared with pydicom 3.0's `pixel_array` (default options: YBR comes back as RGB, PALETTE
// COLOR as indices) and `apply_color_lut`, on fixtures test/fixtures/make_colour.py writes with pydicom (and DCMTK's
// img2dcm) plus real pydicom test files. Lossless: exact. Broken palettes: a DicomError naming the problem and file.
// Needs .venv (node scripts/setup-python.mjs); skips with the reason otherwise.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { frameRgb8, ybrFullToRgb } from '../../src/core/dicom/colour';
import { DecodePool } from '../../src/core/dicom/decodePool';
import { DicomError } from '../../src/core/dicom/errors';
import { loadImage, loadModality, loadPixelArray, loadStored } from '../../src/core/dicom/load';
import { applyPalette, expandSegmented } from '../../src/core/dicom/palette';
import { PYTHON, compare, pydicomTestFiles } from '../fixtures/fixtures';

const skip = existsSync(PYTHON) ? false : '.venv missing (node scripts/setup-python.mjs)';
const BIN = join(__dirname, '..', '..', 'bin', 'dicom-ml.js');

interface Case {
  name: string;
  path: string;
  kind: 'palette' | 'broken' | 'refused' | 'ybr' | 'codec' | 'pydicom-file';
  made: string;
  pixel?: string;
  rgb?: string;
  shape?: number[];
  reference?: string;
  error?: string;
}

/** Lossy files: our decoders against pydicom's plugins (OpenJPEG builds, IJG vs libjpeg colour conversion). */
const LOSSY: Record<string, number> = { j2k_ybr_ict: 0, jpeg_ybr_full_422: 1, examples_ybr_color: 0, SC_rgb_jls_lossy_line: 0, SC_rgb_jls_lossy_sample: 0 };

function f32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

async function allFrames(path: string, read: (image: Awaited<ReturnType<typeof loadImage>>, k: number) => Promise<ArrayLike<number>>): Promise<number[]> {
  const image = await loadImage(path);
  const out: number[] = [];
  for (let k = 0; k < image.info.frames; k++) for (const v of Array.from(await read(image, k))) out.push(v);
  return out;
}

void describe('colour images equal pydicom 3', { skip }, () => {
  if (skip) return;
  const dir = mkdtempSync(join(tmpdir(), 'colour-'));
  const cases = JSON.parse(execFileSync(PYTHON, [join(__dirname, '..', 'fixtures', 'make_colour.py'), dir, ...(pydicomTestFiles() ? [pydicomTestFiles() as string] : [])],
    { encoding: 'utf8', maxBuffer: 1 << 24 })) as Case[];
  const byName = new Map(cases.map((c) => [c.name, c]));
  const expectedPixels = (c: Case) => f32(join(dir, (c.reference ? byName.get(c.reference) as Case : c).pixel as string));

  void test('the fixtures cover every category', () => {
    for (const name of ['palette8', 'palette16', 'palette16_be', 'palette8_be', 'palette8_in_words_implicit', 'palette65536', 'palette8_rle_2frame',
      'palette_segmented8', 'palette_segmented16', 'palette_winter', 'ybr_full', 'ybr_full_planar', 'ybr_full_implicit', 'ybr_full_be_ow',
      'ybr_full_422', 'ybr_full_422_be_ow', 'ybr_full_rle', 'j2k_ybr_rct', 'j2k_ybr_ict', 'jpeg_ybr_full_422']) {
      assert.ok(byName.get(name)?.pixel, `${name}: made and read by pydicom (${byName.get(name)?.error ?? 'missing'})`);
    }
  });

  for (const c of cases.filter((k) => k.kind !== 'broken' && k.kind !== 'refused')) {
    const tolerance = LOSSY[c.name] ?? 0;
    void test(`${c.name}: pixel values equal pydicom's pixel_array${c.reference ? ` (of its little-endian twin ${c.reference})` : ''} within ${tolerance} (${c.made})`, async () => {
      const ours = await allFrames(c.path, loadPixelArray);
      const { max, count } = compare(ours, expectedPixels(c));
      assert.ok(max <= tolerance, `max |ours − pydicom| = ${max} over ${count} samples`);
    });
    if (c.rgb) {
      void test(`${c.name}: the palette applied equals pydicom's apply_color_lut${c.reference ? ` of ${c.reference}` : ''}`, async () => {
        const ref = f32(join(dir, (c.reference ? byName.get(c.reference) as Case : c).rgb as string));
        const ours = await allFrames(c.path, async (image, k) => {
          assert.ok(image.info.palette, 'palette read');
          return applyPalette(await loadStored(image, k), image.info.palette);
        });
        const { max, count } = compare(ours, ref);
        assert.equal(max, 0, `max difference ${max} over ${count} samples`);
      });
    }
  }

  const broken: Record<string, RegExp> = {
    broken_missing_data: /no Palette Color Lookup Table Data \(0028,1201-1203\) nor Segmented/,
    broken_missing_green: /Palette Color Lookup Table Data missing for Green \(0028,1202\)/,
    broken_length: /Red Palette Color Lookup Table Data \(0028,1201\) holds 300 bytes, which is neither 256 entries of 8 bits nor of 16 bits/,
    broken_descriptor_bits: /descriptor says 12 bits per entry/,
    broken_segment_opcode: /Segmented Red .*unknown segment opcode 7 at entry 4/,
    broken_segment_short: /Segmented Red Palette Color Lookup Table Data expands to 10 entries, the descriptor says 256/,
    broken_segment_linear_first: /linear segment at entry 0 comes first/,
  };
  for (const [name, message] of Object.entries(broken)) {
    void test(`${name}: refused as MALFORMED, naming the problem and the file (${byName.get(name)?.made})`, async () => {
      const c = byName.get(name) as Case;
      await assert.rejects(loadImage(c.path), (err: unknown) => {
        assert.ok(err instanceof DicomError);
        assert.equal(err.code, 'MALFORMED');
        assert.match(err.message, /^PALETTE COLOR: /);
        assert.match(err.message, message);
        assert.equal(err.file, c.path);
        return true;
      });
      assert.ok(byName.get(name)?.pixel, 'pydicom reads the indices');
    });
  }

  void test('YBR_FULL with 16-bit samples is refused with the reason (pydicom\'s pixel_array raises too)', async () => {
    const c = byName.get('ybr_full_16bit') as Case;
    assert.match(c.error ?? '', /uint16/);
    const image = await loadImage(c.path);
    await assert.rejects(loadStored(image), /YBR_FULL with Bits Stored 16: YCbCr to RGB is defined for unsigned 8-bit samples only/);
  });

  void test('native YBR_FULL_422 with planar configuration 1 is refused (PS3.3 C.7.6.3.1.3), not shuffled', async () => {
    const image = await loadImage((byName.get('ybr_full_422_planar') as Case).path);
    await assert.rejects(loadStored(image), /YBR_FULL_422 with Planar Configuration 1: it is defined colour-by-pixel only/);
  });

  void test('modality values are refused for colour images, with the reason (RGB samples and palette indices are not HU)', async () => {
    for (const [name, why] of [['palette8', /PALETTE COLOR image: its pixel values are palette indices, not modality values/], ['ybr_full', /YBR_FULL image: its pixels are YBR_FULL \(as RGB\) colour samples/]] as const) {
      const c = byName.get(name) as Case;
      await assert.rejects(loadModality(await loadImage(c.path)), (err: unknown) => err instanceof DicomError && why.test(err.message) && err.file === c.path);
    }
  });

  void test('dicom-ml pixels: YBR as RGB rows×columns×3, palette indices, --palette RGB — each equal to pydicom; info shows the palette', () => {
    const run = (args: string[]) => {
      const r = spawnSync(process.execPath, [BIN, 'pixels', ...args, '--json'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    const out = join(dir, 'out.f32');
    const ybr = byName.get('ybr_full_422') as Case;
    const s1 = run([ybr.path, '--out', out]);
    assert.equal(s1.channels, 'RGB');
    assert.equal(s1.samplesPerPixel, 3);
    assert.equal(compare(f32(out), expectedPixels(ybr)).max, 0);
    const pal = byName.get('palette16') as Case;
    const s2 = run([pal.path, '--out', out]);
    assert.equal(s2.channels, 'palette index');
    assert.equal(compare(f32(out), expectedPixels(pal)).max, 0);
    const s3 = run([pal.path, '--out', out, '--palette']);
    assert.equal(s3.samplesPerPixel, 3);
    assert.equal(compare(f32(out), f32(join(dir, pal.rgb as string))).max, 0);
    const info = spawnSync(process.execPath, [BIN, 'info', (byName.get('palette_segmented16') as Case).path, '--json'], { encoding: 'utf8' });
    assert.deepEqual((JSON.parse(info.stdout) as { palette: unknown }).palette, { entries: 1024, firstMapped: 0, bits: 16, descriptorBits: 16, segmented: true });
    const r = spawnSync(process.execPath, [BIN, 'pixels', ybr.path, '--out', out, '--palette'], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /--palette applies to PALETTE COLOR images; this one is YBR_FULL_422/);
  });

  void test('dicom-ml render writes an RGB PNG: the palette applied (8-bit entries) and YBR as RGB, equal to pydicom', async () => {
    const { default: sharp } = await import('sharp');
    for (const [name, ref] of [['palette8', 'rgb'], ['ybr_full_planar', 'pixel'], ['palette_winter', 'rgb']] as const) {
      const c = byName.get(name) as Case;
      const png = join(dir, `${name}.png`);
      const r = spawnSync(process.execPath, [BIN, 'render', c.path, '--out', png, '--json'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal((JSON.parse(r.stdout) as { window: unknown }).window, null);
      const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      assert.equal(info.channels, 3);
      const expected = f32(join(dir, c[ref] as string)).subarray(0, info.width * info.height * 3);
      assert.equal(compare(data, expected).max, 0, `${name}: PNG = pydicom`);
    }
  });

  void test('windowing to grey in the decode workers (prepare, inference) refuses palette indices and RGB with the reason', async () => {
    const pool = new DecodePool({ size: 1 });
    try {
      for (const [name, pi] of [['palette8', 'PALETTE COLOR'], ['ybr_full', 'YBR_FULL']]) {
        await assert.rejects(pool.decodeSlice((byName.get(name) as Case).path, { frame: 0, window: { center: 40, width: 400 }, gray: true }),
          new RegExp(`${pi} image: .* not grey values to window`));
      }
    } finally {
      await pool.close();
    }
  });

  void test('frameRgb8 of a 16-bit palette keeps the high byte of each entry (display)', async () => {
    const c = byName.get('palette16') as Case;
    const image = await loadImage(c.path);
    const rgb8 = frameRgb8(await loadStored(image), image.info);
    const ref = f32(join(dir, c.rgb as string));
    assert.deepEqual([...rgb8], [...ref].map((v) => v >> 8));
  });
});

void test('YCbCr → RGB equals pydicom\'s convert_color_space on all 2^24 triples', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ybr-'));
  const out = join(dir, 'rgb.u8');
  execFileSync(PYTHON, ['-c', `
import numpy as np, sys
from pydicom.pixels.processing import convert_color_space
v = np.arange(1 << 24, dtype=np.uint32)
arr = np.stack([(v >> 16) & 255, (v >> 8) & 255, v & 255], axis=-1).astype(np.uint8).reshape(4096, 4096, 3)
convert_color_space(arr, "YBR_FULL", "RGB").tofile(sys.argv[1])
`, out]);
  const ref = readFileSync(out);
  const all = new Uint8Array(3 << 24);
  for (let v = 0; v < 1 << 24; v++) {
    all[3 * v] = v >> 16;
    all[3 * v + 1] = (v >> 8) & 255;
    all[3 * v + 2] = v & 255;
  }
  ybrFullToRgb(all);
  let bad = 0;
  for (let i = 0; i < all.length; i++) if (all[i] !== ref[i]) bad++;
  assert.equal(bad, 0, `${bad} samples differ`);
});

void test('segmented LUT: a 16-bit indirect segment\'s offset is in bytes (PS3.3 C.7.9.2.3), copied segments as written', () => {
  // discrete [5, 6], linear to 10 over 4, indirect: 1 segment at byte 8 (entry 4: the linear one, from 10 to 10).
  const data = Uint16Array.from([0, 2, 5, 6, 1, 4, 10, 2, 1, 8, 0]);
  assert.deepEqual(expandSegmented(data, 2, 'test'), [5, 6, 7, 8, 9, 10, 10, 10, 10, 10]);
  // 8-bit: the offset is 4 bytes (low 16 bits first), entry = byte.
  assert.deepEqual(expandSegmented(Uint16Array.from([0, 3, 1, 2, 3, 2, 1, 0, 0, 0, 0]), 1, 'test'), [1, 2, 3, 1, 2, 3]);
  assert.throws(() => expandSegmented(Uint16Array.from([0, 1, 1, 2, 1, 3, 0, 0, 0]), 1, 'x'), /indirect segment at entry 3 inside an indirect segment/);
  assert.throws(() => expandSegmented(Uint16Array.from([0, 1, 1, 2, 1, 99, 0]), 2, 'x'), /points to byte 99/);
  // numpy's linspace + round half to even: 0 → 3 over 2 gives [1.5 → 2, 3]; 0 → 5 over 2 gives [2.5 → 2, 5].
  assert.deepEqual(expandSegmented(Uint16Array.from([0, 1, 0, 1, 2, 3]), 2, 'x'), [0, 2, 3]);
  assert.deepEqual(expandSegmented(Uint16Array.from([0, 1, 0, 1, 2, 5]), 2, 'x'), [0, 2, 5]);
});
