// The CLI contract (ARCHITECTURE "CLI contract"), run as a user runs it: the built bin/dicom-ml.js.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { PRESETS, windowToGray8 } from '../../src/core/dicom/voi';

const root = join(__dirname, '..', '..');
const bin = join(root, 'bin', 'dicom-ml.js');
const CT = '/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm';
const haveBuild = existsSync(join(root, 'dist', 'cli.js'));
const haveCT = existsSync(CT);
const skip = !haveBuild ? 'dist/cli.js missing: run npm run build' : !haveCT ? 'Debian python3-pydicom test files missing' : false;
const tmp = mkdtempSync(join(tmpdir(), 'dicom-ml-cli-'));

function run(...args: string[]) {
  // The timeout only turns a hang into a failure; speed is measured by `npm run bench`, not asserted here.
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000 });
}

test('info --json has every contract key', { skip }, () => {
  const r = run('info', CT, '--json');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  for (const k of ['rows', 'columns', 'frames', 'transferSyntaxUID', 'modality', 'photometricInterpretation', 'bitsStored', 'rescaleSlope', 'rescaleIntercept', 'windowCenter', 'windowWidth']) {
    assert.ok(k in j, `missing ${k}`);
  }
  assert.equal(j.rows, 128);
  assert.equal(j.columns, 128);
  assert.equal(j.modality, 'CT');
  assert.equal(j.rescaleIntercept, -1024);
  assert.equal(j.transferSyntaxUID, '1.2.840.10008.1.2.1');
});

test('pixels writes Float32 LE HU; render writes the bone-windowed slice of exactly those values', { skip }, async () => {
  const f32 = join(tmp, 'ct.f32');
  const png = join(tmp, 'ct.png');
  assert.equal(run('pixels', CT, '--out', f32).status, 0);
  const buf = readFileSync(f32);
  assert.equal(buf.length, 128 * 128 * 4);
  const hu = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  assert.equal(hu[0], -849); // CT_small.dcm stored 175, intercept −1024 (pydicom: pixel_array[0,0] = 175)
  const r = run('render', CT, '--out', png);
  assert.equal(r.status, 0, r.stderr);
  const { data, info } = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  assert.equal(info.width, 128);
  assert.equal(info.channels, 1);
  const expected = windowToGray8(hu, PRESETS.bone);
  // padding (−2000 stored) would be black; CT_small has none in its field, so every pixel matches
  let diff = 0;
  for (let i = 0; i < expected.length; i++) diff = Math.max(diff, Math.abs(expected[i] - data[i]));
  assert.equal(diff, 0);
  const soft = join(tmp, 'soft.png');
  assert.equal(run('render', CT, '--out', soft, '--preset', 'soft', '--json').status, 0);
  assert.notDeepEqual(readFileSync(soft), readFileSync(png));
});

test('bad input: non-zero exit, one line on stderr naming file and problem, no stack, no hang', { skip: haveBuild ? false : 'no build' }, () => {
  const png = join(tmp, 'fake.dcm');
  writeFileSync(png, Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
  const empty = join(tmp, 'empty.dcm');
  writeFileSync(empty, '');
  const cases: [string[], RegExp][] = [
    [['info', png], /fake\.dcm: not a DICOM file/],
    [['info', empty], /empty\.dcm: file is empty/],
    [['info', join(tmp, 'missing.dcm')], /missing\.dcm: no such file/],
    [['pixels', tmp, '--out', join(tmp, 'x.f32')], /is a directory/],
    [['render', CT, '--out', join(tmp, 'x.png'), '--window', 'abc'], /--window/],
    [['render', CT, '--out', join(tmp, 'x.png'), '--slice', '3'], /--slice 3 out of range/],
    [['pixels', CT], /--out F\.f32 is required/],
    [['info', CT, '--bogus'], /Unknown option '--bogus'/],
    [['frobnicate'], /unknown command/],
  ];
  for (const [args, pattern] of cases) {
    if (!haveCT && args.includes(CT)) continue;
    const r = run(...args);
    assert.notEqual(r.status, 0, `${args.join(' ')} should fail`);
    assert.match(r.stderr, pattern, args.join(' '));
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(r.stderr.trim().split('\n')[0].length > 0, true);
    assert.equal(r.stdout, '', 'nothing on stdout');
  }
});

test('series DIR reports order, spacing, gaps, duplicates and skipped files', { skip: haveBuild ? false : 'no build' }, () => {
  const dir = join(tmp, 'series');
  assert.equal(run('demo', '--out', dir, '--slices', '8').status, 0);
  // Make a gap (remove instance 4), a duplicate position (copy of 6) and a non-DICOM file.
  rmSync(join(dir, '4.dcm'));
  copyFileSync(join(dir, '6.dcm'), join(dir, '6b.dcm'));
  writeFileSync(join(dir, 'notes.dcm'), 'not dicom');
  const r = run('series', dir, '--json');
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.series.length, 1);
  const s = j.series[0];
  assert.equal(s.orderedBy, 'position');
  assert.equal(s.slices, 8);
  assert.equal(s.spacing, 2.5);
  assert.deepEqual(s.duplicates, [['6.dcm', '6b.dcm']]);
  assert.equal(s.gaps.length, 1);
  assert.equal(s.gaps[0].distance, 5);
  assert.equal(j.skipped.length, 1);
  assert.match(j.skipped[0].file, /notes\.dcm$/);
  const text = run('series', dir);
  assert.match(text.stdout, /duplicate position: 6\.dcm and 6b\.dcm/);
  assert.match(text.stdout, /gap wider than 1\.5× the median spacing/);
  assert.match(text.stdout, /skipped .*notes\.dcm: not a DICOM file/);
});
