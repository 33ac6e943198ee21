/**
 * Run folders (`runs/<task>/<name>/`, trainer/README.md "The run folder"): what state a run is in, read from
 * its events.jsonl and config.json, and where runs are.
 *
 * A run without an `end`/`error` after its last `start` is running only while its launcher lives: the CLI
 * writes {@link LOCK_FILE} (its pid) for as long as it follows the trainer, so a run whose launcher was
 * killed outright reads as interrupted instead of "running" for ever.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EVENTS_FILE, readEventsFile, type BestEpoch, type EpochEvent, type ErrorEvent, type StartEvent, type TrainTask, type TrainerDevice } from './events';
import { isAlive } from './processTree';

/** The launcher's lock inside RUNDIR: `{ pid, trainerPid, started }`, removed when the launcher exits. */
export const LOCK_FILE = '.dicom-ml-train.json';
/** The trainer's stdout and stderr, appended (trainer/README.md keeps progress in events.jsonl). */
export const LOG_FILE = 'train.log';

/** running: still training; completed: `end`; failed: `error`; interrupted: stopped (Cancel, Ctrl-C, a kill). */
export type RunStatus = 'running' | 'completed' | 'failed' | 'interrupted';

/** One run folder at a glance: what the Training Runs view and `dicom-ml train` show. */
export interface RunSummary {
  /** Absolute run folder. */
  dir: string;
  /** Folder name (`yolov8n-20261205-101500`). */
  name: string;
  task?: TrainTask;
  status: RunStatus;
  /** Last finished epoch (1-based) and planned epochs. */
  epoch?: number;
  epochs?: number;
  /** The last epoch event. */
  latest?: EpochEvent;
  /** Best epoch: from `end`, else the last epoch flagged `best`. */
  best?: BestEpoch;
  /** The error that ended the run (failed or interrupted). */
  error?: ErrorEvent;
  /** The last start event (config, device, dataset). */
  start?: StartEvent;
  device?: TrainerDevice;
  /** Model and data from config.json (or the start event's config). */
  model?: string;
  data?: string;
  /** Exported model and its card, when they exist. */
  onnx?: string;
  card?: string;
  /** Time of the first start and of the last event. */
  started?: string;
  updated?: string;
  /** Lines of events.jsonl that could not be read. */
  invalidLines: number;
}

/** The launcher lock's content. */
export interface RunLock {
  /** The launcher (the `dicom-ml train` process). */
  pid: number;
  /** The trainer process (its process group leader). */
  trainerPid?: number;
  started: string;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The lock of `dir`, if any. */
export function readLock(dir: string): RunLock | undefined {
  const v = readJson(path.join(dir, LOCK_FILE)) as RunLock | undefined;
  return v && typeof v.pid === 'number' ? v : undefined;
}

/** Writes the lock (the launcher calls it after starting the trainer). */
export function writeLock(dir: string, lock: RunLock): void {
  fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(lock));
}

/** Removes the lock if it is `pid`'s. */
export function removeLock(dir: string, pid: number): void {
  if (readLock(dir)?.pid === pid) fs.rmSync(path.join(dir, LOCK_FILE), { force: true });
}

const str = (v: unknown) => (typeof v === 'string' && v ? v : undefined);

/**
 * Summarises run folder `dir`. `alive(pid)` says whether a launcher pid still runs (default: this machine's
 * process table). A missing events.jsonl reads as a run that has not started (status from the lock).
 */
export function summarizeRun(dir: string, alive: (pid: number) => boolean = isAlive): RunSummary {
  dir = path.resolve(dir);
  const { events, invalid } = readEventsFile(path.join(dir, EVENTS_FILE));
  const summary: RunSummary = { dir, name: path.basename(dir), status: 'running', invalidLines: invalid.length };
  const config = readJson(path.join(dir, 'config.json')) as Record<string, unknown> | undefined;
  let lastStart = -1;
  events.forEach((e, i) => {
    if (e.event === 'start') lastStart = i;
  });
  const current = events.slice(Math.max(0, lastStart));
  const parent = path.basename(path.dirname(dir));
  for (const e of events) {
    summary.started ??= e.time || undefined;
    summary.updated = e.time || summary.updated;
    if (e.event === 'start') {
      summary.start = e;
      summary.task = e.task;
      if (e.device) summary.device = e.device;
    } else if (e.event === 'epoch') {
      summary.latest = e;
      summary.epoch = e.epoch;
      summary.epochs = e.epochs;
      if (e.best) summary.best = { epoch: e.epoch, metrics: e.metrics };
    } else if (e.event === 'end') {
      if (e.best) summary.best = e.best;
      if (e.onnx) summary.onnx = e.onnx;
      if (e.card) summary.card = e.card;
    }
  }
  summary.task ??= str(config?.task) === 'detect' || str(config?.task) === 'classify' ? (config!.task as TrainTask) : parent === 'detect' || parent === 'classify' ? parent : undefined;
  const cfg = { ...(summary.start?.config ?? {}), ...(config ?? {}) };
  summary.model = str(cfg.model) ?? str(cfg.architecture);
  summary.data = str(cfg.data);
  if (summary.epochs === undefined && typeof cfg.epochs === 'number') summary.epochs = cfg.epochs;

  const terminal = [...current].reverse().find((e) => e.event === 'end' || e.event === 'error');
  if (terminal?.event === 'end') summary.status = 'completed';
  else if (terminal?.event === 'error') {
    summary.error = terminal;
    summary.status = terminal.kind === 'interrupted' ? 'interrupted' : 'failed';
  } else {
    const lock = readLock(dir);
    // No lock: a trainer started by hand (no launcher); trust the file. A lock whose launcher died: killed.
    summary.status = lock && !alive(lock.pid) ? 'interrupted' : 'running';
  }
  // Files the end event named, or the contract's default names (a re-export after `export --run`).
  for (const [key, file] of [['onnx', 'model.onnx'], ['card', 'model.card.json']] as const) {
    const named = summary[key];
    if (named && !fs.existsSync(named)) delete summary[key];
    if (!summary[key] && fs.existsSync(path.join(dir, file))) summary[key] = path.join(dir, file);
  }
  return summary;
}

/**
 * Run folders under `root`: every `root/runs/<task>/<name>/` holding events.jsonl (also `root` itself when it
 * is a `runs/` folder). Sorted newest first by events.jsonl's modification time.
 */
export function findRuns(root: string): string[] {
  const runsDir = path.basename(root) === 'runs' ? root : path.join(root, 'runs');
  const found: { dir: string; mtime: number }[] = [];
  const list = (d: string) => {
    try {
      return fs.readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(d, e.name));
    } catch {
      return [];
    }
  };
  for (const taskDir of list(runsDir)) {
    for (const runDir of list(taskDir)) {
      try {
        found.push({ dir: runDir, mtime: fs.statSync(path.join(runDir, EVENTS_FILE)).mtimeMs });
      } catch {
        /* not a run */
      }
    }
  }
  return found.sort((a, b) => b.mtime - a.mtime || a.dir.localeCompare(b.dir)).map((f) => f.dir);
}
