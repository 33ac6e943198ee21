/**
 * `dicom-ml infer FILE|DIR`: the two-stage models on DICOM (ARCHITECTURE "Two-stage design"). A file: one
 * slice's vertebra boxes, per-vertebra fracture probability, optional Grad-CAM picture. A folder: every
 * series in it (sub-folders too, e.g. RSNA train_images/<StudyInstanceUID>/) is one study; its slices run in
 * order and fuse into C1–C7 and patient fracture probabilities (src/core/metrics/rsna.ts fuseStudy); with
 * `--truth train.csv` the RSNA 2022 competition metric scores them. `--out DIR` writes slices.jsonl (per
 * slice), studies.json (fusion + score) and submission.csv (RSNA's row_id,fractured).
 */
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { scanSeries } from '../../core/dicom/series';
import { progressText, toJson } from '../../core/evaluation/output';
import { DEFAULT_CLASSIFIER, DEFAULT_DETECTOR, findModelsDir } from '../../core/inference/defaults';
import { InferenceEngine, type SliceFindings } from '../../core/inference/engine';
import { overlayPng } from '../../core/inference/overlay';
import { writeFileAtomic } from '../../core/io/atomic';
import { fuseStudy, parseTrainCsv, RSNA_TARGETS, rsnaScore, type StudyFusion } from '../../core/metrics/rsna';
import { floatOption, intOption, ranged, UsageError } from '../args';
import type { CommandContext } from '../context';

export const inferUsage = 'dicom-ml infer FILE|DIR [--detector M.onnx] [--classifier M.onnx] [--frame N] [--conf 0.25] [--iou 0.7] [--max-det 300] [--gradcam DIR] [--out DIR] [--truth train.csv] [--fusion max|mean] [--threads N] [--cuda] [--json]';

export const inferOptions = {
  detector: { type: 'string' }, classifier: { type: 'string' }, frame: { type: 'string' }, conf: { type: 'string' }, iou: { type: 'string' },
  'max-det': { type: 'string' }, gradcam: { type: 'string' }, out: { type: 'string' }, truth: { type: 'string' }, fusion: { type: 'string' },
  threads: { type: 'string' }, cuda: { type: 'boolean' }, 'no-classifier': { type: 'boolean' }, 'no-detector': { type: 'boolean' },
} as const;

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** --detector / --classifier, else the shipped defaults (models/ of this installation). */
export function modelPaths(ctx: CommandContext): { detector?: string; classifier?: string } {
  const dir = findModelsDir(__dirname);
  const pick = (opt: string, off: string, file: string) => {
    if (ctx.options[off]) return undefined;
    const given = str(ctx.options[opt]);
    if (given) return resolve(given);
    return dir ? join(dir, file) : undefined;
  };
  const out = { detector: pick('detector', 'no-detector', DEFAULT_DETECTOR), classifier: pick('classifier', 'no-classifier', DEFAULT_CLASSIFIER) };
  if (!out.detector && !out.classifier) throw new UsageError('no model: give --detector and/or --classifier (no default models found in a models/ folder of this installation)');
  return out;
}

/** A slice's findings as JSON (no pixel arrays). */
function sliceJson(f: SliceFindings) {
  return {
    file: f.file, frame: f.frame, instance: f.instance ?? null, rows: f.rows, columns: f.columns, fracture: f.fracture,
    vertebrae: f.vertebrae.map((v) => ({ name: v.name, cls: v.cls, conf: v.conf, box: v.box, ...(v.crop ? { crop: v.crop } : {}), ...(v.fracture !== undefined ? { fracture: v.fracture } : {}), ...(v.camPeak !== undefined ? { camPeak: v.camPeak } : {}) })),
  };
}

/** The slice number fusion reports: InstanceNumber, else the file name's number (RSNA <slice_number>.dcm), else the index. */
function sliceNumber(f: SliceFindings, index: number): number {
  if (f.instance !== undefined) return f.instance;
  const n = Number(basename(f.file, extname(f.file)));
  return Number.isInteger(n) ? n : index;
}

