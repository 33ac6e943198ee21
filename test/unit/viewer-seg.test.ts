// The viewer's DICOM SEG overlay (segOverlay.ts): SEG files are found beside the series and in small sibling
// folders, their frames land on the slices they were derived from, and each slice's masks equal pydicom's reading
// of the SEG frames (binary 255, fractional the fraction ×255), as rectangles around the non-zero pixels. A SEG of
// another series is not shown; one on another grid is listed with the reason. Fixtures: test/fixtures/make_seg.py
// (highdicom).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { openSeriesFor } from '../../src/core/viewer/openSeries';
import { SeriesSegmentations, siblingSegmentations } from '../../src/core/viewer/segOverlay';
import { PYTHON } from '../fixtures/fixtures';

const skip = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import highdicom'], { timeout: 60_000 }).status === 0 ? false : '.venv with highdicom missing (node scripts/setup-python.mjs)';

interface Made {
  sources: { path: string; sop: string }[];
  segs: { path: string; type: string; frames: { segment: number; source: string }[]; segments: { number: number; label: string }[]; pixels: number[] }[];
  rows: number;
  columns: number;
}
let made: Made;
let dir = '';

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'viewer-seg-'));
  made = JSON.parse(execFileSync(PYTHON, [join(__dirname, '..', 'fixtures', 'make_seg.py'), dir], { encoding: 'utf8', maxBuffer: 1 << 26 })) as Made;
  // The fractional SEG beside the CT slices; the binary one in a sibling folder (TCIA-style series folders).
  copyFileSync(made.segs[2].path, join(dir, 'ct', 'seg_fractional.dcm'));
  mkdirSync(join(dir, 'seg-series'));
  copyFileSync(made.segs[0].path, join(dir, 'seg-series', 'seg_binary.dcm'));
});

test('SEG files beside the series and in sibling folders are found; masks per slice equal pydicom\'s frames', { skip }, async () => {
  const opened = await openSeriesFor(made.sources[2].path);
  assert.equal(opened.entries.length, 5, 'the SEG beside the slices is not a slice');
  assert.deepEqual(opened.segmentations.map((p) => p.split('/').pop()), ['seg_fractional.dcm']);
  const siblings = await siblingSegmentations(join(dir, 'ct'));
  assert.deepEqual(siblings.map((p) => p.split('/').pop()), ['seg_binary.dcm']);
  const segs = await SeriesSegmentations.load([...opened.segmentations, ...siblings], opened.identities, opened.geometry);
  const info = segs.info();
  assert.deepEqual(info.files.map((f) => [f.type, f.slices, f.segments.map((s) => s.label)]), [['FRACTIONAL', 4, ['C1', 'C2']], ['BINARY', 4, ['C1', 'C2']]]);
  assert.deepEqual(info.notes, []);
  const n = made.rows * made.columns;
  for (let k = 0; k < opened.entries.length; k++) {
    const sop = made.sources.find((s) => s.path === opened.entries[k].path)?.sop;
    const masks = await segs.masks(k);
    const expected: { file: number; segment: number; alpha: number[] }[] = [];
    [made.segs[2], made.segs[0]].forEach((m, file) => m.frames.forEach((f, i) => {
      if (f.source !== sop) return;
      const scale = m.type === 'FRACTIONAL' ? 1 : 255; // pydicom gives stored values: 0…255 fractional, 0/1 binary
      const alpha = m.pixels.slice(i * n, (i + 1) * n).map((v) => Math.round(v * scale));
      if (alpha.some((a) => a > 0)) expected.push({ file, segment: f.segment, alpha });
    }));
    assert.equal(masks.length, expected.length, `slice ${k}: masks`);
    masks.forEach((m, j) => {
      const full = new Array<number>(n).fill(0);
      for (let y = 0; y < m.height; y++) for (let x = 0; x < m.width; x++) full[(m.y + y) * made.columns + m.x + x] = m.alpha[y * m.width + x];
      assert.deepEqual([m.file, m.segment], [expected[j].file, expected[j].segment]);
      assert.deepEqual(full, expected[j].alpha, `slice ${k} mask ${j}: alpha`);
      const rowsUsed = new Set(expected[j].alpha.flatMap((a, i) => (a ? [Math.floor(i / made.columns)] : [])));
      assert.equal(m.height, Math.max(...rowsUsed) - Math.min(...rowsUsed) + 1, 'the rectangle is tight');
    });
  }
});

test('a SEG of another grid is listed with the reason; one of another series is not shown', { skip }, async () => {
  const opened = await openSeriesFor(made.sources[0].path);
  const other = opened.identities.map((id) => ({ ...id, sopInstanceUID: `${id.sopInstanceUID}.9` }));
  const none = await SeriesSegmentations.load([made.segs[0].path], other, opened.geometry);
  assert.deepEqual(none.info(), { files: [], notes: [] });
  const bigger = opened.geometry.map((g) => ({ ...g, rows: g.rows * 2 }));
  const refused = await SeriesSegmentations.load([made.segs[0].path], opened.identities, bigger);
  assert.equal(refused.info().files.length, 0);
  assert.match(refused.info().notes.join(), /seg_binary\.dcm: the SEG is 33×47, the slices 66×47; not shown/);
  const broken = await SeriesSegmentations.load([made.sources[0].path], opened.identities, opened.geometry);
  assert.match(broken.info().notes.join(), /not a DICOM SEG/);
});
