/**
 * An evaluation folder as `dicom-ml eval --out DIR` writes it (output.ts): `metrics.json` and
 * `predictions.jsonl`, read back for the metrics panel, the run comparison and the error list. Bad files get
 * one line naming the file and the problem.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DicomError } from '../dicom/errors';

/** A predicted or true box of a detection record (xyxy, image pixels). */
export type Box = [number, number, number, number];

/** `predictions.jsonl`, one line of `eval detect`. */
export interface DetectPrediction {
  task: 'detect';
  image: string;
  width: number;
  height: number;
  study?: string;
  slice?: number;
  dicom?: string;
  truth: { cls: number; name?: string; box: Box }[];
  predictions: { cls: number; name?: string; conf: number; box: Box }[];
  records: { kind: 'tp' | 'fp' | 'fn' | 'wrong-class'; cls: number; truthCls?: number; box: Box; truthBox?: Box; conf?: number; iou?: number }[];
}

/** `predictions.jsonl`, one line of `eval classify`. */
export interface ClassifyPrediction {
  task: 'classify';
  image: string;
  label: number;
  prediction: number;
  probability: number;
  scores: number[];
  correct: boolean;
  kind: 'tp' | 'tn' | 'fp' | 'fn';
  study?: string;
  slice?: number;
  dicom?: string;
  vertebra?: string;
  box?: Box;
}

export type PredictionLine = DetectPrediction | ClassifyPrediction;

/** What `metrics.json` holds (the parts the panel reads; the rest passes through). */
export interface EvalMetrics {
  task: 'detect' | 'classify';
  created?: string;
  names?: string[];
  source?: { kind?: string; model?: string; data?: string; split?: string; folder?: string; input?: string };
  [key: string]: unknown;
}

/** One evaluation read from its folder. */
export interface Evaluation {
  dir: string;
  /** A short name: the model's file name and the split, else the folder's name. */
  label: string;
  metrics: EvalMetrics;
  predictions: PredictionLine[];
}

function bad(file: string, why: string): DicomError {
  return new DicomError('BAD_ARGUMENT', why, file);
}

/** Read `dir/metrics.json` (and `dir/predictions.jsonl` unless `withPredictions` is false). */
export async function readEvaluation(dir: string, { withPredictions = true } = {}): Promise<Evaluation> {
  const mFile = join(dir, 'metrics.json');
  let metrics: EvalMetrics;
  try {
    metrics = JSON.parse(await readFile(mFile, 'utf8')) as EvalMetrics;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw bad(mFile, e.code === 'ENOENT' ? 'no metrics.json (run an evaluation into this folder first)' : `not valid JSON (${e.message})`);
  }
  if (!metrics || (metrics.task !== 'detect' && metrics.task !== 'classify')) throw bad(mFile, 'not a dicom-ml evaluation (task is neither "detect" nor "classify")');
  const predictions: PredictionLine[] = [];
  if (withPredictions) {
    const pFile = join(dir, 'predictions.jsonl');
    let text = '';
    try {
      text = await readFile(pFile, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw bad(pFile, (err as Error).message);
    }
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      let p: PredictionLine;
      try {
        p = JSON.parse(line) as PredictionLine;
      } catch {
        throw bad(pFile, `line ${i + 1} is not JSON`);
      }
      if (p.task !== metrics.task) throw bad(pFile, `line ${i + 1}: task "${String(p.task)}" in a ${metrics.task} evaluation`);
      predictions.push(p);
    });
  }
  return { dir, label: evaluationLabel(dir, metrics), metrics, predictions };
}

/** "model.onnx · val" from the source, else the folder name (and its parent's, for runs/…/eval/<name>). */
export function evaluationLabel(dir: string, m: EvalMetrics): string {
  const model = m.source?.model ? basename(m.source.model) : undefined;
  if (model) {
    const run = basename(dirname(m.source?.model as string));
    const who = model === 'model.onnx' || model === 'best.onnx' ? `${run}/${model}` : model;
    return `${who}${m.source?.split ? ` · ${m.source.split}` : ''}`;
  }
  return `${basename(dirname(dir))}/${basename(dir)}`;
}
