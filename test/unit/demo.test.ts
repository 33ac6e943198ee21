/**
 * The demo neck series: geometry a series scan accepts without warnings, tissue values at known points
 * (within 5σ of the noise), byte-identical output for a seed, signed and unsigned storage giving the same HU.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { DEMO_HU, DEMO_LANDMARKS, DEMO_NOISE_HU, DEMO_SLICE_MM, demoTissue, writeDemoSeries } from '../../src/core/dataset/demoSeries';
import { DicomError } from '../../src/core/dicom/errors';
import { loadImage, loadModality } from '../../src/core/dicom/load';
import { scanSeries } from '../../src/core/dicom/series';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'demo-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

void test('40-slice demo: one series, ordered along z, 2.5 mm spacing, no warnings; CT attributes', async (t) => {
  const dir = await tempDir(t);
  const started = performance.now();
  const demo = await writeDemoSeries(dir, { seed: 3 });
  t.diagnostic(`wrote 40 slices of 256×256 in ${(performance.now() - started).toFixed(0)} ms`);
  assert.equal(demo.files.length, 40);
  assert.deepEqual(demo.files.map((f) => basename(f)).slice(0, 3), ['1.dcm', '2.dcm', '3.dcm']);
  const { series, skipped } = await scanSeries(dir);
  assert.deepEqual(skipped, []);
  assert.equal(series.length, 1);
  const s = series[0];
  assert.equal(s.seriesInstanceUID, demo.seriesInstanceUID);
  assert.equal(s.orderedBy, 'position');
  assert.deepEqual(s.normal, [0, 0, 1]);
  assert.equal(s.spacing, DEMO_SLICE_MM);
  assert.deepEqual(s.warnings, []);
  // z falls as the Instance Number rises, so ascending position is instance 40 … 1.
  assert.deepEqual(s.entries.map((e) => e.info.instanceNumber), Array.from({ length: 40 }, (_, i) => 40 - i));
  const info = s.entries[0].info;
  assert.deepEqual([info.rows, info.columns, info.modality, info.rescaleIntercept, info.rescaleSlope, info.windowCenter, info.windowWidth],
    [256, 256, 'CT', -1024, 1, 500, 2000]);
  assert.deepEqual(info.pixelSpacing, demo.pixelSpacing);
  assert.deepEqual(info.imageOrientationPatient, [1, 0, 0, 0, 1, 0]);
  assert.equal(info.pixelRepresentation, 0);
  assert.equal(info.bitsStored, 12);
});

void test('tissue values at landmarks, in bone and disc slices, within 5σ of the noise', async (t) => {
  const dir = await tempDir(t);
  const demo = await writeDemoSeries(dir, { slices: 12, size: 128, seed: 9 });
  const [ps] = demo.pixelSpacing;
  const [x0, y0] = demo.firstPosition;
  let discs = 0;
  let bodies = 0;
  for (const file of demo.files) {
    const image = await loadImage(file);
    const hu = await loadModality(image);
    const z = image.info.imagePositionPatient?.[2] as number;
    for (const [name, [lx, ly]] of Object.entries(DEMO_LANDMARKS)) {
      const col = Math.round((lx - x0) / ps);
      const row = Math.round((ly - y0) / ps);
      const tissue = demoTissue(x0 + col * ps, y0 + row * ps, z);
      const expected = DEMO_HU[tissue];
      const got = hu[row * demo.columns + col];
      assert.ok(Math.abs(got - expected) <= 5 * DEMO_NOISE_HU, `${basename(file)} ${name} (${tissue}): ${got} HU, expected ${expected} ± ${5 * DEMO_NOISE_HU}`);
      if (name === 'vertebralBodyCancellous') {
        assert.ok(tissue === 'cancellous' || tissue === 'disc', `${name} is ${tissue}`);
        if (tissue === 'disc') discs++; else bodies++;
      }
    }
    assert.equal(demoTissue(...DEMO_LANDMARKS.outsideAir, z), 'air');
    assert.equal(demoTissue(...DEMO_LANDMARKS.canalCord, z), 'cord');
  }
  assert.ok(discs > 0 && bodies > discs, `bodies ${bodies}, discs ${discs}: the vertebral column varies along z`);
});

void test('same seed ⇒ byte-identical files; another seed ⇒ other noise and UIDs, same geometry', async (t) => {
  const [a, b, c] = await Promise.all([tempDir(t), tempDir(t), tempDir(t)]);
  const opts = { slices: 3, size: 64 };
  const [da, db, dc] = await Promise.all([writeDemoSeries(a, { ...opts, seed: 5 }), writeDemoSeries(b, { ...opts, seed: 5 }), writeDemoSeries(c, { ...opts, seed: 6 })]);
  for (let i = 0; i < 3; i++) {
    assert.ok((await readFile(da.files[i])).equals(await readFile(db.files[i])), `file ${i + 1} identical`);
    assert.ok(!(await readFile(da.files[i])).equals(await readFile(dc.files[i])), `file ${i + 1} differs with another seed`);
  }
  assert.equal(da.seriesInstanceUID, db.seriesInstanceUID);
  assert.notEqual(da.seriesInstanceUID, dc.seriesInstanceUID);
  assert.deepEqual([da.firstPosition, da.pixelSpacing], [dc.firstPosition, dc.pixelSpacing]);
});

void test('signed storage (Pixel Representation 1) gives the same HU as unsigned', async (t) => {
  const [a, b] = await Promise.all([tempDir(t), tempDir(t)]);
  const [u, s] = await Promise.all([writeDemoSeries(a, { slices: 2, size: 64, seed: 2 }), writeDemoSeries(b, { slices: 2, size: 64, seed: 2, signed: true })]);
  const iu = await loadImage(u.files[1]);
  const is = await loadImage(s.files[1]);
  assert.deepEqual([iu.info.pixelRepresentation, is.info.pixelRepresentation, is.info.bitsStored], [0, 1, 16]);
  assert.deepEqual([...await loadModality(is)], [...await loadModality(iu)]);
  assert.notEqual(u.seriesInstanceUID, s.seriesInstanceUID);
});

void test('bad options are BAD_ARGUMENT naming the option', async () => {
  await assert.rejects(writeDemoSeries(join(tmpdir(), 'never'), { slices: 0 }), (err: unknown) => err instanceof DicomError && err.code === 'BAD_ARGUMENT' && /slices/.test(err.message));
  await assert.rejects(writeDemoSeries(join(tmpdir(), 'never'), { size: 12.5 }), (err: unknown) => err instanceof DicomError && /size/.test(err.message));
});
