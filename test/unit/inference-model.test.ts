// Loading models: ONNX metadata read from the protobuf (ultralytics' Python-repr names/imgsz), the model card
// beside the model, the session cache (CUDA asked for on a machine without the CUDA provider falls back to CPU
// with a note), and one clear error naming the file for what cannot be loaded.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadModelSpec, type ClassifierSpec, type DetectorSpec } from '../../src/core/inference/model';
import { onnxMetadata, parseInts, parseNames } from '../../src/core/inference/onnxMeta';
import { SessionCache } from '../../src/core/inference/session';

const root = join(__dirname, '..', '..');
const models = join(root, 'models');
const skip = existsSync(join(models, 'vertebra-detector.onnx')) ? false : 'default models missing (npm run models:train)';
let dir = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inference-model-'));
});
after(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('Python reprs of ultralytics metadata: names dicts (quotes, escapes, JSON), int lists', () => {
  assert.deepEqual(parseNames("{0: 'C1', 1: 'C2', 2: \"it's\"}"), ['C1', 'C2', "it's"]);
  assert.deepEqual(parseNames('{"0": "a", "1": "b"}'), ['a', 'b']);
  assert.deepEqual(parseNames("['x', 'y']"), ['x', 'y']);
  assert.throws(() => parseNames("{0: 'a', 2: 'c'}"), /no class 1/);
  assert.throws(() => parseNames('C1,C2'), /not a dict/);
  assert.deepEqual(parseInts('[512, 320]'), [512, 320]);
  assert.deepEqual(parseInts('32'), [32]);
});

test('the default detector: metadata from the ONNX protobuf agrees with its card', { skip }, async () => {
  const bytes = await readFile(join(models, 'vertebra-detector.onnx'));
  const meta = onnxMetadata(bytes);
  assert.equal(meta.task, 'detect');
  assert.deepEqual(parseNames(meta.names), ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7']);
  const { spec } = await loadModelSpec(join(models, 'vertebra-detector.onnx'));
  const d = spec as DetectorSpec;
  assert.deepEqual(d.imgsz, parseInts(meta.imgsz));
  assert.equal(d.stride, 32);
  assert.equal(d.preparedSize, 512);
  assert.deepEqual(d.window, { center: 500, width: 2000 });
});

test('an ultralytics export without a card is read from its metadata alone; a classifier without its card is refused', { skip }, async () => {
  await copyFile(join(models, 'vertebra-detector.onnx'), join(dir, 'foreign.onnx'));
  const { spec } = await loadModelSpec(join(dir, 'foreign.onnx'));
  assert.equal(spec.task, 'detect');
  assert.equal((spec as DetectorSpec).card, undefined);
  assert.equal((spec as DetectorSpec).preparedSize, undefined, 'no card: the windowed slice is letterboxed as it is');
  assert.deepEqual(spec.names.length, 7);
  await copyFile(join(models, 'fracture-classifier.onnx'), join(dir, 'cls.onnx'));
  await assert.rejects(loadModelSpec(join(dir, 'cls.onnx')), /cls\.onnx: neither a model card nor ultralytics metadata/);
  await copyFile(join(models, 'fracture-classifier.card.json'), join(dir, 'cls.card.json'));
  const c = (await loadModelSpec(join(dir, 'cls.onnx'))).spec as ClassifierSpec;
  assert.equal(c.kind, 'vertebra-crop');
  assert.equal(c.cam, 'cam');
  assert.deepEqual([c.crop?.scale, c.crop?.padPx, c.crop?.size], [1.25, 16, 160]);
});

test('bad model files: one line naming the file', async () => {
  await writeFile(join(dir, 'junk.onnx'), Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]));
  await assert.rejects(loadModelSpec(join(dir, 'junk.onnx')), /junk\.onnx: not an ONNX model/);
  await assert.rejects(loadModelSpec(join(dir, 'missing.onnx')), /missing\.onnx: cannot read the model \(ENOENT\)/);
  await writeFile(join(dir, 'card.onnx'), Buffer.alloc(0));
  await writeFile(join(dir, 'card.card.json'), '{"format": "other"}');
  await assert.rejects(loadModelSpec(join(dir, 'card.onnx')), /card\.card\.json: not a dicom-ml model card/);
  assert.throws(() => new SessionCache({ threads: -1 }), /threads must be a whole number/);
});

test('sessions are cached per model; CUDA asked for without the CUDA provider runs on CPU with a one-line note', { skip }, async () => {
  const cache = new SessionCache({ cuda: true, threads: 1 });
  try {
    const a = await cache.get(join(models, 'vertebra-detector.onnx'));
    const b = await cache.get(join(models, 'vertebra-detector.onnx'));
    assert.equal(a, b);
    // onnxruntime-node's CUDA provider is a separate download its install script fetches; offline installs
    // (allowScripts deny) have none. On a machine that has it, the provider is 'cuda' and there is no note.
    if (a.provider === 'cpu') {
      assert.match(a.note ?? '', /^CUDA execution provider unavailable, running on CPU \(/);
      assert.equal(a.note?.includes('\n'), false);
    } else assert.equal(a.note, undefined);
  } finally {
    await cache.dispose();
  }
});

test('a model rewritten in place (a run retrained) is loaded again; an unchanged one is not', { skip }, async () => {
  const model = join(dir, 'retrained.onnx');
  await copyFile(join(models, 'vertebra-detector.onnx'), model);
  await copyFile(join(models, 'vertebra-detector.card.json'), join(dir, 'retrained.card.json'));
  const cache = new SessionCache({ threads: 1 });
  try {
    const first = await cache.get(model);
    assert.equal(await cache.get(model), first, 'unchanged: the cached session');
    // The same model with a card saying other class names, written over the old files (new mtime and card).
    const card = JSON.parse(await readFile(join(dir, 'retrained.card.json'), 'utf8'));
    card.names = (card.names as string[]).map((v) => `${v}-v2`);
    await writeFile(join(dir, 'retrained.card.json'), JSON.stringify(card));
    const second = await cache.get(model);
    assert.notEqual(second, first, 'changed: loaded again');
    assert.deepEqual((second.spec as DetectorSpec).names.slice(0, 2), ['C1-v2', 'C2-v2']);
    await rm(model);
    await assert.rejects(cache.get(model), /retrained\.onnx: cannot read the model/);
  } finally {
    await cache.dispose();
  }
});
