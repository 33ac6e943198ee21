/**
 * Ground truth for the viewer (src/core/viewer/groundTruth.ts, outline.ts) on the phantom of `dicom-ml sample`
 * (writeDataset: 2 studies, 128², 40–56 slices, every study fractured and segmented). One source of truth:
 * the vertebra boxes must equal what `prepareRsna` writes to manifest.jsonl for the same slices, the
 * mapping method the one in prepare's study marker; fracture boxes equal train_bounding_boxes.csv rows,
 * parsed here by hand. Variants are copies of the set: no segmentations/ folder, and a mask rolled by a third
 * of its width (labels off bone → the bone check refuses it). Series order is the viewer's (openSeriesFor).
 * KEEP=1 keeps the temporary folder (viewer-truth-…).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { readMarkers, type ManifestLine } from '../../src/core/dataset/prepare/output';
import { prepareRsna, readManifest } from '../../src/core/dataset/prepare/prepare';
import { writeDataset, type StudyRecord } from '../../src/core/dataset/phantom/writer';
import { readNifti } from '../../src/core/dicom/nifti';
import { encodeNiftiGz } from '../../src/core/dicom/niftiWrite';
import { loadManifestTruth, loadRsnaTruth, type EdgeBox, type StudyTruth, type TruthEntry } from '../../src/core/viewer/groundTruth';
import { openSeriesFor } from '../../src/core/viewer/openSeries';
import { traceOutline } from '../../src/core/viewer/outline';

let dir = '';
let rsna = '';
let out = '';
let records: StudyRecord[] = [];
let lines: ManifestLine[] = [];
/** Viewer-ordered entries per study (of the main set). */
const series = new Map<string, TruthEntry[]>();

const studyDir = (root: string, uid: string) => join(root, 'train_images', uid);
const entriesIn = (root: string, uid: string) => (series.get(uid) ?? []).map((e) => ({ ...e, path: join(studyDir(root, uid), basename(e.path)) }));
const sliceNumber = (path: string) => Number(/(\d+)\.dcm$/.exec(path)?.[1]);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'viewer-truth-'));
  rsna = join(dir, 'rsna');
  out = join(dir, 'prepared');
  records = (await writeDataset(rsna, { studies: 2, seed: 3, size: 128, slices: [40, 56], syntax: 'native', fractureRate: 1, segmentationRate: 1, subsamples: 1 })).records;
  await prepareRsna({ rsna, out, val: 0.5, seed: 0, jobs: 1, decoder: 'in-process' });
  lines = await readManifest(out);
  for (const r of records) {
    const first = join(studyDir(rsna, r.studyInstanceUID), '1.dcm');
    series.set(r.studyInstanceUID, (await openSeriesFor(first)).entries.map((e) => ({ path: e.path, frame: e.frame })));
  }
});

after(async () => {
  if (dir && !process.env.KEEP) await rm(dir, { recursive: true, force: true });
});

/** Copy the RSNA set without segmentations/ (images copied, so nothing is shared with the main set). */
async function copyWithoutMasks(to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const f of ['train.csv', 'train_bounding_boxes.csv']) await copyFile(join(rsna, f), join(to, f));
  await cp(join(rsna, 'train_images'), join(to, 'train_images'), { recursive: true });
}

/** Fracture boxes of train_bounding_boxes.csv by study and slice, as edges (parsed here, not by rsna.ts). */
async function csvFractures(): Promise<Map<string, EdgeBox[]>> {
  const text = await readFile(join(rsna, 'train_bounding_boxes.csv'), 'utf8');
  const [header, ...rows] = text.trim().split('\n').map((l) => l.split(','));
  const col = (name: string) => header.indexOf(name);
  const byKey = new Map<string, EdgeBox[]>();
  for (const row of rows) {
    const [x, y, w, h] = ['x', 'y', 'width', 'height'].map((n) => Number(row[col(n)]));
    const key = `${row[col('StudyInstanceUID')]}/${row[col('slice_number')]}`;
    byKey.set(key, [...(byKey.get(key) ?? []), [x, y, x + w, y + h]]);
  }
  return byKey;
}

