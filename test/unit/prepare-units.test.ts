/**
 * The parts of `dicom-ml prepare` one at a time: CSV errors name file and line; the study split is seeded,
 * disjoint and proportional; windowing from HU equals render.ts's renderSlice byte for byte; mask → slice
 * mapping through a hand-written affine (and its refusals); the CLI's usage errors, one-line input errors and
 * --json summary. No Python needed here (prepare.test.ts has the nibabel-made masks).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCsv, readCsv } from '../../src/core/dataset/prepare/csv';
import { affineMapping, boneCount, flipSliceAxis, labelBoxes, labelVolume, sameMapping, sampleSlice, voxelAt, zRuleMapping, type SliceGeometry, type SliceMap } from '../../src/core/dataset/prepare/maskMap';
import { dataYaml, labelFileText } from '../../src/core/dataset/prepare/output';
import { readRsna } from '../../src/core/dataset/prepare/rsna';
import { windowSlice } from '../../src/core/dataset/prepare/slices';
import { sampleIndices, seededRandom, splitStudies } from '../../src/core/dataset/prepare/split';
import { writeRsnaCsvs, writeSyntheticStudy } from '../../src/core/dataset/prepare/synthetic';
import { toManifestBox } from '../../src/core/dataset/prepare/study';
import { DicomError, formatUserError } from '../../src/core/dicom/errors';
import type { ImageInfo } from '../../src/core/dicom/image';
import type { NiftiVolume } from '../../src/core/dicom/nifti';
import { renderSlice } from '../../src/core/dicom/render';
import { prepare } from '../../src/cli/commands/prepare';
import { UsageError } from '../../src/cli/args';
import type { CommandContext } from '../../src/cli/context';

void test('CSV: quoted fields, CRLF and BOM are read; every problem names the file and the line', async () => {
  const t = parseCsv('a,b\r\n"x, ""y""",2\r\n\r\n3,4', 'f.csv', ['a', 'b']);
  assert.deepEqual(t.rows.map((r) => [r.line, r.values.a, r.values.b]), [[2, 'x, "y"', '2'], [4, '3', '4']]);
  const fails = (text: string, re: RegExp) => assert.throws(() => parseCsv(text, 'f.csv', ['a', 'b']), (e: DicomError) => e instanceof DicomError && e.file === 'f.csv' && re.test(e.message));
  fails('a,c\n1,2', /^line 1: header lacks column b/);
  fails('a,b\n1,2\n1,2,3', /^line 3: 3 fields, the header has 2/);
  fails('a,b\n1,"2\n', /^line 2: a quoted field is never closed/);
  fails('', /^line 1: empty file/);
  await assert.rejects(readCsv('/nonexistent/train.csv', ['a']), (e: DicomError) => e.code === 'IO' && e.file === '/nonexistent/train.csv');
});

void test('RSNA reader: a garbled label line is one readable error with file and line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'prepare-rsna-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeSyntheticStudy(dir, { uid: '1.2.3', slices: 3, size: 32 });
  await writeRsnaCsvs(dir, [{ uid: '1.2.3', patientOverall: 1 }], [{ uid: '1.2.3', slice: 2, x: 1, y: 2, width: 3, height: 4 }]);
  const ok = await readRsna(dir);
  assert.equal(ok.studies[0].fractures.get(2)?.length, 1);
  assert.match(ok.warnings.join(' '), /no segmentations\/ folder/);
  await writeFile(join(dir, 'train_bounding_boxes.csv'), 'StudyInstanceUID,x,y,width,height,slice_number\n1.2.3,1,2,3,4,2\n1.2.3,1,two,3,4,2\n');
  await assert.rejects(readRsna(dir), (e: unknown) => /train_bounding_boxes\.csv: line 3: y "two" is not a number$/.test(formatUserError(e)));
  await writeFile(join(dir, 'train_bounding_boxes.csv'), 'StudyInstanceUID,x,y,width,height,slice_number\n1.2.3,1,2,3,4,0\n');
  await assert.rejects(readRsna(dir), /line 2: slice_number "0" is not a whole number ≥ 1/);
  await writeFile(join(dir, 'train.csv'), 'StudyInstanceUID,patient_overall,C1,C2,C3,C4,C5,C6,C7\n1.2.3,2,0,0,0,0,0,0,0\n');
  await assert.rejects(readRsna(dir), (e: unknown) => /train\.csv: line 2: patient_overall "2" is not 0 or 1$/.test(formatUserError(e)));
  await rm(join(dir, 'train.csv'));
  await assert.rejects(readRsna(dir), (e: unknown) => /train\.csv: no such file$/.test(formatUserError(e)));
});

void test('split: by study, seeded, proportional over strata, both sides non-empty', () => {
  const items = Array.from({ length: 50 }, (_, i) => ({ uid: `s${i}`, stratum: i < 10 ? 'seg' : 'noseg' }));
  const a = splitStudies(items, 0.2, 3);
  assert.deepEqual(splitStudies([...items].reverse(), 0.2, 3), a, 'independent of input order');
  assert.notDeepEqual(splitStudies(items, 0.2, 4), a, 'the seed matters');
  const val = items.filter((it) => a.get(it.uid) === 'val');
  assert.equal(val.length, 10);
  assert.equal(val.filter((it) => it.stratum === 'seg').length, 2, 'strata spread proportionally');
  const two = splitStudies([{ uid: 'x', stratum: '' }, { uid: 'y', stratum: '' }], 0.2, 1);
  assert.deepEqual([...two.values()].sort(), ['train', 'val']);
  assert.deepEqual([...splitStudies([{ uid: 'x', stratum: '' }], 0.5, 1).values()], ['train']);
  // val = 1: a holdout set (every study in val), what models:train evaluates the default models on.
  assert.ok([...splitStudies(items, 1, 3).values()].every((s) => s === 'val'));
  const picks = sampleIndices(100, 30, seededRandom(1, 'x'));
  assert.equal(new Set(picks).size, 30);
  assert.ok(picks.every((p, i) => p >= 0 && p < 100 && (i === 0 || p > picks[i - 1])));
});

const baseInfo: ImageInfo = {
  transferSyntaxUID: '1.2.840.10008.1.2.1', rows: 4, columns: 8, frames: 1, samplesPerPixel: 1, planarConfiguration: 0,
  photometricInterpretation: 'MONOCHROME2', bitsAllocated: 16, bitsStored: 16, highBit: 15, pixelRepresentation: 1,
  rescaleSlope: 1, rescaleIntercept: 0, voiLutFunction: 'LINEAR',
};

void test('windowSlice (from HU) equals renderSlice byte for byte: linear, MONOCHROME1, padding, sigmoid, rescale', () => {
  const stored = Int16Array.from({ length: 32 }, (_, i) => -2000 + i * 150);
  const cases: [Partial<ImageInfo>, { center: number; width: number }][] = [
    [{}, { center: 500, width: 2000 }], [{}, { center: 40, width: 1 }], [{ photometricInterpretation: 'MONOCHROME1' }, { center: 500, width: 2000 }],
    [{ pixelPaddingValue: -2000, pixelPaddingRangeLimit: -1700 }, { center: 0, width: 4000 }], [{ voiLutFunction: 'SIGMOID' }, { center: 300, width: 900 }],
    [{ rescaleSlope: 0.5, rescaleIntercept: -1024.25, pixelPaddingValue: -1850 }, { center: -600, width: 1500 }], [{}, { center: 499.5, width: 2 }],
  ];
  for (const [extra, win] of cases) {
    const info = { ...baseInfo, ...extra };
    const hu = Float32Array.from(stored, (s) => s * info.rescaleSlope + info.rescaleIntercept);
    assert.deepEqual(windowSlice(hu, info, win), renderSlice(hu, stored, info, win).data, JSON.stringify(extra));
  }
});

/** A hand-made 6×5×4 label volume with an affine: i → −2 mm x (RAS), j → +3 mm y, k → +4 mm z. */
function handVolume(): NiftiVolume {
  const dims = [6, 5, 4];
  const data = new Uint8Array(6 * 5 * 4);
  data[2 + 6 * (1 + 5 * 3)] = 3; // voxel (2, 1, 3) = label 3
  data[4 + 6 * (3 + 5 * 0)] = 7; // voxel (4, 3, 0) = label 7
  return {
    dims, datatype: 2, datatypeName: 'uint8', pixdim: [2, 3, 4], sclSlope: 0, sclInter: 0, scaled: false, data,
    affine: [[-2, 0, 0, 10], [0, 3, 0, -20], [0, 0, 4, 30], [0, 0, 0, 1]], affineSource: 'sform', qformCode: 0, sformCode: 1, bigEndian: false,
  };
}

