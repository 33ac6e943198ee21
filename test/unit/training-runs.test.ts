// Run folders: status, epochs and best metrics from events.jsonl + config.json; discovery under runs/.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeRun, formatDuration, formatEpoch, progressBar } from '../../src/core/training/format';
import { findRuns, LOCK_FILE, summarizeRun } from '../../src/core/training/runs';

const t = (s: number) => `2026-12-05T10:00:${String(s).padStart(2, '0')}.000Z`;
const start = (task = 'classify', resumedFrom: number | null = null) => ({ event: 'start', time: t(0), task, run: '/r', config: { model: 'cnn', data: '/data' }, resumedFrom });
const epoch = (epoch: number, epochs: number, f1: number, best = false) => ({ event: 'epoch', time: t(epoch), epoch, epochs, losses: { train: 0.5, val: 0.6 }, metrics: { f1, accuracy: 0.8 }, seconds: 10, eta: 10 * (epochs - epoch), best });

function runDir(events: object[], extra: { lock?: object; config?: object; files?: string[]; raw?: string; parent?: string } = {}): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'dicom-ml-run-')), 'runs', extra.parent ?? 'classify', 'cnn-20261205-100000');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n' + (extra.raw ?? ''));
  if (extra.lock) writeFileSync(join(dir, LOCK_FILE), JSON.stringify(extra.lock));
  if (extra.config) writeFileSync(join(dir, 'config.json'), JSON.stringify(extra.config));
  for (const f of extra.files ?? []) writeFileSync(join(dir, f), 'x');
  return dir;
}

test('completed run: epoch k/N, best from end, model and card paths that exist', () => {
  const dir = runDir([start(), epoch(1, 2, 0.5, true), epoch(2, 2, 0.4)], { files: ['model.onnx', 'model.card.json'] });
  writeFileSync(join(dir, 'events.jsonl'), `${JSON.stringify({ event: 'end', time: t(9), status: 'completed', best: { epoch: 1, metrics: { f1: 0.5 } }, onnx: join(dir, 'model.onnx'), card: join(dir, 'model.card.json') })}\n`, { flag: 'a' });
  const s = summarizeRun(dir, () => false);
  assert.equal(s.status, 'completed');
  assert.equal(s.task, 'classify');
  assert.equal(s.name, 'cnn-20261205-100000');
  assert.equal(s.epoch, 2);
  assert.equal(s.epochs, 2);
  assert.deepEqual(s.best, { epoch: 1, metrics: { f1: 0.5 } });
  assert.equal(s.onnx, join(dir, 'model.onnx'));
  assert.equal(s.card, join(dir, 'model.card.json'));
  assert.equal(s.model, 'cnn');
  assert.equal(s.data, '/data');
  assert.equal(s.started, t(0));
  assert.equal(describeRun(s), 'epoch 2/2 · best F1 0.500');
});

test('running vs interrupted: the launcher lock decides when no end/error was written', () => {
  const events = [start(), epoch(1, 5, 0.3, true)];
  assert.equal(summarizeRun(runDir(events, { lock: { pid: 4242, started: t(0) } }), () => true).status, 'running');
  assert.equal(summarizeRun(runDir(events, { lock: { pid: 4242, started: t(0) } }), () => false).status, 'interrupted');
  assert.equal(summarizeRun(runDir(events), () => false).status, 'running', 'no launcher (trainer started by hand): trust the file');
  const s = summarizeRun(runDir(events), () => false);
  assert.equal(describeRun(s), 'epoch 1/5 · best F1 0.300');
  // Just started: no epoch yet.
  assert.equal(describeRun(summarizeRun(runDir([start()]), () => true)), 'starting');
});