/** Every vertex of every loop, and the checks that make a loop an outline: closed, rectilinear. */
function checkLoops(loops: readonly number[][], what: string): { xs: number[]; ys: number[]; area: number } {
  const xs: number[] = [];
  const ys: number[] = [];
  let area = 0;
  assert.ok(loops.length > 0, `${what}: no loop`);
  for (const loop of loops) {
    assert.ok(loop.length >= 8 && loop.length % 2 === 0, `${what}: a loop of ${loop.length / 2} vertices`);
    const n = loop.length / 2;
    for (let i = 0; i < n; i++) {
      const [x, y, nx, ny] = [loop[2 * i], loop[2 * i + 1], loop[(2 * i + 2) % loop.length], loop[(2 * i + 3) % loop.length]];
      assert.ok((x === nx) !== (y === ny), `${what}: segment (${x}, ${y}) → (${nx}, ${ny}) is not horizontal or vertical`);
      xs.push(x);
      ys.push(y);
      area += (x * ny - nx * y) / 2; // shoelace, y down: clockwise on screen is positive
    }
  }
  return { xs, ys, area };
}

void test('outline: pixel-edge loops, clockwise outside, holes counter-clockwise, corner-touching pixels apart', () => {
  const img = (pic: string[]) => ({ labels: Uint8Array.from(pic.join('').split('').map((c) => (c === '#' ? 3 : c === '+' ? 4 : 0))), rows: pic.length, columns: pic[0].length });
  const t = (pic: string[], label = 3) => { const i = img(pic); return traceOutline(i.labels, i.rows, i.columns, label); };
  assert.deepEqual(t(['##', '##']), [[0, 0, 2, 0, 2, 2, 0, 2]]);
  assert.deepEqual(t(['##.', '#..']), [[0, 0, 2, 0, 2, 1, 1, 1, 1, 2, 0, 2]], 'L: one vertex per corner');
  assert.deepEqual(t(['###', '#.#', '###']), [[0, 0, 3, 0, 3, 3, 0, 3], [1, 1, 1, 2, 2, 2, 2, 1]], 'ring: outer loop and a counter-clockwise hole');
  assert.deepEqual(t(['#.', '.#']), [[0, 0, 1, 0, 1, 1, 0, 1], [1, 1, 2, 1, 2, 2, 1, 2]], 'diagonal pixels are two regions');
  assert.deepEqual(t(['#+', '+#'], 4), [[1, 0, 2, 0, 2, 1, 1, 1], [0, 1, 1, 1, 1, 2, 0, 2]], 'only the asked label');
  assert.deepEqual(t(['....']), []);
  const { labels, rows, columns } = img(['###', '#.#', '###']);
  assert.deepEqual(traceOutline(labels, rows, columns, 3, { x0: 1, y0: 0, x1: 2, y1: 2 }), [[1, 0, 3, 0, 3, 3, 1, 3, 1, 2, 2, 2, 2, 1, 1, 1]], 'bounds clip the search');
});

void test('rsna: fracture boxes of every slice equal train_bounding_boxes.csv, labels equal train.csv', async () => {
  const expected = await csvFractures();
  let withBoxes = 0;
  for (const r of records) {
    const entries = series.get(r.studyInstanceUID) as TruthEntry[];
    const truth = await loadRsnaTruth(entries[0].path, entries, { verifySlices: Infinity });
    assert.ok(truth, 'a file in train_images/<UID>/ gives truth');
    assert.equal(truth.study, r.studyInstanceUID);
    assert.equal(truth.source, 'rsna');
    assert.deepEqual(truth.labels, { C: r.labels, patient: r.patientOverall });
    for (const [i, e] of entries.entries()) {
      const s = truth.slice(i);
      assert.ok(s, `slice ${i}`);
      assert.equal(s.sliceNumber, sliceNumber(e.path));
      const want: { box: EdgeBox }[] = (expected.get(`${r.studyInstanceUID}/${s.sliceNumber}`) ?? []).map((b) => ({ box: b }));
      assert.deepEqual(s.fractures, want, `${r.studyInstanceUID} slice ${s.sliceNumber}`);
      if (want.length) withBoxes++;
    }
    assert.equal(truth.slice(entries.length), undefined, 'past the end');
  }
  assert.ok(withBoxes >= 2, `fracture slices in the set (${withBoxes})`);
});

