/**
 * NIfTI-1 reader against nibabel: volumes written by test/python/nifti_make.py (nibabel 5, in .venv) with
 * sform, qform-only (incl. qfac = −1) and no-code headers, several datatypes, scaling, gzip and big-endian.
 * Voxel values must equal nibabel's get_fdata() (exact for integers, 1e-6 relative for scaled/float);
 * affines must equal nibabel's get_sform()/get_qform() within 1e-5 mm (float32 header fields).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DicomError } from '../../src/core/dicom/errors';
import { applyAffine, flipPointRasLps, flipRasLps, parseNifti, qformAffine, readNifti } from '../../src/core/dicom/nifti';

const ROOT = resolve(__dirname, '../..');
const PYTHON = join(ROOT, '.venv/bin/python');

interface Case {
  name: string; file: string; dims: number[]; datatype: number; form: 'sform' | 'qform' | 'none';
  affine: number[][]; bigEndian: boolean; slope: number | null; inter: number | null;
}

function hasNibabel(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import nibabel'], { timeout: 30_000 }).status === 0;
}

function closeMatrix(actual: number[][], expected: number[][], tol: number, what: string): void {
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < 4; c++) {
      assert.ok(Math.abs(actual[r][c] - expected[r][c]) <= tol, `${what}: [${r}][${c}] = ${actual[r][c]}, nibabel ${expected[r][c]}`);
    }
  }
}

void test('NIfTI-1 volumes equal nibabel (data and affine)', { skip: !hasNibabel() && 'needs .venv with nibabel (node scripts/setup-python.mjs)' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nifti-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const made = spawnSync(PYTHON, [join(ROOT, 'test/python/nifti_make.py'), dir], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(made.status, 0, made.stderr);
  const cases = JSON.parse(await readFile(join(dir, 'cases.json'), 'utf8')) as Case[];
  assert.ok(cases.length >= 10);
  for (const c of cases) {
    await t.test(c.name, async () => {
      const vol = await readNifti(join(dir, c.file));
      assert.deepEqual(vol.dims, c.dims);
      assert.equal(vol.datatype, c.datatype);
      assert.equal(vol.bigEndian, c.bigEndian);
      assert.equal(vol.affineSource, c.form === 'none' ? 'pixdim' : c.form);
      closeMatrix(vol.affine, c.affine, 1e-5, 'affine');
      const raw = await readFile(join(dir, `${c.name}.f64`));
      const expected = new Float64Array(raw.buffer, raw.byteOffset, raw.byteLength / 8);
      assert.equal(vol.data.length, expected.length);
      const scaled = c.slope !== null && c.slope !== 0;
      assert.equal(vol.scaled, scaled);
      if (scaled) assert.ok(vol.data instanceof Float32Array, 'scaled integers come back as Float32Array');
      for (let i = 0; i < expected.length; i++) {
        const tol = vol.data instanceof Float32Array ? Math.abs(expected[i]) * 1e-6 : 0;
        if (Math.abs(vol.data[i] - expected[i]) > tol) assert.fail(`voxel ${i}: ${vol.data[i]}, nibabel ${expected[i]}`);
      }
    });
  }
  await t.test('unsupported datatype (complex64) names the file and the type', async () => {
    const file = join(dir, 'complex.nii');
    await assert.rejects(readNifti(file), (err: unknown) => err instanceof DicomError && err.code === 'UNSUPPORTED_PIXEL_FORMAT'
      && err.file === file && /complex64/.test(err.message));
  });
  await t.test('truncated data and truncated gzip', async () => {
    const whole = await readFile(join(dir, 'qform_qfac.nii'));
    const cut = join(dir, 'cut.nii');
    await writeFile(cut, whole.subarray(0, whole.length - 5));
    await assert.rejects(readNifti(cut), (err: unknown) => err instanceof DicomError && err.code === 'TRUNCATED' && err.file === cut && /need/.test(err.message));
    await writeFile(cut, whole.subarray(0, 200));
    await assert.rejects(readNifti(cut), (err: unknown) => err instanceof DicomError && err.code === 'TRUNCATED' && /header truncated/.test(err.message));
    const gz = await readFile(join(dir, 'labels_sform.nii.gz'));
    const cutGz = join(dir, 'cut.nii.gz');
    await writeFile(cutGz, gz.subarray(0, gz.length >> 1));
    await assert.rejects(readNifti(cutGz), (err: unknown) => err instanceof DicomError && err.code === 'TRUNCATED' && err.file === cutGz);
  });
});

/** A minimal little-endian NIfTI-1 header (+4 extension bytes), 2×2×2 uint8 data. */
function tinyNifti(): Uint8Array {
  const bytes = new Uint8Array(352 + 8);
  const v = new DataView(bytes.buffer);
  v.setInt32(0, 348, true);
  [3, 2, 2, 2, 1, 1, 1, 1].forEach((d, i) => v.setInt16(40 + 2 * i, d, true));
  v.setInt16(70, 2, true);
  v.setInt16(72, 8, true);
  [1, 2, 3, 4].forEach((p, i) => v.setFloat32(76 + 4 * i, p, true));
  v.setFloat32(108, 352, true);
  bytes.set([0x6e, 0x2b, 0x31, 0], 344);
  for (let i = 0; i < 8; i++) bytes[352 + i] = i * 10;
  return bytes;
}

