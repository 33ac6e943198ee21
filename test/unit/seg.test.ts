// DICOM SEG and Bits Allocated 1 (issue 11 item 4: both were refused). Fixtures written by highdicom
// (test/fixtures/make_seg.py): binary SEG whose 33×47 frames (1551 bits) start inside bytes, the same in implicit VR
// and in explicit VR big endian (dcmconv +tb: OW words swapped) and Deflated Image Frame Compression (frames
// deflated one by one), fractional SEG; pydicom's real liver SEGs. Every frame equals pydicom's pixel_array — except
// big-endian OW, where pydicom 3.0.1 does not un-swap the words and GDCM does (checked here), so ours equals GDCM's
// and the original mask. Segments and per-frame references equal
// highdicom's, and broken SEGs give one-line errors naming the problem.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadImage, loadStored } from '../../src/core/dicom/load';
import { framesOnSlice, readSegmentation, segmentFrame } from '../../src/core/dicom/seg';
import { PYTHON, pydicomTestFiles } from '../fixtures/fixtures';

const skip = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import highdicom'], { timeout: 60_000 }).status === 0 ? false : '.venv with highdicom missing (node scripts/setup-python.mjs)';
const BIN = join(__dirname, '..', '..', 'bin', 'dicom-ml.js');

interface Made {
  sources: { path: string; sop: string }[];
  segs: { path: string; type: string; syntax: string; frames: { segment: number; source: string; position: number[] }[]; segments: { number: number; label: string }[]; pixels: number[] }[];
  broken: { path: string; expect: string }[];
}
let made: Made;
let dir = '';

before(() => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'seg-'));
  made = JSON.parse(execFileSync(PYTHON, [join(__dirname, '..', 'fixtures', 'make_seg.py'), dir], { encoding: 'utf8', maxBuffer: 1 << 26 })) as Made;
});

async function allFrames(path: string): Promise<number[]> {
  const image = await loadImage(path);
  const out: number[] = [];
  for (let k = 0; k < image.info.frames; k++) for (const v of await loadStored(image, k)) out.push(v);
  return out;
}

test('bit-packed and fractional SEG frames equal pydicom\'s pixel_array; big-endian OW equals GDCM and the source mask', { skip }, async () => {
  const [binary, bigEndian, fractional] = made.segs;
  assert.equal(bigEndian.syntax, '1.2.840.10008.1.2.2');
  assert.deepEqual(await allFrames(binary.path), binary.pixels, 'binary (explicit VR LE, frames straddling bytes)');
  assert.deepEqual(await allFrames(binary.path.replace('.dcm', '_implicit.dcm')), binary.pixels, 'binary (implicit VR LE, Pixel Data OW)');
  assert.deepEqual(await allFrames(fractional.path), fractional.pixels, 'fractional');
  const deflated = made.segs[3];
  assert.equal(deflated.syntax, '1.2.840.10008.1.2.8.1');
  assert.deepEqual(await allFrames(deflated.path), binary.pixels, 'binary in Deflated Image Frame Compression (frames deflated one by one)');
  // Big endian: the bits come back in place; pydicom 3.0.1 leaves the OW words swapped.
  const ours = await allFrames(bigEndian.path);
  assert.ok((await loadImage(bigEndian.path)).file.warnings.some((w) => /pydicom 3\.0\.1 does not/.test(w)), 'the file says where pydicom differs');
  assert.deepEqual(ours, binary.pixels, 'big endian OW equals the little-endian original');
  assert.notDeepEqual(bigEndian.pixels, binary.pixels, 'pydicom 3.0.1 reads this file with its words swapped (if this fails, pydicom fixed it: compare with it again)');
  const gdcm = join(dir, 'gdcm_le.dcm');
  execFileSync('gdcmconv', ['-w', bigEndian.path, gdcm]);
  const viaGdcm = JSON.parse(execFileSync(PYTHON, ['-c', 'import sys, json, pydicom; print(json.dumps(pydicom.dcmread(sys.argv[1]).pixel_array.ravel().tolist()))', gdcm], { encoding: 'utf8', maxBuffer: 1 << 26 })) as number[];
  assert.deepEqual(ours, viaGdcm, 'equals GDCM\'s reading (gdcmconv to little endian, read by pydicom)');
});

