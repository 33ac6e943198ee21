// The viewer's model side: StudyInference (one slice on demand, the series in the background nearest-first,
// cached, summary with fusion and each vertebra's most suspicious slice; multi-frame files frame by frame) on a
// phantom study with the shipped default models, and the validation of webview messages (src/host/viewer/messages.ts, no vscode import).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeDataset } from '../../src/core/dataset/phantom/writer';
import { DecodePool } from '../../src/core/dicom/decodePool';
import { loadImage, loadStored } from '../../src/core/dicom/load';
import { encodeCtSlice, newUid } from '../../src/core/dicom/write';
import { InferenceEngine } from '../../src/core/inference/engine';
import { openSeriesFor } from '../../src/core/viewer/openSeries';
import { quantiseHeatmap, StudyInference } from '../../src/core/viewer/studyInference';
import { parseViewerMessage } from '../../src/host/viewer/messages';

const root = join(__dirname, '..', '..');
const models = join(root, 'models');
const skip = existsSync(join(models, 'vertebra-detector.onnx')) ? false : 'default models missing (npm run models:train)';

describe('StudyInference on a phantom study', { skip }, () => {
  let dir = '';
  let pool: DecodePool;
  let engine: InferenceEngine;
  let file = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'viewer-inference-'));
    await writeDataset(join(dir, 'rsna'), { studies: 1, seed: 5, size: 256, slices: [24, 24], syntax: 'native', fractureRate: 1, segmentationRate: 0, subsamples: 1 });
    const images = join(dir, 'rsna', 'train_images');
    const uid = (await readdir(images))[0];
    file = join(images, uid, '12.dcm');
    pool = new DecodePool({ size: 2 });
    engine = await InferenceEngine.create({ detector: join(models, 'vertebra-detector.onnx'), classifier: join(models, 'fracture-classifier.onnx') });
  });
  after(async () => {
    await engine?.dispose();
    await pool?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a slice on demand equals the engine on that file; cached; the background pass fills the strip nearest-first and ends in a fusion', async () => {
    const opened = await openSeriesFor(file);
    const s = new StudyInference(engine, opened.entries, pool, { study: 'phantom' });
    const k = opened.init.initialIndex;
    const one = await s.slice(k);
    const direct = await engine.inferFile(opened.entries[k].path);
    assert.deepEqual(one.vertebrae.map((v) => [v.cls, v.conf, v.box, v.fracture]), direct.vertebrae.map((v) => [v.cls, v.conf, v.box, v.fracture]));
    assert.equal(one.fracture, direct.fracture);
    assert.equal(await s.slice(k), one, 'the second request is the cached object');
    const order: number[] = [];
    const final = await s.runAll(k, (sum) => order.push(sum.done));
    assert.equal(final.done, opened.entries.length);
    assert.deepEqual(order, Array.from({ length: opened.entries.length - 1 }, (_, i) => i + 2), 'progress after every slice not done yet');
    assert.ok(final.strip.every((e) => e !== null));
    assert.ok(final.fusion, 'a fusion once every slice is done');
    final.fusion.vertebrae.forEach((v, i) => {
      if (!v.detected) return assert.equal(final.peakIndex[i], null);
      const peak = final.peakIndex[i] as number;
      assert.ok(final.strip[peak]?.vertebrae.includes(i), `C${i + 1}'s peak slice ${peak} holds C${i + 1}`);
    });
  });

  test('multi-frame: a file holding three slices as frames gets, frame by frame, the overlays of those slices', async () => {
    const images = join(dir, 'rsna', 'train_images');
    const uid = (await readdir(images))[0];
    const sources = ['11.dcm', '12.dcm', '13.dcm'].map((f) => join(images, uid, f));
    const loaded = await Promise.all(sources.map((p) => loadImage(p)));
    const { rows, columns } = loaded[0].info;
    const frames = await Promise.all(loaded.map((im) => loadStored(im, 0)));
    const pixelData = new Int16Array(3 * rows * columns);
    frames.forEach((f, k) => pixelData.set(Int16Array.from(f), k * rows * columns));
    const i0 = loaded[0].info;
    const multi = join(dir, 'multiframe', 'stack.dcm');
    await mkdir(join(dir, 'multiframe'), { recursive: true });
    await writeFile(multi, encodeCtSlice({
      rows, columns, frames: 3, pixelData, rescaleSlope: i0.rescaleSlope, rescaleIntercept: i0.rescaleIntercept,
      pixelSpacing: i0.pixelSpacing, imagePositionPatient: i0.imagePositionPatient, imageOrientationPatient: i0.imageOrientationPatient,
      sopInstanceUID: newUid(), seriesInstanceUID: newUid(), studyInstanceUID: newUid(),
    }));
    const opened = await openSeriesFor(multi);
    assert.deepEqual(opened.entries.map((e) => e.frame), [0, 1, 2]);
    const s = new StudyInference(engine, opened.entries, pool);
    let found = 0;
    for (let k = 0; k < 3; k++) {
      const got = await s.slice(k);
      const direct = await engine.inferFile(sources[k]);
      assert.deepEqual(got.vertebrae.map((v) => [v.cls, v.conf, v.box, v.fracture]), direct.vertebrae.map((v) => [v.cls, v.conf, v.box, v.fracture]), `frame ${k}`);
      assert.equal(got.fracture, direct.fracture);
      found += got.vertebrae.length;
    }
    assert.ok(found > 0, 'vertebrae found on the frames (the comparison is not of empty lists)');
  });

  test('heat maps are quantised by their maximum and cut to their non-zero rectangle', () => {
    const q = quantiseHeatmap(Float32Array.from([0, 0.5, 2, 1]), 4);
    assert.deepEqual([...q.data], [64, 255, 128]);
    assert.deepEqual([q.max, q.x, q.y, q.width, q.height], [2, 1, 0, 3, 1]);
    // 4×3 grid, values only in rows 1–2, columns 1–2 (a value quantising to 0 does not widen the rectangle)
    const grid = Float32Array.from([0, 0, 0, 1e-4, 0, 4, 2, 0, 0, 1, 0, 0]);
    const r = quantiseHeatmap(grid, 4);
    assert.deepEqual([r.x, r.y, r.width, r.height], [1, 1, 2, 2]);
    assert.deepEqual([...r.data], [255, 128, 64, 0]);
    const empty = quantiseHeatmap(new Float32Array(6), 3);
    assert.deepEqual([empty.width, empty.height, empty.data.length, empty.max], [0, 0, 0, 0]);
  });
});