/** The DICOM stack on the same grid: columns along LPS +x (= RAS i), rows along LPS +y = RAS −y (j falls), z falling. */
function handGeometry(): SliceGeometry[] {
  // Voxel (i, j, k) ↔ RAS (10 − 2i, −20 + 3j, 30 + 4k) ↔ LPS (2i − 10, 20 − 3j, 30 + 4k). Pixel (r, c) of slice n:
  // c = i, r = 4 − j; slice_number n = 1…4 with k = 4 − n (z falls as n rises).
  return [1, 2, 3, 4].map((n) => ({
    number: n, rows: 5, columns: 6, imagePositionPatient: [-10, 20 - 3 * 4, 30 + 4 * (4 - n)] as [number, number, number],
    imageOrientationPatient: [1, 0, 0, 0, 1, 0] as [number, number, number, number, number, number], pixelSpacing: [3, 2] as [number, number],
  }));
}

void test('mask → slice through the affine: the voxel under every pixel centre, and the cross-check refusals', () => {
  const vol = handVolume();
  const geom = handGeometry();
  const a = affineMapping(vol, geom);
  assert.ok(a.mapping, a.why);
  const lv = labelVolume(vol);
  // label 3 at voxel (2, 1, 3): k = 3 → slice n = 1; c = 2, r = 4 − 1 = 3.
  const s1 = sampleSlice(lv, a.mapping.slices[0], 5, 6);
  assert.equal(s1[3 * 6 + 2], 3);
  assert.equal(s1.reduce((n, v) => n + (v ? 1 : 0), 0), 1);
  assert.deepEqual(labelBoxes(s1, 5, 6), [{ label: 3, x0: 2, y0: 3, x1: 2, y1: 3, pixels: 1 }]);
  // label 7 at voxel (4, 3, 0): slice n = 4, c = 4, r = 1.
  assert.equal(sampleSlice(lv, a.mapping.slices[3], 5, 6)[1 * 6 + 4], 7);
  assert.match(a.notes.join(' '), /axis 3, index rising with z/);
  // This grid is the RSNA storage order (columns, rows reversed, slices with z rising): the z-rule agrees.
  const rule = zRuleMapping(vol, geom);
  assert.ok(rule.mapping && sameMapping(a.mapping, rule.mapping, 5, 6));
  // Refusals: no orientation, a translated affine, a different slice count.
  assert.match(affineMapping({ ...vol, affineSource: 'pixdim' }, geom).why ?? '', /no orientation/);
  assert.match(affineMapping({ ...vol, affine: [[-2, 0, 0, 110], [0, 3, 0, -20], [0, 0, 4, 30], [0, 0, 0, 1]] }, geom).why ?? '', /^extent: pixel/);
  assert.match(affineMapping(vol, geom.slice(0, 3)).why ?? '', /^slice count: the mask has 4 along its slice axis 3, the series 3/);
  assert.match(zRuleMapping(vol, geom.slice(0, 3)).why ?? '', /needs mask dims columns×rows×slices = 6×5×3, the mask is 6×5×4/);
  // Reversing the slice axis moves label 3 from slice 1 to slice 4.
  const flipped = flipSliceAxis(a.mapping, vol.dims);
  assert.equal(sampleSlice(lv, flipped.slices[3], 5, 6)[3 * 6 + 2], 3);
});

