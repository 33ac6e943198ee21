/**
 * The synthetic RSNA-layout phantom (src/core/dataset/phantom): a small data set (5 studies of 112×112,
 * 40–64 slices, every study fractured and segmented) is written once, then checked the way a consumer of
 * RSNA 2022 data would: through the files only. Geometry goes through the DICOM headers (IPP, IOP, Pixel
 * Spacing) and the NIfTI affine — never through assumed axis orders. References: nibabel 5 for the NIfTI
 * (voxels exact, affine within 1e-4 mm), our own DICOM reader for the pixels (the encoder tests cover pydicom
 * and dcmtk).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { planStudy } from '../../src/core/dataset/phantom/study';
import { writeDataset, type DatasetOptions, type StudyRecord } from '../../src/core/dataset/phantom/writer';
import { sample } from '../../src/cli/commands/sample';
import { DicomError } from '../../src/core/dicom/errors';
import { loadImage, loadModality } from '../../src/core/dicom/load';
import { applyAffine, readNifti, type Affine } from '../../src/core/dicom/nifti';
import { scanSeries } from '../../src/core/dicom/series';

const ROOT = resolve(__dirname, '../..');
const PYTHON = join(ROOT, '.venv/bin/python');
// Seed 15: its five studies cover both z directions, both storages, three spacings and fractures on all of
// C1–C7 (the variation test asserts the first three, so a generator change that loses them shows).
const OPTS: DatasetOptions = { studies: 5, seed: 15, size: 112, slices: [40, 64], syntax: 'native', fractureRate: 1, segmentationRate: 1, subsamples: 2 };
const C = ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7'];

let dir = '';
let records: StudyRecord[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'phantom-'));
  const started = performance.now();
  records = (await writeDataset(dir, OPTS)).records;
  process.stderr.write(`# phantom: 5 studies of 112×112 written in ${(performance.now() - started).toFixed(0)} ms\n`);
});
after(() => rm(dir, { recursive: true, force: true }));

function hasPython(module: string): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', `import ${module}`], { timeout: 30_000 }).status === 0;
}

function parseCsv(text: string): string[][] {
  return text.trim().split('\n').map((l) => l.split(','));
}

/** One study's slices as a consumer sees them: geometry per slice_number, HU on demand. */
interface Stack {
  n: number;
  rows: number;
  columns: number;
  ipp: [number, number, number][]; // index: slice_number − 1
  x: number[]; y: number[]; normal: number[];
  spacing: [number, number];
  hu: Float32Array[];
}

async function loadStack(uid: string, withPixels: boolean): Promise<Stack> {
  const folder = join(dir, 'train_images', uid);
  const files = await readdir(folder);
  const n = files.length;
  const ipp: [number, number, number][] = [];
  const hu: Float32Array[] = [];
  let info = (await loadImage(join(folder, '1.dcm'))).info;
  for (let k = 1; k <= n; k++) {
    const image = await loadImage(join(folder, `${k}.dcm`));
    info = image.info;
    assert.equal(info.instanceNumber, k, `${k}.dcm has InstanceNumber ${info.instanceNumber}`);
    ipp.push(info.imagePositionPatient!);
    if (withPixels) hu.push(await loadModality(image));
  }
  const iop = info.imageOrientationPatient!;
  const x = iop.slice(0, 3); const y = iop.slice(3, 6);
  const normal = [x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]];
  return { n, rows: info.rows, columns: info.columns, ipp, x, y, normal, spacing: info.pixelSpacing!, hu };
}

