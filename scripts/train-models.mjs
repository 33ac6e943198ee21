// `npm run models:train`: rebuilds the default models in models/ from scratch, on this machine's CPU (or
// GPU when there is one), with nothing downloaded:
//   1. synthetic RSNA-layout data: a training set (seed 1) and a holdout set of other studies (seed 2);
//   2. `dicom-ml prepare` on both (the holdout entirely as its val split);
//   3. the vertebra detector: YOLOv8n from yolov8n.yaml at imgsz 160 on a wall budget, then fine-tuned at
//      imgsz 320 (ARCHITECTURE's measured CPU recipe: more epochs beat more pixels, then the larger input
//      finds the smaller boxes);
//   4. the fracture classifier: the paper CNN on vertebra crops (classify-vertebrae/, the two-stage design)
//      with a cosine schedule that ends on a wall budget;
//   5. both exported models validated on the holdout studies; the result is recorded in their cards;
//   6. models/vertebra-detector.{onnx,card.json} and models/fracture-classifier.{onnx,card.json}.
// Every step is resumable (sample, prepare and the trainer resume; a finished run is not redone), so a
// killed rebuild continues where it stopped. Work folder: .cache/models-data/ (ignored by git).
//
//   node scripts/train-models.mjs [--quick] [--detect-minutes M] [--finetune-minutes M] [--classify-minutes M]
//                                 [--device auto|cpu|0] [--force]
// --quick: a tiny end-to-end rebuild (minutes) to check the pipeline; never copied into models/.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setupPython } from './setup-python.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    device: { type: 'string', default: 'auto' },
    'detect-minutes': { type: 'string', default: '50' },
    'finetune-minutes': { type: 'string', default: '20' },
    'classify-minutes': { type: 'string', default: '15' },
  },
});
const quick = opt.quick;
const work = join(root, '.cache', quick ? 'models-quick' : 'models-data');
const minutes = (k) => Number(quick ? { 'detect-minutes': 1, 'finetune-minutes': 0.5, 'classify-minutes': 1 }[k] : opt[k]);
mkdirSync(work, { recursive: true });
const log = [];
const summaryFile = join(work, 'train-models.json');
const previous = existsSync(summaryFile) ? (JSON.parse(readFileSync(summaryFile, 'utf8')).steps ?? []) : [];

function run(name, cmd, args, { done } = {}) {
  if (done && existsSync(done) && !opt.force) {
    console.log(`\n=== ${name}: already done (${done})`);
    // Keep what the step cost when it ran, so the record still says how long a whole rebuild takes.
    log.push({ step: name, skipped: true, seconds: previous.find((s) => s.step === name)?.seconds ?? null });
    return;
  }
  console.log(`\n=== ${name}: ${[cmd, ...args].join(' ')}`);
  const t = Date.now();
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  const seconds = (Date.now() - t) / 1000;
  log.push({ step: name, seconds });
  console.log(`=== ${name}: ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${seconds.toFixed(0)} s`);
  if (r.status !== 0) process.exit(r.status ?? 1);
}

if (!existsSync(join(root, 'dist', 'cli.js'))) run('build', process.execPath, ['esbuild.js']);
const python = setupPython();
const cli = [join(root, 'bin', 'dicom-ml.js')];
const trainer = (...args) => ['-m', 'dicom_ml_trainer', ...args];

const sets = quick
  ? { train: ['--studies', '4', '--size', '256', '--slices', '60-90'], holdout: ['--studies', '2', '--size', '256', '--slices', '60-90'] }
  : { train: ['--studies', '32'], holdout: ['--studies', '6'] };
run('sample (training studies, seed 1)', process.execPath, [...cli, 'sample', '--out', join(work, 'train-rsna'), '--seed', '1',
  '--segmentation-rate', '1', '--fracture-rate', '0.75', ...sets.train]);
run('sample (holdout studies, seed 2)', process.execPath, [...cli, 'sample', '--out', join(work, 'holdout-rsna'), '--seed', '2',
  '--segmentation-rate', '1', '--fracture-rate', '0.67', ...sets.holdout]);
run('prepare (training)', process.execPath, [...cli, 'prepare', '--rsna', join(work, 'train-rsna'), '--out', join(work, 'train-prep')],
  { done: join(work, 'train-prep', 'prepare.json') });
run('prepare (holdout: every study in val)', process.execPath, [...cli, 'prepare', '--rsna', join(work, 'holdout-rsna'), '--out', join(work, 'holdout-prep'), '--val', '1'],
  { done: join(work, 'holdout-prep', 'prepare.json') });