test('pydicom\'s real liver SEGs (1-bit, little and big endian OB) equal its pixel_array', { skip }, async () => {
  const dirFiles = pydicomTestFiles();
  assert.ok(dirFiles);
  for (const name of ['liver_1frame.dcm', 'liver_expb_1frame.dcm']) {
    const path = join(dirFiles, name);
    const ref = JSON.parse(execFileSync(PYTHON, ['-c', 'import sys, json, pydicom; a = pydicom.dcmread(sys.argv[1]).pixel_array; print(json.dumps([int(a.sum()), a.ravel().tolist()]))', path], { encoding: 'utf8', maxBuffer: 1 << 26 })) as [number, number[]];
    assert.ok(ref[0] > 1000, `${name}: a real mask`);
    assert.deepEqual(await allFrames(path), ref[1], name);
  }
});

test('segments and per-frame references equal highdicom\'s; fractional frames scale to 0…1; frames land on their source slices', { skip }, async () => {
  for (const m of made.segs.slice(0, 3)) {
    const image = await loadImage(m.path);
    const seg = readSegmentation(image);
    assert.equal(seg.type, m.type);
    assert.deepEqual(seg.segments.map((s) => ({ number: s.number, label: s.label })), m.segments);
    assert.deepEqual(seg.frames.map((f) => ({ segment: f.segment, source: f.source?.sopInstanceUID, position: f.position })), m.frames);
    assert.deepEqual(seg.segments.map((s) => s.type), ['Bone', 'Bone'], 'segmented property type (code meaning)');
    if (m.type === 'FRACTIONAL') {
      assert.equal(seg.maxFractional, 255);
      let between = 0;
      for (let k = 0; k < seg.frames.length; k++) {
        const values = await segmentFrame(image, seg, k);
        const stored = await loadStored(image, k);
        assert.ok(values.every((v, i) => Math.abs(v - stored[i] / 255) < 1e-6), `frame ${k}: fractional values /255`);
        between += values.filter((v) => v > 0 && v < 1).length;
      }
      assert.ok(between > 100, 'fractions between 0 and 1');
    }
    for (const s of made.sources) {
      const byReference = framesOnSlice(seg, { sopInstanceUID: s.sop });
      assert.deepEqual(byReference.map((f) => f.index), m.frames.flatMap((f, i) => (f.source === s.sop ? [i] : [])), 'frames derived from the slice');
    }
  }
  // Frames that name no source are matched by plane position (within 0.01 mm), never one that names another image.
  const seg = readSegmentation(await loadImage(made.segs[0].path));
  const unnamed = { ...seg, frames: seg.frames.map(({ source: _, ...f }) => f) };
  const p = seg.frames[0].position as [number, number, number];
  assert.deepEqual(framesOnSlice(unnamed, { imagePositionPatient: [p[0], p[1], p[2] + 0.005] }).map((f) => f.index), seg.frames.filter((f) => f.position?.[2] === p[2]).map((f) => f.index));
  assert.deepEqual(framesOnSlice(seg, { sopInstanceUID: 'another', imagePositionPatient: p }), []);
});

test('broken SEGs give one clear line naming the file and the problem; `dicom-ml info` lists the segments', { skip }, () => {
  assert.equal(made.broken.length, 6);
  for (const b of made.broken) {
    const command = b.path.endsWith('broken_truncated.dcm') ? ['pixels', b.path, '--frame', '7', '--out', join(dir, 'x.f32')] : ['info', b.path];
    const r = spawnSync(process.execPath, [BIN, ...command], { encoding: 'utf8' });
    assert.notEqual(r.status, 0, `${b.path}: fails`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.ok(lines[0].includes(b.path) && lines[0].includes(b.expect), `${lines[0]} names the file and says "${b.expect}"`);
  }
  const r = spawnSync(process.execPath, [BIN, 'info', made.segs[2].path], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /segmentation\s+FRACTIONAL \(PROBABILITY, max 255\), 8 frames on 4 source images/);
  assert.match(r.stdout, /segment 1\s+C1 \(Bone, Tissue, MANUAL\): 4 frames/);
  const json = JSON.parse(spawnSync(process.execPath, [BIN, 'info', made.segs[0].path, '--json'], { encoding: 'utf8' }).stdout);
  assert.equal(json.segmentation.frames.length, 8);
  assert.equal(json.bitsAllocated, 1);
  const pixels = join(dir, 'seg.f32');
  assert.equal(spawnSync(process.execPath, [BIN, 'pixels', made.segs[0].path, '--frame', '3', '--out', pixels]).status, 0);
  const buf = readFileSync(pixels);
  const n = 33 * 47;
  assert.deepEqual([...new Float32Array(buf.buffer, buf.byteOffset, n)], made.segs[0].pixels.slice(3 * n, 4 * n), '`dicom-ml pixels` frame 3 (starts at bit 4653, inside a byte)');
});
