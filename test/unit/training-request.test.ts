// One TrainRequest type for the palette commands, dicom-ml tasks and the CLI: build arguments, read them back,
// and the trainer invocation the CLI makes of them (argument arrays; hostile strings stay single entries).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { findTrainerRoot, installHint, resolvePython, trainerEnv, trainerInvocation } from '../../src/core/training/python';
import {
  defaultRunDir, defaultRunName, parseCliTaskDefinition, parseTrainArgv, resolveTrainData, trainRequestFromOptions, trainTaskDefinition, type TrainRequest,
} from '../../src/core/training/request';

const HOSTILE = `$(touch x) 'single' "double" \`touch y\`; rm -rf / & | > <`;

const requests: TrainRequest[] = [
  { task: 'detect', data: '/d/data.yaml' },
  { task: 'detect', data: `/data/${HOSTILE}/data.yaml`, model: 'yolov8l.yaml', epochs: 100, imgsz: 512, batch: 16, device: '0,1', out: `/runs/${HOSTILE}`, python: `/py ${HOSTILE}/python`, verbose: true, extra: ['--lr0', '0.01', HOSTILE, '--'] },
  { task: 'classify', data: ' spaced dir ', model: 'densenet121', device: 'cpu', resume: true, out: '/r' },
  { task: 'classify', data: '/d', nproc: 4, torchrun: ['--nnodes', '2', '--rdzv-endpoint', 'host:29400'], extra: ['--budget', '5'] },
  { task: 'classify', data: '/d', nproc: 2, torchrun: ['--standalone'] },
  { task: 'classify', data: '/d', nproc: 2, extra: ['--seed', '1'] },
  { task: 'classify', out: '/r', resume: true },
];

test('task definition round-trip: request → dicom-ml task (JSON, as tasks.json holds it) → CLI arguments → the same request', () => {
  for (const req of requests) {
    const def = trainTaskDefinition(req);
    assert.equal(def.type, 'dicom-ml');
    assert.equal(def.command, 'train');
    const back = parseCliTaskDefinition(JSON.parse(JSON.stringify(def)));
    assert.deepEqual(back, def);
    assert.deepEqual(parseTrainArgv(back!.args!), req, JSON.stringify(req));
  }
});

test('parseCliTaskDefinition refuses malformed tasks.json entries', () => {
  assert.equal(parseCliTaskDefinition({ type: 'shell', command: 'train' }), undefined);
  assert.equal(parseCliTaskDefinition({ type: 'dicom-ml' }), undefined);
  assert.equal(parseCliTaskDefinition({ type: 'dicom-ml', command: 'train', args: 'classify --data x' }), undefined, 'a string is not an argument array');
  assert.equal(parseCliTaskDefinition({ type: 'dicom-ml', command: 'train', args: ['classify', 3] }), undefined);
  assert.deepEqual(parseCliTaskDefinition({ type: 'dicom-ml', command: 'doctor', label: 'x' }), { type: 'dicom-ml', command: 'doctor' });
});

test('trainRequestFromOptions: one clear message per bad value', () => {
  const bad: [string[], Record<string, string | boolean>, RegExp][] = [
    [[], {}, /missing task: detect or classify/],
    [['segment'], {}, /unknown task "segment"/],
    [['detect', 'extra'], { data: 'd' }, /unexpected argument "extra" \(trainer arguments go after --\)/],
    [['detect'], { data: 'd', epochs: '0' }, /--epochs must be a whole number ≥ 1, got "0"/],
    [['detect'], { data: 'd', batch: '1.5' }, /--batch must be a whole number/],
    [['detect'], { data: 'd', device: 'gpu' }, /--device must be auto, cpu, a GPU index \(0\) or a list \(0,1\), got "gpu"/],
    [['detect'], { data: 'd', model: 'yolov8n' }, /--model must be one of yolov8n\.yaml, .* or a local \.pt file, got "yolov8n"/],
    [['detect'], { data: 'd', nproc: '2' }, /--nproc is for classify/],
    [['classify'], { data: '' }, /--data needs a value/],
  ];
  for (const [pos, opts, re] of bad) assert.throws(() => trainRequestFromOptions(pos, opts), re);
  assert.deepEqual(trainRequestFromOptions(['detect'], { data: 'd', model: '/w/best.pt', device: 'cuda:0' }), { task: 'detect', data: 'd', model: '/w/best.pt', device: 'cuda:0' });
});