const runs = join(work, 'runs');
const det1 = join(runs, 'detect-160');
const det2 = join(runs, 'detect-320');
const cls = join(runs, 'classify-cnn');
const hours = (m) => String(m / 60);
const resumeOr = (dir) => (existsSync(join(dir, 'weights', 'last.pt')) && !existsSync(join(dir, 'model.onnx')) ? ['--resume'] : []);
run('detector stage 1 (YOLOv8n from yolov8n.yaml, imgsz 160)', python, trainer('detect', '--data', join(work, 'train-prep', 'detect', 'data.yaml'),
  '--out', det1, '--model', 'yolov8n.yaml', '--imgsz', '160', '--batch', '16', '--epochs', '100', '--time', hours(minutes('detect-minutes')),
  '--cache', 'ram', '--workers', '2', '--device', opt.device, '--seed', '0', ...resumeOr(det1)), { done: join(det1, 'model.onnx') });
run('detector stage 2 (fine-tune at imgsz 320)', python, trainer('detect', '--data', join(work, 'train-prep', 'detect', 'data.yaml'),
  '--out', det2, '--model', join(det1, 'weights', 'best.pt'), '--imgsz', '320', '--batch', '16', '--epochs', '100',
  '--time', hours(minutes('finetune-minutes')), '--lr0', '0.002', '--warmup-epochs', '0', '--mosaic', '0', '--close-mosaic', '0',
  '--cache', 'ram', '--workers', '2', '--device', opt.device, '--seed', '0', ...resumeOr(det2)), { done: join(det2, 'model.onnx') });
run('classifier (paper CNN on vertebra crops)', python, trainer('classify', '--data', join(work, 'train-prep'), '--input', 'vertebra-crop',
  '--out', cls, '--model', 'cnn', '--epochs', '60', '--batch', '64', '--lr', '0.001', '--budget', String(minutes('classify-minutes')),
  '--workers', '1', '--device', opt.device, '--seed', '0', ...resumeOr(cls)), { done: join(cls, 'model.onnx') });

// The fine-tune at 320 is kept only if it beats stage 1 on the training seed's own val split (mAP50-95,
// ultralytics' fitness); the holdout studies stay unseen by every choice.
const valMap = (dir) => JSON.parse(readFileSync(join(dir, 'model.card.json'), 'utf8')).metrics.mAP50_95 ?? -1;
const detector = valMap(det2) >= valMap(det1) ? det2 : det1;
console.log(`\ndetector: ${detector === det2 ? 'stage 2 (320)' : 'stage 1 (160)'} — val mAP50-95 ${valMap(det1).toFixed(4)} (160) vs ${valMap(det2).toFixed(4)} (320)`);
const holdout = { detect: join(work, 'holdout-prep', 'detect', 'data.yaml'), classify: join(work, 'holdout-prep') };
const results = {};
for (const [name, dir, data] of [['vertebra-detector', detector, holdout.detect], ['fracture-classifier', cls, holdout.classify]]) {
  const out = join(work, `${name}.holdout.json`);
  run(`validate ${name} on the holdout studies`, python, trainer('validate', '--model', join(dir, 'model.onnx'), '--data', data, '--out', out, '--record'));
  results[name] = JSON.parse(readFileSync(out, 'utf8')).metrics;
}

const minutesTotal = log.reduce((a, s) => a + (s.seconds ?? 0), 0) / 60;
const summary = { quick, minutes: minutesTotal, steps: log, detector: detector === det2 ? 'imgsz 320 (stage 2)' : 'imgsz 160 (stage 1)', holdout: results };
writeFileSync(summaryFile, `${JSON.stringify(summary, null, 2)}\n`);
if (quick) {
  console.log(`\nquick rebuild done in ${summary.minutes.toFixed(1)} min (models/ untouched): ${join(work, 'train-models.json')}`);
  process.exit(0);
}

// Install into models/: the card names its model file, so it is rewritten with the new name.
const models = join(root, 'models');
mkdirSync(models, { recursive: true });
for (const [name, dir] of [['vertebra-detector', detector], ['fracture-classifier', cls]]) {
  const card = JSON.parse(readFileSync(join(dir, 'model.card.json'), 'utf8'));
  card.onnx = `${name}.onnx`;
  card.training.recipe = 'npm run models:train (scripts/train-models.mjs)';
  copyFileSync(join(dir, 'model.onnx'), join(models, `${name}.onnx.tmp`));
  renameSync(join(models, `${name}.onnx.tmp`), join(models, `${name}.onnx`));
  writeFileSync(join(models, `${name}.card.json.tmp`), `${JSON.stringify(card, null, 2)}\n`);
  renameSync(join(models, `${name}.card.json.tmp`), join(models, `${name}.card.json`));
}
rmSync(join(models, 'train-models.json'), { force: true });
writeFileSync(join(models, 'train-models.json'), `${JSON.stringify(summary, null, 2)}\n`);
console.log(`\nmodels/ rebuilt in ${summary.minutes.toFixed(1)} min; holdout metrics:\n${JSON.stringify(results, null, 2)}`);