void test('rsna: vertebra boxes equal prepare\'s detect boxes for the same slices (one source of truth), outlines span their box', async () => {
  const markers = await readMarkers(out);
  let compared = 0;
  for (const r of records) {
    const uid = r.studyInstanceUID;
    const entries = series.get(uid) as TruthEntry[];
    const truth = await loadRsnaTruth(entries[entries.length - 1].path, entries, { verifySlices: Infinity }) as StudyTruth;
    const marker = markers.get(uid);
    assert.equal(marker?.detect.status, 'written', `prepare used ${uid}'s mask`);
    assert.equal(truth.vertebrae, 'mask');
    assert.deepEqual(truth.notes, []);
    assert.equal(truth.mask?.method, marker?.detect.method, 'the same mapping');
    assert.ok(Math.abs((truth.mask?.boneFraction ?? 0) - (marker?.detect.boneFraction ?? -1)) < 1e-9, 'the same bone fraction (every labelled slice checked)');
    assert.equal(truth.mask?.slicesChecked, truth.mask?.labelledSlices);
    const detect = new Map(lines.filter((l) => l.set === 'detect' && l.study === uid).map((l) => [resolve(l.dicom), l]));
    assert.ok(detect.size > 5, 'prepare wrote detect lines');
    for (const [i, e] of entries.entries()) {
      const s = truth.slice(i) as NonNullable<ReturnType<StudyTruth['slice']>>;
      const line = detect.get(resolve(e.path));
      const want = (line?.boxes ?? []).map((b) => ({ name: b.name, label: b.class + 1, box: [b.x0, b.y0, b.x1 + 1, b.y1 + 1] }));
      assert.deepEqual(s.vertebrae.map(({ name, label, box }) => ({ name, label, box })), want, `${uid} slice ${s.sliceNumber}`);
      for (const v of s.vertebrae) {
        const what = `${uid} slice ${s.sliceNumber} ${v.name}`;
        const { xs, ys, area } = checkLoops(v.outline ?? [], what);
        assert.deepEqual([Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)], v.box, `${what}: outline extent = box`);
        const [x0, y0, x1, y1] = v.box;
        assert.ok(area > 0 && area <= (x1 - x0) * (y1 - y0), `${what}: area ${area} within the box`);
        compared++;
      }
    }
  }
  assert.ok(compared > 20, `vertebra boxes compared (${compared})`);
});

void test('rsna: a sampled bone check reaches the same mapping; the options are checked', async () => {
  const uid = records[0].studyInstanceUID;
  const entries = series.get(uid) as TruthEntry[];
  const full = await loadRsnaTruth(entries[0].path, entries, { verifySlices: Infinity }) as StudyTruth;
  const sampled = await loadRsnaTruth(entries[0].path, entries, { verifySlices: 3 }) as StudyTruth;
  assert.equal(sampled.mask?.slicesChecked, 3);
  assert.equal(sampled.mask?.method, full.mask?.method);
  const mid = entries.findIndex((_, i) => (full.slice(i)?.vertebrae.length ?? 0) > 0);
  assert.deepEqual(sampled.slice(mid), full.slice(mid));
  await assert.rejects(loadRsnaTruth(entries[0].path, entries, { verifySlices: 0 }), /verifySlices must be at least 1/);
});

void test('rsna: without a segmentation, fracture boxes only and a note; a mask off the bone is refused with the reason', async () => {
  const bare = join(dir, 'no-masks');
  await copyWithoutMasks(bare);
  const full = new Map<string, StudyTruth>();
  for (const r of records) {
    const entries = series.get(r.studyInstanceUID) as TruthEntry[];
    full.set(r.studyInstanceUID, await loadRsnaTruth(entries[0].path, entries) as StudyTruth);
  }
  const uid = records[0].studyInstanceUID;
  const entries = entriesIn(bare, uid);
  const truth = await loadRsnaTruth(entries[0].path, entries) as StudyTruth;
  assert.equal(truth.vertebrae, 'none');
  assert.equal(truth.mask, undefined);
  assert.match(truth.notes.join('\n'), /no segmentation \(segmentations\/.*\): fracture boxes only/);
  for (let i = 0; i < entries.length; i++) {
    assert.deepEqual(truth.slice(i)?.vertebrae, []);
    assert.deepEqual(truth.slice(i)?.fractures, full.get(uid)?.slice(i)?.fractures);
  }

  // Roll the second study's mask by a third of its width: still a valid mapping, but labels off the spine.
  const shifted = join(dir, 'shifted');
  await copyWithoutMasks(shifted);
  const other = records[1].studyInstanceUID;
  const segName = (await readdir(join(rsna, 'segmentations'))).find((n) => n.startsWith(other)) as string;
  const vol = await readNifti(join(rsna, 'segmentations', segName));
  const [nx, ny, nz] = vol.dims;
  const rolled = new Uint8Array(vol.data.length);
  const shift = Math.round(nx / 3);
  for (let k = 0; k < nz; k++) for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) rolled[((i + shift) % nx) + nx * (j + ny * k)] = vol.data[i + nx * (j + ny * k)];
  await mkdir(join(shifted, 'segmentations'));
  await writeFile(join(shifted, 'segmentations', `${other}.nii.gz`), encodeNiftiGz({ dims: [nx, ny, nz], data: rolled, affine: vol.affine }));
  const moved = entriesIn(shifted, other);
  const refused = await loadRsnaTruth(moved[3].path, moved, { verifySlices: Infinity }) as StudyTruth;
  assert.equal(refused.vertebrae, 'none');
  assert.match(refused.notes.join('\n'), /^segmentation not used: alignment check failed: labelled pixels on bone/m);
  assert.ok(moved.every((_, i) => refused.slice(i)?.vertebrae.length === 0), 'no vertebrae from a refused mask');
  for (let i = 0; i < moved.length; i++) assert.deepEqual(refused.slice(i)?.fractures, full.get(other)?.slice(i)?.fractures, 'fractures still shown');
});