test('trainerInvocation: python -m dicom_ml_trainer …, or torchrun through the same interpreter', () => {
  const out = `/runs/${HOSTILE}`;
  const detect = trainerInvocation('/venv/bin/python', { task: 'detect', data: `/d/${HOSTILE}/data.yaml`, out, model: 'yolov8n.yaml', epochs: 3, device: '0', extra: [HOSTILE] });
  assert.deepEqual(detect, { command: '/venv/bin/python', args: ['-m', 'dicom_ml_trainer', 'detect', '--data', `/d/${HOSTILE}/data.yaml`, '--out', out, '--model', 'yolov8n.yaml', '--epochs', '3', '--device', '0', HOSTILE] });
  const ddp = trainerInvocation('py', { task: 'classify', data: '/d', out: '/r', nproc: 2, resume: true });
  assert.deepEqual(ddp.args, ['-m', 'torch.distributed.run', '--nproc-per-node', '2', '--standalone', '-m', 'dicom_ml_trainer', 'classify', '--data', '/d', '--out', '/r', '--resume']);
  const multi = trainerInvocation('py', { task: 'classify', data: '/d', out: '/r', nproc: 8, torchrun: ['--nnodes', '2', '--rdzv-backend', 'c10d'] });
  assert.deepEqual(multi.args.slice(0, 10), ['-m', 'torch.distributed.run', '--nproc-per-node', '8', '--nnodes', '2', '--rdzv-backend', 'c10d', '-m', 'dicom_ml_trainer'], 'no --standalone beside a rendezvous');
});

test('trainerEnv: bundled trainer first on PYTHONPATH, unbuffered, parent pid; Electron flag dropped', () => {
  const env = trainerEnv({ PATH: '/bin', PYTHONPATH: '/mine', ELECTRON_RUN_AS_NODE: '1' }, { trainerSrc: '/ext/trainer/src', parentPid: 77 });
  assert.deepEqual(env, { PATH: '/bin', PYTHONPATH: `/ext/trainer/src${delimiter}/mine`, PYTHONUNBUFFERED: '1', DICOM_ML_PARENT_PID: '77' });
  assert.equal(trainerEnv({}, { trainerSrc: '/t' }).PYTHONPATH, '/t');
});

test('interpreter: --python > $DICOM_ML_PYTHON > python3; trainer root found upwards; install hints', () => {
  assert.deepEqual(resolvePython('/p', { DICOM_ML_PYTHON: '/e' }), { command: '/p', source: 'flag' });
  assert.deepEqual(resolvePython(undefined, { DICOM_ML_PYTHON: ' /e ' }), { command: '/e', source: 'env' });
  assert.deepEqual(resolvePython(undefined, {}), { command: 'python3', source: 'default' });
  const root = join(__dirname, '..', '..');
  assert.equal(findTrainerRoot(join(root, 'dist')), join(root, 'trainer'));
  assert.equal(findTrainerRoot(join(root, 'src', 'cli', 'commands')), join(root, 'trainer'));
  assert.equal(installHint('/ext/trainer', { command: '/v/bin/python', inVenv: true }), '/v/bin/python -m pip install /ext/trainer');
  assert.equal(installHint('/my ext/trainer', { command: 'python3' }), "python3 -m venv .venv && .venv/bin/python -m pip install '/my ext/trainer'  (then use --python .venv/bin/python)");
});

test('default run name and folder: <model>-<yyyymmdd-hhmmss> under runs/<task>/, never reusing a folder', () => {
  const now = new Date(2026, 11, 5, 9, 7, 3);
  assert.equal(defaultRunName('detect', undefined, now), 'yolov8n-20261205-090703');
  assert.equal(defaultRunName('detect', '/w/my best.pt', now), 'my best-20261205-090703');
  assert.equal(defaultRunName('classify', 'resnet50', now), 'resnet50-20261205-090703');
  const taken = new Set(['/ws/runs/classify/cnn-20261205-090703', '/ws/runs/classify/cnn-20261205-090703-2']);
  assert.equal(defaultRunDir('/ws', 'classify', undefined, now, (p) => taken.has(p)), '/ws/runs/classify/cnn-20261205-090703-3');
});

test('resolveTrainData: absolute paths the trainer can use, or the path that is wrong', () => {
  const root = mkdtempSync(join(tmpdir(), 'dicom-ml-data-'));
  mkdirSync(join(root, 'prep', 'detect'), { recursive: true });
  mkdirSync(join(root, 'prep', 'classify-vertebrae'), { recursive: true });
  writeFileSync(join(root, 'prep', 'detect', 'data.yaml'), '');
  assert.equal(resolveTrainData('detect', 'prep/detect/data.yaml', root), join(root, 'prep', 'detect', 'data.yaml'));
  assert.equal(resolveTrainData('detect', 'prep', root), join(root, 'prep', 'detect', 'data.yaml'));
  assert.equal(resolveTrainData('classify', 'prep', root), join(root, 'prep'));
  assert.throws(() => resolveTrainData('detect', 'x/data.yaml', root), { message: `${join(root, 'x', 'data.yaml')}: no such file` });
  assert.throws(() => resolveTrainData('classify', 'prep/detect/data.yaml', root), /data\.yaml: not a folder/);
  assert.throws(() => resolveTrainData('classify', 'prep/detect', root), /detect: no classify\/, classify-vertebrae\/ or train\/ folder/);
  assert.throws(() => resolveTrainData('detect', 'prep/classify-vertebrae', root), /classify-vertebrae: no data\.yaml here or in detect\//);
});
