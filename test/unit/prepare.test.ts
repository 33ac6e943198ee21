/**
 * `dicom-ml prepare` end to end on a generated RSNA-layout dataset (src/core/dataset/prepare/synthetic.ts:
 * DICOM via write.ts, CSVs by hand; masks written by test/python/prepare_seg.py with nibabel, so their
 * storage order and affine come from an independent implementation):
 *
 *   A  z falls with slice_number, RSNA mask layout (notebook `[:, ::-1, ::-1].transpose(2, 1, 0)`), 2 fracture slices
 *   B  z rises, RSNA layout (`[:, ::-1].transpose(2, 1, 0)`)
 *   C  axes permuted and flipped (affine says so), qform only, int16 labels
 *   D  no orientation in the header (qform_code = sform_code = 0)          → z-rule fallback
 *   E  affine translated 200 mm (disagrees with the DICOM extent)          → z-rule fallback
 *   F  labels inverted in z, affine unchanged (the RSNA …1363 case)         → detection skipped, not wrong boxes
 *   G  no segmentation, fracture boxes;  H  healthy, no segmentation
 *   I  a truncated slice (a vertebra slice) → study skipped;  J  slice 3 missing → study skipped
 *   K  truncated .nii.gz → detection skipped, classification kept
 *
 * Fracture boxes (A 9, A 10, C 14, K 5) sit on a vertebra of their slice, one more on A 9 in the air, so the
 * vertebra crops (classify-vertebrae/) have positives and a box that labels none; prepare-crops.test.ts checks
 * the crop set in depth on the phantom.
 *
 * Expected boxes come from the generator's slice-space labels, never from the code under test. KEEP=1 keeps the
 * temporary folder (its path starts with prepare-) for a look.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { listOutputFiles, prepareRsna, readManifest, type PrepareProgress, type PrepareSummary } from '../../src/core/dataset/prepare/prepare';
import { syntheticExtents, writeRsnaCsvs, writeSyntheticStudy, type SyntheticStudy } from '../../src/core/dataset/prepare/synthetic';
import type { ManifestLine } from '../../src/core/dataset/prepare/output';

const ROOT = resolve(__dirname, '../..');
const PYTHON = join(ROOT, '.venv/bin/python');
const hasNibabel = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import nibabel, cv2'], { timeout: 30_000 }).status === 0;
const skip = !hasNibabel && 'needs .venv with nibabel and opencv (node scripts/setup-python.mjs)';

const uid = (n: number) => `1.2.826.0.1.3680043.99.${n}`;
const U = { A: uid(1), B: uid(2), C: uid(3), D: uid(4), E: uid(5), F: uid(6), G: uid(7), H: uid(8), I: uid(9), J: uid(10), K: uid(11) };

let dir = '';
let rsna = '';
let out = '';
let summary: PrepareSummary;
let lines: ManifestLine[];
const studies = new Map<string, SyntheticStudy>();
/** Study/slice → the vertebra label a fracture box was put on. */
const onVertebraLabel = new Map<string, number>();

