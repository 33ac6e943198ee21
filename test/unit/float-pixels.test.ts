// Float Pixel Data (7FE0,0008) and Double Float Pixel Data (7FE0,0009) (issue 11 item 5: they were refused): the
// samples equal pydicom's pixel_array exactly (32- and 64-bit, little and big endian, two frames), and the
// modality values / `dicom-ml pixels` are those numbers in Float32 (its contract: 1e300 becomes Infinity there).
// Needs .venv (node scripts/setup-python.mjs); skips with the reason otherwise.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadImage, loadStored } from '../../src/core/dicom/load';
import { modalityValues } from '../../src/core/dicom/lut';
import { PYTHON } from '../fixtures/fixtures';

const skip = existsSync(PYTHON) ? false : '.venv missing (node scripts/setup-python.mjs)';
const BIN = join(__dirname, '..', '..', 'bin', 'dicom-ml.js');

test('float and double float pixel data equal pydicom\'s pixel_array', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'float-pixels-'));
  const made = JSON.parse(execFileSync(PYTHON, [join(__dirname, '..', 'fixtures', 'make_float_pixels.py'), dir], { encoding: 'utf8' })) as { path: string; values: number[] }[];
  assert.equal(made.length, 3);
  for (const f of made) {
    const image = await loadImage(f.path);
    assert.ok(image.info.floatPixels, `${f.path}: float pixel data recognised`);
    const samples: number[] = [];
    const values: number[] = [];
    for (let k = 0; k < image.info.frames; k++) {
      const s = await loadStored(image, k);
      samples.push(...s);
      values.push(...modalityValues(s, image.info));
    }
    assert.deepEqual(samples, f.values, `${f.path}: samples = pydicom's`);
    assert.deepEqual(values, f.values.map(Math.fround), `${f.path}: modality values, Float32`);
    const out = join(dir, 'v.f32');
    const r = spawnSync(process.execPath, [BIN, 'pixels', f.path, '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const buf = readFileSync(out);
    assert.deepEqual([...new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)], f.values.map(Math.fround), `${f.path}: dicom-ml pixels`);
  }
});
