// A run's training curves for the metrics panel (src/core/training/curves.ts): epoch lines of events.jsonl as
// points, losses and metrics apart, a resumed run's repeated epochs counted once (the last report wins), and the
// file read again as it grows.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { trainingCurves } from '../../src/core/training/curves';

test('epochs become points; a resumed epoch counts once; the curves grow with the file', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'curves-')), 'runs', 'classify', 'cnn-1');
  mkdirSync(dir, { recursive: true });
  const line = (o: unknown) => `${JSON.stringify(o)}\n`;
  const epoch = (n: number, loss: number, f1: number) => line({ event: 'epoch', epoch: n, epochs: 4, losses: { train: loss, val: loss + 0.1 }, metrics: { f1, auc: Number.NaN } });
  writeFileSync(join(dir, 'events.jsonl'), line({ event: 'start', task: 'classify', run: dir, config: { epochs: 4 } }) + epoch(1, 0.9, 0.5) + epoch(2, 0.7, 0.6));
  let c = trainingCurves(dir);
  assert.equal(c.task, 'classify');
  assert.equal(c.name, 'cnn-1');
  assert.deepEqual(c.points.map((p) => p.epoch), [1, 2]);
  assert.deepEqual(c.points[0].values, { 'loss train': 0.9, 'loss val': 1, f1: 0.5 }, 'NaN (null in JSON) left out');
  // Resumed from epoch 1's checkpoint: epoch 2 again, then 3.
  appendFileSync(join(dir, 'events.jsonl'), line({ event: 'start', task: 'classify', run: dir, config: {}, resumedFrom: 2 }) + epoch(2, 0.65, 0.62) + epoch(3, 0.5, 0.7));
  c = trainingCurves(dir);
  assert.deepEqual(c.points.map((p) => [p.epoch, p.values['loss train']]), [[1, 0.9], [2, 0.65], [3, 0.5]]);
  assert.equal(c.epochs, 4);
});