before(async () => {
  if (!hasNibabel) return;
  dir = await mkdtemp(join(tmpdir(), 'prepare-'));
  rsna = join(dir, 'rsna');
  out = join(dir, 'out');
  let seed = 1;
  for (const [key, id] of Object.entries(U)) {
    studies.set(key, await writeSyntheticStudy(rsna, { uid: id, slices: 40, size: 48, zFalls: key !== 'B', seed: seed++ }));
  }
  const seg = (key: string, extra: Record<string, unknown> = {}) => {
    const s = studies.get(key) as SyntheticStudy;
    return { labels: join(dir, `${key}.u8`), shape: [s.slices, s.rows, s.columns], positions: s.positions, orientation: s.orientation, spacing: s.pixelSpacing, out: join(rsna, 'segmentations', `${s.uid}.nii${key === 'C' ? '' : '.gz'}`), layout: 'rsna', ...extra };
  };
  for (const key of ['A', 'B', 'C', 'D', 'E', 'F', 'I', 'K']) await writeFile(join(dir, `${key}.u8`), (studies.get(key) as SyntheticStudy).labels);
  const jobs = [
    seg('A'), seg('B'),
    seg('C', { layout: { flips: [2, 0], transpose: [1, 2, 0] }, form: 'qform', dtype: 'int16' }),
    seg('D', { form: 'none' }), seg('E', { shift_mm: [200, 0, 0] }), seg('F', { invert_z_data: true }), seg('I'), seg('K'),
  ];
  await rm(join(rsna, 'segmentations'), { recursive: true, force: true });
  await import('node:fs/promises').then((fs) => fs.mkdir(join(rsna, 'segmentations'), { recursive: true }));
  await writeFile(join(dir, 'jobs.json'), JSON.stringify(jobs));
  const made = spawnSync(PYTHON, [join(ROOT, 'test/python/prepare_seg.py'), join(dir, 'jobs.json')], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(made.status, 0, made.stderr);
  // K: a truncated gzip stream. I: a vertebra slice cut short. J: slice 3 gone.
  const k = join(rsna, 'segmentations', `${U.K}.nii.gz`);
  await truncate(k, Math.floor((await stat(k)).size / 2));
  const iStudy = studies.get('I') as SyntheticStudy;
  await truncate(join(iStudy.dir, '8.dcm'), 2000);
  await unlink(join((studies.get('J') as SyntheticStudy).dir, '3.dcm'));
  const box = (id: string, slice: number) => ({ uid: id, slice, x: 12, y: 14, width: 9, height: 7 });
  // A 6×6 box centred on the first vertebra of the slice (generator labels, slice space); one in the air (corner).
  const onVertebra = (key: string, slice: number) => {
    const s = studies.get(key) as SyntheticStudy;
    const [label, e] = [...syntheticExtents(s, slice - 1)][0];
    onVertebraLabel.set(`${s.uid}/${slice}`, label);
    return { uid: s.uid, slice, x: (e.x0 + e.x1 + 1) / 2 - 3, y: (e.y0 + e.y1 + 1) / 2 - 3, width: 6, height: 6 };
  };
  await writeRsnaCsvs(rsna, Object.entries(U).map(([key, id]) => ({ uid: id, patientOverall: ['A', 'C', 'G', 'I', 'K'].includes(key) ? 1 : 0 })),
    [onVertebra('A', 9), { uid: U.A, slice: 9, x: 0, y: 0, width: 4, height: 4 }, onVertebra('A', 10), onVertebra('C', 14), box(U.G, 20), box(U.G, 21), box(U.G, 22), onVertebra('K', 5)]);
  summary = await prepareRsna({ rsna, out, val: 0.3, seed: 7, decoder: 'pool', jobs: 2 });
  lines = await readManifest(out);
});

after(async () => {
  if (dir && !process.env.KEEP) await rm(dir, { recursive: true, force: true });
});

void test('every detection box equals the mask extent on its slice (±1 px at output size), for every mask layout', { skip }, async () => {
  const detect = lines.filter((l) => l.set === 'detect');
  const byStudy = new Map<string, ManifestLine[]>();
  for (const l of detect) byStudy.set(l.study, [...(byStudy.get(l.study) ?? []), l]);
  for (const key of ['A', 'B', 'C', 'D', 'E']) {
    const s = studies.get(key) as SyntheticStudy;
    const mine = byStudy.get(s.uid) ?? [];
    const expectedSlices = Array.from({ length: s.slices }, (_, k) => k).filter((k) => syntheticExtents(s, k).size > 0);
    assert.deepEqual(mine.map((l) => l.slice).sort((a, b) => a - b), expectedSlices.map((k) => k + 1), `${key}: the slices with vertebrae`);
    for (const l of mine) {
      const expected = syntheticExtents(s, l.slice - 1);
      const boxes = l.boxes ?? [];
      assert.deepEqual(boxes.map((b) => b.class + 1).sort(), [...expected.keys()].sort(), `${key} slice ${l.slice}: labels`);
      const text = (await readFile(join(out, l.labels as string), 'utf8')).trim().split('\n').map((t) => t.split(' ').map(Number));
      assert.equal(text.length, boxes.length);
      for (const [cls, cx, cy, w, h] of text) {
        const e = expected.get(cls + 1);
        assert.ok(e, `${key} slice ${l.slice}: class ${cls} not in the mask`);
        // Output pixels of the label vs the mask extent scaled to the output size (pixel edges: x1 + 1).
        const sx = l.width / s.columns;
        const sy = l.height / s.rows;
        const got = [(cx - w / 2) * l.width, (cy - h / 2) * l.height, (cx + w / 2) * l.width, (cy + h / 2) * l.height];
        const want = [e.x0 * sx, e.y0 * sy, (e.x1 + 1) * sx, (e.y1 + 1) * sy];
        got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) <= 1, `${key} slice ${l.slice} class ${cls}: edge ${i} ${g.toFixed(2)} vs ${want[i].toFixed(2)}`));
        const mb = boxes.find((b) => b.class === cls);
        assert.deepEqual([mb?.x0, mb?.y0, mb?.x1, mb?.y1], [e.x0, e.y0, e.x1, e.y1], 'manifest extent in source pixels');
      }
    }
  }
});

