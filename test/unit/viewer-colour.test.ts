// The viewer's colour path (issue 11 item 3): a colour slice leaves the host as 8-bit RGB — what the core's
// colour.ts frameRgb8 makes of the decoded frame, and what pydicom 3 gives (pixel_array for RGB and YBR, which it
// converts to RGB; apply_color_lut for 8-bit palettes) — plus its palette indices, in the decode pool and in the
// host's thread alike; grey slices are sent as before (modality values, no colour). Colour series get no reformat
// and no model, each with the reason. Fixtures: test/fixtures/make_colour.py (pydicom), and pydicom's own test files
// when present. Needs .venv (node scripts/setup-python.mjs); skips with the reason otherwise.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { after, describe, test } from 'node:test';
import { writeDemoSeries } from '../../src/core/dataset/demoSeries';
import { fromBytePlanes } from '../../src/core/dicom/bytePlanes';
import { frameRgb8 } from '../../src/core/dicom/colour';
import { DecodePool } from '../../src/core/dicom/decodePool';
import { formatUserError } from '../../src/core/dicom/errors';
import { loadImage, loadPixelArray, loadStored } from '../../src/core/dicom/load';
import { modalityValues } from '../../src/core/dicom/lut';
import { packValues } from '../../src/core/dicom/pack';
import { colourModelsNote, openSeriesFor } from '../../src/core/viewer/openSeries';
import { SeriesSource } from '../../src/core/viewer/seriesSource';
import { SeriesVolume } from '../../src/core/viewer/volume';
import type { ViewerSlice } from '../../src/protocol/viewer';
import { PYTHON, pydicomTestFiles } from '../fixtures/fixtures';

const skip = existsSync(PYTHON) ? false : '.venv missing (node scripts/setup-python.mjs)';

const pool = new DecodePool({ size: 2 });
after(() => pool.close());

/** The RGB a webview inflates from a slice (webview/viewer/main.ts does it with DecompressionStream). */
function sentRgb(s: ViewerSlice): Uint8Array {
  assert.ok(s.colour, `${s.file}: a colour slice`);
  return new Uint8Array(inflateRawSync(new Uint8Array(s.colour.rgb)));
}

/** The values a webview unpacks from a slice (byte planes, deflate-raw). */
function sentValues(s: ViewerSlice): number[] {
  const width = s.valueType === 'int16' ? 2 : 4;
  const bytes = fromBytePlanes(new Uint8Array(inflateRawSync(new Uint8Array(s.values))), width);
  return [...(s.valueType === 'int16' ? new Int16Array(bytes.buffer) : new Float32Array(bytes.buffer))];
}

function f32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

interface Case { name: string; path: string; kind: string; pixel?: string; rgb?: string; rgbDtype?: string; shape?: number[]; reference?: string }

/**
 * Every frame of `path` through the viewer's slice source, pooled and in this thread: the same slice both ways,
 * its RGB equal to frameRgb8 of the decoded frame; returns the RGB and values sent, frame after frame.
 */
async function viewerFrames(path: string): Promise<{ rgb: number[]; values: number[]; slices: ViewerSlice[] }> {
  const image = await loadImage(path);
  const entries = Array.from({ length: image.info.frames }, (_, frame) => ({ path, frame }));
  const here = new SeriesSource(entries);
  const pooled = new SeriesSource(entries, { pool });
  const out = { rgb: [] as number[], values: [] as number[], slices: [] as ViewerSlice[] };
  for (let k = 0; k < entries.length; k++) {
    const a = await here.getSlice(k);
    const b = await pooled.getSlice(k);
    assert.deepEqual(b, a, `${path} frame ${k}: pooled and in-thread slices are the same`);
    const core = frameRgb8(await loadStored(image, k), image.info);
    assert.deepEqual(sentRgb(b), core, `${path} frame ${k}: the RGB sent is frameRgb8 of the frame`);
    assert.equal(b.units, '');
    assert.equal(b.fileWindow, undefined);
    assert.equal(b.paddingRange, undefined);
    out.rgb.push(...sentRgb(b));
    out.values.push(...sentValues(b));
    out.slices.push(b);
  }
  return out;
}

