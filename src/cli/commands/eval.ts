/**
 * `dicom-ml eval detect|classify` (ARCHITECTURE "CLI contract"): metrics equal to ultralytics / pycocotools /
 * scikit-learn, from a model run over a prepared dataset or from prediction files; `--out DIR` writes
 * metrics.json and predictions.jsonl (per image: truth, predictions, error records, source DICOM).
 */
import { readdir } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { csvScores, imageFolder, modelScores, splitFolder, type ScoredImages } from '../../core/evaluation/classify';
import { fileDetections, findImage, imageSize, modelDetections, VAL_DEFAULTS } from '../../core/evaluation/detect';
import { progressText, toJson, writeEvaluation } from '../../core/evaluation/output';
import { loadSources, type ImageSource } from '../../core/evaluation/sources';
import { readDataYaml } from '../../core/evaluation/yoloData';
import { DEFAULT_CLASSIFIER, DEFAULT_DETECTOR, findModelsDir } from '../../core/inference/defaults';
import { SessionCache } from '../../core/inference/session';
import { checkNms } from '../../core/inference/yolo';
import { classificationMetrics } from '../../core/metrics/classification';
import { detectionRecords, evaluateDetection, type DetectionImage, type DetectionMetrics, type DetectionProtocol } from '../../core/metrics/detection';
import { floatOption, ranged, UsageError } from '../args';
import type { CommandContext } from '../context';

export const evalUsage = 'dicom-ml eval detect (--data data.yaml [--split val] [--model M.onnx] [--conf 0.001] [--iou 0.7] [--max-det 300] | --labels DIR --predictions DIR [--names data.yaml|A,B,…] [--imgsz N]) [--protocol ultralytics|coco|both] [--record-conf 0.25] [--out DIR] [--json]\n'
  + '       dicom-ml eval classify (--data DIR [--split val] [--model M.onnx] [--batch 32] | --truth CSV --scores CSV) [--out DIR] [--json]';

export const evalOptions = {
  data: { type: 'string' }, split: { type: 'string' }, model: { type: 'string' }, labels: { type: 'string' }, predictions: { type: 'string' },
  names: { type: 'string' }, imgsz: { type: 'string' }, protocol: { type: 'string' }, conf: { type: 'string' }, iou: { type: 'string' },
  'max-det': { type: 'string' }, 'record-conf': { type: 'string' }, out: { type: 'string' }, truth: { type: 'string' }, scores: { type: 'string' },
  batch: { type: 'string' }, threads: { type: 'string' }, cuda: { type: 'boolean' },
} as const;

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' && v ? v : undefined);

export async function evaluate(ctx: CommandContext): Promise<void> {
  const task = ctx.positionals[0];
  if (task !== 'detect' && task !== 'classify') throw new UsageError(`eval needs "detect" or "classify"${task ? `, got "${task}"` : ''}\nusage: ${evalUsage}`);
  if (ctx.positionals.length > 1) throw new UsageError(`unexpected argument "${ctx.positionals[1]}"\nusage: ${evalUsage}`);
  if (task === 'detect') await evalDetect(ctx);
  else await evalClassify(ctx);
}

/** A progress reporter on stderr: redrawn on a terminal, a line every 10 % otherwise. */
function progress(ctx: CommandContext, label: string, unit: string): { tick: (done: number, total: number) => void; end: () => void } {
  const tty = Boolean(process.stderr.isTTY);
  const started = Date.now();
  let lastDecile = -1;
  let drawn = false;
  return {
    tick: (done, total) => {
      if (tty) {
        process.stderr.write(`\r${progressText(label, done, total, started, unit)}\x1b[K`);
        drawn = true;
      } else {
        const decile = Math.floor((10 * done) / Math.max(1, total));
        if (decile !== lastDecile && total >= 50) {
          lastDecile = decile;
          ctx.stderr(progressText(label, done, total, started, unit));
        }
      }
    },
    end: () => {
      if (drawn) process.stderr.write('\r\x1b[K');
    },
  };
}

