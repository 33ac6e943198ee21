/**
 * Series assembly: order along the slice normal (PS3.3 C.7.6.2.1.1: normal = row cosines × column cosines),
 * not file name, Instance Number or z; spacing, gaps, duplicates, mixed orientations, mixed series in one
 * folder, unreadable files skipped with reasons, multi-frame files, headers larger than the first read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DicomError } from '../../src/core/dicom/errors';
import { scanSeries, seriesOf } from '../../src/core/dicom/series';
import { encodeCtSlice, uidFrom, type CtSlice } from '../../src/core/dicom/write';

type Vec = [number, number, number];
const add = (a: Vec, b: Vec, k = 1): Vec => [a[0] + k * b[0], a[1] + k * b[1], a[2] + k * b[2]];

interface FileSpec {
  name: string;
  ipp?: Vec;
  iop?: CtSlice['imageOrientationPatient'];
  instance?: number;
  series?: string;
  frames?: number;
  extra?: CtSlice['extra'];
}

async function makeFolder(t: { after: (fn: () => Promise<void>) => void }, files: FileSpec[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'series-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await Promise.all(files.map((f, i) => writeFile(join(dir, f.name), encodeCtSlice({
    rows: 4, columns: 4, frames: f.frames, pixelData: new Uint16Array(16 * (f.frames ?? 1)).fill(i),
    imagePositionPatient: f.ipp, imageOrientationPatient: f.ipp ? (f.iop ?? [1, 0, 0, 0, 1, 0]) : f.iop,
    pixelSpacing: [0.5, 0.5], instanceNumber: f.instance,
    sopInstanceUID: uidFrom(dir, f.name), seriesInstanceUID: uidFrom('series', f.series ?? 'A'), studyInstanceUID: uidFrom('study'),
    extra: f.extra,
  }))));
  return dir;
}

/** Deterministic shuffle (LCG), so a failure can be reproduced. */
function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const names = (s: { entries: { path: string }[] }) => s.entries.map((e) => basename(e.path));

void test('shuffled names and instance numbers: ordered by position, spacing is the median gap', async (t) => {
  const order = shuffled(Array.from({ length: 12 }, (_, k) => k), 42);
  const dir = await makeFolder(t, order.map((k, i) => ({ name: `f${i}.dcm`, ipp: [-10, 5, -40 + 2 * k], instance: 100 - ((k * 7) % 12) })));
  const { series, skipped } = await scanSeries(dir);
  assert.deepEqual(skipped, []);
  assert.equal(series.length, 1);
  const s = series[0];
  assert.equal(s.orderedBy, 'position');
  assert.deepEqual(s.entries.map((e) => e.position), Array.from({ length: 12 }, (_, k) => -40 + 2 * k));
  assert.deepEqual(names(s), Array.from({ length: 12 }, (_, k) => `f${order.indexOf(k)}.dcm`));
  assert.equal(s.spacing, 2);
  assert.deepEqual([s.gaps, s.duplicates, s.warnings], [[], [], []]);
  assert.deepEqual(s.slices.map((sl) => [sl.fileIndex, sl.frame]), Array.from({ length: 12 }, (_, k) => [k, 0]));
});

void test('tilted orientation: sorted along the normal, not along z', async (t) => {
  const a = (25 * Math.PI) / 180;
  const row: Vec = [1, 0, 0];
  const col: Vec = [0, Math.cos(a), Math.sin(a)];
  const normal: Vec = [0, -Math.sin(a), Math.cos(a)]; // row × col
  // In-plane jitter along the column direction makes z non-monotonic while the normal distance is 3k.
  const files = Array.from({ length: 8 }, (_, k) => ({
    name: `${8 - k}.dcm`, ipp: add(add([0, 0, 100], normal, 3 * k), col, ((k * 5) % 3) * 20), iop: [...row, ...col] as CtSlice['imageOrientationPatient'],
  }));
  const zOrder = [...files].sort((p, q) => (p.ipp as Vec)[2] - (q.ipp as Vec)[2]).map((f) => f.name);
  assert.notDeepEqual(zOrder, files.map((f) => f.name), 'the case must separate normal order from z order');
  const dir = await makeFolder(t, files);
  const [s] = (await scanSeries(dir)).series;
  assert.deepEqual(names(s), files.map((f) => f.name));
  assert.ok(Math.abs((s.spacing as number) - 3) < 1e-4, `spacing ${s.spacing}`);
  s.normal?.forEach((v, i) => assert.ok(Math.abs(v - normal[i]) < 1e-6));
  assert.deepEqual(s.warnings, []);
});