export async function infer(ctx: CommandContext): Promise<void> {
  const target = ctx.positionals[0];
  if (!target) throw new UsageError(`missing FILE or DIR\nusage: ${inferUsage}`);
  if (ctx.positionals.length > 1) throw new UsageError(`one FILE or DIR, got ${ctx.positionals.length}\nusage: ${inferUsage}`);
  const isDir = await stat(target).then((s) => s.isDirectory(), (err: NodeJS.ErrnoException) => { throw new UsageError(`${target}: ${err.code === 'ENOENT' ? 'no such file or folder' : err.code}`, 1); });
  const fusionRule = str(ctx.options.fusion) ?? 'max';
  if (fusionRule !== 'max' && fusionRule !== 'mean') throw new UsageError(`--fusion must be max or mean, got "${fusionRule}"`);
  const gradcamDir = str(ctx.options.gradcam);
  const engine = await InferenceEngine.create({
    ...modelPaths(ctx),
    nms: {
      conf: floatOption('conf', ctx.options.conf, 0.25, 0, 1),
      iou: floatOption('iou', ctx.options.iou, 0.7, 0, 1),
      maxDet: ranged('max-det', ctx.options['max-det'], 300, 1, 100000),
    },
    threads: ranged('threads', ctx.options.threads, undefined, 0, 256),
    cuda: Boolean(ctx.options.cuda),
    keepGray: Boolean(gradcamDir),
  });
  try {
    for (const n of engine.notes) ctx.stderr(`note: ${n}`);
    if (!isDir) await inferOne(ctx, engine, target, gradcamDir);
    else await inferFolder(ctx, engine, target, gradcamDir, fusionRule);
  } finally {
    await engine.dispose();
  }
}

async function writeGradcam(dir: string, f: SliceFindings, name: string): Promise<string> {
  const file = join(dir, `${name}.png`);
  await writeFileAtomic(file, await overlayPng(f.gray as Uint8Array, f, { boxes: true, gradcam: true }));
  return file;
}

async function inferOne(ctx: CommandContext, engine: InferenceEngine, file: string, gradcamDir?: string): Promise<void> {
  const f = await engine.inferFile(file, intOption('frame', ctx.options.frame as string | undefined, 0));
  const picture = gradcamDir ? await writeGradcam(gradcamDir, f, basename(file, extname(file))) : undefined;
  const doc = { ...sliceJson(f), ...(picture ? { gradcam: picture } : {}) };
  const out = str(ctx.options.out);
  if (out) await writeFileAtomic(join(out, 'slices.jsonl'), `${toJson(doc)}\n`);
  if (ctx.json) {
    ctx.stdout(toJson(doc, 2));
    return;
  }
  ctx.stdout(`${file}: ${f.vertebrae.length} vertebra box${f.vertebrae.length === 1 ? '' : 'es'}${f.fracture !== null ? `, slice fracture probability ${f.fracture.toFixed(3)}` : ''}`);
  for (const v of f.vertebrae) {
    ctx.stdout(`  ${v.name.padEnd(3)} conf ${v.conf.toFixed(3)}  box ${v.box.map((x) => x.toFixed(1)).join(',')}${v.fracture !== undefined ? `  fracture ${v.fracture.toFixed(3)}` : ''}`);
  }
  if (picture) ctx.stderr(`wrote ${picture}`);
}

