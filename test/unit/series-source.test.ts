// The viewer's slice source (src/core/viewer/seriesSource.ts): decoding in the worker pool must give the
// viewer exactly what decoding in the extension host's thread gives — values, padding mask, attributes.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { writeDemoSeries } from '../../src/core/dataset/demoSeries';
import { DecodePool } from '../../src/core/dicom/decodePool';
import { formatUserError } from '../../src/core/dicom/errors';
import { SeriesSource } from '../../src/core/viewer/seriesSource';

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
    assert.deepEqual(b.padding && new Uint8Array(b.padding), a.padding && new Uint8Array(a.padding), `${paths[i]}: padding mask`);
    const strip = (s: typeof a) => ({ ...s, values: undefined, padding: undefined });
    assert.deepEqual(strip(b), strip(a), `${paths[i]}: attributes`);
  }
}

test('pooled and in-thread decoding give the viewer identical slices (demo series)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'series-source-'));
  const demo = await writeDemoSeries(dir, { slices: 4, size: 64 });
  await sameSlices(demo.files);
});

test('padding masks agree: stored-value mask (in thread) = modality-range mask (pool)', { skip: existsSync(CT_SMALL) ? false : 'pydicom test files missing' }, async () => {
  const files = [CT_SMALL, ...['ct_padding.ele.dcm', 'ct_padding.jpeg-sv1.dcm', 'ct_u12_rescale.ele.dcm', 'mono1_u12.ele.dcm'].map((f) => join(FIXTURES, f)).filter(existsSync)];
  await sameSlices(files);
});

test('errors from the pool name the file (as the viewer shows them)', async () => {
  const source = new SeriesSource([{ path: join(tmpdir(), 'no-such-slice.dcm'), frame: 0 }], { pool });
  await assert.rejects(source.getSlice(0), (err: unknown) => /no-such-slice\.dcm: no such file/.test(formatUserError(err)));
});