function protocols(v: string | boolean | undefined): DetectionProtocol[] {
  const s = str(v) ?? 'ultralytics';
  if (s === 'both') return ['ultralytics', 'coco'];
  const list = s.split(',').map((x) => x.trim());
  for (const p of list) if (p !== 'ultralytics' && p !== 'coco') throw new UsageError(`--protocol must be ultralytics, coco or both, got "${s}"`);
  return [...new Set(list)] as DetectionProtocol[];
}

function defaultModel(ctx: CommandContext, file: string): string {
  const given = str(ctx.options.model);
  if (given) return resolve(given);
  const dir = findModelsDir(__dirname);
  if (!dir) throw new UsageError(`--model is required (no default ${file} found in a models/ folder of this installation)`);
  return join(dir, file);
}

async function evalDetect(ctx: CommandContext): Promise<void> {
  const data = str(ctx.options.data);
  const labels = str(ctx.options.labels);
  const preds = str(ctx.options.predictions);
  if (Boolean(data) === Boolean(labels || preds)) throw new UsageError(`give --data data.yaml (run a model) or --labels DIR --predictions DIR (score files)\nusage: ${evalUsage}`);
  const protos = protocols(ctx.options.protocol);
  const recordConf = floatOption('record-conf', ctx.options['record-conf'], 0.25, 0, 1);
  let names: string[];
  let images: DetectionImage[];
  let sources = new Map<string, ImageSource>();
  const settings: Record<string, unknown> = {};
  const notes: string[] = [];
  let source: Record<string, unknown>;
  if (data) {
    const d = await readDataYaml(data);
    names = d.names;
    const split = str(ctx.options.split) ?? 'val';
    const list = await d.images(split);
    if (!list.length) throw new UsageError(`${data}: the ${split} split has no images`, 1);
    const modelPath = defaultModel(ctx, DEFAULT_DETECTOR);
    const nms = checkNms({
      conf: floatOption('conf', ctx.options.conf, VAL_DEFAULTS.conf, 0, 1),
      iou: floatOption('iou', ctx.options.iou, VAL_DEFAULTS.iou, 0, 1),
      maxDet: ranged('max-det', ctx.options['max-det'], VAL_DEFAULTS.maxDet, 1, 100000) as number,
      multiLabel: true,
    });
    const cache = new SessionCache({ threads: ranged('threads', ctx.options.threads, undefined, 0, 256), cuda: Boolean(ctx.options.cuda) });
    try {
      const model = await cache.get(modelPath);
      if (model.spec.task !== 'detect') throw new UsageError(`${modelPath}: not a detection model`, 1);
      if (model.note) ctx.stderr(`note: ${model.note}`);
      if (model.spec.names.join('\u0000') !== names.join('\u0000')) notes.push(`the model's classes (${model.spec.names.join(', ')}) differ from data.yaml's (${names.join(', ')}); ids are compared as they are`);
      const bar = progress(ctx, 'eval detect', 'images');
      const r = await modelDetections(model, list, names, nms, { onProgress: bar.tick });
      bar.end();
      images = r.images;
      if (r.duplicatesRemoved) notes.push(`${r.duplicatesRemoved} duplicate label row(s) removed (as ultralytics does)`);
      Object.assign(settings, { conf: nms.conf, iou: nms.iou, maxDet: nms.maxDet, imgsz: model.spec.imgsz, provider: model.provider });
      source = { kind: 'model', model: modelPath, data: resolve(data), split };
    } finally {
      await cache.dispose();
    }
    sources = (await loadSources(dirname(resolve(data)))).byImage;
  } else {
    if (!labels || !preds) throw new UsageError(`--labels and --predictions go together\nusage: ${evalUsage}`);
    names = await namesFor(ctx, labels, preds);
    const imagesDir = labelsToImages(resolve(labels));
    const dirNames = imagesDir ? new Set(await readdir(imagesDir).catch(() => [] as string[])) : undefined;
    const side = ranged('imgsz', ctx.options.imgsz, 640, 1, 100000) as number;
    const r = await fileDetections(labels, preds, names, async (stem) => {
      const img = imagesDir ? await findImage(imagesDir, stem, dirNames) : undefined;
      return img ? imageSize(img) : undefined;
    }, { width: side, height: side });
    images = r.images;
    if (r.duplicatesRemoved) notes.push(`${r.duplicatesRemoved} duplicate label row(s) removed (as ultralytics does)`);
    if (r.sized < images.length) notes.push(`${images.length - r.sized} image(s) without an image file beside the labels: sized ${side}×${side} (--imgsz); only COCO's area ranges depend on it`);
    source = { kind: 'files', labels: resolve(labels), predictions: resolve(preds) };
  }
  const results: Partial<Record<DetectionProtocol, DetectionMetrics>> = {};
  for (const p of protos) results[p] = evaluateDetection(images, names, p);
  const first = results[protos[0]] as DetectionMetrics;
  const metrics = { task: 'detect', ...first, protocols: results, source, settings, names, notes, created: new Date().toISOString() };
  const out = str(ctx.options.out);
  if (out) {
    const lines = images.map((img) => predictionLine(img, names, sources.get(img.image), recordConf));
    const w = await writeEvaluation(out, metrics, lines);
    ctx.stderr(`wrote ${w.metrics} and ${w.predictions}`);
  }
  for (const n of notes) ctx.stderr(`note: ${n}`);
  if (ctx.json) ctx.stdout(toJson(withoutCurves(metrics), 2));
  else for (const p of protos) ctx.stdout(detectionTable(results[p] as DetectionMetrics).join('\n'));
}