void test('the affine is used when it agrees, the z-rule when it does not, and a misaligned mask is skipped with the reason', { skip }, async () => {
  const marker = async (key: string) => JSON.parse(await readFile(join(out, '.prepare/studies', `${studies.get(key)?.uid}.json`), 'utf8'));
  for (const key of ['A', 'B', 'C']) assert.equal((await marker(key)).detect.method, 'affine', key);
  assert.equal((await marker('A')).detect.affineMatchesRule, true);
  // C's dims happen to be 48×48×36 = columns×rows×slices, so the z-rule applies but maps wrongly: the affine,
  // tried first, passes the bone check and wins.
  assert.equal((await marker('C')).detect.affineMatchesRule, false);
  for (const key of ['D', 'E']) {
    const m = await marker(key);
    assert.equal(m.detect.method, 'z-rule', key);
    assert.match(m.detect.notes.join(' '), key === 'D' ? /no orientation/ : /extent/);
  }
  const f = summary.skipped.find((s) => s.study === U.F);
  assert.equal(f?.stage, 'detect');
  assert.match(f?.reason ?? '', /alignment check failed.*inverted in z/);
  assert.ok(!lines.some((l) => l.study === U.F && l.set === 'detect'), 'no boxes written for F');
  const k = summary.skipped.find((s) => s.study === U.K);
  assert.match(k?.reason ?? '', /segmentation unreadable/);
  assert.ok(lines.some((l) => l.study === U.K && l.set === 'classify' && l.label === 'fracture'), 'K keeps its classification images');
  assert.equal(summary.detect.segmented, 7);
  assert.equal(summary.detect.written, 5);
});

void test('corrupt inputs skip their study with a reason and nothing of it on disk', { skip }, async () => {
  const i = summary.skipped.find((s) => s.study === U.I);
  assert.equal(i?.stage, 'study');
  assert.match(i?.reason ?? '', /slice 8/);
  const j = summary.skipped.find((s) => s.study === U.J);
  assert.match(j?.reason ?? '', /missing slice 3/);
  const files = await listOutputFiles(out);
  assert.ok(!files.some((f) => f.includes(U.I) || f.includes(U.J)));
  assert.ok(!lines.some((l) => l.study === U.I || l.study === U.J));
});