const dot = (a: readonly number[], b: readonly number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

/** LPS point → (slice_number, row, column) through the DICOM geometry (nearest slice along the normal). */
function locate(s: Stack, p: readonly number[]): { n: number; r: number; c: number; off: number } {
  let best = 0; let off = Infinity;
  const h = dot(p, s.normal);
  for (let k = 0; k < s.n; k++) {
    const d = Math.abs(h - dot(s.ipp[k], s.normal));
    if (d < off) { off = d; best = k; }
  }
  const v = [p[0] - s.ipp[best][0], p[1] - s.ipp[best][1], p[2] - s.ipp[best][2]];
  return { n: best + 1, r: Math.round(dot(v, s.y) / s.spacing[0]) + 0, c: Math.round(dot(v, s.x) / s.spacing[1]) + 0, off };
}

function invert(a: Affine): Affine {
  // 3×3 inverse by cofactors + translation.
  const m = a;
  const det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
  const inv = [
    [(m[1][1] * m[2][2] - m[1][2] * m[2][1]) / det, (m[0][2] * m[2][1] - m[0][1] * m[2][2]) / det, (m[0][1] * m[1][2] - m[0][2] * m[1][1]) / det],
    [(m[1][2] * m[2][0] - m[1][0] * m[2][2]) / det, (m[0][0] * m[2][2] - m[0][2] * m[2][0]) / det, (m[0][2] * m[1][0] - m[0][0] * m[1][2]) / det],
    [(m[1][0] * m[2][1] - m[1][1] * m[2][0]) / det, (m[0][1] * m[2][0] - m[0][0] * m[2][1]) / det, (m[0][0] * m[1][1] - m[0][1] * m[1][0]) / det],
  ];
  const t = [0, 1, 2].map((r) => -(inv[r][0] * m[0][3] + inv[r][1] * m[1][3] + inv[r][2] * m[2][3]));
  return [[...inv[0], t[0]], [...inv[1], t[1]], [...inv[2], t[2]], [0, 0, 0, 1]];
}

void test('RSNA layout: CSVs with the RSNA headers, one folder of <slice_number>.dcm per study, masks, records', async () => {
  const train = parseCsv(await readFile(join(dir, 'train.csv'), 'utf8'));
  assert.deepEqual(train[0], ['StudyInstanceUID', 'patient_overall', ...C]);
  assert.equal(train.length - 1, OPTS.studies);
  const boxes = parseCsv(await readFile(join(dir, 'train_bounding_boxes.csv'), 'utf8'));
  assert.deepEqual(boxes[0], ['StudyInstanceUID', 'x', 'y', 'width', 'height', 'slice_number']);
  for (const [i, r] of records.entries()) {
    assert.equal(train[i + 1][0], r.studyInstanceUID);
    const files = (await readdir(join(dir, 'train_images', r.studyInstanceUID))).sort((a, b) => parseInt(a) - parseInt(b));
    assert.deepEqual(files, Array.from({ length: r.slices }, (_, k) => `${k + 1}.dcm`));
    assert.ok(existsSync(join(dir, 'segmentations', `${r.studyInstanceUID}.nii.gz`)));
    assert.ok(r.slices >= OPTS.slices[0] && r.slices <= OPTS.slices[1], `${r.slices} slices`);
  }
  assert.equal(boxes.length - 1, records.reduce((n, r) => n + r.boxes.length, 0));
});

void test('labels: patient_overall = max(C1…C7); a C-label is 1 exactly when that vertebra has a fracture box', async () => {
  const train = parseCsv(await readFile(join(dir, 'train.csv'), 'utf8')).slice(1);
  const boxes = parseCsv(await readFile(join(dir, 'train_bounding_boxes.csv'), 'utf8')).slice(1);
  let positives = 0;
  for (const row of train) {
    const labels = row.slice(2).map(Number);
    assert.equal(Number(row[1]), Math.max(...labels), `${row[0]}: patient_overall`);
    const record = records.find((r) => r.studyInstanceUID === row[0])!;
    assert.deepEqual(labels, C.map((name) => (record.boxes.some((b) => b.level === name) ? 1 : 0)));
    assert.equal(boxes.some((b) => b[0] === row[0]), Number(row[1]) === 1, `${row[0]}: boxes iff positive`);
    positives += Number(row[1]);
  }
  assert.ok(positives >= 4, `fracture rate 1 should make (nearly) every study positive, got ${positives}/5`);
});

void test('DICOM headers: one series ordered by position, IPP steps by the spacing along the normal, CT attributes', async () => {
  for (const r of records) {
    const { series, skipped } = await scanSeries(join(dir, 'train_images', r.studyInstanceUID));
    assert.deepEqual(skipped, []);
    assert.equal(series.length, 1);
    const s = series[0];
    assert.equal(s.studyInstanceUID, r.studyInstanceUID);
    assert.equal(s.orderedBy, 'position');
    assert.deepEqual(s.warnings, []);
    assert.ok(Math.abs(s.spacing! - r.sliceSpacing) < 1e-3, `spacing ${s.spacing} vs ${r.sliceSpacing}`);
    const stack = await loadStack(r.studyInstanceUID, false);
    for (let k = 1; k < stack.n; k++) {
      const step = dot([0, 1, 2].map((a) => stack.ipp[k][a] - stack.ipp[k - 1][a]), stack.normal);
      assert.ok(Math.abs(step - r.zStep) < 1e-3, `slice ${k}→${k + 1}: step ${step}, expected ${r.zStep}`);
      assert.deepEqual(stack.ipp[k].slice(0, 2), stack.ipp[0].slice(0, 2));
    }
    const info = (await loadImage(join(dir, 'train_images', r.studyInstanceUID, '1.dcm'))).info;
    assert.deepEqual([info.modality, info.rows, info.columns, info.rescaleIntercept, info.rescaleSlope], ['CT', 112, 112, -1024, 1]);
    assert.deepEqual(info.pixelSpacing, r.pixelSpacing);
    assert.equal(info.sliceThickness, r.sliceThickness);
    assert.ok(info.sliceThickness! >= r.sliceSpacing - 1e-9, 'slices may overlap, never leave gaps');
  }
});

void test('variation between studies: slice count, spacing, pixel spacing, z direction, storage', () => {
  const distinct = (f: (r: StudyRecord) => unknown) => new Set(records.map((r) => JSON.stringify(f(r)))).size;
  assert.ok(distinct((r) => r.slices) >= 3, 'slice counts');
  assert.ok(distinct((r) => r.sliceSpacing) >= 3, 'slice spacings');
  assert.ok(distinct((r) => r.pixelSpacing[0]) >= 3, 'pixel spacings');
  assert.ok(distinct((r) => Math.sign(r.zStep)) === 2, 'both z directions');
  assert.ok(distinct((r) => r.storage) === 2, 'unsigned and signed storage');
});

void test('variation with the CLI defaults (plans only, no pixels): realistic spacings, 100–400 slices, sizes, poses', () => {
  const plans = Array.from({ length: 24 }, (_, i) => planStudy(1, i, { size: 512, slices: [100, 400], fractureRate: 0.5, segmentationRate: 0.6, subsamples: 2 }));
  const thickness = new Set(plans.map((p) => p.sliceThickness));
  assert.ok(thickness.size >= 3, `thicknesses ${[...thickness]}`);
  assert.ok(plans.every((p) => p.sliceSpacing >= 0.3 && p.sliceSpacing <= 1.5), `spacings ${plans.map((p) => p.sliceSpacing)}`);
  const counts = plans.map((p) => p.slices);
  assert.ok(Math.min(...counts) >= 100 && Math.max(...counts) <= 400 && Math.max(...counts) - Math.min(...counts) > 100, `counts ${counts}`);
  const fovs = plans.map((p) => p.pixelSpacing[0] * 512);
  assert.ok(Math.max(...fovs) - Math.min(...fovs) > 40, 'fields of view');
  const scales = plans.map((p) => p.patient.s);
  assert.ok(Math.max(...scales) / Math.min(...scales) > 1.12, 'patient sizes');
  // Pose: the tilt of C4's axis from the scanner z axis, and its lateral component, vary.
  const tilt = plans.map((p) => Math.acos(p.patient.levels[3].frame.z[2]) * (180 / Math.PI));
  assert.ok(Math.max(...tilt) - Math.min(...tilt) > 5, `C4 tilts ${tilt.map((v) => v.toFixed(1))}°`);
  const positives = plans.filter((p) => p.fractures.length > 0).length;
  assert.ok(positives >= 6 && positives <= 18, `${positives}/24 fractured at rate 0.5`);
  const seg = plans.filter((p) => p.hasSegmentation).length;
  assert.ok(seg >= 8 && seg <= 22, `${seg}/24 segmented at rate 0.6`);
});

void test('segmentations: our reader = nibabel; C1–C7 all present; RSNA orientation; labelled voxels land on bone (≥ 95 % > 200 HU)', async (t) => {
  const py = hasPython('nibabel') ? await mkdtemp(join(tmpdir(), 'phantom-nib-')) : undefined;
  if (py) t.after(() => rm(py, { recursive: true, force: true }));
  const paths = records.map((r) => join(dir, 'segmentations', `${r.studyInstanceUID}.nii.gz`));
  if (py) {
    const run = spawnSync(PYTHON, [join(ROOT, 'test/python/phantom_check.py'), 'nifti', py, ...paths], { encoding: 'utf8', timeout: 120_000 });
    assert.equal(run.status, 0, run.stderr);
  } else t.diagnostic('nibabel not available: skipping the nibabel comparison');
  for (const [i, r] of records.entries()) {
    const vol = await readNifti(paths[i]);
    const stack = await loadStack(r.studyInstanceUID, true);
    assert.deepEqual(vol.dims, [stack.columns, stack.rows, stack.n]);
    assert.equal(vol.datatypeName, 'uint8');
    if (py) {
      const nib = JSON.parse(await readFile(join(py, `${i}.json`), 'utf8')) as { affine: number[][]; sformCode: number; qformCode: number; qform: number[][]; shape: number[] };
      assert.deepEqual(nib.shape, vol.dims);
      assert.deepEqual([nib.sformCode, nib.qformCode], [1, 1]);
      for (let a = 0; a < 3; a++) for (let b = 0; b < 4; b++) {
        assert.ok(Math.abs(nib.affine[a][b] - vol.affine[a][b]) < 1e-4, `affine[${a}][${b}] ours ${vol.affine[a][b]} nibabel ${nib.affine[a][b]}`);
        assert.ok(Math.abs(nib.qform[a][b] - vol.affine[a][b]) < 1e-3, `qform[${a}][${b}] ${nib.qform[a][b]} vs sform ${vol.affine[a][b]}`);
      }
      const data = await readFile(join(py, `${i}.u8`));
      assert.ok(Buffer.from(vol.data.buffer, vol.data.byteOffset, vol.data.byteLength).equals(data), 'voxels equal nibabel');
    }
    const present = new Set(vol.data);
    for (let label = 1; label <= 7; label++) assert.ok(present.has(label), `${r.studyInstanceUID}: label ${label} (${C[label - 1]}) missing`);
    assert.ok([...present].every((v) => v <= 10));
    // The affine, applied voxel by voxel, must agree with the RSNA notebooks' axis convention
    // (mask[:, ::-1, ::-1].transpose(2, 1, 0) when z falls with slice_number, mask[:, ::-1].transpose(2, 1, 0) when it rises).
    for (const [vi, vj, vk] of [[0, 0, 0], [stack.columns - 1, 3, 1], [5, stack.rows - 1, stack.n - 1], [40, 50, Math.floor(stack.n / 2)]]) {
      const ras = applyAffine(vol.affine, vi, vj, vk);
      const hit = locate(stack, [-ras[0], -ras[1], ras[2]]);
      const n = r.zStep < 0 ? stack.n - vk : vk + 1;
      assert.deepEqual([hit.n, hit.r, hit.c], [n, stack.rows - 1 - vj, vi], `voxel ${vi},${vj},${vk}`);
      assert.ok(hit.off < 1e-3);
    }
    // Every labelled voxel, mapped through the affine and the DICOM geometry, should sit on bone.
    const [X, Y] = vol.dims;
    let labelled = 0; let bone = 0;
    for (let k = 0; k < vol.dims[2]; k++) for (let j = 0; j < Y; j++) for (let ii = 0; ii < X; ii++) {
      if (!vol.data[ii + X * (j + Y * k)]) continue;
      const ras = applyAffine(vol.affine, ii, j, k);
      const p = locate(stack, [-ras[0], -ras[1], ras[2]]);
      labelled++;
      if (stack.hu[p.n - 1][p.r * stack.columns + p.c] > 200) bone++;
    }
    assert.ok(labelled > 500, `${labelled} labelled voxels`);
    assert.ok(bone / labelled >= 0.95, `${r.studyInstanceUID}: only ${((100 * bone) / labelled).toFixed(1)} % of ${labelled} labelled voxels are > 200 HU`);
    t.diagnostic(`${r.studyInstanceUID.slice(0, 12)}…: ${((100 * bone) / labelled).toFixed(1)} % of ${labelled} labelled voxels > 200 HU`);
  }
});

void test('fracture boxes: every box centre lies in the mask of a vertebra labelled fractured, on that slice (via the affine)', async () => {
  const train = new Map(parseCsv(await readFile(join(dir, 'train.csv'), 'utf8')).slice(1).map((row) => [row[0], row.slice(2).map(Number)]));
  const boxes = parseCsv(await readFile(join(dir, 'train_bounding_boxes.csv'), 'utf8')).slice(1);
  let checked = 0;
  for (const uid of new Set(boxes.map((b) => b[0]))) {
    const vol = await readNifti(join(dir, 'segmentations', `${uid}.nii.gz`));
    const inv = invert(vol.affine);
    const stack = await loadStack(uid, false);
    for (const b of boxes.filter((row) => row[0] === uid)) {
      const [x, y, w, h, n] = b.slice(1).map(Number);
      assert.ok(w > 0 && h > 0 && x >= 0 && y >= 0 && x + w <= stack.columns + 1e-9 && y + h <= stack.rows + 1e-9, `box ${b.join(',')} inside the image`);
      const c = Math.floor(x + w / 2); const r = Math.floor(y + h / 2);
      const ipp = stack.ipp[n - 1];
      const lps = [0, 1, 2].map((a) => ipp[a] + c * stack.spacing[1] * stack.x[a] + r * stack.spacing[0] * stack.y[a]);
      const v = applyAffine(inv, -lps[0], -lps[1], lps[2]).map(Math.round);
      const label = vol.data[v[0] + vol.dims[0] * (v[1] + vol.dims[1] * v[2])];
      assert.ok(label >= 1 && label <= 7, `box ${b.join(',')}: centre voxel ${v} has label ${label}`);
      assert.equal(train.get(uid)![label - 1], 1, `box ${b.join(',')}: centre on ${C[label - 1]}, which train.csv says is not fractured`);
      checked++;
    }
  }
  assert.ok(checked >= 5, `${checked} boxes checked`);
});

async function digest(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(root, p), createHash('sha256').update(await readFile(p)).digest('hex'));
    }
  };
  await walk(root);
  return out;
}

