/**
 * What a training run is asked to do, in one typed object (`TrainRequest`) shared by the `dicom-ml train`
 * CLI, the palette commands and `dicom-ml` tasks: the host builds CLI arguments from it
 * ({@link trainCliArgs}), the CLI parses them back ({@link trainRequestFromOptions}) — one table of options,
 * so the two cannot drift (test/unit/training-request.test.ts round-trips them).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { TrainTask } from './events';

/** Detector architectures the trainer builds from ultralytics' YAML (no weights downloaded). */
export const DETECT_MODELS = ['yolov8n.yaml', 'yolov8s.yaml', 'yolov8m.yaml', 'yolov8l.yaml', 'yolov8x.yaml', 'yolov5l.yaml'] as const;
/** Classifier architectures: the paper's CNN and the two torchvision families it compares with. */
export const CLASSIFY_MODELS = ['cnn', 'resnet50', 'densenet121'] as const;
/** The trainer's defaults (trainer/README.md; the paper's values): shown as presets, never forced. */
export const TRAIN_DEFAULTS = {
  detect: { model: 'yolov8n.yaml', epochs: 100, imgsz: 512, batch: 16 },
  classify: { model: 'cnn', epochs: 30, imgsz: 224, batch: 32 },
} as const;

/** One `dicom-ml train` invocation. Unset fields are left to the trainer's defaults. */
export interface TrainRequest {
  task: TrainTask;
  /** detect: a data.yaml (or a prepared folder holding detect/data.yaml); classify: a prepared or ImageFolder folder. */
  data?: string;
  /** detect: one of {@link DETECT_MODELS} or a local `.pt`; classify: one of {@link CLASSIFY_MODELS}. */
  model?: string;
  epochs?: number;
  imgsz?: number;
  batch?: number;
  /** `auto`, `cpu`, a GPU index `0` or a list `0,1`. */
  device?: string;
  /** The run folder (RUNDIR); default `runs/<task>/<model>-<yyyymmdd-hhmmss>`. */
  out?: string;
  /** Continue the run in `out` from its last checkpoint. */
  resume?: boolean;
  /** The Python interpreter (else $DICOM_ML_PYTHON, else python3). */
  python?: string;
  /** classify: processes per node under torchrun (DDP). */
  nproc?: number;
  /** Echo the trainer's own output (RUNDIR/train.log) while it runs. */
  verbose?: boolean;
  /** Extra trainer arguments (after `--`). */
  extra?: string[];
  /** classify with `nproc`: extra torchrun arguments (after `--`, before a second `--`). */
  torchrun?: string[];
}

/** Options of `dicom-ml train` (node:util parseArgs shape) — the CLI's COMMANDS table uses this. */
export const TRAIN_OPTIONS = {
  data: { type: 'string' }, model: { type: 'string' }, epochs: { type: 'string' }, imgsz: { type: 'string' }, batch: { type: 'string' },
  device: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' }, python: { type: 'string' }, nproc: { type: 'string' },
  verbose: { type: 'boolean' },
} as const satisfies Record<string, { type: 'string' | 'boolean' }>;

/** One-line usage of `dicom-ml train`. */
export const TRAIN_USAGE = 'dicom-ml train detect --data data.yaml [--model yolov8n.yaml] [--epochs N] [--imgsz N] [--batch N] [--device auto|cpu|0|0,1] '
  + '[--out RUNDIR] [--resume] [--python P] [--verbose] [--json] [-- trainer args]\n'
  + '       dicom-ml train classify --data DIR [--model cnn|resnet50|densenet121] [--epochs N] [--imgsz N] [--batch N] [--device …] [--out RUNDIR] '
  + '[--resume] [--python P] [--nproc N] [--verbose] [--json] [-- torchrun args (with --nproc) -- trainer args]';

