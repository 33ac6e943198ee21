// The VOI LUT Sequence (0028,3010) for display (issue 11 item 1: it was ignored). `render --preset file` and
// renderSlice with the file's own VOI (lut.ts fileVoi: the LUT preferred over the window, as pydicom) equal pydicom's
// apply_voi_lut(apply_modality_lut(pixel_array)) scaled to 8 bits, on make_voi_lut.py's fixtures: a 12-bit LUT from a
// negative first mapped value (SS), implicit VR, 8-bit entries under MONOCHROME1 with values off both ends, OW LUT
// Data in big endian, a file with both a window and a LUT. A LUT that cannot be applied leaves the pixels readable and
// makes `render --preset file` fail with the reason. Needs .venv (node scripts/setup-python.mjs).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { loadImage, loadModality, loadStored } from '../../src/core/dicom/load';
import { fileVoi } from '../../src/core/dicom/lut';
import { renderSlice } from '../../src/core/dicom/render';
import { PYTHON } from '../fixtures/fixtures';

const skip = existsSync(PYTHON) ? false : '.venv missing (node scripts/setup-python.mjs)';
const BIN = join(__dirname, '..', '..', 'bin', 'dicom-ml.js');

interface Made { path: string; gray?: number[]; broken?: boolean; modality?: number[] }

function make(): { dir: string; made: Made[] } {
  const dir = mkdtempSync(join(tmpdir(), 'voi-lut-'));
  const made = JSON.parse(execFileSync(PYTHON, ['make_voi_lut.py', dir], { cwd: join(__dirname, '..', 'fixtures'), encoding: 'utf8' })) as Made[];
  return { dir, made };
}

test('the file\'s VOI LUT shows as pydicom\'s apply_voi_lut (12/16-bit and 8-bit entries, SS first value, MONOCHROME1, OW big endian)', { skip }, async () => {
  const { dir, made } = make();
  const good = made.filter((m) => !m.broken);
  assert.equal(good.length, 5);
  for (const m of good) {
    const image = await loadImage(m.path);
    assert.ok(image.info.voiLut, `${m.path}: VOI LUT read`);
    const voi = fileVoi(image.info);
    assert.ok('data' in voi, 'the LUT is preferred over the window');
    const shown = renderSlice(await loadModality(image), await loadStored(image), image.info, voi);
    assert.deepEqual([...shown.data], m.gray, m.path);
  }
  // The CLI: render --preset file writes the same grey PNG, and says it used the LUT.
  const out = join(dir, 'voi.png');
  const r = spawnSync(process.execPath, [BIN, 'render', good[0].path, '--preset', 'file', '--out', out, '--json'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).voiLut, { entries: 3072, firstMapped: -1024, bits: 12 });
  const { data } = await sharp(readFileSync(out)).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([...data], good[0].gray);
  const info = JSON.parse(spawnSync(process.execPath, [BIN, 'info', good[2].path, '--json'], { encoding: 'utf8' }).stdout);
  assert.deepEqual(info.voiLut, { entries: 200, firstMapped: 10, bits: 8, explanation: 'display curve' });
});

test('a VOI LUT that cannot be applied: pixels still read, render --preset file refuses with the reason', { skip }, async () => {
  const { dir, made } = make();
  const broken = made.find((m) => m.broken) as Made;
  const image = await loadImage(broken.path);
  assert.equal(image.info.voiLut, undefined);
  assert.match(image.info.voiLutProblem ?? '', /VOI LUT Sequence: LUT Data \(0028,3006\) holds 3072 bytes for 3072 entries of 16 bits/);
  assert.deepEqual([...await loadModality(image)], broken.modality);
  const r = spawnSync(process.execPath, [BIN, 'render', broken.path, '--preset', 'file', '--out', join(dir, 'x.png')], { encoding: 'utf8' });
  assert.notEqual(r.status, 0);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.ok(lines[0].includes(broken.path) && lines[0].includes('VOI LUT Sequence cannot be applied: VOI LUT Sequence: LUT Data (0028,3006) holds 3072 bytes'), lines[0]);
  assert.equal(spawnSync(process.execPath, [BIN, 'render', broken.path, '--preset', 'bone', '--out', join(dir, 'y.png')]).status, 0, 'another window still renders');
  const info = JSON.parse(spawnSync(process.execPath, [BIN, 'info', broken.path, '--json'], { encoding: 'utf8' }).stdout);
  assert.match(info.voiLut.problem, /LUT Data/);
});