void test('split by study, manifest complete and consistent with the files', { skip }, async () => {
  const sides = new Map<string, Set<string>>();
  for (const l of lines) sides.set(l.study, (sides.get(l.study) ?? new Set()).add(l.split));
  for (const [study, s] of sides) assert.equal(s.size, 1, `${study} on both sides`);
  assert.ok([...sides.values()].some((s) => s.has('val')) && [...sides.values()].some((s) => s.has('train')));
  const files = await listOutputFiles(out);
  const named = new Set(lines.flatMap((l) => [l.image, ...(l.labels ? [l.labels] : [])]));
  assert.deepEqual(files, [...named].sort(), 'every file has a line and every line its file');
  for (const l of lines) {
    for (const key of ['image', 'split', 'study', 'slice', 'dicom', 'set']) assert.ok(key in l, `${key} missing`);
    assert.ok(existsSync(l.dicom), l.dicom);
    assert.equal(l.dicom, join(rsna, 'train_images', l.study, `${l.slice}.dcm`));
    if (l.set === 'classify') assert.ok(l.label === 'normal' || l.label === 'fracture');
  }
  // Classification: positives = slices with a fracture box; negatives balanced per split (neg-ratio 1).
  const positives = lines.filter((l) => l.set === 'classify' && l.label === 'fracture').map((l) => `${l.study}/${l.slice}`).sort();
  assert.deepEqual(positives, [`${U.A}/10`, `${U.A}/9`, `${U.C}/14`, `${U.G}/20`, `${U.G}/21`, `${U.G}/22`, `${U.K}/5`].sort());
  for (const split of ['train', 'val'] as const) {
    assert.equal(summary.balance[split].normal, summary.balance[split].fracture, `${split} balanced`);
  }
  assert.equal(summary.images, lines.length);
});

void test('vertebra crops: the vertebra a fracture box sits on is positive, a box in the air labels none, no crops without detection', { skip }, () => {
  const crops = lines.filter((l) => l.set === 'classify-vertebrae');
  const positives = crops.filter((l) => l.label === 'fracture');
  // K's mask is unreadable: its box labels nothing. A and C: one vertebra each on slices 9, 10, 14.
  const want = [...onVertebraLabel].filter(([k]) => !k.startsWith(U.K)).map(([k, label]) => `${k}/C${label}`).sort();
  assert.deepEqual(positives.map((l) => `${l.study}/${l.slice}/${l.vertebra}`).sort(), want);
  const a9 = positives.find((l) => l.study === U.A && l.slice === 9);
  assert.equal(a9?.fractures?.length, 1, 'the box in the air is not one of the vertebra\'s fractures');
  assert.ok(!crops.some((l) => l.study === U.F || l.study === U.K), 'no crops where detection was skipped');
  for (const split of ['train', 'val'] as const) {
    const mine = crops.filter((l) => l.split === split);
    assert.equal(mine.filter((l) => l.label === 'normal').length, Math.min(summary.balance[split].cropNormalPool, mine.filter((l) => l.label === 'fracture').length), `${split}: balanced`);
  }
});

