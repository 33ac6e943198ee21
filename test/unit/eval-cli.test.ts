// `dicom-ml infer`, `eval detect|classify` and `render --overlay` as a user runs them (the built
// bin/dicom-ml.js) on a prepared phantom set with the shipped default models: the files and JSON of the CLI
// contract (ARCHITECTURE "CLI contract", "Data flow" 5), the manifest thread from every prediction back to its
// source DICOM, and one clear line for bad input. The numbers themselves are checked against their references
// in metrics-*.test.ts and inference.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { writeDataset, type StudyRecord } from '../../src/core/dataset/phantom/writer';
import { prepareRsna } from '../../src/core/dataset/prepare/prepare';

const root = join(__dirname, '..', '..');
const bin = join(root, 'bin', 'dicom-ml.js');
const skip = !existsSync(join(root, 'dist', 'cli.js')) ? 'dist/cli.js missing: run npm run build'
  : !existsSync(join(root, 'models', 'vertebra-detector.onnx')) ? 'default models missing: npm run models:train' : false;

function run(...args: string[]) {
  // The timeout only turns a hang into a failure; speed is measured by `npm run bench`.
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
}

const jsonl = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

describe('dicom-ml infer / eval / render --overlay', { skip }, () => {
  let dir = '';
  let rsna = '';
  let prep = '';
  let records: StudyRecord[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'eval-cli-'));
    rsna = join(dir, 'rsna');
    prep = join(dir, 'prep');
    records = (await writeDataset(rsna, { studies: 2, seed: 11, size: 512, slices: [50, 56], syntax: 'native', fractureRate: 1, segmentationRate: 1, subsamples: 1 })).records;
    await prepareRsna({ rsna, out: prep, val: 1, seed: 1, jobs: 2 });
  });
  after(async () => {
    if (dir && !process.env.KEEP) await rm(dir, { recursive: true, force: true });
  });

  test('eval detect --data: both protocols, metrics.json + predictions.jsonl carrying each image\'s study, slice and DICOM', () => {
    const out = join(dir, 'eval-detect');
    const r = run('eval', 'detect', '--data', join(prep, 'detect', 'data.yaml'), '--protocol', 'both', '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    for (const k of ['protocol', 'images', 'instances', 'precision', 'recall', 'mAP50', 'mAP50_95', 'perClass']) assert.ok(k in j, `missing ${k}`);
    assert.equal(j.protocol, 'ultralytics');
    assert.deepEqual(Object.keys(j.protocols), ['ultralytics', 'coco']);
    assert.equal(j.protocols.coco.precision, null);
    assert.equal(j.perClass.length, 7);
    assert.ok(j.mAP50 > 0.2 && j.mAP50 <= 1, `mAP50 ${j.mAP50}: the default detector finds vertebrae on the phantom`);
    assert.deepEqual(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).mAP50, j.mAP50);
    const lines = jsonl(join(out, 'predictions.jsonl'));
    assert.equal(lines.length, j.images);
    for (const l of lines) {
      assert.ok(typeof l.study === 'string' && typeof l.slice === 'number' && existsSync(l.dicom as string), `${l.image}: no source`);
      const c = l.counts as Record<string, number>;
      assert.equal(c.tp + c.wrongClass + c.fn, (l.truth as unknown[]).length, `${l.image}: every truth box is matched or missed`);
    }
    assert.ok(lines.some((l) => (l.records as { kind: string }[]).some((x) => x.kind === 'tp')));
  });

  test('eval detect --labels/--predictions scores YOLO txt files; a bad line is one error naming file and line', () => {
    const labels = join(dir, 'files', 'labels', 'val');
    const preds = join(dir, 'files', 'preds');
    mkdirSync(labels, { recursive: true });
    mkdirSync(preds, { recursive: true });
    writeFileSync(join(labels, 'a.txt'), '0 0.5 0.5 0.2 0.2\n1 0.2 0.2 0.1 0.1\n');
    writeFileSync(join(preds, 'a.txt'), '0 0.5 0.5 0.2 0.2 0.9\n1 0.8 0.8 0.1 0.1 0.6\n');
    writeFileSync(join(labels, 'b.txt'), '');
    writeFileSync(join(preds, 'b.txt'), '0 0.5 0.5 0.2 0.2 0.3\n');
    const r = run('eval', 'detect', '--labels', labels, '--predictions', preds, '--names', 'C1,C2', '--protocol', 'coco', '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.protocol, 'coco');
    assert.equal(j.images, 2);
    assert.equal(j.instances, 2);
    assert.equal(j.perClass[1].mAP50, 0, 'C2 was predicted in the wrong place');
    assert.ok(j.perClass[0].mAP50 > 0.9);
    writeFileSync(join(preds, 'b.txt'), '0 0.5 0.5 0.2\n');
    const bad = run('eval', 'detect', '--labels', labels, '--predictions', preds);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr.trim(), /^dicom-ml eval: .*b\.txt:1: expected "class cx cy w h conf"/);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });

  test('eval classify --data picks the vertebra-crop set the model card asks for; --truth/--scores CSVs give the contract keys', () => {
    const out = join(dir, 'eval-classify');
    const r = run('eval', 'classify', '--data', prep, '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    for (const k of ['accuracy', 'precision', 'recall', 'f1', 'specificity', 'kappa', 'auc', 'confusion']) assert.ok(k in j, `missing ${k}`);
    assert.equal(j.source.input, 'vertebra-crop');
    assert.match(j.source.folder, /classify-vertebrae/);
    const lines = jsonl(join(out, 'predictions.jsonl'));
    assert.equal(lines.length, j.images);
    for (const l of lines) assert.ok(l.vertebra && l.crop && existsSync(l.dicom as string), `${l.image}: no vertebra/crop/source`);
    // A relative --data links images to their source slices too (the manifest is matched by absolute path).
    const relOut = join(dir, 'eval-classify-relative');
    assert.equal(run('eval', 'classify', '--data', relative(process.cwd(), prep), '--out', relOut).status, 0);
    assert.ok(jsonl(join(relOut, 'predictions.jsonl')).every((l) => existsSync(l.dicom as string)), 'relative --data: every image has its source DICOM');

    const truth = join(dir, 'truth.csv');
    const scores = join(dir, 'scores.csv');
    writeFileSync(truth, 'image,label\na,1\nb,0\nc,1\nd,0\n');
    writeFileSync(scores, 'image,p0,p1\na,0.2,0.8\nb,0.7,0.3\nc,0.6,0.4\nd,0.1,0.9\n');
    const c = run('eval', 'classify', '--truth', truth, '--scores', scores, '--json');
    assert.equal(c.status, 0, c.stderr);
    const m = JSON.parse(c.stdout);
    assert.deepEqual(m.confusion, [[1, 1], [1, 1]]);
    assert.equal(m.accuracy, 0.5);
    assert.equal(m.auc, 0.5);
    writeFileSync(scores, 'image,p0,p1\na,0.2,0.8\nb,0.7,0.3\nc,0.6,0.4\n');
    const bad = run('eval', 'classify', '--truth', truth, '--scores', scores);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /no scores for image "d"/);
  });

  test('infer DIR: per-study C1–C7 and patient probabilities, the RSNA score against train.csv, submission.csv', () => {
    const out = join(dir, 'infer');
    const r = run('infer', join(rsna, 'train_images'), '--truth', join(rsna, 'train.csv'), '--out', out, '--json');
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.equal(j.studies.length, records.length);
    for (const s of j.studies) {
      assert.deepEqual(s.vertebrae.map((v: { name: string }) => v.name), ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7']);
      assert.ok(s.patient >= 0 && s.patient <= 1);
    }
    assert.ok(j.studies.some((s: { vertebrae: { detected: boolean }[] }) => s.vertebrae.filter((v) => v.detected).length >= 5), 'the detector finds most vertebrae');
    assert.equal(j.rsna.studies, records.length);
    assert.ok(Number.isFinite(j.rsna.score) && j.rsna.score > 0);
    const sub = readFileSync(join(out, 'submission.csv'), 'utf8').trim().split('\n');
    assert.equal(sub[0], 'row_id,fractured');
    assert.equal(sub.length, 1 + 8 * records.length);
    assert.equal(jsonl(join(out, 'slices.jsonl')).length, j.studies.reduce((a: number, s: { slices: number }) => a + s.slices, 0));
  });

  test('infer FILE and render --overlay: boxes, fracture probability and a Grad-CAM picture of the slice', async () => {
    const study = records[0].studyInstanceUID;
    const file = join(rsna, 'train_images', study, `${records[0].slices >> 1}.dcm`);
    const r = run('infer', file, '--json', '--gradcam', join(dir, 'gc'));
    assert.equal(r.status, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    assert.ok(j.vertebrae.length >= 1, 'a vertebra on a mid-neck slice');
    for (const v of j.vertebrae) assert.ok(v.fracture >= 0 && v.fracture <= 1 && v.box.length === 4);
    const meta = await sharp(j.gradcam).metadata();
    assert.equal(meta.width, 512);
    const png = join(dir, 'overlay.png');
    const o = run('render', file, '--overlay', 'boxes,gradcam', '--out', png, '--json');
    assert.equal(o.status, 0, o.stderr);
    assert.deepEqual(JSON.parse(o.stdout).vertebrae.map((v: { name: string }) => v.name), j.vertebrae.map((v: { name: string }) => v.name));
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    let colour = 0;
    for (let i = 0; i < data.length; i += info.channels) if (Math.abs(data[i] - data[i + 1]) > 30 || Math.abs(data[i + 1] - data[i + 2]) > 30) colour++;
    assert.ok(colour > 100, `only ${colour} coloured pixels: no boxes or heat map drawn`);
    const bad = run('infer', join(dir, 'nope.dcm'));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr.trim(), /^dicom-ml infer: .*nope\.dcm: no such file or folder$/);
  });
});