void test('gaps wider than 1.5× the median and duplicate positions are reported', async (t) => {
  const z = [0, 2, 4, 4, 6, 12, 14, 16];
  const dir = await makeFolder(t, z.map((v, i) => ({ name: `s${i}.dcm`, ipp: [0, 0, v], instance: i + 1 })));
  const [s] = (await scanSeries(dir)).series;
  assert.equal(s.spacing, 2);
  assert.deepEqual(s.duplicates, [[2, 3]]);
  assert.deepEqual(s.gaps, [{ after: 4, distance: 6 }]);
  assert.equal(s.warnings.length, 2);
  assert.match(s.warnings.join('\n'), /1 duplicate position: s2\.dcm and s3\.dcm at 4\.00 mm/);
  assert.match(s.warnings.join('\n'), /1 gap wider than 1\.5× the median spacing 2\.000 mm: 6\.00 mm after slice 4/);
});

void test('two series in one folder, plus files that are not DICOM images: skipped with reasons', async (t) => {
  const dir = await makeFolder(t, [
    ...[0, 1, 2].map((k) => ({ name: `a${k}.dcm`, ipp: [0, 0, k] as Vec, series: 'A' })),
    ...[0, 1, 2, 3].map((k) => ({ name: `b${k}.dcm`, ipp: [0, 0, 5 * k] as Vec, series: 'B' })),
  ]);
  const valid = encodeCtSlice({ rows: 4, columns: 4, pixelData: new Uint16Array(16), sopInstanceUID: '1.2', seriesInstanceUID: '1.2', studyInstanceUID: '1.2' });
  await writeFile(join(dir, 'notes.txt'), 'hello, this is not DICOM at all, just some text that is long enough to have a byte 128 in it'.repeat(3));
  await writeFile(join(dir, 'empty.dcm'), new Uint8Array(0));
  await writeFile(join(dir, 'cut.dcm'), valid.subarray(0, 300));
  await writeFile(join(dir, 'png.dcm'), Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108000000003a7e9b55', 'hex'));
  await mkdir(join(dir, 'sub'));
  const { series, skipped } = await scanSeries(dir);
  assert.deepEqual(series.map((s) => [s.seriesInstanceUID, s.entries.length]).sort(),
    [[uidFrom('series', 'A'), 3], [uidFrom('series', 'B'), 4]].sort());
  assert.deepEqual(skipped.map((k) => [basename(k.path), k.code]),
    [['cut.dcm', 'TRUNCATED'], ['empty.dcm', 'NOT_DICOM'], ['notes.txt', 'NOT_DICOM'], ['png.dcm', 'NOT_DICOM']]);
  for (const k of skipped) assert.ok(k.reason.length > 5 && !k.reason.includes('\n'), k.reason);
  assert.equal(series.find((s) => s.entries.length === 4)?.spacing, 5);
});

void test('mixed orientations are a warning; the majority orientation defines the normal', async (t) => {
  const dir = await makeFolder(t, [
    ...[0, 1, 2, 3].map((k) => ({ name: `${k}.dcm`, ipp: [0, 0, k] as Vec })),
    { name: 'odd.dcm', ipp: [0, 0, 1.5], iop: [1, 0, 0, 0, 0, -1] },
  ]);
  const [s] = (await scanSeries(dir)).series;
  assert.deepEqual(s.normal, [0, 0, 1]);
  assert.match(s.warnings.join('\n'), /mixed orientations: 1 of 5 files differ/);
  assert.deepEqual(names(s), ['0.dcm', '1.dcm', 'odd.dcm', '2.dcm', '3.dcm']);
});

void test('without positions: Instance Number, then natural file-name order', async (t) => {
  const byInstance = await makeFolder(t, [3, 1, 2].map((n, i) => ({ name: `x${i}.dcm`, instance: n })));
  const [a] = (await scanSeries(byInstance)).series;
  assert.equal(a.orderedBy, 'instanceNumber');
  assert.deepEqual(names(a), ['x1.dcm', 'x2.dcm', 'x0.dcm']);
  assert.match(a.warnings[0], /3 of 3 files lack Image Position\/Orientation \(Patient\); ordered by Instance Number/);
  assert.equal(a.spacing, undefined);
  const byName = await makeFolder(t, ['10.dcm', '2.dcm', '1.dcm'].map((name) => ({ name })));
  const [b] = (await scanSeries(byName)).series;
  assert.equal(b.orderedBy, 'fileName');
  assert.deepEqual(names(b), ['1.dcm', '2.dcm', '10.dcm']);
});

void test('multi-frame files are one entry with N frames; seriesOf gives the slice index of a file', async (t) => {
  const dir = await makeFolder(t, [
    { name: 'b.dcm', ipp: [0, 0, 10], frames: 3 },
    { name: 'a.dcm', ipp: [0, 0, 0] },
    { name: 'c.dcm', ipp: [0, 0, 20] },
  ]);
  const [s] = (await scanSeries(dir)).series;
  assert.deepEqual(names(s), ['a.dcm', 'b.dcm', 'c.dcm']);
  assert.deepEqual(s.slices.map((sl) => [basename(sl.path), sl.fileIndex, sl.frame]),
    [['a.dcm', 0, 0], ['b.dcm', 1, 0], ['b.dcm', 1, 1], ['b.dcm', 1, 2], ['c.dcm', 2, 0]]);
  const of = await seriesOf(join(dir, 'c.dcm'));
  assert.deepEqual([of.index, of.entry, of.series.slices.length], [4, 2, 5]);
  assert.equal((await seriesOf(join(dir, 'b.dcm'))).index, 1);
});

void test('seriesOf on an unreadable file throws its DicomError naming it; bad folder and options', async (t) => {
  const dir = await makeFolder(t, [{ name: 'ok.dcm', ipp: [0, 0, 0] }]);
  const bad = join(dir, 'bad.dcm');
  await writeFile(bad, 'not dicom');
  await assert.rejects(seriesOf(bad), (err: unknown) => err instanceof DicomError && err.code === 'NOT_DICOM' && err.file === bad);
  await assert.rejects(seriesOf(join(dir, 'missing.dcm')), (err: unknown) => err instanceof DicomError && err.code === 'IO');
  await assert.rejects(scanSeries(join(dir, 'nope')), (err: unknown) => err instanceof DicomError && err.code === 'IO' && /no such folder/.test(err.message));
  await assert.rejects(scanSeries(dir, { concurrency: 0 }), (err: unknown) => err instanceof DicomError && err.code === 'BAD_ARGUMENT');
});

void test('a header larger than the first read (100 KB private element) still joins its series', async (t) => {
  const big = new Uint8Array(100_000).fill(7);
  const dir = await makeFolder(t, [
    { name: 'big.dcm', ipp: [0, 0, 1], extra: [{ tag: 0x00090010, vr: 'LO', value: 'TEST' }, { tag: 0x00091001, vr: 'OB', value: big }] },
    { name: 'small.dcm', ipp: [0, 0, 0] },
  ]);
  const { series, skipped } = await scanSeries(dir);
  assert.deepEqual(skipped, []);
  assert.deepEqual(names(series[0]), ['small.dcm', 'big.dcm']);
});

void test('recursive scan finds series in sub-folders; the default does not descend', async (t) => {
  const dir = await makeFolder(t, [{ name: 'top.dcm', ipp: [0, 0, 0], series: 'T' }]);
  await mkdir(join(dir, 'inner'));
  await writeFile(join(dir, 'inner', 'in.dcm'), encodeCtSlice({ rows: 2, columns: 2, pixelData: new Uint16Array(4), sopInstanceUID: '1.3', seriesInstanceUID: '1.3', studyInstanceUID: '1.3' }));
  assert.equal((await scanSeries(dir)).series.length, 1);
  assert.equal((await scanSeries(dir, { recursive: true })).series.length, 2);
});

void test('300 files scan (figure reported, not asserted)', async (t) => {
  const dir = await makeFolder(t, Array.from({ length: 300 }, (_, k) => ({ name: `${k + 1}.dcm`, ipp: [0, 0, -k] as Vec, instance: k + 1 })));
  const started = performance.now();
  const [s] = (await scanSeries(dir)).series;
  t.diagnostic(`scanned 300 small files in ${(performance.now() - started).toFixed(0)} ms`);
  assert.equal(s.entries.length, 300);
  assert.equal(basename(s.entries[0].path), '300.dcm');
});