void describe('colour slices for the viewer', { skip }, () => {
  if (skip) return;
  const dir = mkdtempSync(join(tmpdir(), 'viewer-colour-'));
  const cases = JSON.parse(execFileSync(PYTHON, [join(__dirname, '..', 'fixtures', 'make_colour.py'), dir], { encoding: 'utf8', maxBuffer: 1 << 24 })) as Case[];
  const byName = new Map(cases.map((c) => [c.name, c]));
  const reference = (c: Case, key: 'pixel' | 'rgb') => f32(join(dir, (c.reference ? byName.get(c.reference) as Case : c)[key] as string));

  for (const name of ['palette8', 'palette8_be', 'palette8_rle_2frame', 'palette_segmented8', 'palette_winter', 'palette16', 'palette65536']) {
    void test(`${name}: RGB = pydicom's apply_color_lut (16-bit entries: their high byte), values = the palette indices of pixel_array`, async () => {
      const c = byName.get(name) as Case;
      const sent = await viewerFrames(c.path);
      assert.equal(sent.slices[0].colour?.photometricInterpretation, 'PALETTE COLOR');
      const lut = reference(c, 'rgb');
      const sixteen = c.rgbDtype === 'uint16';
      assert.deepEqual(sent.rgb, [...lut].map((v) => (sixteen ? v >> 8 : v)));
      assert.deepEqual(sent.values, [...reference(c, 'pixel')]);
    });
  }

  for (const name of ['ybr_full', 'ybr_full_planar', 'ybr_full_be_ow', 'ybr_full_422', 'ybr_full_rle', 'j2k_ybr_rct']) {
    void test(`${name}: RGB = pydicom's pixel_array (YBR converted to RGB), no values sent`, async () => {
      const c = byName.get(name) as Case;
      const sent = await viewerFrames(c.path);
      assert.match(sent.slices[0].colour?.photometricInterpretation ?? '', /^YBR_/);
      assert.deepEqual(sent.rgb, [...reference(c, 'pixel')]);
      assert.deepEqual(sent.values, []);
    });
  }

  void test('native RGB: the RGB sent is the file\'s samples', async () => {
    const path = join(dir, 'rgb_source.dcm');
    const sent = await viewerFrames(path);
    assert.equal(sent.slices[0].colour?.photometricInterpretation, 'RGB');
    assert.equal(sent.slices[0].colour?.bitsStored, 8);
    assert.deepEqual(sent.rgb, [...await loadPixelArray(await loadImage(path))]);
  });

  const files = pydicomTestFiles();
  void test('16-bit RGB (pydicom SC_rgb_rle_16bit_2frame.dcm): the top 8 bits of pixel_array, both frames', { skip: files ? false : 'pydicom test files missing' }, async () => {
    const path = join(files as string, 'SC_rgb_rle_16bit_2frame.dcm');
    const sent = await viewerFrames(path);
    assert.equal(sent.slices[0].colour?.bitsStored, 16);
    const image = await loadImage(path);
    const expected = [...await loadPixelArray(image, 0), ...await loadPixelArray(image, 1)].map((v) => v >> 8);
    assert.deepEqual(sent.rgb, expected);
  });

  void test('a colour series: models not run and no reformat, each saying why', async () => {
    const c = byName.get('palette8_rle_2frame') as Case;
    const alone = join(mkdtempSync(join(tmpdir(), 'viewer-colour-cine-')), 'cine.dcm');
    copyFileSync(c.path, alone); // the fixtures share one folder and no Series Instance UID
    const opened = await openSeriesFor(alone);
    assert.equal(opened.entries.length, 2, 'one slice per frame (cine)');
    assert.equal(opened.colour, 'PALETTE COLOR');
    assert.match(colourModelsNote(opened.colour), /not run on a colour series \(PALETTE COLOR\): the models take grey CT/);
    const volume = new SeriesVolume(opened.entries, opened.geometry, pool);
    await assert.rejects(volume.reformat('sagittal', 0), (err: unknown) => /PALETTE COLOR image: sagittal and coronal reformats are built from grey values/.test(formatUserError(err)));
  });
});

void test('grey slices are sent as before: modality values packed, no colour', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'viewer-grey-'));
  const demo = await writeDemoSeries(dir, { slices: 2, size: 64 });
  const entries = demo.files.map((path) => ({ path, frame: 0 }));
  assert.equal((await openSeriesFor(demo.files[0])).colour, undefined);
  for (const source of [new SeriesSource(entries), new SeriesSource(entries, { pool })]) {
    for (let i = 0; i < entries.length; i++) {
      const s = await source.getSlice(i);
      assert.equal('colour' in s, false);
      assert.equal(s.units, 'HU');
      const image = await loadImage(entries[i].path);
      const packed = packValues(modalityValues(await loadStored(image, 0), image.info));
      assert.deepEqual(new Uint8Array(s.values), new Uint8Array(packed.data));
      assert.equal(s.valueType, packed.type);
    }
  }
});