void test('ultralytics data.yaml/labels and torchvision ImageFolder layouts load (checked in Python)', { skip }, () => {
  const r = spawnSync(PYTHON, [join(ROOT, 'test/python/prepare_check_layout.py'), out], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const report = JSON.parse(r.stdout) as { detect: Record<string, { images: number }>; classify: Record<string, { classes: string[] }> };
  assert.equal(report.detect.train.images + (report.detect.val?.images ?? 0) > 0, true);
  assert.deepEqual(report.classify.train.classes, ['fracture', 'normal']);
  // .venv has no PyYAML (the checker then uses its strict subset reader); where any python3 has it, use it too.
  const py = ['python3', PYTHON].find((p) => spawnSync(p, ['-c', 'import yaml'], { timeout: 30_000 }).status === 0);
  if (py) {
    const y = spawnSync(py, ['-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', join(out, 'detect/data.yaml')], { encoding: 'utf8' });
    assert.equal(y.status, 0, y.stderr);
    assert.deepEqual(JSON.parse(y.stdout), { path: join(out, 'detect'), train: 'images/train', val: 'images/val', nc: 7, names: { 0: 'C1', 1: 'C2', 2: 'C3', 3: 'C4', 4: 'C5', 5: 'C6', 6: 'C7' } });
  }
});

void test('a rerun with the same options redoes nothing; another configuration is refused unless --force', { skip }, async () => {
  const before = await readFile(join(out, 'manifest.jsonl'), 'utf8');
  const again = await prepareRsna({ rsna, out, val: 0.3, seed: 7, jobs: 2 });
  assert.equal(again.studies.reused, again.studies.planned - 1, 'all but I (a corrupt slice is retried on every run)');
  assert.ok(again.skipped.some((s) => s.study === U.I && s.stage === 'study'));
  assert.equal(again.timings.imagesWritten, 0);
  assert.equal(await readFile(join(out, 'manifest.jsonl'), 'utf8'), before);
  await assert.rejects(prepareRsna({ rsna, out, val: 0.3, seed: 7, imgsz: 256 }), (err: Error) => /another configuration \(imgsz 512 → 256\)/.test(err.message));
  await assert.rejects(prepareRsna({ rsna, out, val: 0.3, seed: 8 }), /seed 7 → 8/);
  assert.ok(existsSync(join(out, 'prepare.json')), 'a refused run leaves the complete dataset alone');
});

void test('a run killed mid-way leaves nothing that looks complete; the rerun finishes only the missing studies', { skip }, async () => {
  const killed = join(dir, 'killed');
  const script = join(dir, 'run.ts');
  await writeFile(script, [
    `import { prepareRsna } from ${JSON.stringify(join(ROOT, 'src/core/dataset/prepare/prepare.ts'))};`,
    `void prepareRsna({ rsna: ${JSON.stringify(rsna)}, out: ${JSON.stringify(killed)}, val: 0.3, seed: 7, jobs: 1,`,
    '  onProgress: (p) => { if (p.finished) process.stdout.write(`done ${p.finished.study}\\n`); } });',
  ].join('\n'));
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const firstDone: string[] = [];
  await new Promise<void>((resolveKill) => {
    child.stdout.on('data', (chunk: Buffer) => {
      for (const m of chunk.toString().matchAll(/done (\S+)/g)) firstDone.push(m[1]);
      if (firstDone.length >= 2 && child.exitCode === null) child.kill('SIGKILL');
    });
    child.on('exit', () => resolveKill());
  });
  assert.ok(firstDone.length >= 2 && firstDone.length < summary.studies.done, `killed after ${firstDone.length} studies`);
  for (const f of ['prepare.json', 'manifest.jsonl', 'detect/data.yaml']) assert.ok(!existsSync(join(killed, f)), `${f} must not exist after a kill`);
  const mtimes = new Map<string, number>();
  for (const f of await listOutputFiles(killed)) mtimes.set(f, (await stat(join(killed, f))).mtimeMs);
  const events: PrepareProgress[] = [];
  const rerun = await prepareRsna({ rsna, out: killed, val: 0.3, seed: 7, jobs: 2, onProgress: (p) => { if (p.finished) events.push(p); } });
  const reused = events.filter((e) => e.finished?.reused).map((e) => e.finished?.study);
  for (const study of firstDone) assert.ok(reused.includes(study), `${study} finished before the kill must not be redone`);
  assert.equal(rerun.studies.reused, reused.length);
  for (const [f, t] of mtimes) {
    if (firstDone.some((s) => f.includes(s))) assert.equal((await stat(join(killed, f))).mtimeMs, t, `${f} rewritten`);
  }
  // Same result as the uninterrupted run, apart from the output folder.
  const strip = (text: string) => text.split('\n').sort().join('\n');
  assert.equal(strip(await readFile(join(killed, 'manifest.jsonl'), 'utf8')), strip(await readFile(join(out, 'manifest.jsonl'), 'utf8')));
  assert.deepEqual(await listOutputFiles(killed), await listOutputFiles(out));
  for (const f of await listOutputFiles(out)) assert.deepEqual(await readFile(join(killed, f)), await readFile(join(out, f)), `${f}: same bytes`);
});
