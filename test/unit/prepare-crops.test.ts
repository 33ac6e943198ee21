/**
 * `dicom-ml prepare`'s vertebra-crop set (classify-vertebrae/, src/core/dataset/prepare/crops.ts) on the
 * phantom of `dicom-ml sample` (src/core/dataset/phantom: its masks are written by its own NIfTI writer, its
 * fracture boxes carry the vertebra they belong to in .phantom/<UID>.json), so no Python is needed:
 *
 *   all      --neg-ratio 1000: every crop of every vertebra box (nothing undersampled)
 *   default  balanced negatives, level-matched
 *   minbox   --min-box at the median box side, in-process decoder (its bytes must equal the pool's)
 *
 * Expected geometry and labels are computed here from the manifest's detection boxes, the CSV and the phantom
 * records, never by the functions under test; expected pixels from the DICOM (loadModality + windowSlice) with
 * a crop cut by hand. KEEP=1 keeps the temporary folder (prepare-crops-…).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { CROP_RULES, cropItems, cropSquare, cutCrop, fracturesIn, pickNegatives, unlabelledLevels, type PoolEntry } from '../../src/core/dataset/prepare/crops';
import type { ManifestLine, PixelBox } from '../../src/core/dataset/prepare/output';
import { listOutputFiles, prepareRsna, readManifest, type PrepareOptions, type PrepareSummary } from '../../src/core/dataset/prepare/prepare';
import { windowSlice } from '../../src/core/dataset/prepare/slices';
import { writeDataset, type StudyRecord } from '../../src/core/dataset/phantom/writer';
import { loadImage, loadModality } from '../../src/core/dicom/load';
import { balanceTable } from '../../src/cli/commands/prepare';

const SIZE = 48;
let dir = '';
let rsna = '';
let records: StudyRecord[] = [];
const runs: Record<'all' | 'default' | 'minbox', { out: string; summary: PrepareSummary; lines: ManifestLine[] }> = {} as never;
let minBox = 0;

const key = (l: { study: string; slice: number; vertebra?: string }) => `${l.study}/${l.slice}/${l.vertebra}`;
const crops = (lines: readonly ManifestLine[]) => lines.filter((l) => l.set === 'classify-vertebrae');
const side = (b: PixelBox) => Math.max(b.x1 - b.x0 + 1, b.y1 - b.y0 + 1);

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'prepare-crops-'));
  rsna = join(dir, 'rsna');
  // Seed 3: two healthy studies, one with a C7 fracture, one with C4–C6 fractures; every study segmented.
  records = (await writeDataset(rsna, { studies: 4, seed: 3, size: 128, slices: [40, 56], syntax: 'native', fractureRate: 0.75, segmentationRate: 1, subsamples: 1 })).records;
  const base = { rsna, val: 0.25, seed: 5, cropImgsz: SIZE, jobs: 2 };
  const run = async (name: keyof typeof runs, extra: Partial<PrepareOptions>) => {
    const out = join(dir, name);
    const summary = await prepareRsna({ ...base, ...extra, out });
    runs[name] = { out, summary, lines: await readManifest(out) };
  };
  await run('all', { negRatio: 1000 });
  await run('default', {});
  const sides = runs.all.lines.filter((l) => l.set === 'detect').flatMap((l) => (l.boxes ?? []).map(side)).sort((a, b) => a - b);
  minBox = sides[Math.floor(sides.length / 2)];
  await run('minbox', { negRatio: 1000, minBox, decoder: 'in-process' });
});

after(async () => {
  if (dir && !process.env.KEEP) await rm(dir, { recursive: true, force: true });
});

/** Width, height, bit depth and colour type from a PNG's IHDR. */
function pngHeader(bytes: Buffer): { width: number; height: number; depth: number; colour: number } {
  assert.equal(bytes.subarray(1, 4).toString('latin1'), 'PNG');
  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20), depth: bytes[24], colour: bytes[25] };
}

