/**
 * Starts the trainer for a request and follows it: spawned in its own session (see processTree.ts), its
 * stdout/stderr appended to RUNDIR/train.log (progress never travels as printed text), its events read from
 * RUNDIR/events.jsonl as they are written, a launcher lock in RUNDIR while it runs. `dicom-ml train` is a
 * thin shell over this.
 */
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EVENTS_FILE, EventTail, type EndEvent, type ErrorEvent, type TrainerEvent } from './events';
import { killProcessTree, spawnGroup, sweepGroup, type KillResult } from './processTree';
import { trainerEnv, trainerInvocation, type Invocation } from './python';
import type { TrainRequest } from './request';
import { LOG_FILE, removeLock, writeLock } from './runs';

/** Options of {@link startTrainer}. */
export interface StartTrainerOptions {
  /** Interpreter executable (resolved). */
  python: string;
  /** The request, with `out` (RUNDIR) and `data` already absolute. */
  request: TrainRequest & { out: string };
  /** `<root>/trainer`, whose src/ goes first on PYTHONPATH. */
  trainerRoot?: string;
  env?: NodeJS.ProcessEnv;
  /** Each new event (only those written after the start: a resumed run's old lines are skipped). */
  onEvent?(event: TrainerEvent): void;
  /** Each new chunk of train.log (for --verbose). */
  onLog?(text: string): void;
  /** Poll interval for events and log, ms (default 500). */
  intervalMs?: number;
}

/** How a trainer run ended. */
export interface TrainerExit {
  /** Exit status, or null when a signal ended it. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The run's `end` event, if it wrote one. */
  end?: EndEvent;
  /** Its last `error` event, if any. */
  error?: ErrorEvent;
  /** True when {@link TrainerRun.cancel} stopped it. */
  cancelled: boolean;
  /** The process could not be started (interpreter missing, not executable). */
  spawnError?: NodeJS.ErrnoException;
  /** Stray processes of its group killed after it exited. */
  strays: number[];
}

/** A started trainer. */
export interface TrainerRun {
  runDir: string;
  invocation: Invocation;
  child: ChildProcess;
  /** Resolves when the trainer (the group leader) has exited and its group is swept. */
  done: Promise<TrainerExit>;
  /** Stops the whole process tree (signal to the leader, SIGKILL to all after `graceMs`). */
  cancel(signal?: NodeJS.Signals, graceMs?: number): Promise<KillResult | undefined>;
}

/** A follower of a growing text file from its current end (train.log for --verbose). */
function followText(file: string, onText: (t: string) => void, intervalMs: number): () => void {
  let offset = fs.existsSync(file) ? fs.statSync(file).size : 0;
  const read = () => {
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      return;
    }
    if (size <= offset) return;
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - offset);
      const n = fs.readSync(fd, buf, 0, buf.length, offset);
      offset += n;
      onText(buf.subarray(0, n).toString('utf8'));
    } finally {
      fs.closeSync(fd);
    }
  };
  const timer = setInterval(read, intervalMs);
  return () => {
    clearInterval(timer);
    read();
  };
}

/** Starts the trainer (see the module comment). Creates RUNDIR. */
export function startTrainer(options: StartTrainerOptions): TrainerRun {
  const { request } = options;
  const runDir = path.resolve(request.out);
  fs.mkdirSync(runDir, { recursive: true });
  const eventsFile = path.join(runDir, EVENTS_FILE);
  const logFile = path.join(runDir, LOG_FILE);
  const offset = fs.existsSync(eventsFile) ? fs.statSync(eventsFile).size : 0;
  const invocation = trainerInvocation(options.python, { ...request, out: runDir });
  const intervalMs = options.intervalMs ?? 500;
  const stopLog = options.onLog ? followText(logFile, options.onLog, intervalMs) : undefined;
  const log = fs.openSync(logFile, 'a');
  fs.writeSync(log, `\n=== ${new Date().toISOString()} dicom-ml train: ${JSON.stringify([invocation.command, ...invocation.args])}\n`);
  let end: EndEvent | undefined;
  let error: ErrorEvent | undefined;
  const tail = new EventTail(eventsFile, {
    offset,
    intervalMs,
    onEvent: (e) => {
      if (e.event === 'end') end = e;
      if (e.event === 'error') error = e;
      if (e.event === 'start') {
        end = undefined;
        error = undefined;
      }
      options.onEvent?.(e);
    },
  });
  let child: ChildProcess;
  try {
    child = spawnGroup(invocation.command, invocation.args, {
      stdio: ['ignore', log, log],
      env: trainerEnv(options.env ?? process.env, { trainerSrc: options.trainerRoot ? path.join(options.trainerRoot, 'src') : undefined, parentPid: process.pid }),
    });
  } finally {
    fs.closeSync(log); // the child holds its own copy
  }
  let cancelled = false;
  if (child.pid !== undefined) writeLock(runDir, { pid: process.pid, trainerPid: child.pid, started: new Date().toISOString() });
  tail.start();
  const done = new Promise<TrainerExit>((resolve) => {
    let settled = false;
    const finish = (exit: Omit<TrainerExit, 'end' | 'error' | 'cancelled' | 'strays'>) => {
      if (settled) return;
      settled = true;
      tail.close();
      stopLog?.();
      const strays = child.pid !== undefined ? sweepGroup(child.pid) : [];
      removeLock(runDir, process.pid);
      resolve({ ...exit, end, error, cancelled, strays });
    };
    child.once('error', (err: NodeJS.ErrnoException) => finish({ code: null, signal: null, spawnError: err }));
    child.once('exit', (code, signal) => finish({ code, signal }));
  });
  return {
    runDir,
    invocation,
    child,
    done,
    async cancel(signal: NodeJS.Signals = 'SIGTERM', graceMs?: number) {
      if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return undefined;
      cancelled = true;
      return killProcessTree(child.pid, { signal, graceMs });
    },
  };
}
