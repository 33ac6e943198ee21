/**
 * An evaluation as the palette asks for it — task, model, prepared dataset, split — turned into the
 * `dicom-ml eval` arguments of a `dicom-ml` task, and where its metrics.json / predictions.jsonl go: inside
 * the run folder when the model is a run's (`<run>/eval/<dataset>-<split>`), else under the workspace's
 * `runs/eval/<task>/`.
 */
import { basename, dirname, join } from 'node:path';
import type { TrainTask } from '../training/events';
import { CLI_TASK_TYPE, type CliTaskDefinition } from '../training/request';

export interface EvalRequest {
  task: TrainTask;
  /** The ONNX model. */
  model: string;
  /** The prepared dataset folder (prepare's --out). */
  dataset: string;
  split: string;
  /** Output folder. */
  out: string;
}

/** `dicom-ml eval` arguments (detection in both protocols; classification picks its image set from the card). */
export function evalCliArgs(r: EvalRequest): string[] {
  const data = r.task === 'detect' ? join(r.dataset, 'detect', 'data.yaml') : r.dataset;
  return [r.task, '--data', data, '--split', r.split, '--model', r.model, '--out', r.out, ...(r.task === 'detect' ? ['--protocol', 'both'] : [])];
}

export function evalTaskDefinition(r: EvalRequest): CliTaskDefinition {
  return { type: CLI_TASK_TYPE, command: 'eval', args: evalCliArgs(r) };
}

const stamp = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');

/**
 * The output folder: `<run>/eval/<dataset>-<split>` for a model inside a run folder (one with events.jsonl
 * beside its `runs/<task>/<name>/` parent, as `isRun` says), else `<root>/runs/eval/<task>/<model>-<dataset>-<split>-<time>`.
 */
export function defaultEvalDir(root: string, r: Omit<EvalRequest, 'out'>, isRun: (dir: string) => boolean, now = new Date()): string {
  const name = `${basename(r.dataset)}-${r.split}`;
  const runDir = dirname(r.model);
  if (isRun(runDir)) return join(runDir, 'eval', name);
  return join(root, 'runs', 'eval', r.task, `${basename(r.model).replace(/\.onnx$/i, '')}-${name}-${stamp(now)}`);
}