async function inferFolder(ctx: CommandContext, engine: InferenceEngine, dir: string, gradcamDir: string | undefined, rule: 'max' | 'mean'): Promise<void> {
  const scan = await scanSeries(dir, { recursive: true });
  if (!scan.series.length) throw new UsageError(`${dir}: no DICOM image series in this folder or below${scan.skipped.length ? ` (${scan.skipped.length} file(s) skipped, e.g. ${scan.skipped[0].path}: ${scan.skipped[0].reason})` : ''}`, 1);
  const truthFile = str(ctx.options.truth);
  const truth = truthFile ? parseTrainCsv(await readFile(truthFile, 'utf8').catch((err: NodeJS.ErrnoException) => { throw new UsageError(`${truthFile}: cannot read (${err.code})`, 1); }), truthFile) : undefined;
  const total = scan.series.reduce((a, s) => a + s.slices.length, 0);
  const tty = Boolean(process.stderr.isTTY);
  const started = Date.now();
  const out = str(ctx.options.out);
  const sliceLines: string[] = [];
  const studies: (StudyFusion & { series: string; slices: number; folder: string })[] = [];
  let done = 0;
  let lastDecile = -1;
  for (const s of scan.series) {
    const study = s.studyInstanceUID ?? basename(dirname(s.slices[0].path));
    const results: { slice: number; vertebrae: { vertebra: number; conf: number; fracture: number }[] }[] = [];
    let k = 0;
    for await (const f of engine.inferSeries(s.slices.map((x) => ({ path: x.path, frame: x.frame })))) {
      const number = sliceNumber(f, k);
      results.push({ slice: number, vertebrae: f.vertebrae.filter((v) => v.fracture !== undefined && v.cls < 7).map((v) => ({ vertebra: v.cls, conf: v.conf, fracture: v.fracture as number })) });
      sliceLines.push(toJson({ study, slice: number, ...sliceJson(f) }));
      if (gradcamDir && f.vertebrae.length) await writeGradcam(join(gradcamDir, study), f, String(number));
      k++;
      done++;
      const decile = Math.floor((10 * done) / total);
      if (tty) process.stderr.write(`\r${progressText('infer', done, total, started, 'slices')}\x1b[K`);
      else if (decile !== lastDecile && total >= 50) {
        lastDecile = decile;
        ctx.stderr(progressText('infer', done, total, started, 'slices'));
      }
    }
    studies.push({ ...fuseStudy(study, results, { rule }), series: s.seriesInstanceUID, slices: s.slices.length, folder: dirname(s.slices[0].path) });
  }
  if (tty) process.stderr.write('\r\x1b[K');
  const score = truth ? rsnaScore(truth, studies.map((s) => ({ study: s.study, vertebrae: s.vertebrae.map((v) => v.probability), patient: s.patient })), { allowMissing: true }) : undefined;
  const doc = { dir: resolve(dir), models: { detector: engine.detector?.spec.path ?? null, classifier: engine.classifier?.spec.path ?? null }, studies, ...(score ? { rsna: score } : {}), skipped: scan.skipped.map((k) => ({ file: k.path, reason: k.reason })) };
  if (out) {
    await writeFileAtomic(join(out, 'slices.jsonl'), sliceLines.map((l) => `${l}\n`).join(''));
    await writeFileAtomic(join(out, 'studies.json'), `${toJson(doc, 2)}\n`);
    const rows = studies.flatMap((s) => RSNA_TARGETS.map((t, i) => `${s.study}_${t},${i < 7 ? s.vertebrae[i].probability : s.patient}`));
    await writeFileAtomic(join(out, 'submission.csv'), `row_id,fractured\n${rows.join('\n')}\n`);
    ctx.stderr(`wrote ${join(out, 'slices.jsonl')}, studies.json and submission.csv`);
  }
  if (ctx.json) {
    ctx.stdout(toJson(doc, 2));
    return;
  }
  ctx.stdout(`study${' '.repeat(60)}  slices  ${RSNA_TARGETS.slice(0, 7).join('    ')}    patient`);
  for (const s of studies) {
    ctx.stdout(`${s.study.padEnd(65)}  ${String(s.slices).padStart(6)}  ${s.vertebrae.map((v) => (v.detected ? v.probability.toFixed(2) : ' -- ')).join('  ')}  ${s.patient.toFixed(3)}`);
  }
  if (score) {
    ctx.stdout(`RSNA 2022 weighted log loss over ${score.studies} stud${score.studies === 1 ? 'y' : 'ies'}: ${score.score.toFixed(4)} (lower is better; ${Object.entries(score.perTarget).map(([k, v]) => `${k} ${v.toFixed(3)}`).join(', ')})`);
    if (score.missing.length) ctx.stderr(`note: ${score.missing.length} stud${score.missing.length === 1 ? 'y' : 'ies'} of ${truthFile} not in ${dir} (not scored)`);
  }
}
