// The viewer's slice source (src/core/viewer/seriesSource.ts): decoding in the worker pool must give the
// viewer exactly what decoding in the extension host's thread gives — values, padding range, attributes — and
// the values it sends (Int16 when exact) with the padding range mark exactly the pixels the stored-value
// padding mask (lut.ts) marks.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeDemoSeries } from '../../src/core/dataset/demoSeries';
import { DecodePool } from '../../src/core/dicom/decodePool';
import { formatUserError } from '../../src/core/dicom/errors';
import { loadImage, loadStored } from '../../src/core/dicom/load';
import { modalityValues, paddingMask } from '../../src/core/dicom/lut';
import { inflateRawSync } from 'node:zlib';
import { fromBytePlanes, toBytePlanes } from '../../src/core/dicom/bytePlanes';
import { asInt16 } from '../../src/core/dicom/pack';
import { SeriesSource } from '../../src/core/viewer/seriesSource';
import type { ViewerSlice } from '../../src/protocol/viewer';

/** The values a webview unpacks from a slice (as webview/viewer/main.ts does, with DecompressionStream there). */
function sent(s: ViewerSlice): Int16Array | Float32Array {
  const width = s.valueType === 'int16' ? 2 : 4;
  const bytes = fromBytePlanes(new Uint8Array(inflateRawSync(new Uint8Array(s.values))), width);
  return s.valueType === 'int16' ? new Int16Array(bytes.buffer) : new Float32Array(bytes.buffer);
}

const pool = new DecodePool({ size: 2 });
after(() => pool.close());

const FIXTURES = join(__dirname, '..', '..', 'test-output', 'fixtures');
const CT_SMALL = '/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm';

async function sameSlices(paths: string[]): Promise<void> {
  const entries = paths.map((path) => ({ path, frame: 0 }));
  const here = new SeriesSource(entries);
  const pooled = new SeriesSource(entries, { pool });
  for (let i = 0; i < entries.length; i++) {
    const a = await here.getSlice(i);
    const b = await pooled.getSlice(i);
    assert.deepEqual(new Uint8Array(b.values), new Uint8Array(a.values), `${paths[i]}: values`);
    const strip = (s: typeof a) => ({ ...s, values: undefined });
    assert.deepEqual(strip(b), strip(a), `${paths[i]}: attributes`);
    const image = await loadImage(paths[i]);
    if (image.info.samplesPerPixel !== 1) continue;
    const stored = await loadStored(image, 0);
    const exact = modalityValues(stored, image.info);
    assert.deepEqual(Float32Array.from(sent(b)), exact, `${paths[i]}: the ${b.valueType} values sent are the modality values`);
    const mask = paddingMask(stored, image.info);
    const range = b.paddingRange;
    const fromRange = range ? Uint8Array.from(sent(b), (v) => (v >= range[0] && v <= range[1] ? 1 : 0)) : undefined;
    assert.deepEqual(fromRange?.some((v) => v) ? fromRange : undefined, mask, `${paths[i]}: padding range = stored-value padding mask`);
  }
}

test('pooled and in-thread decoding give the viewer identical slices (demo series)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'series-source-'));
  const demo = await writeDemoSeries(dir, { slices: 4, size: 64 });
  await sameSlices(demo.files);
});

test('byte planes round-trip', () => {
  const bytes = Uint8Array.from({ length: 24 }, (_, i) => (i * 37) & 255);
  for (const w of [1, 2, 4]) assert.deepEqual(fromBytePlanes(toBytePlanes(bytes, w), w), bytes);
  assert.deepEqual([...toBytePlanes(Uint8Array.from([1, 2, 3, 4, 5, 6]), 2)], [1, 3, 5, 2, 4, 6]);
});

test('Int16 only when exact', () => {
  assert.deepEqual(asInt16(Float32Array.from([-32768, 0, 32767, -1024])), Int16Array.from([-32768, 0, 32767, -1024]));
  for (const bad of [[0.5], [32768], [-32769], [Number.NaN]]) assert.equal(asInt16(Float32Array.from(bad)), undefined);
});

test('padding: the range sent marks the stored-value mask\'s pixels (CT_small, padded CT, rescaled, MONOCHROME1)', { skip: existsSync(CT_SMALL) ? false : 'pydicom test files missing' }, async () => {
  const files = [CT_SMALL, ...['ct_padding.ele.dcm', 'ct_padding.jpeg-sv1.dcm', 'ct_u12_rescale.ele.dcm', 'mono1_u12.ele.dcm'].map((f) => join(FIXTURES, f)).filter(existsSync)];
  await sameSlices(files);
});

test('errors from the pool name the file (as the viewer shows them)', async () => {
  const source = new SeriesSource([{ path: join(tmpdir(), 'no-such-slice.dcm'), frame: 0 }], { pool });
  await assert.rejects(source.getSlice(0), (err: unknown) => /no-such-slice\.dcm: no such file/.test(formatUserError(err)));
});