test('failed and interrupted from error events; a resumed run is judged by its last part', () => {
  const oom = { event: 'error', time: t(5), kind: 'cuda-oom', message: 'CUDA out of memory at batch size 64: rerun with --batch 32' };
  const f = summarizeRun(runDir([start(), oom]), () => false);
  assert.equal(f.status, 'failed');
  assert.equal(f.error?.kind, 'cuda-oom');
  assert.equal(describeRun(f), 'cuda-oom');
  const intr = { event: 'error', time: t(5), kind: 'interrupted', message: 'interrupted' };
  assert.equal(summarizeRun(runDir([start(), epoch(1, 3, 0.2, true), intr]), () => false).status, 'interrupted');
  // Interrupted, then resumed and still going: running, epochs continue, best kept from the first part.
  const r = summarizeRun(runDir([start(), epoch(1, 3, 0.2, true), intr, start('classify', 1), epoch(2, 3, 0.1)], { lock: { pid: 1, started: t(0) } }), () => true);
  assert.equal(r.status, 'running');
  assert.equal(r.epoch, 2);
  assert.equal(r.error, undefined);
  assert.deepEqual(r.best, { epoch: 1, metrics: { f1: 0.2, accuracy: 0.8 } });
});

test('tolerant: bad lines counted, partial last line ignored, task from the folder, model from config.json, dangling paths dropped', () => {
  const dir = runDir([{ event: 'start', time: t(0), task: 'detect', run: '/r', config: {}, resumedFrom: null }, { event: 'end', time: t(3), status: 'completed', best: null, onnx: '/gone/model.onnx' }], {
    raw: 'oops\n{"event":"epo', config: { model: 'yolov8s.yaml', epochs: 50 }, parent: 'detect',
  });
  const s = summarizeRun(dir, () => false);
  assert.equal(s.status, 'completed');
  assert.equal(s.invalidLines, 1);
  assert.equal(s.model, 'yolov8s.yaml');
  assert.equal(s.epochs, 50);
  assert.equal(s.onnx, undefined, 'the end event names a file that is not there');
  const empty = runDir([], { parent: 'detect' });
  writeFileSync(join(empty, 'events.jsonl'), '');
  assert.equal(summarizeRun(empty, () => false).task, 'detect');
});

test('findRuns: runs/<task>/<name>/events.jsonl, newest first; other folders ignored', () => {
  const root = mkdtempSync(join(tmpdir(), 'dicom-ml-find-'));
  const mk = (rel: string, mtime: number, events = true) => {
    mkdirSync(join(root, rel), { recursive: true });
    if (events) {
      writeFileSync(join(root, rel, 'events.jsonl'), '');
      utimesSync(join(root, rel, 'events.jsonl'), mtime, mtime);
    }
  };
  mk('runs/detect/a', 1000);
  mk('runs/classify/b', 3000);
  mk('runs/classify/c', 2000);
  mk('runs/classify/empty', 0, false);
  mk('other/detect/d', 4000);
  writeFileSync(join(root, 'runs', 'notes.txt'), '');
  assert.deepEqual(findRuns(root), ['runs/classify/b', 'runs/classify/c', 'runs/detect/a'].map((r) => join(root, r)));
  assert.deepEqual(findRuns(join(root, 'runs')), findRuns(root));
  assert.deepEqual(findRuns(join(root, 'nope')), []);
});

test('progress text: bar, epoch line with ETA, durations', () => {
  const e = { event: 'epoch' as const, time: '', epoch: 3, epochs: 10, losses: { box: 1.2, cls: 0.8, dfl: 1.0 }, metrics: { mAP50: 0.81234, mAP50_95: 0.6, precision: 0.9, recall: 0.7 }, seconds: 65, eta: 455 };
  assert.equal(formatEpoch('detect', e), 'epoch 3/10  loss 3.000  mAP50 0.812  mAP50-95 0.600  P 0.900  ETA 7m35s');
  assert.equal(progressBar('detect', e, 10), 'train detect [###.......] epoch 3/10  loss 3.000  mAP50 0.812  mAP50-95 0.600  P 0.900  ETA 7m35s');
  assert.match(progressBar('classify', undefined, 4), /^train classify \[\.\.\.\.\] starting/);
  assert.equal(formatEpoch('classify', { ...e, epoch: 10, eta: 0, losses: {}, metrics: { f1: null, accuracy: 0.5 } }), 'epoch 10/10  F1 –  acc 0.500');
  assert.equal(formatEpoch('classify', { ...e, eta: undefined, seconds: 2 }), 'epoch 3/10  loss 3.000  ETA 14s');
  assert.deepEqual([0, 59.6, 61, 3600 * 2 + 65].map(formatDuration), ['0s', '1m00s', '1m01s', '2h01m']);
});
