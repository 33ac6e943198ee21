/**
 * The Python side as the CLI and the extension start it (trainer/README.md is the contract):
 * `python -m dicom_ml_trainer detect|classify|doctor …`, or under torchrun for DDP classification.
 * Argument arrays only — no value ever passes through a shell.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { optionArgs, type TrainRequest } from './request';

/** The trainer's Python package name (`python -m …`). */
export const TRAINER_MODULE = 'dicom_ml_trainer';

/** Where an interpreter choice came from (shown by `doctor` and in errors). */
export type PythonSource = 'flag' | 'env' | 'python-extension' | 'setting' | 'default';

/** A resolved interpreter. */
export interface PythonChoice {
  /** A path or a command name looked up on PATH. */
  command: string;
  source: PythonSource;
}

/** The fallback interpreter: `python3` (Windows: `python`, as python.org installs it). */
export const DEFAULT_PYTHON = process.platform === 'win32' ? 'python' : 'python3';

/**
 * The CLI's choice: `--python` > $DICOM_ML_PYTHON > python3. (The extension puts its own choice — Python
 * extension, `dicomMl.pythonPath` — into DICOM_ML_PYTHON of the task it starts.)
 */
export function resolvePython(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): PythonChoice {
  if (flag) return { command: flag, source: 'flag' };
  const fromEnv = env.DICOM_ML_PYTHON?.trim();
  if (fromEnv) return { command: fromEnv, source: 'env' };
  return { command: DEFAULT_PYTHON, source: 'default' };
}

/** The executable `command` runs: itself when it names a path, else the first match on PATH; undefined if none. */
export function findExecutable(command: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const isFile = (p: string) => {
    try {
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (command.includes('/') || command.includes('\\')) return isFile(command) ? path.resolve(command) : undefined;
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    for (const ext of exts) {
      const p = path.join(dir, command + ext);
      if (isFile(p)) return p;
    }
  }
  return undefined;
}

/**
 * The folder of the bundled trainer (`<root>/trainer`, holding `src/dicom_ml_trainer`), searched upwards from
 * `from` (the CLI bundle dist/cli.js sits in `<root>/dist`; sources in `<root>/src/...`).
 */
export function findTrainerRoot(from: string): string | undefined {
  let dir = path.resolve(from);
  for (;;) {
    const candidate = path.join(dir, 'trainer');
    if (fs.existsSync(path.join(candidate, 'src', TRAINER_MODULE))) return candidate;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Options of {@link trainerEnv}. */
export interface TrainerEnvOptions {
  /** `<root>/trainer/src`, put first on PYTHONPATH so the trainer matches this CLI/extension. */
  trainerSrc?: string;
  /** The launcher's pid: the trainer stops itself if that process dies (DICOM_ML_PARENT_PID). */
  parentPid?: number;
}

/** The child's environment: `base` plus PYTHONPATH (bundled trainer first), PYTHONUNBUFFERED=1, DICOM_ML_PARENT_PID. */
export function trainerEnv(base: NodeJS.ProcessEnv, options: TrainerEnvOptions = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, PYTHONUNBUFFERED: '1' };
  if (options.trainerSrc) env.PYTHONPATH = [options.trainerSrc, ...(base.PYTHONPATH ? [base.PYTHONPATH] : [])].join(path.delimiter);
  if (options.parentPid !== undefined) env.DICOM_ML_PARENT_PID = String(options.parentPid);
  // The CLI may itself run as Electron-as-node inside VS Code; that flag means nothing to Python's children.
  delete env.ELECTRON_RUN_AS_NODE;
  return env;
}

/** A process to start: executable and argument array. */
export interface Invocation {
  command: string;
  args: string[];
}

/** torchrun flags that set up the rendezvous themselves; without any of them we add `--standalone`. */
const RENDEZVOUS_FLAGS = /^--(standalone|nnodes|rdzv[-_]|master[-_]|node[-_]rank)/;

/**
 * `python -m dicom_ml_trainer <task> --data … --out RUNDIR …` for `req` (with `data` and `out` already
 * resolved to absolute paths). With `nproc`: `python -m torch.distributed.run --nproc-per-node N
 * [--standalone] [torchrun args] -m dicom_ml_trainer classify …` — the same interpreter, so no torchrun
 * script on PATH is needed.
 */
export function trainerInvocation(python: string, req: TrainRequest & { out: string }): Invocation {
  const args: string[] = [req.task, ...optionArgs([['data', req.data], ['out', req.out], ['model', req.model], ['epochs', req.epochs],
    ['imgsz', req.imgsz], ['batch', req.batch], ['device', req.device]])];
  if (req.resume) args.push('--resume');
  args.push(...(req.extra ?? []));
  if (req.nproc === undefined) return { command: python, args: ['-m', TRAINER_MODULE, ...args] };
  const torchrun = req.torchrun ?? [];
  const standalone = torchrun.some((a) => RENDEZVOUS_FLAGS.test(a)) ? [] : ['--standalone'];
  return { command: python, args: ['-m', 'torch.distributed.run', '--nproc-per-node', String(req.nproc), ...standalone, ...torchrun, '-m', TRAINER_MODULE, ...args] };
}

/** `python -m dicom_ml_trainer doctor --json`. */
export function doctorInvocation(python: string): Invocation {
  return { command: python, args: ['-m', TRAINER_MODULE, 'doctor', '--json'] };
}

/**
 * What to run to make `python` able to train, as one copy-pasteable line: inside a venv, pip-install the
 * trainer there; otherwise make a venv first (`.venv` beside the current folder).
 */
export function installHint(trainerRoot: string | undefined, python: { command: string; inVenv?: boolean }): string {
  const trainer = trainerRoot ?? './trainer';
  const q = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  if (python.inVenv) return `${q(python.command)} -m pip install ${q(trainer)}`;
  const venvPython = process.platform === 'win32' ? '.venv\\Scripts\\python' : '.venv/bin/python';
  return `${q(python.command)} -m venv .venv && ${venvPython} -m pip install ${q(trainer)}  (then use --python ${venvPython})`;
}
