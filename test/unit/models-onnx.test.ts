// Every export of the trainer loads and runs in onnxruntime-node (what the extension and the CLI use):
// - a paper CNN with in-graph Grad-CAM and a YOLOv8n detector, exported fresh by trainer/ (random init,
//   test/python/export_tiny.py), equal to onnxruntime-python's outputs for the same input within 1e-4;
// - the shipped default models in models/, fed as their model cards say, with the card's outputs.
// Needs .venv with trainer/ (node scripts/setup-python.mjs).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as ort from 'onnxruntime-node';

const root = join(__dirname, '..', '..');
const python = join(root, '.venv', 'bin', 'python');

interface Ref { shape: number[]; values: number[] }

function input(shape: number[]): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = -1 + (2 * i) / (2 * 3 * 64 * 64 - 1); // numpy linspace(-1, 1, 2·3·64·64)
  return x;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('trainer exports in onnxruntime-node', () => {
  let dir = '';
  let ref: Record<string, Ref> = {};
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'onnx-node-'));
    const r = spawnSync(python, [join(root, 'test', 'python', 'export_tiny.py'), dir], {
      encoding: 'utf8', env: { ...process.env, DICOM_ML_YOLO_CONFIG: join(dir, 'yolo-config') },
    });
    assert.equal(r.status, 0, r.stderr.slice(-2000));
    ref = JSON.parse(readFileSync(join(dir, 'reference.json'), 'utf8')) as Record<string, Ref>;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('classifier with Grad-CAM: logits and cam equal onnxruntime-python, for batch 2', async () => {
    const session = await ort.InferenceSession.create(join(dir, 'cnn.onnx'));
    assert.deepEqual(session.inputNames, ['input']);
    assert.deepEqual(session.outputNames, ['logits', 'cam']);
    const out = await session.run({ input: new ort.Tensor('float32', input([2, 3, 64, 64]), [2, 3, 64, 64]) });
    for (const name of ['logits', 'cam']) {
      const r = ref[`cnn.${name}`];
      assert.deepEqual(out[name].dims, r.shape);
      assert.ok(maxDiff(out[name].data as Float32Array, r.values) <= 1e-4 * Math.max(1, ...r.values.map(Math.abs)), name);
    }
  });

  test('YOLOv8n detector: output0 equals onnxruntime-python', async () => {
    const session = await ort.InferenceSession.create(join(dir, 'yolov8n.onnx'));
    const out = await session.run({ images: new ort.Tensor('float32', input([1, 3, 64, 64]), [1, 3, 64, 64]) });
    const r = ref['yolov8n.output0'];
    assert.deepEqual(out.output0.dims, r.shape);
    assert.ok(maxDiff(out.output0.data as Float32Array, r.values) <= 1e-3);
  });
});

describe('default models in models/', () => {
  for (const name of ['vertebra-detector', 'fracture-classifier']) {
    test(`${name}: card and model agree, and it runs`, async () => {
      const cardPath = join(root, 'models', `${name}.card.json`);
      assert.ok(existsSync(cardPath), `${cardPath} missing: run npm run models:train`);
      const card = JSON.parse(readFileSync(cardPath, 'utf8')) as {
        task: string; onnx: string; names: string[]; input: { name: string; shape: (number | null)[] }; outputs: Record<string, string>;
      };
      const session = await ort.InferenceSession.create(join(root, 'models', card.onnx));
      assert.deepEqual(session.inputNames, [card.input.name]);
      assert.deepEqual([...session.outputNames].sort(), Object.keys(card.outputs).sort());
      const shape = card.input.shape.map((d) => d ?? 2);
      const n = shape.reduce((a, b) => a * b, 1);
      const x = new Float32Array(n).fill(0.5);
      const out = await session.run({ [card.input.name]: new ort.Tensor('float32', x, shape) });
      if (card.task === 'detect') {
        assert.equal(out.output0.dims[1], 4 + card.names.length);
        assert.deepEqual(card.names, ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7']);
      } else {
        assert.deepEqual(out.logits.dims, [2, 2]);
        assert.deepEqual(out.cam.dims, [2, 1, shape[2], shape[3]]);
      }
    });
  }
});
