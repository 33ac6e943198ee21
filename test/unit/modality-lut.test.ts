// Modality LUT Sequence (0028,3000), PS3.3 C.11.1 (issue 11: it was ignored, values off by up to 63,488): our
// modality values equal pydicom's apply_modality_lut on files pydicom 3 writes here — unsigned and signed stored
// values, clamping below the first mapped value and past the last entry, 16- and 8-bit entries, LUT Data as US
// and OW, explicit/implicit VR little endian and explicit VR big endian — through the CLI (`dicom-ml pixels`) and
// the decode pool. Needs .venv (node scripts/setup-python.mjs); skips with the reason otherwise.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { DecodePool } from '../../src/core/dicom/decodePool';
import { loadImage, loadStored } from '../../src/core/dicom/load';
import { modalityValues } from '../../src/core/dicom/lut';
import { PYTHON } from '../fixtures/fixtures';

const skip = existsSync(PYTHON) ? false : '.venv missing (node scripts/setup-python.mjs)';
const BIN = join(__dirname, '..', '..', 'bin', 'dicom-ml.js');
const pool = new DecodePool({ size: 1 });
after(() => pool.close());

test('modality values through a Modality LUT Sequence equal pydicom\'s apply_modality_lut', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'modality-lut-'));
  const made = JSON.parse(execFileSync(PYTHON, [join(__dirname, '..', 'fixtures', 'make_modality_lut.py'), dir], { encoding: 'utf8' })) as { path: string; values: number[]; stored: number[] }[];
  assert.equal(made.length, 6);
  for (const f of made) {
    const image = await loadImage(f.path);
    assert.ok(image.info.modalityLut, `${f.path}: the LUT is read`);
    const stored = await loadStored(image, 0);
    assert.deepEqual([...stored], f.stored, `${f.path}: stored values`);
    assert.deepEqual([...modalityValues(stored, image.info)], f.values, `${f.path}: modality values = pydicom's`);
    const pooled = await pool.decodeSlice(f.path, {});
    assert.deepEqual([...(pooled.values as Float32Array)], f.values, `${f.path}: the decode pool's too`);
    const out = join(dir, 'v.f32');
    const r = spawnSync(process.execPath, [BIN, 'pixels', f.path, '--out', out], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const buf = readFileSync(out);
    assert.deepEqual([...new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)], f.values, `${f.path}: dicom-ml pixels`);
  }
  // Values below the first mapped one and past the last entry are in the fixtures (clamped to the ends).
  const clamped = made.some((f) => f.stored.some((s) => s < 100) || f.stored.some((s) => s > 2099));
  assert.ok(clamped, 'the fixtures exercise the clamping');
});