/** A request the CLI refuses, with the one line that says why; `exitCode` 2 (bad usage/input). */
export class TrainRequestError extends Error {
  override readonly name = 'TrainRequestError';
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

/** `auto`, `cpu`, `0`, `0,1`, … (also `cuda:0` as ultralytics writes it). */
export const DEVICE_PATTERN = /^(auto|cpu|(cuda:)?\d+(,\d+)*)$/;

function positiveInt(name: string, value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const s = String(value).trim();
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new TrainRequestError(`--${name} must be a whole number ≥ 1, got "${String(value)}"`);
  return Number(s);
}

/**
 * The request from parsed CLI options: `positionals[0]` is the task; `afterDashes` holds what followed `--`
 * (for classify with --nproc: torchrun arguments, then a second `--` and trainer arguments). Validates the
 * values' form; files are checked by {@link resolveTrainData}.
 */
export function trainRequestFromOptions(positionals: readonly string[], options: Record<string, string | boolean | undefined>, afterDashes: readonly string[] = []): TrainRequest {
  const [task, ...stray] = positionals;
  if (task !== 'detect' && task !== 'classify') throw new TrainRequestError(task ? `unknown task "${task}" (detect or classify)` : 'missing task: detect or classify');
  if (stray.length) throw new TrainRequestError(`unexpected argument "${stray[0]}" (trainer arguments go after --)`);
  const str = (k: string) => {
    const v = options[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || !v.trim()) throw new TrainRequestError(`--${k} needs a value`);
    return v;
  };
  const req: TrainRequest = { task };
  const data = str('data');
  if (data !== undefined) req.data = data;
  const model = str('model');
  if (model !== undefined) {
    if (task === 'detect' && !(DETECT_MODELS as readonly string[]).includes(model) && !/\.(pt|ya?ml)$/i.test(model)) {
      throw new TrainRequestError(`--model must be one of ${DETECT_MODELS.join(', ')} or a local .pt file, got "${model}"`);
    }
    if (task === 'classify' && !(CLASSIFY_MODELS as readonly string[]).includes(model)) {
      throw new TrainRequestError(`--model must be one of ${CLASSIFY_MODELS.join(', ')}, got "${model}"`);
    }
    req.model = model;
  }
  for (const k of ['epochs', 'imgsz', 'batch'] as const) {
    const v = positiveInt(k, options[k]);
    if (v !== undefined) req[k] = v;
  }
  const device = str('device');
  if (device !== undefined) {
    if (!DEVICE_PATTERN.test(device)) throw new TrainRequestError(`--device must be auto, cpu, a GPU index (0) or a list (0,1), got "${device}"`);
    req.device = device;
  }
  const out = str('out');
  if (out !== undefined) req.out = out;
  if (options.resume) req.resume = true;
  if (options.verbose) req.verbose = true;
  const python = str('python');
  if (python !== undefined) req.python = python;
  const nproc = positiveInt('nproc', options.nproc);
  if (nproc !== undefined) {
    if (task !== 'classify') throw new TrainRequestError('--nproc is for classify (detection spreads over the GPUs of --device itself)');
    req.nproc = nproc;
  }
  if (afterDashes.length) {
    if (req.nproc !== undefined) {
      const cut = afterDashes.indexOf('--');
      const torchrun = cut < 0 ? [...afterDashes] : afterDashes.slice(0, cut);
      const extra = cut < 0 ? [] : afterDashes.slice(cut + 1);
      if (torchrun.length) req.torchrun = torchrun;
      if (extra.length) req.extra = extra;
    } else {
      req.extra = [...afterDashes];
    }
  }
  if (req.resume && !req.out) throw new TrainRequestError('--resume needs --out RUNDIR (the run to continue)');
  if (!req.resume && !req.data) throw new TrainRequestError(`--data is required (${task === 'detect' ? 'a data.yaml' : 'a prepared dataset folder'})`);
  return req;
}

/** `--key value` pairs in the given order, leaving out undefined values (both argv builders use it). */
export function optionArgs(pairs: readonly (readonly [string, string | number | undefined])[]): string[] {
  return pairs.flatMap(([k, v]) => (v === undefined ? [] : [`--${k}`, String(v)]));
}

/**
 * `dicom-ml train …` arguments for `req` (an argument array, never a shell string: every value is one argv
 * entry whatever characters it holds).
 */
export function trainCliArgs(req: TrainRequest): string[] {
  const args: string[] = [req.task, ...optionArgs([['data', req.data], ['model', req.model], ['epochs', req.epochs], ['imgsz', req.imgsz],
    ['batch', req.batch], ['device', req.device], ['out', req.out]])];
  if (req.resume) args.push('--resume');
  args.push(...optionArgs([['python', req.python], ['nproc', req.nproc]]));
  if (req.verbose) args.push('--verbose');
  if (req.nproc !== undefined && (req.torchrun?.length || req.extra?.length)) {
    args.push('--', ...(req.torchrun ?? []));
    if (req.extra?.length) args.push('--', ...req.extra);
  } else if (req.extra?.length) {
    args.push('--', ...req.extra);
  }
  return args;
}

/** The model's short name for run names: `yolov8n.yaml` → `yolov8n`, `/w/best.pt` → `best`. */
export function modelStem(model: string): string {
  return path.basename(model).replace(/\.(ya?ml|pt)$/i, '') || 'model';
}

/** `yyyymmdd-hhmmss` in local time. */
export function timestamp(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

/** Default run name: `<model>-<yyyymmdd-hhmmss>`. */
export function defaultRunName(task: TrainTask, model: string | undefined, now = new Date()): string {
  return `${modelStem(model ?? TRAIN_DEFAULTS[task].model)}-${timestamp(now)}`;
}

/**
 * Default RUNDIR under `root` (the cwd or the workspace folder): `runs/<task>/<name>`, with `-2`, `-3`, …
 * appended when that folder exists already (two runs started in the same second).
 */
export function defaultRunDir(root: string, task: TrainTask, model: string | undefined, now = new Date(), exists: (p: string) => boolean = fs.existsSync): string {
  const base = path.resolve(root, 'runs', task, defaultRunName(task, model, now));
  let dir = base;
  for (let i = 2; exists(dir); i++) dir = `${base}-${i}`;
  return dir;
}

/**
 * Checks `data` on disk and returns the absolute path to hand to the trainer (ultralytics needs an absolute
 * data.yaml). detect: a data.yaml file, or a folder holding `data.yaml` or `detect/data.yaml`; classify: a
 * folder with `classify/`, `classify-vertebrae/` or `train/`. Throws a one-line {@link TrainRequestError}
 * naming the path.
 */
export function resolveTrainData(task: TrainTask, data: string, cwd = process.cwd()): string {
  const abs = path.resolve(cwd, data);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new TrainRequestError(`${abs}: no such ${task === 'detect' && /\.ya?ml$/i.test(abs) ? 'file' : 'file or folder'}`);
  }
  if (task === 'detect') {
    if (st.isFile()) return abs;
    for (const rel of ['data.yaml', path.join('detect', 'data.yaml')]) {
      if (fs.existsSync(path.join(abs, rel))) return path.join(abs, rel);
    }
    throw new TrainRequestError(`${abs}: no data.yaml here or in detect/ (make one with dicom-ml prepare)`);
  }
  if (!st.isDirectory()) throw new TrainRequestError(`${abs}: not a folder (classify needs a prepared folder or an ImageFolder root with train/ and val/)`);
  if (['classify', 'classify-vertebrae', 'train'].some((d) => fs.existsSync(path.join(abs, d)))) return abs;
  throw new TrainRequestError(`${abs}: no classify/, classify-vertebrae/ or train/ folder (make one with dicom-ml prepare)`);
}

/**
 * `dicom-ml train` arguments (after `train`) back into a request, as the CLI reads them: options before the
 * first `--`, the rest passed on. Throws {@link TrainRequestError} on what the CLI would refuse.
 */
export function parseTrainArgv(argv: readonly string[]): TrainRequest {
  const cut = argv.indexOf('--');
  const before = cut < 0 ? [...argv] : argv.slice(0, cut);
  let parsed;
  try {
    parsed = parseArgs({ args: before, allowPositionals: true, strict: true, options: { ...TRAIN_OPTIONS, json: { type: 'boolean' }, debug: { type: 'boolean' } } });
  } catch (err) {
    throw new TrainRequestError((err as Error).message.split('\n')[0]);
  }
  return trainRequestFromOptions(parsed.positionals, parsed.values, cut < 0 ? [] : argv.slice(cut + 1));
}

/** The task type contributed in package.json `taskDefinitions`. */
export const CLI_TASK_TYPE = 'dicom-ml';

/** A `dicom-ml` task: `dicom-ml <command> <args…>` (package.json taskDefinitions; also written in tasks.json). */
export interface CliTaskDefinition {
  type: typeof CLI_TASK_TYPE;
  /** `sample`, `prepare`, `train`, `doctor`, … */
  command: string;
  /** Arguments after the command, one entry per argument (never joined into a shell string). */
  args?: string[];
}

/** A task definition from tasks.json (untyped JSON) if it has the right shape, else undefined. */
export function parseCliTaskDefinition(v: unknown): CliTaskDefinition | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const d = v as Record<string, unknown>;
  if (d.type !== CLI_TASK_TYPE || typeof d.command !== 'string' || !d.command) return undefined;
  if (d.args !== undefined && (!Array.isArray(d.args) || d.args.some((a) => typeof a !== 'string'))) return undefined;
  return { type: CLI_TASK_TYPE, command: d.command, ...(d.args ? { args: [...(d.args as string[])] } : {}) };
}

/** The `dicom-ml` task that runs `req`. */
export function trainTaskDefinition(req: TrainRequest): CliTaskDefinition {
  return { type: CLI_TASK_TYPE, command: 'train', args: trainCliArgs(req) };
}