test('webview messages are validated: good ones pass, bad requests get a reason and keep their id', () => {
  assert.deepEqual(parseViewerMessage({ kind: 'rpc/request', id: 3, method: 'viewer/getSlice', params: { index: 2 } }), { ok: true, message: { kind: 'rpc/request', id: 3, method: 'viewer/getSlice', params: { index: 2 } } });
  assert.equal(parseViewerMessage({ kind: 'rpc/notify', method: 'viewer/ready', params: {} }).ok, true);
  assert.equal(parseViewerMessage({ kind: 'rpc/cancel', id: 4 }).ok, true);
  const bad = [
    [{ kind: 'rpc/request', id: 5, method: 'viewer/getSlice', params: { index: -1 } }, /index must be a whole number/],
    [{ kind: 'rpc/request', id: 6, method: 'viewer/getSlice', params: { index: 1.5 } }, /index/],
    [{ kind: 'rpc/request', id: 7, method: 'viewer/getReformat', params: { kind: 'axial', index: 0 } }, /sagittal or coronal/],
    [{ kind: 'rpc/request', id: 8, method: 'viewer/getTags', params: { index: 0, query: 'x'.repeat(201) } }, /at most 200/],
    [{ kind: 'rpc/request', id: 9, method: 'viewer/deleteFile', params: {} }, /unknown method/],
  ] as const;
  for (const [m, why] of bad) {
    const r = parseViewerMessage(m);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.id, m.id);
      assert.match(r.reason, why);
    }
  }
  for (const m of [null, 'x', { kind: 'rpc/request', id: 'a', method: 'viewer/getSlice' }, { kind: 'evil' }, { kind: 'rpc/notify', method: 'viewer/other' }]) {
    assert.equal(parseViewerMessage(m).ok, false);
  }
});