/** The data.yaml beside labels/… → its names; else --names (a data.yaml or a comma list); else class ids. */
async function namesFor(ctx: CommandContext, labels: string, preds: string): Promise<string[]> {
  const given = str(ctx.options.names);
  if (given?.endsWith('.yaml') || given?.endsWith('.yml')) return (await readDataYaml(given)).names;
  if (given) return given.split(',').map((s) => s.trim());
  let max = -1;
  for (const dir of [labels, preds]) {
    for (const f of (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.txt'))) {
      const text = await import('node:fs/promises').then((fs) => fs.readFile(join(dir, f), 'utf8'));
      for (const m of text.matchAll(/^\s*(\d+)\s/gm)) max = Math.max(max, Number(m[1]));
    }
  }
  return Array.from({ length: max + 1 }, (_, i) => String(i));
}

/** …/labels/val → …/images/val (ultralytics layout), when the path has a labels folder. */
function labelsToImages(labels: string): string | undefined {
  const a = `${sep}labels`;
  const i = labels.lastIndexOf(a);
  if (i < 0 || !(labels.length === i + a.length || labels[i + a.length] === sep)) return undefined;
  return `${labels.slice(0, i)}${sep}images${labels.slice(i + a.length)}`;
}

/** One predictions.jsonl line of a detection evaluation (the contract issue 9's panel reads). */
function predictionLine(img: DetectionImage, names: readonly string[], src: ImageSource | undefined, recordConf: number) {
  const records = detectionRecords(img, { conf: recordConf, iou: 0.5 });
  const count = (k: string) => records.filter((r) => r.kind === k).length;
  return {
    task: 'detect', image: img.image, width: img.width, height: img.height,
    ...(src ? { study: src.study, slice: src.slice, dicom: src.dicom } : {}),
    truth: img.truth.map((t) => ({ cls: t.cls, name: names[t.cls], box: t.box })),
    predictions: img.predictions.map((p) => ({ cls: p.cls, name: names[p.cls], conf: p.conf, box: p.box })),
    records, counts: { tp: count('tp'), fp: count('fp'), fn: count('fn'), wrongClass: count('wrong-class') },
  };
}

const fmt = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v.toFixed(3));