void test('no qform/sform: pixdim scaling (nifti1.h method 1); uint8 data in x-fastest order', () => {
  const vol = parseNifti(tinyNifti(), 'tiny.nii');
  assert.deepEqual(vol.dims, [2, 2, 2]);
  assert.deepEqual(vol.affine, [[2, 0, 0, 0], [0, 3, 0, 0], [0, 0, 4, 0], [0, 0, 0, 1]]);
  assert.equal(vol.affineSource, 'pixdim');
  assert.ok(vol.data instanceof Uint8Array);
  assert.deepEqual([...vol.data], [0, 10, 20, 30, 40, 50, 60, 70]);
});

void test('bad magic, wrong sizeof_hdr, NIfTI-2 and short files are one-line errors naming the file', () => {
  const check = (bytes: Uint8Array, code: string, pattern: RegExp) => assert.throws(() => parseNifti(bytes, 'x.nii'),
    (err: unknown) => err instanceof DicomError && err.code === code && err.file === 'x.nii' && pattern.test(err.message) && !err.message.includes('\n'));
  const magic = tinyNifti();
  magic.set([0x41, 0x42, 0x43], 344);
  check(magic, 'MALFORMED', /bad magic "ABC"/);
  const size = tinyNifti();
  new DataView(size.buffer).setInt32(0, 1234, true);
  check(size, 'MALFORMED', /sizeof_hdr is 1234/);
  const two = tinyNifti();
  new DataView(two.buffer).setInt32(0, 540, true);
  check(two, 'UNSUPPORTED_PIXEL_FORMAT', /NIfTI-2/);
  check(tinyNifti().subarray(0, 100), 'TRUNCATED', /header truncated/);
  const pair = tinyNifti();
  pair.set([0x6e, 0x69, 0x31], 344);
  check(pair, 'UNSUPPORTED_PIXEL_FORMAT', /\.hdr\/\.img/);
});

void test('gzip is detected by content; a non-NIfTI .nii.gz is MALFORMED naming the file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nifti-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const good = join(dir, 'a.nii');
  await writeFile(good, gzipSync(tinyNifti()));
  assert.deepEqual([...(await readNifti(good)).data], [0, 10, 20, 30, 40, 50, 60, 70]);
  const bad = join(dir, 'b.nii.gz');
  await writeFile(bad, gzipSync(Buffer.from('hello world, this is not a NIfTI header at all'.repeat(10))));
  await assert.rejects(readNifti(bad), (err: unknown) => err instanceof DicomError && err.code === 'MALFORMED' && err.file === bad);
  await assert.rejects(readNifti(join(dir, 'missing.nii')), (err: unknown) => err instanceof DicomError && err.code === 'IO' && /no such file/.test(err.message));
});

void test('qform: identity quaternion, qfac −1 flips k; a 180° rotation (a = 0) about z', () => {
  assert.deepEqual(qformAffine(0, 0, 0, [1, 2, 3], [1, 2, 3, 4]), [[2, 0, 0, 1], [0, 3, 0, 2], [0, 0, 4, 3], [0, 0, 0, 1]]);
  assert.deepEqual(qformAffine(0, 0, 0, [0, 0, 0], [-1, 1, 1, 2])[2], [0, 0, -2, 0]);
  const m = qformAffine(0, 0, 1, [0, 0, 0], [1, 1, 1, 1]); // b²+c²+d² = 1 ⇒ a = 0: 180° about z
  assert.deepEqual(m.slice(0, 3).map((r) => r.slice(0, 3)), [[-1, 0, 0], [0, -1, 0], [0, 0, 1]]);
});

void test('RAS ↔ LPS negates x and y and is its own inverse', () => {
  const a = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [0, 0, 0, 1]];
  const lps = flipRasLps(a);
  assert.deepEqual(lps, [[-1, -2, -3, -4], [-5, -6, -7, -8], [9, 10, 11, 12], [0, 0, 0, 1]]);
  assert.deepEqual(flipRasLps(lps), a);
  const ras = applyAffine(a, 1, 2, 3);
  assert.deepEqual(applyAffine(lps, 1, 2, 3), flipPointRasLps(ras));
  assert.deepEqual(flipPointRasLps([1, -2, 3]), [-1, 2, 3]);
});