void test('YOLO boxes: pixel-edge extents, normalised; label file and data.yaml text', () => {
  const b = toManifestBox({ label: 2, x0: 10, y0: 20, x1: 29, y1: 59, pixels: 1 }, 100, 200);
  assert.deepEqual([b.class, b.name, b.cx, b.cy, b.w, b.h], [1, 'C2', 0.1, 0.4, 0.1, 0.4]);
  assert.equal(labelFileText([b]), '1 0.100000 0.400000 0.100000 0.400000\n');
  const yaml = dataYaml('/data/out/detect', true);
  assert.match(yaml, /^path: "\/data\/out\/detect"$/m);
  assert.match(yaml, /^names:\n {2}0: C1\n(.*\n){5} {2}6: C7$/m);
  assert.match(dataYaml('/x', false), /^val: images\/train/m);
});

function ctx(options: CommandContext['options']): CommandContext & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { positionals: [], options, json: Boolean(options.json), stdout: (l) => out.push(l), stderr: (l) => err.push(l), out, err };
}

void test('CLI: usage errors, a one-line input error, and a classification-only run with --json', async (t) => {
  await assert.rejects(prepare(ctx({ out: '/tmp/x' })), (e: UsageError) => e instanceof UsageError && /--rsna DIR is required/.test(e.message));
  await assert.rejects(prepare(ctx({ rsna: '/tmp/x', out: '/tmp/y', val: '1.5' })), /--val must be a number in 0…1, got "1.5"/);
  await assert.rejects(prepare(ctx({ rsna: '/tmp/x', out: '/tmp/y', window: 'wide' })), /--window: window "wide" is not C,W/);
  await assert.rejects(prepare(ctx({ rsna: '/tmp/x', out: '/tmp/y', 'neg-from': 'some' })), /--neg-from must be all or healthy/);
  await assert.rejects(prepare(ctx({ rsna: '/tmp/x', out: '/tmp/y', 'crop-imgsz': '8' })), /--crop-imgsz must be 16…4096, got 8/);
  await assert.rejects(prepare(ctx({ rsna: '/tmp/x', out: '/tmp/y', 'min-box': '1.5' })), /--min-box must be a whole number ≥ 0, got "1.5"/);
  const dir = await mkdtemp(join(tmpdir(), 'prepare-cli-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const rsna = join(dir, 'rsna');
  await assert.rejects(prepare(ctx({ rsna, out: join(dir, 'out') })), (e: unknown) => formatUserError(e) === `${rsna}: no such folder (expected the RSNA layout: train.csv, train_bounding_boxes.csv, train_images/, segmentations/)`);
  for (const [i, uid] of ['1.2.1', '1.2.2', '1.2.3'].entries()) await writeSyntheticStudy(rsna, { uid, slices: 6, size: 32, seed: i + 1 });
  await writeRsnaCsvs(rsna, [{ uid: '1.2.1', patientOverall: 1 }, { uid: '1.2.2', patientOverall: 0 }, { uid: '1.2.3', patientOverall: 1 }],
    [{ uid: '1.2.1', slice: 2, x: 1, y: 1, width: 4, height: 4 }, { uid: '1.2.3', slice: 5, x: 1, y: 1, width: 4, height: 4 }]);
  await assert.rejects(prepare(ctx({ rsna, out: join(rsna, 'train_images', 'x') })), /sources are never written/);
  const c = ctx({ rsna, out: join(dir, 'out'), json: true, 'cls-imgsz': '64', val: '0.34', 'neg-ratio': '2', 'neg-from': 'healthy', jobs: '1' });
  await prepare(c);
  const summary = JSON.parse(c.out[0]);
  assert.equal(summary.complete, true);
  assert.equal(summary.balance.train.fracture + summary.balance.val.fracture, 2);
  assert.equal(summary.detect.segmented, 0);
  assert.match(c.err.join('\n'), /^split +studies +detect imgs/m);
  assert.match(c.err.join('\n'), /^\[3\/3\] /m, 'a progress line per study when stderr is not a terminal');
});

void test('sampleSlice and boneCount: fast separable paths equal a per-pixel nearest-voxel reference, oblique maps too', () => {
  const dims: [number, number, number] = [7, 6, 5];
  const labels = Uint8Array.from({ length: 7 * 6 * 5 }, (_, i) => (i * 37) % 9);
  const volume = { dims, labels };
  const reference = (map: SliceMap, rows: number, columns: number) => {
    const out = new Uint8Array(rows * columns);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < columns; c++) {
        const v = voxelAt(map, r, c).map((x) => Math.round(x));
        const inside = v.every((x, i) => x >= 0 && x < dims[i]);
        out[r * columns + c] = inside ? labels[v[0] + 7 * (v[1] + 6 * v[2])] : 0;
      }
    }
    return out;
  };
  const maps: SliceMap[] = [
    { base: [0, 5, 2], dcol: [1, 0, 0], drow: [0, -1, 0] }, // RSNA-like, contiguous rows
    { base: [6, 0, 4], dcol: [-1, 0, 0], drow: [0, 0, -1] }, // columns reversed, rows along z
    { base: [-1, 1, 1], dcol: [0, 0.5, 0], drow: [0.75, 0, 0] }, // resampled, partly outside
    { base: [0.3, 0.2, 2.1], dcol: [0.866, 0.5, 0], drow: [-0.5, 0.866, 0.1] }, // oblique: no separable path
  ];
  const hu = Float32Array.from({ length: 9 * 8 }, (_, i) => (i % 3) * 300);
  for (const map of maps) {
    const want = reference(map, 9, 8);
    assert.deepEqual(sampleSlice(volume, map, 9, 8), want, JSON.stringify(map));
    let labelled = 0;
    let onBone = 0;
    want.forEach((l, i) => { if (l) { labelled++; if (hu[i] > 200) onBone++; } });
    assert.deepEqual(boneCount(volume, map, hu, 9, 8, 200), { labelled, onBone });
  }
});