/** The metric table for people (ultralytics val's layout). */
function detectionTable(m: DetectionMetrics): string[] {
  const head = ['class', 'images', 'instances', 'P', 'R', 'mAP50', 'mAP50-95'];
  const rows = [['all', String(m.images), String(m.instances), fmt(m.precision), fmt(m.recall), fmt(m.mAP50), fmt(m.mAP50_95)],
    ...m.perClass.map((c) => [c.name, String(c.images), String(c.instances), fmt(c.precision), fmt(c.recall), fmt(c.mAP50), fmt(c.mAP50_95)])];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [`protocol ${m.protocol}`, ...[head, ...rows].map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '))];
}

async function evalClassify(ctx: CommandContext): Promise<void> {
  const data = str(ctx.options.data);
  const truth = str(ctx.options.truth);
  const scoresFile = str(ctx.options.scores);
  if (Boolean(data) === Boolean(truth || scoresFile)) throw new UsageError(`give --data DIR (run a model) or --truth CSV --scores CSV (score files)\nusage: ${evalUsage}`);
  let scored: ScoredImages;
  let source: Record<string, unknown>;
  let positive = 1;
  let sources = new Map<string, ImageSource>();
  if (data) {
    const modelPath = defaultModel(ctx, DEFAULT_CLASSIFIER);
    const split = str(ctx.options.split) ?? 'val';
    const cache = new SessionCache({ threads: ranged('threads', ctx.options.threads, undefined, 0, 256), cuda: Boolean(ctx.options.cuda) });
    try {
      const model = await cache.get(modelPath);
      if (model.spec.task !== 'classify') throw new UsageError(`${modelPath}: not a classifier`, 1);
      if (model.note) ctx.stderr(`note: ${model.note}`);
      positive = model.spec.positive;
      const folder = await splitFolder(resolve(data), split, model.spec); // absolute: images are matched to the manifest by path
      const { images, truth: t } = await imageFolder(folder, model.spec.names);
      const bar = progress(ctx, 'eval classify', 'images');
      scored = await modelScores(model, images, t, ranged('batch', ctx.options.batch, 32, 1, 4096), { onProgress: bar.tick });
      bar.end();
      source = { kind: 'model', model: modelPath, data: resolve(data), folder, split, input: model.spec.kind };
      sources = (await loadSources(folder)).byImage;
    } finally {
      await cache.dispose();
    }
  } else {
    if (!truth || !scoresFile) throw new UsageError(`--truth and --scores go together\nusage: ${evalUsage}`);
    scored = await csvScores(truth, scoresFile);
    source = { kind: 'files', truth: resolve(truth), scores: resolve(scoresFile) };
  }
  const m = classificationMetrics(scored.truth, scored.scores, { positive, names: scored.names });
  const metrics = { task: 'classify', ...m, source, names: scored.names, positiveClass: positive, created: new Date().toISOString() };
  const out = str(ctx.options.out);
  if (out) {
    const lines = scored.images.map((img, i) => {
      const pred = argmax(scored.scores[i]);
      const src = sources.get(img);
      const kind = pred === scored.truth[i] ? (pred === positive ? 'tp' : 'tn') : pred === positive ? 'fp' : 'fn';
      return {
        task: 'classify', image: img, label: scored.truth[i], prediction: pred, probability: scored.scores[i][positive], scores: scored.scores[i],
        correct: pred === scored.truth[i], kind, ...(src ? src : {}),
      };
    });
    const w = await writeEvaluation(out, metrics, lines);
    ctx.stderr(`wrote ${w.metrics} and ${w.predictions}`);
  }
  for (const n of m.notes ?? []) ctx.stderr(`note: ${n}`);
  if (ctx.json) ctx.stdout(toJson(withoutCurves(metrics), 2));
  else {
    ctx.stdout(`images ${m.images}  accuracy ${fmt(m.accuracy)}  precision ${fmt(m.precision)}  recall ${fmt(m.recall)}  F1 ${fmt(m.f1)}  specificity ${fmt(m.specificity)}  kappa ${fmt(m.kappa)}  AUC ${fmt(m.auc)}`);
    ctx.stdout(`confusion (rows = truth ${scored.names.join('/')}, columns = prediction): ${JSON.stringify(m.confusion)}`);
  }
}

/**
 * --json on stdout: the metrics without their curves (thousands of points per class, for panels); the
 * curves are in metrics.json with --out.
 */
function withoutCurves<T extends object>(m: T): T {
  return JSON.parse(JSON.stringify(m, (k, v: unknown) => (k === 'curves' ? undefined : v))) as T;
}

function argmax(p: readonly number[]): number {
  let j = 0;
  for (let i = 1; i < p.length; i++) if (p[i] > p[j]) j = i;
  return j;
}