void test('deterministic and resumable: same seed → byte-identical files; a rerun redoes only an incomplete study', async (t) => {
  const other = await mkdtemp(join(tmpdir(), 'phantom-again-'));
  t.after(() => rm(other, { recursive: true, force: true }));
  await writeDataset(other, OPTS);
  const [a, b] = await Promise.all([digest(dir), digest(other)]);
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const [k, v] of a) assert.equal(b.get(k), v, `${k} differs between two runs with seed ${OPTS.seed}`);
  // Interrupt study 2: its record (written last) and one slice are gone.
  const uid = records[1].studyInstanceUID;
  await unlink(join(other, '.phantom', `${uid}.json`));
  await unlink(join(other, 'train_images', uid, '3.dcm'));
  const progress: number[] = [];
  const again = await writeDataset(other, OPTS, (p) => { if (p.record && !p.skipped) progress.push(p.study); });
  assert.deepEqual([again.written, again.skipped, progress], [1, 4, [2]]);
  const c = await digest(other);
  for (const [k, v] of a) assert.equal(c.get(k), v, `${k} differs after resuming`);
  await assert.rejects(writeDataset(other, { ...OPTS, size: 96 }), (e: unknown) => e instanceof DicomError && /other options/.test(e.message));
  // A folder that holds something else is never written into.
  const foreign = await mkdtemp(join(tmpdir(), 'phantom-foreign-'));
  t.after(() => rm(foreign, { recursive: true, force: true }));
  await writeFile(join(foreign, 'train.csv'), 'StudyInstanceUID,patient_overall\n');
  await assert.rejects(writeDataset(foreign, OPTS), (e: unknown) => e instanceof DicomError && /not empty/.test(e.message));
});

