/**
 * `dicom-ml prepare` with DICOM SEG ground truth (issue 11 item 4): segmentations/<UID>.dcm written by highdicom
 * (test/fixtures/labels_to_seg.py, an independent writer) from the synthetic generator's slice-space labels, so the
 * expected boxes come from the generator, never from the code under test:
 *
 *   A  BINARY, segments C1…C7 and T1, z falls        B  FRACTIONAL (stored 204/255), z rises
 *   L  LABELMAP (Label Map Segmentation Storage)       X  a SEG of another series (its frames name no slice) → skipped
 *   N  one segment "Liver": no vertebra                → skipped with the reason
 *
 * The viewer's ground truth reads the same SEG (outlines of C1…C7 on the slice). And on the sample phantom
 * (`dicom-ml sample`) a SEG made from its NIfTI mask by test/fixtures/nifti_to_seg.py (nibabel's affine, nearest voxel)
 * gives the same detection boxes as the NIfTI itself.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { prepareRsna, readManifest, type PrepareSummary } from '../../src/core/dataset/prepare/prepare';
import { syntheticExtents, writeRsnaCsvs, writeSyntheticStudy, type SyntheticStudy } from '../../src/core/dataset/prepare/synthetic';
import type { ManifestLine } from '../../src/core/dataset/prepare/output';
import { loadRsnaTruth } from '../../src/core/viewer/groundTruth';

const ROOT = resolve(__dirname, '../..');
const PYTHON = join(ROOT, '.venv/bin/python');
const hasHighdicom = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import highdicom'], { timeout: 60_000 }).status === 0;
const skip = !hasHighdicom && 'needs .venv with highdicom (node scripts/setup-python.mjs)';

const uid = (n: number) => `1.2.826.0.1.3680043.99.7${n}`;
const U = { A: uid(1), B: uid(2), L: uid(3), X: uid(4), N: uid(5) };
const VERTEBRAE = { 1: 'C1', 2: 'C2', 3: 'C3', 4: 'C4', 5: 'C5', 6: 'C6', 7: 'C7', 8: 'T1' };

let dir = '';
let rsna = '';
let out = '';
let summary: PrepareSummary;
let lines: ManifestLine[];
const studies = new Map<string, SyntheticStudy>();

before(async () => {
  if (!hasHighdicom) return;
  dir = await mkdtemp(join(tmpdir(), 'prepare-seg-'));
  rsna = join(dir, 'rsna');
  out = join(dir, 'out');
  let seed = 1;
  for (const [key, id] of Object.entries(U)) {
    studies.set(key, await writeSyntheticStudy(rsna, { uid: id, slices: 30, size: 40, zFalls: key !== 'B', seed: seed++ }));
  }
  const jobs = [];
  for (const [key, type] of [['A', 'BINARY'], ['B', 'FRACTIONAL'], ['L', 'LABELMAP'], ['X', 'BINARY'], ['N', 'BINARY']] as const) {
    const s = studies.get(key) as SyntheticStudy;
    await writeFile(join(dir, `${key}.u8`), s.labels);
    jobs.push({
      labels: join(dir, `${key}.u8`), shape: [s.slices, s.rows, s.columns], slices: s.dir, out: join(rsna, 'segmentations', `${s.uid}.dcm`), type,
      names: key === 'N' ? { 1: 'Liver' } : VERTEBRAE, other_sources: key === 'X',
    });
  }
  await writeFile(join(dir, 'jobs.json'), JSON.stringify(jobs));
  const made = spawnSync(PYTHON, [join(ROOT, 'test/fixtures/labels_to_seg.py'), join(dir, 'jobs.json')], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(made.status, 0, made.stderr);
  await writeRsnaCsvs(rsna, Object.values(U).map((id) => ({ uid: id, patientOverall: 0 })), []);
  summary = await prepareRsna({ rsna, out, val: 0.3, seed: 7, decoder: 'pool', jobs: 2 });
  lines = await readManifest(out);
});

after(async () => {
  if (dir && !process.env.KEEP) await rm(dir, { recursive: true, force: true });
});

void test('every detection box from a DICOM SEG (binary, fractional, label map) equals the generator\'s extent on its slice', { skip }, async () => {
  for (const key of ['A', 'B', 'L']) {
    const s = studies.get(key) as SyntheticStudy;
    const mine = lines.filter((l) => l.set === 'detect' && l.study === s.uid);
    const expectedSlices = Array.from({ length: s.slices }, (_, k) => k).filter((k) => [...syntheticExtents(s, k).keys()].some((l) => l <= 7));
    assert.deepEqual(mine.map((l) => l.slice).sort((a, b) => a - b), expectedSlices.map((k) => k + 1), `${key}: the slices with C1–C7`);
    for (const l of mine) {
      const expected = new Map([...syntheticExtents(s, l.slice - 1)].filter(([label]) => label <= 7));
      assert.deepEqual((l.boxes ?? []).map((b) => [b.class + 1, b.x0, b.y0, b.x1, b.y1]).sort(), [...expected].map(([label, e]) => [label, e.x0, e.y0, e.x1, e.y1]).sort(), `${key} slice ${l.slice}: boxes in source pixels`);
      const text = (await readFile(join(out, l.labels as string), 'utf8')).trim().split('\n');
      assert.equal(text.length, expected.size, `${key} slice ${l.slice}: one YOLO line per vertebra`);
    }
    const marker = JSON.parse(await readFile(join(out, '.prepare/studies', `${s.uid}.json`), 'utf8'));
    assert.equal(marker.detect.method, 'seg-reference', key);
    assert.match(marker.detect.notes.join(' '), new RegExp(`DICOM SEG \\(${key === 'A' ? 'binary' : key === 'B' ? 'fractional' : 'labelmap'}\\)`));
  }
});

void test('a SEG of another series, or without vertebra segments, skips detection with the reason', { skip }, () => {
  const x = summary.skipped.find((s) => s.study === U.X);
  assert.equal(x?.stage, 'detect');
  assert.match(x?.reason ?? '', /none of the SEG's \d+ frames references a slice of the study/);
  const n = summary.skipped.find((s) => s.study === U.N);
  assert.match(n?.reason ?? '', /no segment is named C1…C7 or T1…T12 \(segments: "Liver"\)/);
  for (const id of [U.X, U.N]) assert.ok(!lines.some((l) => l.study === id && l.set === 'detect'), 'no boxes written');
});

void test('the viewer\'s ground truth outlines the SEG\'s vertebrae on the slice', { skip }, async () => {
  const s = studies.get('A') as SyntheticStudy;
  const k = Array.from({ length: s.slices }, (_, i) => i).find((i) => syntheticExtents(s, i).has(3)) as number;
  const entries = Array.from({ length: s.slices }, (_, i) => ({ path: join(s.dir, `${i + 1}.dcm`), frame: 0 }));
  const truth = await loadRsnaTruth(entries[k].path, entries);
  assert.ok(truth);
  assert.equal(truth.vertebrae, 'mask', truth.notes.join('; '));
  assert.equal(truth.mask?.method, 'seg-reference');
  const slice = truth.slice(k);
  const expected = new Map([...syntheticExtents(s, k)].filter(([label]) => label <= 7));
  assert.deepEqual(slice?.vertebrae.map((v) => [v.name, ...v.box]).sort(), [...expected].map(([label, e]) => [`C${label}`, e.x0, e.y0, e.x1 + 1, e.y1 + 1]).sort());
  assert.ok(slice?.vertebrae.every((v) => (v.outline?.length ?? 0) > 0), 'each vertebra has an outline');
});

void test('on the sample phantom a SEG made from the NIfTI mask (nibabel) gives the NIfTI\'s boxes, slice for slice', { skip }, async () => {
  const root = join(dir, 'phantom');
  const nifti = join(root, 'rsna');
  const sample = spawnSync(process.execPath, [join(ROOT, 'bin', 'dicom-ml.js'), 'sample', '--out', nifti, '--studies', '1', '--slices', '40-40', '--seed', '11', '--segmentation-rate', '1'], { encoding: 'utf8' });
  assert.equal(sample.status, 0, sample.stderr);
  const seg = join(root, 'rsna-seg');
  await cp(nifti, seg, { recursive: true });
  const [study] = await readdir(join(nifti, 'train_images'));
  const mask = join(nifti, 'segmentations', `${study}.nii.gz`);
  await rm(join(seg, 'segmentations', `${study}.nii.gz`));
  const made = spawnSync(PYTHON, [join(ROOT, 'test/fixtures/nifti_to_seg.py'), join(nifti, 'train_images', study), mask, join(seg, 'segmentations', `${study}.dcm`)], { encoding: 'utf8', timeout: 300_000 });
  assert.equal(made.status, 0, made.stderr);
  const boxes = async (rsnaDir: string, outDir: string) => {
    await prepareRsna({ rsna: rsnaDir, out: outDir, val: 0, seed: 1, decoder: 'pool', jobs: 2 });
    return new Map((await readManifest(outDir)).filter((l) => l.set === 'detect').map((l) => [l.slice, (l.boxes ?? []).map((b) => [b.class, b.x0, b.y0, b.x1, b.y1].join()).sort()]));
  };
  const fromNifti = await boxes(nifti, join(root, 'out-nifti'));
  const fromSeg = await boxes(seg, join(root, 'out-seg'));
  assert.ok(fromNifti.size >= 20, `${fromNifti.size} slices with vertebrae`);
  assert.deepEqual([...fromSeg].sort((a, b) => a[0] - b[0]), [...fromNifti].sort((a, b) => a[0] - b[0]));
});
