/**
 * The NIfTI-1 writer (src/core/dicom/niftiWrite.ts) that stores the phantom's masks: written volumes read
 * back with our reader (nifti.ts) and with nibabel 5 give the same voxels (exact) and the same affine
 * (within 1e-4 mm, float32 header fields), from the sform and from the qform (nifti_mat44_to_quatern
 * round trip, incl. left-handed affines with qfac = −1 and 180° rotations where the quaternion's a = 0).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseNifti, readNifti, type Affine } from '../../src/core/dicom/nifti';
import { affineToQuaternion, encodeNifti, encodeNiftiGz, type NiftiWriteData } from '../../src/core/dicom/niftiWrite';

const ROOT = resolve(__dirname, '../..');
const PYTHON = join(ROOT, '.venv/bin/python');

function rotation(ax: number, ay: number, az: number): number[][] {
  const [cx, sx, cy, sy, cz, sz] = [Math.cos(ax), Math.sin(ax), Math.cos(ay), Math.sin(ay), Math.cos(az), Math.sin(az)];
  const Rx = [[1, 0, 0], [0, cx, -sx], [0, sx, cx]];
  const Ry = [[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]];
  const Rz = [[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]];
  const mul = (a: number[][], b: number[][]) => a.map((row) => [0, 1, 2].map((j) => row[0] * b[0][j] + row[1] * b[1][j] + row[2] * b[2][j]));
  return mul(mul(Rz, Ry), Rx);
}

function affine(R: number[][], zooms: number[], flips: number[], offset: number[]): Affine {
  return [0, 1, 2].map((r) => [...[0, 1, 2].map((c) => R[r][c] * zooms[c] * flips[c]), offset[r]]).concat([[0, 0, 0, 1]]);
}

const CASES: { name: string; affine: Affine; data: (n: number) => NiftiWriteData }[] = [
  // RSNA-like: i = column (RAS x = −LPS x), j = reversed rows, k = increasing z; det < 0.
  { name: 'rsna', affine: [[-0.4883, 0, 0, 124.5], [0, 0.4883, 0, -85.2], [0, 0, 0.625, -301.5], [0, 0, 0, 1]], data: (n) => Uint8Array.from({ length: n }, (_, i) => (i * 7) % 11) },
  { name: 'identity', affine: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], data: (n) => Uint8Array.from({ length: n }, (_, i) => i % 256) },
  { name: 'oblique', affine: affine(rotation(0.3, -0.2, 1.1), [0.7, 0.8, 1.25], [1, 1, 1], [-10, 20, 30]), data: (n) => Int16Array.from({ length: n }, (_, i) => i - 500) },
  { name: 'oblique-left', affine: affine(rotation(-0.5, 0.4, 2.5), [1.5, 0.5, 2], [1, -1, 1], [5, -5, 100]), data: (n) => Uint16Array.from({ length: n }, (_, i) => i * 3) },
  { name: 'rot180', affine: affine(rotation(0, 0, Math.PI), [1, 1, 1], [1, 1, 1], [0, 0, 0]), data: (n) => Float32Array.from({ length: n }, (_, i) => i / 3) },
];

function close(a: number[][], b: number[][], tol: number, what: string): void {
  for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) assert.ok(Math.abs(a[r][c] - b[r][c]) <= tol, `${what} [${r}][${c}]: ${a[r][c]} vs ${b[r][c]}`);
}

void test('written volumes read back with our reader: voxels exact, sform and qform affines equal the input', async () => {
  const dims: [number, number, number] = [5, 4, 3];
  for (const c of CASES) {
    const data = c.data(60);
    const bytes = encodeNifti({ dims, data, affine: c.affine, intentCode: 1002, description: c.name });
    const vol = parseNifti(bytes);
    assert.deepEqual(vol.dims, dims);
    assert.deepEqual([...vol.data], [...data], c.name);
    assert.equal(vol.affineSource, 'sform');
    close(vol.affine, c.affine, 1e-4, `${c.name} sform`);
    // The same file with sform_code 0 must give the same geometry through the quaternion.
    const qOnly = bytes.slice();
    new DataView(qOnly.buffer).setInt16(254, 0, true);
    const q = parseNifti(qOnly);
    assert.equal(q.affineSource, 'qform');
    close(q.affine, c.affine, 1e-4, `${c.name} qform`);
  }
  const { qfac, b, c, d } = affineToQuaternion(CASES[0].affine);
  assert.deepEqual([qfac, b, c, d].map((v) => Math.round(v * 1e6) / 1e6), [-1, 0, 1, 0], 'RSNA-like: qfac −1, 180° about y');
});

void test('.nii.gz is deterministic and gunzips to the .nii bytes', () => {
  const vol = { dims: [3, 3, 3] as [number, number, number], data: new Uint8Array(27).fill(2), affine: CASES[0].affine };
  const a = encodeNiftiGz(vol);
  assert.deepEqual(a, encodeNiftiGz(vol));
  assert.deepEqual(new Uint8Array(gunzipSync(a)), encodeNifti(vol));
});

void test('nibabel reads our files: same voxels, affine, qform = sform, codes 1, label intent', { skip: !(existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import nibabel'], { timeout: 30_000 }).status === 0) && 'needs .venv with nibabel' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nifti-write-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const dims: [number, number, number] = [6, 5, 4];
  const files: string[] = [];
  const uint8 = CASES.filter((c) => c.data(1) instanceof Uint8Array);
  for (const c of uint8) {
    const file = join(dir, `${c.name}.nii.gz`);
    await writeFile(file, encodeNiftiGz({ dims, data: c.data(120), affine: c.affine, intentCode: 1002 }));
    files.push(file);
  }
  const run = spawnSync(PYTHON, [join(ROOT, 'test/python/phantom_check.py'), 'nifti', join(dir, 'out'), ...files], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, run.stderr);
  for (const [i, c] of uint8.entries()) {
    const info = JSON.parse(await readFile(join(dir, 'out', `${i}.json`), 'utf8')) as { shape: number[]; affine: number[][]; qform: number[][]; sformCode: number; qformCode: number; intent: string };
    assert.deepEqual(info.shape, dims);
    assert.deepEqual([info.sformCode, info.qformCode, info.intent], [1, 1, 'label']);
    close(info.affine, c.affine, 1e-4, `${c.name} nibabel affine`);
    close(info.qform, c.affine, 1e-4, `${c.name} nibabel qform`);
    const voxels = await readFile(join(dir, 'out', `${i}.u8`));
    assert.deepEqual([...voxels], [...c.data(120)], `${c.name} nibabel voxels`);
    const ours = await readNifti(files[i]);
    assert.deepEqual([...ours.data], [...voxels]);
  }
});