void test('crop rule: square of round(1.25·max(w, h) + 16) px on the box centre; cut pads with black', () => {
  assert.deepEqual(cropSquare({ x0: 10, y0: 20, x1: 29, y1: 59 }), { x0: -13, y0: 7, x1: 52, y1: 72 }); // 20×40, centre (20, 40) → side 66
  assert.deepEqual(cropSquare({ x0: 0, y0: 0, x1: 0, y1: 0 }), { x0: -8, y0: -8, x1: 8, y1: 8 }); // 1×1 → side round(17.25) = 17 around 0.5
  // 4×3 image 1…12, crop columns −1…2 × rows 1…4: the left column and the last row are outside.
  const gray = Uint8Array.from({ length: 12 }, (_, i) => i + 1);
  assert.deepEqual([...cutCrop(gray, 3, 4, { x0: -1, y0: 1, x1: 2, y1: 4 })], [0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual([...cutCrop(gray, 3, 4, { x0: 5, y0: 0, x1: 6, y1: 1 })], [0, 0, 0, 0], 'entirely outside');
});

void test('label rule: a fracture box counts for a vertebra box that holds its centre (edges included)', () => {
  const box = { x0: 10, y0: 10, x1: 19, y1: 19 }; // pixel edges 10…20
  const f = (x: number, y: number, width: number, height: number) => ({ x, y, width, height });
  assert.deepEqual(fracturesIn(box, [f(0, 0, 20, 20), f(18, 18, 4, 4), f(19, 19, 4, 4), f(0, 0, 9, 9)]), [f(0, 0, 20, 20), f(18, 18, 4, 4)]);
  assert.equal(fracturesIn(box, [f(19, 19, 4.2, 4)]).length, 0, 'centre 21.1 is past the right edge 20');
  // Two slices: C2 and C3 on slice 1, C3 on slice 2 with a fracture. train.csv flags C2 and C3: C3 has its box,
  // C2 has none anywhere, so C2's normal crops cannot be trusted (unlabelled); C3's other crop can.
  const lb = (label: number, x0: number) => ({ label, x0, y0: 0, x1: x0 + 9, y1: 9, pixels: 100 });
  const items = cropItems([[lb(2, 0), lb(3, 20)], [lb(3, 20)]], [{ number: 1 }, { number: 2 }], new Map([[2, [f(22, 2, 4, 4)]]]));
  assert.deepEqual(items.map((i) => [i.slice, i.vertebra, i.fractures.length]), [[1, 'C2', 0], [1, 'C3', 0], [2, 'C3', 1]]);
  assert.deepEqual(items[0].crop, cropSquare({ x0: 0, y0: 0, x1: 9, y1: 9 }));
  assert.deepEqual([...unlabelledLevels(items, [0, 1, 1, 0, 0, 0, 0])], ['C2']);
  assert.deepEqual([...unlabelledLevels(items, [0, 0, 0, 0, 0, 0, 0])], []);
});

void test('negatives: level-matched quotas, a short level topped up from the others, seeded, independent of pool order', () => {
  const pool: PoolEntry[] = [];
  for (const [vertebra, n] of [['C1', 10], ['C2', 1], ['C3', 10]] as const) {
    for (let i = 0; i < n; i++) pool.push({ study: `s${i % 3}`, dicom: '', slice: i + (vertebra === 'C3' ? 100 : 0), vertebra, box: { x0: 0, y0: 0, x1: 1, y1: 1 }, crop: { x0: 0, y0: 0, x1: 1, y1: 1 } });
  }
  const count = (list: PoolEntry[]) => Object.fromEntries(['C1', 'C2', 'C3'].map((v) => [v, list.filter((e) => e.vertebra === v).length]));
  const a = pickNegatives(new Map([['C1', 3], ['C2', 4]]), pool, 1, 7, 'train');
  // C2 has 1 of the 4 it needs: 3 more come from what C1 and C3 have left; C1 keeps at least its own 3.
  assert.equal(a.length, 7);
  assert.equal(count(a).C2, 1);
  assert.ok(count(a).C1 >= 3);
  assert.deepEqual(pickNegatives(new Map([['C1', 3], ['C2', 4]]), [...pool].reverse(), 1, 7, 'train'), a, 'same result whatever the pool order');
  assert.notDeepEqual(pickNegatives(new Map([['C1', 3], ['C2', 4]]), pool, 1, 8, 'train'), a, 'another seed, another draw');
  // Ratio 0.5 over 3 + 3 positives: 3 negatives in all (like classify/: round(positives × ratio)), C1 first on a tie.
  assert.deepEqual(count(pickNegatives(new Map([['C1', 3], ['C3', 3]]), pool, 0.5, 1, 'val')), { C1: 2, C2: 0, C3: 1 });
  assert.equal(pickNegatives(new Map([['C1', 3]]), pool, 0, 1, 'val').length, 0);
  assert.equal(pickNegatives(new Map([['C1', 30]]), pool, 1, 1, 'val').length, pool.length, 'never more than the pool');
});

void test('one crop per vertebra box of every detection slice, --crop-imgsz grey PNG, square by the rule (±1 px)', async () => {
  const { out, lines } = runs.all;
  const detect = lines.filter((l) => l.set === 'detect');
  const expected = new Map<string, PixelBox>();
  for (const l of detect) for (const b of l.boxes ?? []) expected.set(key({ study: l.study, slice: l.slice, vertebra: b.name }), { x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1 });
  const got = crops(lines);
  assert.ok(expected.size > 100, `${expected.size} boxes`);
  assert.deepEqual(got.map(key).sort(), [...expected.keys()].sort(), 'exactly one crop per box');
  for (const l of got) {
    const box = expected.get(key(l)) as PixelBox;
    assert.deepEqual(l.box, box);
    const c = l.crop as PixelBox;
    const w = box.x1 - box.x0 + 1;
    const h = box.y1 - box.y0 + 1;
    assert.equal(c.x1 - c.x0, c.y1 - c.y0, 'square');
    assert.ok(Math.abs(c.x1 - c.x0 + 1 - (1.25 * Math.max(w, h) + 16)) <= 1, `${l.image}: side ${c.x1 - c.x0 + 1} for ${w}×${h}`);
    assert.ok(Math.abs((c.x0 + c.x1 + 1) / 2 - (box.x0 + box.x1 + 1) / 2) <= 1 && Math.abs((c.y0 + c.y1 + 1) / 2 - (box.y0 + box.y1 + 1) / 2) <= 1, `${l.image}: centred`);
    assert.equal(l.image, `classify-vertebrae/${l.split}/${l.label}/${l.study}_${l.slice}_${l.vertebra}.png`);
    assert.deepEqual([l.width, l.height], [SIZE, SIZE]);
    assert.deepEqual(pngHeader(await readFile(join(out, l.image))), { width: SIZE, height: SIZE, depth: 8, colour: 0 });
  }
});

void test('crop pixels are the windowed slice cut at the square and resized (checked on a few crops)', async () => {
  const { out, lines } = runs.all;
  const sample = crops(lines).filter((_, i) => i % 37 === 0);
  for (const l of sample) {
    const image = await loadImage(l.dicom);
    const gray = windowSlice(await loadModality(image, 0), image.info, { center: 500, width: 2000 });
    const { rows, columns } = image.info;
    const c = l.crop as PixelBox;
    const n = c.x1 - c.x0 + 1;
    const cut = new Uint8Array(n * n);
    for (let r = 0; r < n; r++) {
      for (let q = 0; q < n; q++) {
        const y = c.y0 + r;
        const x = c.x0 + q;
        cut[r * n + q] = y >= 0 && y < rows && x >= 0 && x < columns ? gray[y * columns + x] : 0;
      }
    }
    const want = await sharp(cut, { raw: { width: n, height: n, channels: 1 } }).resize(SIZE, SIZE, { fit: 'fill' }).raw().toBuffer();
    const got = await sharp(await readFile(join(out, l.image))).raw().toBuffer();
    assert.deepEqual(got, want, l.image);
  }
});

void test('labels: fracture exactly when a fracture box centre of the slice lies in the vertebra box; every phantom fracture labels its own vertebra', async () => {
  const csv = (await readFile(join(rsna, 'train_bounding_boxes.csv'), 'utf8')).trim().split('\n').slice(1).map((line) => {
    const [study, x, y, width, height, slice] = line.split(',');
    return { study, slice: Number(slice), box: { x: Number(x), y: Number(y), width: Number(width), height: Number(height) } };
  });
  const all = crops(runs.all.lines);
  for (const l of all) {
    const b = l.box as PixelBox;
    const inside = csv.filter((f) => f.study === l.study && f.slice === l.slice).map((f) => f.box)
      .filter((f) => f.x + f.width / 2 >= b.x0 && f.x + f.width / 2 <= b.x1 + 1 && f.y + f.height / 2 >= b.y0 && f.y + f.height / 2 <= b.y1 + 1);
    assert.equal(l.label, inside.length > 0 ? 'fracture' : 'normal', l.image);
    assert.deepEqual(l.fractures, inside.length > 0 ? inside : undefined, `${l.image}: fractures`);
  }
  const positives = new Set(all.filter((l) => l.label === 'fracture').map(key));
  const detected = new Set(runs.all.lines.filter((l) => l.set === 'detect').map((l) => `${l.study}/${l.slice}`));
  let checked = 0;
  for (const r of records) {
    for (const b of r.boxes) {
      if (!detected.has(`${r.studyInstanceUID}/${b.sliceNumber}`)) continue;
      checked++;
      assert.ok(positives.has(key({ study: r.studyInstanceUID, slice: b.sliceNumber, vertebra: b.level })), `${r.studyInstanceUID} slice ${b.sliceNumber}: ${b.level} fracture`);
    }
  }
  assert.ok(checked >= 10, `${checked} phantom fracture boxes checked`);
  assert.ok(new Set([...positives].map((p) => p.split('/')[0])).size >= 2, 'positives in two studies');
});

void test('negatives: every positive kept, normal crops sampled to the positives per split and by level, same bytes as the full set', async () => {
  const all = crops(runs.all.lines);
  const def = crops(runs.default.lines);
  const pos = (lines: ManifestLine[]) => lines.filter((l) => l.label === 'fracture').map(key).sort();
  assert.deepEqual(pos(def), pos(all), 'positives are never dropped');
  const allImages = new Set(all.map((l) => l.image));
  for (const split of ['train', 'val'] as const) {
    const mine = def.filter((l) => l.split === split);
    const p = mine.filter((l) => l.label === 'fracture');
    const n = mine.filter((l) => l.label === 'normal');
    assert.ok(p.length > 0, `${split}: positives`);
    assert.equal(n.length, p.length, `${split}: balanced`);
    // Level-matched: each level gets its positives' count as far as its own normal crops go.
    for (const v of ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7']) {
      const pool = all.filter((l) => l.split === split && l.label === 'normal' && l.vertebra === v).length;
      const want = Math.min(pool, p.filter((l) => l.vertebra === v).length);
      assert.ok(n.filter((l) => l.vertebra === v).length >= want, `${split} ${v}: ≥ ${want} negatives`);
    }
    const b = runs.default.summary.balance[split];
    assert.deepEqual([b.cropFracture, b.cropNormal, b.cropNormalPool], [p.length, n.length, all.filter((l) => l.split === split && l.label === 'normal').length]);
  }
  for (const l of def) {
    assert.ok(allImages.has(l.image), l.image);
    assert.deepEqual(await readFile(join(runs.default.out, l.image)), await readFile(join(runs.all.out, l.image)), `${l.image}: same bytes in both runs`);
  }
  const s = runs.default.summary;
  assert.deepEqual(s.crops.rules, CROP_RULES);
  assert.equal(Object.values(s.crops.splits.train.levels).reduce((a, v) => a + v.fracture, 0), s.balance.train.cropFracture);
  const table = balanceTable(s).join('\n');
  assert.match(table, /crop normal\/pool +crop fracture/);
  assert.match(table, new RegExp(`^train .* ${s.balance.train.cropNormal}/${s.balance.train.cropNormalPool} +${s.balance.train.cropFracture}$`, 'm'));
});

void test('--min-box drops boxes under PX (longer side) from the detection labels and the crops, and nothing else', async () => {
  const all = runs.all.lines;
  const mb = runs.minbox.lines;
  assert.ok(minBox > 1);
  const boxes = (lines: ManifestLine[]) => lines.filter((l) => l.set === 'detect').flatMap((l) => (l.boxes ?? []).map((b) => ({ k: key({ study: l.study, slice: l.slice, vertebra: b.name }), b })));
  const kept = boxes(all).filter(({ b }) => side(b) >= minBox);
  assert.ok(kept.length < boxes(all).length && kept.length > 0, 'some boxes dropped, some kept');
  assert.deepEqual(boxes(mb).map(({ k }) => k).sort(), kept.map(({ k }) => k).sort(), 'detection boxes');
  for (const l of mb.filter((x) => x.set === 'detect')) {
    assert.ok((l.boxes ?? []).length > 0, `${l.image}: a slice left without boxes is not a detection image`);
    const text = await readFile(join(runs.minbox.out, l.labels as string), 'utf8');
    assert.equal(text.trim().split('\n').length, (l.boxes ?? []).length, `${l.labels}: one line per kept box`);
  }
  assert.deepEqual(crops(mb).map(key).sort(), kept.map(({ k }) => k).sort(), 'crops');
  // The in-process decoder writes the same bytes as the pool.
  const byImage = new Map(crops(all).map((l) => [l.image, l]));
  for (const l of crops(mb).filter((_, i) => i % 5 === 0)) {
    assert.deepEqual(l, byImage.get(l.image));
    assert.deepEqual(await readFile(join(runs.minbox.out, l.image)), await readFile(join(runs.all.out, l.image)), l.image);
  }
});

void test('manifest ↔ disk for every run; a rerun writes nothing; --crop-imgsz and --min-box are part of the configuration', async () => {
  for (const { out, lines, summary } of Object.values(runs)) {
    const named = new Set(lines.flatMap((l) => [l.image, ...(l.labels ? [l.labels] : [])]));
    assert.deepEqual(await listOutputFiles(out), [...named].sort(), `${out}: every file has a line and every line its file`);
    assert.equal(summary.images, lines.length);
  }
  const { out } = runs.default;
  const before = await readFile(join(out, 'manifest.jsonl'), 'utf8');
  const again = await prepareRsna({ rsna, out, val: 0.25, seed: 5, cropImgsz: SIZE, jobs: 2 });
  assert.equal(again.timings.imagesWritten, 0);
  assert.equal(await readFile(join(out, 'manifest.jsonl'), 'utf8'), before);
  await assert.rejects(prepareRsna({ rsna, out, val: 0.25, seed: 5, cropImgsz: 64 }), /another configuration \(cropImgsz 48 → 64\)/);
  await assert.rejects(prepareRsna({ rsna, out, val: 0.25, seed: 5, cropImgsz: SIZE, minBox: 8 }), /another configuration \(minBox 0 → 8\)/);
  await assert.rejects(prepareRsna({ rsna, out: join(dir, 'bad'), cropImgsz: 8 }), /crop imgsz must be a whole number in 16…4096 \(got 8\)/);
  await assert.rejects(prepareRsna({ rsna, out: join(dir, 'bad'), minBox: -1 }), /min box must be a whole number/);
  assert.deepEqual(await readdir(join(out, 'classify-vertebrae')), ['train', 'val']);
});
