// What the metrics panel shows from an evaluation folder (src/core/evaluation/{evalFolder,threshold,errors,
// compare}.ts): metrics.json / predictions.jsonl read back with one-line errors, tables at a threshold equal
// to the metrics recomputed from scratch, the error list (kinds, sources, sorting, filters), and the
// paper-style comparison with the best value per column, as Markdown and CSV; the report (Markdown, HTML).
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { formatUserError } from '../../src/core/dicom/errors';
import { compareEvaluations, comparisonCsv, comparisonMarkdown } from '../../src/core/evaluation/compare';
import { collectErrors, errorCounts, queryErrors } from '../../src/core/evaluation/errors';
import { readEvaluation, type ClassifyPrediction, type DetectPrediction, type Evaluation } from '../../src/core/evaluation/evalFolder';
import { errorPicture, reportHtml, reportMarkdown } from '../../src/core/evaluation/report';
import { classificationAt, detectionAt } from '../../src/core/evaluation/threshold';
import { classificationMetrics } from '../../src/core/metrics/classification';
import { parseMetricsMessage } from '../../src/host/evaluation/messages';

const NAMES = ['C1', 'C2', 'C3'];
const tmp = mkdtempSync(join(tmpdir(), 'eval-views-'));

function folder(name: string, metrics: unknown, lines: unknown[]): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'metrics.json'), JSON.stringify(metrics));
  writeFileSync(join(dir, 'predictions.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
  return dir;
}

const detectLine = (image: string, slice: number, records: DetectPrediction['records']): DetectPrediction => ({
  task: 'detect', image, width: 64, height: 64, study: '1.2.3', slice, dicom: `/data/1.2.3/${slice}.dcm`, truth: [], predictions: [], records,
});

test('an evaluation folder reads back; a missing or foreign one says which file and why', async () => {
  const dir = folder('det', { task: 'detect', names: NAMES, source: { model: '/runs/detect/yolo-1/model.onnx', split: 'val' } }, [detectLine('a.png', 3, [])]);
  const e = await readEvaluation(dir);
  assert.equal(e.predictions.length, 1);
  assert.equal(e.label, 'yolo-1/model.onnx · val');
  const says = (re: RegExp) => (err: unknown) => re.test(formatUserError(err));
  await assert.rejects(readEvaluation(join(tmp, 'nowhere')), says(/nowhere[\\/]metrics\.json: no metrics\.json/));
  const foreign = folder('foreign', { hello: 1 }, []);
  await assert.rejects(readEvaluation(foreign), says(/metrics\.json: not a dicom-ml evaluation/));
  const mixed = folder('mixed', { task: 'classify' }, [detectLine('a.png', 1, [])]);
  await assert.rejects(readEvaluation(mixed), says(/predictions\.jsonl: line 1: task "detect" in a classify evaluation/));
});

test('classification at a threshold equals the metrics of the thresholded decisions; AUC stays; 0.5 is argmax', () => {
  const probs = [0.9, 0.8, 0.35, 0.6, 0.2, 0.7, 0.1, 0.45, 0.55, 0.3];
  const labels = [1, 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const lines: ClassifyPrediction[] = probs.map((p, i) => ({ task: 'classify', image: `${i}.png`, label: labels[i], prediction: p >= 0.5 ? 1 : 0, probability: p, scores: [1 - p, p], correct: (p >= 0.5 ? 1 : 0) === labels[i], kind: 'tp' }));
  const full = classificationMetrics(labels, lines.map((l) => l.scores));
  const at50 = classificationAt(lines, 0.5);
  for (const k of ['accuracy', 'precision', 'recall', 'f1', 'specificity', 'kappa', 'auc'] as const) assert.equal(at50[k], full[k], k);
  const at40 = classificationAt(lines, 0.4);
  // ≥ 0.4: predicted positive 0.9 0.8 0.6 0.7 0.45 0.55 → TP 4 (0.9 0.8 0.7 0.45), FP 2, FN 1 (0.35), TN 3
  assert.deepEqual(at40.confusion, [[3, 2], [1, 4]]);
  assert.equal(at40.recall, 0.8);
  assert.equal(at40.auc, full.auc, 'AUC does not depend on the threshold');
  assert.throws(() => classificationAt([{ ...lines[0], scores: [0.2, 0.3, 0.5] }], 0.5), /two-class/);
});

test('detection at a confidence reads ultralytics\' curves at the nearest grid point', () => {
  const confidence = Array.from({ length: 1000 }, (_, i) => i / 999);
  const ramp = (a: number) => confidence.map((c) => a * (1 - c));
  const curves = { classes: [0, 2], confidence, precision: [confidence.map((c) => c), confidence.map((c) => c / 2)], recall: [ramp(1), ramp(0.5)], f1: [ramp(0.2), ramp(0.4)] };
  const r = detectionAt(curves, 0.25, NAMES);
  const i = Math.round(0.25 * 999);
  assert.equal(r.threshold, confidence[i]);
  assert.deepEqual(r.rows.map((x) => x.name), ['C1', 'C3']);
  assert.equal(r.rows[1].precision, confidence[i] / 2);
  assert.equal(r.precision, (confidence[i] + confidence[i] / 2) / 2);
});

test('errors: kinds, sources and messages; filters and stable sorts', () => {
  const lines: DetectPrediction[] = [
    detectLine('a.png', 7, [
      { kind: 'tp', cls: 0, box: [0, 0, 9, 9], truthBox: [0, 0, 9, 9], conf: 0.9, iou: 0.9, truthCls: 0 },
      { kind: 'fp', cls: 1, box: [1, 1, 5, 5], conf: 0.4 },
    ]),
    detectLine('b.png', 3, [
      { kind: 'fn', cls: 2, box: [2, 2, 8, 8] },
      { kind: 'wrong-class', cls: 1, truthCls: 2, box: [3, 3, 9, 9], truthBox: [2, 2, 9, 9], conf: 0.7, iou: 0.62 },
    ]),
  ];
  const errors = collectErrors(lines, NAMES);
  assert.deepEqual(errors.map((e) => e.kind), ['fp', 'fn', 'wrong-class']);
  assert.deepEqual(errorCounts(errors), { fp: 1, fn: 1, 'wrong-class': 1 });
  assert.equal(errors[0].dicom, '/data/1.2.3/7.dcm');
  assert.equal(errors[2].message, 'C3 detected as C2 (conf 70%, IoU 0.62)');
  assert.deepEqual(queryErrors(errors, { sort: 'conf', descending: true }).map((e) => e.kind), ['wrong-class', 'fp', 'fn']);
  assert.deepEqual(queryErrors(errors, { sort: 'slice' }).map((e) => e.slice), [3, 3, 7]);
  assert.deepEqual(queryErrors(errors, { classes: [2] }).map((e) => e.kind), ['fn', 'wrong-class'], 'wrong-class matches its true class too');
  assert.deepEqual(queryErrors(errors, { minConf: 0.5 }).map((e) => e.kind), ['fn', 'wrong-class'], 'false negatives have no confidence and stay');
  const cls: ClassifyPrediction[] = [
    { task: 'classify', image: 'x_C5.png', label: 1, prediction: 0, probability: 0.2, scores: [0.8, 0.2], correct: false, kind: 'fn', vertebra: 'C5', slice: 40, dicom: '/d/40.dcm' },
    { task: 'classify', image: 'y.png', label: 0, prediction: 0, probability: 0.1, scores: [0.9, 0.1], correct: true, kind: 'tn' },
  ];
  const ce = collectErrors(cls, ['normal', 'fracture']);
  assert.equal(ce.length, 1);
  assert.equal(ce[0].message, 'fracture C5 crop classified as normal (p 20%; false negative)');
});

test('comparison: paper-style rows, best per column (ties all), Markdown bold and CSV', () => {
  const det = (label: string, p: number, r: number, m50: number, m95: number, coco?: number): Evaluation => ({
    dir: `/runs/${label}`, label, predictions: [],
    metrics: { task: 'detect', precision: p, recall: r, mAP50: m50, mAP50_95: m95, ...(coco !== undefined ? { protocols: { ultralytics: { precision: p, recall: r, mAP50: m50, mAP50_95: m95 }, coco: { mAP50: coco, mAP50_95: coco / 2 } } } : {}) },
  });
  const cls: Evaluation = { dir: '/runs/cnn', label: 'cnn', predictions: [], metrics: { task: 'classify', accuracy: 0.9, precision: 0.8, recall: 1, f1: 0.88, specificity: 0.7, kappa: null, auc: 0.95 } };
  const tables = compareEvaluations([det('yolov8n', 0.9, 0.7, 0.78, 0.63, 0.77), cls, det('yolov8s', 0.85, 0.8, 0.78, 0.6)]);
  assert.deepEqual(tables.map((t) => t.task), ['detect', 'classify']);
  const [d, c] = tables;
  assert.deepEqual(d.columns.map((x) => x.title), ['P', 'R', 'mAP50', 'mAP50-95', 'COCO mAP50', 'COCO mAP50-95']);
  assert.deepEqual(d.best, [[0], [1], [0, 1], [0], [0], [0]]);
  assert.deepEqual(d.rows[1].values.slice(4), [null, null]);
  assert.deepEqual(c.rows[0].values[5], null, 'kappa undefined stays empty');
  const md = comparisonMarkdown(tables);
  assert.match(md, /\| yolov8n \| \*\*0\.900\*\* \| 0\.700 \| \*\*0\.780\*\* \| \*\*0\.630\*\* \| \*\*0\.770\*\* \| \*\*0\.385\*\* \|/);
  assert.match(md, /\| yolov8s \| 0\.850 \| \*\*0\.800\*\* \| \*\*0\.780\*\* \| 0\.600 \| – \| – \|/);
  const csv = comparisonCsv(tables).trim().split('\n');
  assert.equal(csv[0], 'task,model,folder,P,R,mAP50,mAP50-95,COCO mAP50,COCO mAP50-95');
  assert.equal(csv[2], 'detect,yolov8s,/runs/yolov8s,0.85,0.8,0.78,0.6,,');
  assert.equal(csv[3], 'task,model,folder,Accuracy,P,R,F1,Specificity,Kappa,AUC');
});

test('report: Markdown and one self-contained HTML file (tables, curves and error pictures inline, no script)', async () => {
  const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#404040' } }).png().toBuffer();
  const image = join(tmp, 'slice.png');
  writeFileSync(image, png);
  const lines = [{ ...detectLine(image, 5, [{ kind: 'wrong-class', cls: 1, truthCls: 2, box: [10, 10, 40, 40], truthBox: [12, 12, 42, 42], conf: 0.8, iou: 0.7 }]) }];
  const metrics = { task: 'detect', names: NAMES, source: { model: '/m/det.onnx', split: 'val' }, images: 1, instances: 1, precision: 0.5, recall: 0.25, mAP50: 0.4, mAP50_95: 0.2,
    perClass: [{ id: 2, name: 'C3', images: 1, instances: 1, precision: 0.5, recall: 0.25, mAP50: 0.4, mAP50_95: 0.2 }] };
  const e = await readEvaluation(folder('report', metrics, lines));
  const errors = collectErrors(e.predictions, NAMES);
  const md = reportMarkdown(e, errors);
  assert.match(md, /^# Vertebra detector: det\.onnx · val/);
  assert.match(md, /\| all \| 1 \| 1 \| 0\.500 \| 0\.250 \| 0\.400 \| 0\.200 \|/);
  assert.match(md, /- C3 detected as C2 \(conf 80%, IoU 0\.70\) — slice 5/);
  const picture = await errorPicture(errors[0]);
  assert.ok(picture, 'a picture of the error');
  const drawn = await sharp(Buffer.from(picture.png)).raw().toBuffer({ resolveWithObject: true });
  const { width } = drawn.info;
  const px = (x: number, y: number) => [...drawn.data.subarray((y * width + x) * drawn.info.channels, (y * width + x) * drawn.info.channels + 3)];
  const s = width / 64;
  const dist = (a: number[], b: number[]) => a.reduce((acc, v, i) => acc + Math.abs(v - b[i]), 0);
  const edge = px(Math.round(25 * s), Math.round(10 * s));
  assert.ok(dist(edge, [0x3c, 0xb4, 0x4b]) < dist(edge, [0x40, 0x40, 0x40]), `the predicted C2 box in its class colour on the top edge (${edge}; resampled, so near it)`);
  assert.deepEqual(px(Math.round(30 * s), Math.round(30 * s)), [0x40, 0x40, 0x40], 'the inside untouched');
  const chart = { title: 'PR', png };
  const html = reportHtml(e, errors, [chart], [picture]);
  assert.equal((html.match(/<img /g) ?? []).length, 2);
  assert.ok(!/<script|src="http|href="http/i.test(html), 'no script, nothing fetched');
  assert.match(html, /Content-Security-Policy" content="default-src 'none'; img-src data:/);
  assert.match(html, /<td>C3<\/td><td>1<\/td><td>1<\/td><td>0\.500<\/td>/);
});

test('metrics panel messages are validated: good ones pass, bad requests get a reason and keep their id', () => {
  assert.equal(parseMetricsMessage({ kind: 'rpc/notify', method: 'metrics/ready', params: { dir: '/e', run: '/r' } }).ok, true);
  assert.deepEqual(parseMetricsMessage({ kind: 'rpc/request', id: 2, method: 'metrics/openError', params: { id: 4, order: [4, 1] } }), { ok: true, message: { kind: 'rpc/request', id: 2, method: 'metrics/openError', params: { id: 4, order: [4, 1] } } });
  const bad = [
    [{ kind: 'rpc/request', id: 3, method: 'metrics/atThreshold', params: { threshold: 1.5 } }, /0…1/],
    [{ kind: 'rpc/request', id: 4, method: 'metrics/openError', params: { id: -1 } }, /whole number/],
    [{ kind: 'rpc/request', id: 5, method: 'metrics/export', params: { what: 'report-pdf' } }, /report-html/],
    [{ kind: 'rpc/request', id: 6, method: 'metrics/export', params: { what: 'report-html', charts: [{ title: 'x', dataUrl: 'javascript:alert(1)' }] } }, /data:image\/png/],
    [{ kind: 'rpc/request', id: 7, method: 'metrics/compare', params: { dirs: [1] } }, /list of folders/],
    [{ kind: 'rpc/request', id: 8, method: 'metrics/deleteRuns', params: {} }, /unknown method/],
  ] as const;
  for (const [m, why] of bad) {
    const r = parseMetricsMessage(m);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.equal(r.id, m.id);
      assert.match(r.reason, why);
    }
  }
  for (const m of [null, { kind: 'rpc/notify', method: 'metrics/other' }, { kind: 'rpc/notify', method: 'metrics/ready', params: { dir: 3 } }]) assert.equal(parseMetricsMessage(m).ok, false);
});
