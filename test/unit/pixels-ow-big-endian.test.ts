// 8-bit Pixel Data with VR OW in Explicit VR Big Endian (issue 11: it came out silently pair-swapped): grey and
// RGB, one and several frames with odd sizes (frames starting mid-word), written by pydicom 3 and compared
// with pydicom's pixel_array. Needs .venv (node scripts/setup-python.mjs); skips with the reason otherwise.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadImage, loadStored } from '../../src/core/dicom/load';
import { PYTHON } from '../fixtures/fixtures';

const skip = existsSync(PYTHON) ? false : '.venv missing (node scripts/setup-python.mjs)';

test('8-bit OW big-endian pixel data equals pydicom\'s pixel_array, every frame', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ow-be-'));
  const made = JSON.parse(execFileSync(PYTHON, [join(__dirname, '..', 'fixtures', 'make_ow_big_endian.py'), dir], { encoding: 'utf8' })) as { path: string; vr: string; values: number[]; written: number[] }[];
  assert.equal(made.length, 3);
  for (const f of made) {
    assert.equal(f.vr, 'OW');
    assert.deepEqual(f.values, f.written, `${f.path}: pydicom reads back what was written`);
    const image = await loadImage(f.path);
    const ours: number[] = [];
    for (let k = 0; k < image.info.frames; k++) ours.push(...(await loadStored(image, k)));
    assert.deepEqual(ours, f.values, `${f.path}: our stored values = pydicom's`);
  }
});