void test('rsna: a file outside the layout gives undefined; entries outside the study give undefined slices', async () => {
  const uid = records[0].studyInstanceUID;
  const src = join(studyDir(rsna, uid), '1.dcm');
  const loose = join(dir, 'loose', uid);
  await mkdir(loose, { recursive: true });
  await copyFile(src, join(loose, '1.dcm'));
  assert.equal(await loadRsnaTruth(join(loose, '1.dcm'), [{ path: join(loose, '1.dcm'), frame: 0 }]), undefined, 'not under train_images/');
  const noCsv = join(dir, 'no-csv', 'train_images', uid);
  await mkdir(noCsv, { recursive: true });
  await copyFile(src, join(noCsv, '1.dcm'));
  assert.equal(await loadRsnaTruth(join(noCsv, '1.dcm'), [{ path: join(noCsv, '1.dcm'), frame: 0 }]), undefined, 'no train.csv beside train_images/');
  assert.equal(await loadRsnaTruth(join(studyDir(rsna, uid), 'scout.dcm'), []), undefined, 'not <slice_number>.dcm');
  const truth = await loadRsnaTruth(src, [{ path: join(loose, '1.dcm'), frame: 0 }, { path: src, frame: 1 }, { path: src, frame: 0 }]) as StudyTruth;
  assert.equal(truth.slice(0), undefined, 'another folder');
  assert.equal(truth.slice(1), undefined, 'a frame RSNA slices do not have');
  assert.equal(truth.slice(2)?.sliceNumber, 1);
});

void test('manifest: truth equals the manifest lines; other series give undefined; a bad manifest is named', async () => {
  const manifest = join(out, 'manifest.jsonl');
  let vertebrae = 0;
  let fractures = 0;
  for (const r of records) {
    const uid = r.studyInstanceUID;
    const entries = series.get(uid) as TruthEntry[];
    const truth = await loadManifestTruth([manifest], entries) as StudyTruth;
    assert.equal(truth.study, uid);
    assert.equal(truth.source, 'manifest');
    assert.equal(truth.vertebrae, 'manifest');
    for (const [i, e] of entries.entries()) {
      const mine = lines.filter((l) => resolve(l.dicom) === resolve(e.path));
      const s = truth.slice(i);
      if (mine.length === 0) { assert.equal(s, undefined, `slice ${sliceNumber(e.path)} is in no line`); continue; }
      assert.ok(s);
      assert.equal(s.sliceNumber, sliceNumber(e.path));
      const detect = mine.find((l) => l.set === 'detect');
      assert.deepEqual(s.vertebrae, (detect?.boxes ?? []).map((b) => ({ name: b.name, label: b.class + 1, box: [b.x0, b.y0, b.x1 + 1, b.y1 + 1] })));
      const want = [...new Set(mine.flatMap((l) => l.fractures ?? []).map((f) => JSON.stringify([f.x, f.y, f.x + f.width, f.y + f.height])))].map((b) => ({ box: JSON.parse(b) as EdgeBox }));
      assert.deepEqual(s.fractures, want);
      vertebrae += s.vertebrae.length;
      fractures += s.fractures.length;
    }
  }
  assert.ok(vertebrae > 20 && fractures > 0, `compared ${vertebrae} vertebra and ${fractures} fracture boxes`);

  const bare = join(dir, 'manifest-other');
  await copyWithoutMasks(bare);
  const uid = records[0].studyInstanceUID;
  assert.equal(await loadManifestTruth([manifest], entriesIn(bare, uid)), undefined, 'a series no line names');
  assert.equal(await loadManifestTruth([], series.get(uid) as TruthEntry[]), undefined);
  await assert.rejects(loadManifestTruth([join(out, 'prepare.json')], []), (err: Error) => err.name === 'DicomError' && /not a manifest\.jsonl/.test(err.message));
  const broken = join(dir, 'broken');
  await mkdir(broken);
  await writeFile(join(broken, 'manifest.jsonl'), '{"image": "x"\n');
  await assert.rejects(loadManifestTruth([join(broken, 'manifest.jsonl')], []), (err: Error & { file?: string }) => err.file === join(broken, 'manifest.jsonl') && /cannot read the manifest/.test(err.message));
});
