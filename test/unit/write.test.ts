/**
 * The Part 10 writer: files read back by our parser and by pydicom (.venv, reading_validation_mode RAISE so
 * VR violations such as odd lengths or over-long DS fail) with equal attribute and pixel values; PS3.10 7.1
 * structure (preamble, DICM, group length, sorted elements, even lengths); validation errors at the boundary.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DataSet } from 'dicom-parser';
import { DicomError } from '../../src/core/dicom/errors';
import { loadImage, loadStored } from '../../src/core/dicom/load';
import { parseDicom } from '../../src/core/dicom/parse';
import { CT_IMAGE_STORAGE, encodeCtSlice, encodePart10, formatDS, newUid, uidFrom, type CtSlice } from '../../src/core/dicom/write';

const ROOT = resolve(__dirname, '../..');
const PYTHON = join(ROOT, '.venv/bin/python');

function ramp(n: number, f: (i: number) => number, signed: boolean): Uint16Array | Int16Array {
  const out = signed ? new Int16Array(n) : new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = f(i);
  return out;
}

function slice(over: Partial<CtSlice> = {}): CtSlice {
  const rows = 5;
  const columns = 7;
  return {
    rows, columns,
    pixelData: ramp(rows * columns, (i) => (i * 97) % 4096, false),
    bitsStored: 12,
    rescaleIntercept: -1024, rescaleSlope: 1,
    windowCenter: [500, 40], windowWidth: [2000, 400],
    imagePositionPatient: [-125.5, -99.75, 1 / 3],
    imageOrientationPatient: [1, 0, 0, 0, 0.9396926207859084, -0.3420201433256687],
    pixelSpacing: [0.488281, 0.5],
    sliceThickness: 2.5,
    instanceNumber: 12,
    sopInstanceUID: uidFrom('write-test', 'sop'),
    seriesInstanceUID: uidFrom('write-test', 'series'),
    studyInstanceUID: uidFrom('write-test', 'study'),
    frameOfReferenceUID: uidFrom('write-test', 'for'),
    patientID: 'DEMO-001',
    patientName: 'Demo^Neck',
    ...over,
  };
}

const PYDICOM_READ = `
import json, sys
import pydicom
from pydicom import config
config.settings.reading_validation_mode = config.RAISE
out = []
for path in sys.argv[1:]:
    ds = pydicom.dcmread(path)  # pydicom 3: requires the preamble and DICM prefix
    f = lambda v: [float(x) for x in v]
    out.append({
        'transferSyntax': str(ds.file_meta.TransferSyntaxUID),
        'groupLength': int(ds.file_meta.FileMetaInformationGroupLength),
        'sopClass': str(ds.SOPClassUID), 'sop': str(ds.SOPInstanceUID), 'series': str(ds.SeriesInstanceUID),
        'study': str(ds.StudyInstanceUID), 'for': str(ds.FrameOfReferenceUID), 'modality': ds.Modality,
        'patientID': ds.PatientID, 'patientName': str(ds.PatientName),
        'ipp': f(ds.ImagePositionPatient), 'iop': f(ds.ImageOrientationPatient), 'spacing': f(ds.PixelSpacing),
        'thickness': float(ds.SliceThickness), 'instance': int(ds.InstanceNumber),
        'rows': ds.Rows, 'columns': ds.Columns, 'bitsStored': ds.BitsStored, 'pixelRepresentation': ds.PixelRepresentation,
        'intercept': float(ds.RescaleIntercept), 'slope': float(ds.RescaleSlope),
        'wc': f(ds.WindowCenter), 'ww': f(ds.WindowWidth), 'frames': int(ds.get('NumberOfFrames', 1)),
        'pixels': ds.pixel_array.ravel().tolist(),
    })
print(json.dumps(out))
`;

function hasPydicom(): boolean {
  return existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { timeout: 30_000 }).status === 0;
}

void test('written CT files read back equal in pydicom (validation mode RAISE) and in our parser', { skip: !hasPydicom() && 'needs .venv with pydicom (node scripts/setup-python.mjs)' }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'write-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const cases: CtSlice[] = [
    slice(),
    slice({ pixelData: ramp(35, (i) => i * 911 - 16000, true), bitsStored: 16, rescaleIntercept: 0, sopInstanceUID: newUid() }),
    slice({ frames: 3, pixelData: ramp(105, (i) => i * 31, false), sopInstanceUID: newUid() }),
  ];
  const paths = cases.map((_, i) => join(dir, `${i}.dcm`));
  await Promise.all(cases.map((c, i) => writeFile(paths[i], encodeCtSlice(c))));
  const py = spawnSync(PYTHON, ['-c', PYDICOM_READ, ...paths], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(py.status, 0, py.stderr);
  const read = JSON.parse(py.stdout) as Record<string, unknown>[];
  for (const [i, c] of cases.entries()) {
    const p = read[i];
    assert.equal(p.transferSyntax, '1.2.840.10008.1.2.1');
    assert.equal(p.sopClass, CT_IMAGE_STORAGE);
    assert.equal(p.sop, c.sopInstanceUID);
    assert.equal(p.series, c.seriesInstanceUID);
    assert.equal(p.study, c.studyInstanceUID);
    assert.equal(p.for, c.frameOfReferenceUID);
    assert.equal(p.modality, 'CT');
    assert.equal(p.patientID, c.patientID);
    assert.equal(p.patientName, c.patientName);
    assert.deepEqual(p.ipp, [-125.5, -99.75, Number(formatDS(1 / 3))]);
    assert.deepEqual(p.iop, c.imageOrientationPatient?.map((v) => Number(formatDS(v))));
    assert.deepEqual(p.spacing, c.pixelSpacing);
    assert.equal(p.thickness, 2.5);
    assert.equal(p.instance, 12);
    assert.deepEqual([p.rows, p.columns, p.frames], [5, 7, c.frames ?? 1]);
    assert.equal(p.bitsStored, c.bitsStored);
    assert.equal(p.pixelRepresentation, c.pixelData instanceof Int16Array ? 1 : 0);
    assert.deepEqual([p.intercept, p.slope, p.wc, p.ww], [c.rescaleIntercept, 1, [500, 40], [2000, 400]]);
    assert.deepEqual(p.pixels, [...c.pixelData], 'pydicom pixel_array equals what was written');

    const ours = await loadImage(paths[i]);
    const { info } = ours;
    assert.deepEqual([info.rows, info.columns, info.frames, info.bitsStored, info.highBit], [5, 7, c.frames ?? 1, c.bitsStored, (c.bitsStored ?? 16) - 1]);
    assert.deepEqual(info.imagePositionPatient, p.ipp);
    assert.deepEqual(info.imageOrientationPatient, p.iop);
    assert.deepEqual(info.pixelSpacing, p.spacing);
    assert.deepEqual([info.rescaleIntercept, info.rescaleSlope, info.windowCenter, info.windowWidth], [c.rescaleIntercept, 1, 500, 2000]);
    assert.deepEqual([info.sopInstanceUID, info.seriesInstanceUID, info.studyInstanceUID, info.instanceNumber, info.modality, info.sliceThickness],
      [c.sopInstanceUID, c.seriesInstanceUID, c.studyInstanceUID, 12, 'CT', 2.5]);
    const frameSize = 35;
    for (let f = 0; f < (c.frames ?? 1); f++) {
      assert.deepEqual([...await loadStored(ours, f)], [...c.pixelData.subarray(f * frameSize, (f + 1) * frameSize)], `frame ${f}`);
    }
  }
});

void test('PS3.10 structure: preamble, DICM, meta group length, sorted tags, even lengths, UI padded with NUL', () => {
  const bytes = encodeCtSlice(slice());
  assert.ok(bytes.subarray(0, 128).every((b) => b === 0));
  assert.equal(String.fromCharCode(...bytes.subarray(128, 132)), 'DICM');
  const file = parseDicom(bytes, 'x.dcm');
  const ds: DataSet = file.dataSet;
  const group2 = Object.values(ds.elements).filter((el) => el.tag.startsWith('x0002') && el.tag !== 'x00020000');
  const end = Math.max(...group2.map((el) => el.dataOffset + el.length));
  assert.equal(ds.uint32('x00020000'), end - (ds.elements.x00020000.dataOffset + 4), 'group length counts the bytes after it');
  const inFileOrder = Object.values(ds.elements).sort((a, b) => a.dataOffset - b.dataOffset).map((el) => el.tag);
  assert.deepEqual(inFileOrder, [...inFileOrder].sort(), 'elements in ascending tag order (PS3.5 7.1)');
  assert.equal(inFileOrder.length, 7 + 28, '7 meta + 28 data set elements');
  for (const el of Object.values(ds.elements)) assert.equal(el.length % 2, 0, `${el.tag} has even length`);
  const sop = ds.elements.x00080018;
  const raw = bytes.subarray(sop.dataOffset, sop.dataOffset + sop.length);
  if (raw.length !== slice().sopInstanceUID.length) assert.equal(raw[raw.length - 1], 0, 'odd UID padded with NUL');
  const pn = ds.elements.x00100010; // 'Demo^Neck' is 9 characters: padded with a space
  assert.equal(pn.length, 10);
  assert.equal(bytes[pn.dataOffset + 9], 0x20);
});

void test('sequences: defined and undefined length, nested, parse back', () => {
  const item = (uid: string) => [{ tag: 0x00081150, vr: 'UI' as const, value: '1.2.840.10008.5.1.4.1.1.2' }, { tag: 0x00081155, vr: 'UI' as const, value: uid }];
  for (const undefinedLength of [false, true]) {
    const bytes = encodePart10([
      { tag: 0x00081140, vr: 'SQ', undefinedLength, value: [item('1.2.3'), [...item('1.2.4'), { tag: 0x00089215, vr: 'SQ', undefinedLength, value: [[{ tag: 0x00080100, vr: 'SH', value: 'X' }]] }]] },
      { tag: 0x00100020, vr: 'LO', value: 'after' },
    ], { sopClassUID: '1.2.3', sopInstanceUID: '1.2.3.4' });
    const ds = parseDicom(bytes).dataSet;
    const items = ds.elements.x00081140.items ?? [];
    assert.equal(items.length, 2, `undefinedLength=${undefinedLength}`);
    assert.equal(items[1].dataSet?.string('x00081155'), '1.2.4');
    assert.equal(items[1].dataSet?.elements.x00089215.items?.[0].dataSet?.string('x00080100'), 'X');
    assert.equal(ds.string('x00100020'), 'after');
    assert.equal(ds.elements.x00081140.hadUndefinedLength ?? false, undefinedLength);
  }
});

void test('invalid input is rejected with BAD_ARGUMENT naming what is wrong', () => {
  const bad = (f: () => unknown, pattern: RegExp) => assert.throws(f, (err: unknown) => err instanceof DicomError && err.code === 'BAD_ARGUMENT' && pattern.test(err.message));
  bad(() => encodeCtSlice(slice({ pixelData: new Uint16Array(3) })), /3 values, expected 5×7×1 = 35/);
  bad(() => encodeCtSlice(slice({ pixelData: ramp(35, () => 5000, false) })), /5000 does not fit Bits Stored 12/);
  bad(() => encodeCtSlice(slice({ pixelData: ramp(35, () => -3000, true), bitsStored: 12 })), /-3000 does not fit Bits Stored 12 \(-2048…2047\)/);
  bad(() => encodeCtSlice(slice({ seriesInstanceUID: '1.2.03' })), /\(0020,000E\).*not a valid UID/);
  bad(() => encodeCtSlice(slice({ sliceThickness: Number.NaN })), /not a finite number/);
  bad(() => encodeCtSlice(slice({ windowCenter: [1, 2], windowWidth: [3] })), /windowCenter and windowWidth/);
  bad(() => encodeCtSlice(slice({ extra: [{ tag: 0x00100020, vr: 'LO', value: 'again' }] })), /\(0010,0020\).*given twice/);
  bad(() => encodePart10([{ tag: 0x00020010, vr: 'UI', value: '1.2' }], { sopClassUID: '1.2', sopInstanceUID: '1.2' }), /File Meta Information/);
  bad(() => encodePart10([{ tag: 0x00100010, vr: 'PN', value: 'Müller' }], { sopClassUID: '1.2', sopInstanceUID: '1.2' }), /ASCII/);
  bad(() => encodePart10([{ tag: 0x00100020, vr: 'LO', value: 'x'.repeat(65) }], { sopClassUID: '1.2', sopInstanceUID: '1.2' }), /longer than 64/);
  bad(() => encodePart10([{ tag: 0x00200013, vr: 'IS', value: 1.5 }], { sopClassUID: '1.2', sopInstanceUID: '1.2' }), /not a 32-bit integer/);
  bad(() => encodePart10([{ tag: 0x00091001, vr: 'OB', value: 'text' }], { sopClassUID: '1.2', sopInstanceUID: '1.2' }), /Uint8Array/);
});

void test('formatDS fits 16 characters with as much precision as fits; UIDs are valid and deterministic', () => {
  assert.equal(formatDS(2.5), '2.5');
  assert.equal(formatDS(-1024), '-1024');
  assert.equal(formatDS(1 / 3), '0.33333333333333');
  for (const v of [1 / 3, -123456789.123456789, 1e-20, -2.5e-12, 9.87654321e21, Math.PI * 1e5]) {
    const s = formatDS(v);
    assert.ok(s.length <= 16, `${v} → ${s}`);
    assert.ok(Math.abs(Number(s) - v) <= Math.abs(v) * 1e-9, `${v} → ${s} keeps precision`);
  }
  assert.equal(uidFrom('a', 1), uidFrom('a', 1));
  assert.notEqual(uidFrom('a', 1), uidFrom('a', 2));
  for (const uid of [uidFrom('x'), newUid()]) {
    assert.match(uid, /^2\.25\.[1-9][0-9]*$/);
    assert.ok(uid.length <= 64);
  }
});