void test('rle and jpeg-lossless studies hold exactly the pixels of the native study', async (t) => {
  for (const syntax of ['rle', 'jpeg-lossless'] as const) {
    const other = await mkdtemp(join(tmpdir(), `phantom-${syntax}-`));
    t.after(() => rm(other, { recursive: true, force: true }));
    const [record] = (await writeDataset(other, { ...OPTS, studies: 1, syntax })).records;
    assert.equal(record.studyInstanceUID, records[0].studyInstanceUID);
    for (const n of [1, Math.ceil(record.slices / 2), record.slices]) {
      const native = await loadImage(join(dir, 'train_images', record.studyInstanceUID, `${n}.dcm`));
      const packed = await loadImage(join(other, 'train_images', record.studyInstanceUID, `${n}.dcm`));
      assert.equal(packed.info.transferSyntaxUID, syntax === 'rle' ? '1.2.840.10008.1.2.5' : '1.2.840.10008.1.2.4.70');
      assert.deepEqual(await loadModality(packed), await loadModality(native), `${syntax} slice ${n}`);
    }
  }
});

void test('CLI: one-line usage errors for bad options; --json prints the summary', async (t) => {
  const lines: string[] = [];
  const ctx = (options: Record<string, string | boolean>) => ({ positionals: [], options, json: Boolean(options.json), stdout: (l: string) => lines.push(l), stderr: (l: string) => lines.push(l) });
  for (const [opts, pattern] of [
    [{}, /--out DIR is required/],
    [{ out: dir, slices: '60-40' }, /--slices/],
    [{ out: dir, slices: 'many' }, /--slices/],
    [{ out: dir, syntax: 'jpeg2000' }, /--syntax must be one of native, rle, jpeg-lossless/],
    [{ out: dir, size: '8' }, /--size/],
    [{ out: dir, 'fracture-rate': '1.5' }, /--fracture-rate/],
  ] as [Record<string, string>, RegExp][]) {
    await assert.rejects(sample(ctx(opts)), (e: Error) => e.name === 'UsageError' && pattern.test(e.message), JSON.stringify(opts));
  }
  const out = await mkdtemp(join(tmpdir(), 'phantom-cli-'));
  t.after(() => rm(out, { recursive: true, force: true }));
  lines.length = 0;
  await sample(ctx({ out, studies: '1', size: '64', slices: '20-24', json: true }));
  const summary = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
  assert.equal(summary.written, 1);
  assert.equal(summary.syntax, 'jpeg-lossless');
  assert.equal(lines.length, 1, 'with --json nothing else is printed');
});
