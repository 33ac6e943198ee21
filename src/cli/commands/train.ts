import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import * as path from 'node:path';
import { EVENTS_FILE, type EpochEvent, type ErrorEvent, type TrainerEvent } from '../../core/training/events';
import { formatMetrics, progressBar } from '../../core/training/format';
import { startTrainer } from '../../core/training/launch';
import { findExecutable, findTrainerRoot, installHint, resolvePython } from '../../core/training/python';
import { defaultRunDir, resolveTrainData, TRAIN_USAGE, TrainRequestError, trainCliArgs, trainRequestFromOptions, type TrainRequest } from '../../core/training/request';
import { LOG_FILE } from '../../core/training/runs';
import { UsageError } from '../args';
import type { CommandContext } from '../context';

export { TRAIN_OPTIONS as trainOptions, TRAIN_USAGE as trainUsage } from '../../core/training/request';

/** How long the trainer may take to stop after the first Ctrl-C/SIGTERM before everything is SIGKILLed. */
const GRACE_MS = Number(process.env.DICOM_ML_KILL_GRACE_MS) || 10_000;

function readConfig(runDir: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(runDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** The last non-empty line of train.log written after `offset` (what the trainer said when it died). */
function lastLogLine(file: string, offset: number): string {
  try {
    const text = fs.readFileSync(file, 'utf8').slice(offset);
    return text.trim().split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('=== ')).pop() ?? '';
  } catch {
    return '';
  }
}

/** Checks files and fills defaults: absolute data and RUNDIR, data from config.json on --resume. */
function resolveRequest(req: TrainRequest, cwd: string): TrainRequest & { out: string } {
  const out = req.out ? path.resolve(cwd, req.out) : defaultRunDir(cwd, req.task, req.model);
  const events = path.join(out, EVENTS_FILE);
  const resolved: TrainRequest & { out: string } = { ...req, out };
  if (req.resume) {
    if (!fs.existsSync(events)) throw new TrainRequestError(`${out}: no run to resume (no ${EVENTS_FILE})`);
    const data = req.data ?? (readConfig(out)?.data as string | undefined);
    if (data) resolved.data = resolveTrainData(req.task, data, cwd);
  } else {
    if (fs.existsSync(events)) throw new TrainRequestError(`${out}: already holds a run (${EVENTS_FILE}); pass --resume to continue it, or another --out`);
    resolved.data = resolveTrainData(req.task, req.data!, cwd);
  }
  return resolved;
}

/**
 * `dicom-ml train detect|classify`: starts the Python trainer (trainer/README.md) with the resolved interpreter
 * in its own process group, shows progress from RUNDIR/events.jsonl as a one-line bar on stderr (the trainer's
 * own output goes to RUNDIR/train.log; --verbose echoes it), forwards SIGINT/SIGTERM/SIGHUP (then SIGKILLs the
 * whole tree after a grace period) and exits with the trainer's status. `--json` prints the final `end` or
 * `error` event on stdout.
 */
export async function train(ctx: CommandContext): Promise<void> {
  let request: TrainRequest & { out: string };
  try {
    request = resolveRequest(trainRequestFromOptions(ctx.positionals, ctx.options, ctx.passthrough ?? []), process.cwd());
  } catch (err) {
    if (err instanceof TrainRequestError) throw new UsageError(`${err.message}${err.message.startsWith('/') ? '' : `\nusage: ${TRAIN_USAGE}`}`, err.exitCode);
    throw err;
  }
  const python = resolvePython(request.python);
  const trainerRoot = findTrainerRoot(__dirname);
  const exe = findExecutable(python.command);
  if (!exe) {
    if (python.source === 'flag') throw new UsageError(`--python ${python.command}: no such interpreter`);
    throw new UsageError(`Python interpreter "${python.command}" not found${python.source === 'env' ? ' (from $DICOM_ML_PYTHON)' : ''}; set one up with: ${installHint(trainerRoot, { command: 'python3' })}`, 1);
  }

  const tty = Boolean(process.stderr.isTTY);
  let hungUp = false;
  // After a hang-up the terminal is gone: writing to it fails (EIO). Keep going quietly — the trainer still has to be stopped.
  const onStreamError = () => {
    hungUp = true;
  };
  process.stderr.on('error', onStreamError);
  const err = (text: string) => {
    if (!hungUp) {
      try {
        process.stderr.write(text);
      } catch {
        hungUp = true;
      }
    }
  };
  let drawn = false;
  const clearBar = () => {
    if (drawn) err('\r\x1b[K');
    drawn = false;
  };
  let latest: EpochEvent | undefined;
  const draw = () => {
    if (!tty) return;
    err(`\r${progressBar(request.task, latest)}\x1b[K`);
    drawn = true;
  };
  const logFile = path.join(request.out, LOG_FILE);
  const logOffset = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
  let lastError: ErrorEvent | undefined;

  const run = startTrainer({
    python: exe,
    request,
    trainerRoot,
    onEvent: (e: TrainerEvent) => {
      if (e.event === 'start') {
        clearBar();
        const d = e.device ? ` on ${e.device.type}${e.device.names.length ? ` (${e.device.names.join(', ')})` : ''}${e.device.worldSize > 1 ? ` × ${e.device.worldSize} processes` : ''}` : '';
        const data = e.dataset ? `, ${e.dataset.train} train / ${e.dataset.val} val images` : '';
        err(`train ${request.task}: ${e.resumedFrom ? `resumed from epoch ${e.resumedFrom}` : 'started'}${d}${data}\n`);
        draw();
      } else if (e.event === 'epoch') {
        latest = e;
        if (tty) draw();
        else err(`${progressBar(request.task, e)}\n`);
      } else if (e.event === 'error') {
        lastError = e;
      }
    },
    onLog: request.verbose ? (text) => {
      clearBar();
      err(text);
      draw();
    } : undefined,
  });
  err(`train ${request.task}: run folder ${run.runDir} (trainer output: ${LOG_FILE}${request.verbose ? '' : ', --verbose shows it'})\n`);
  draw();

  let signals = 0;
  const stopping: Promise<unknown>[] = [];
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (sig === 'SIGHUP') hungUp = true;
    clearBar();
    if (signals === 1) {
      err(`train: ${sig}: stopping the trainer (last checkpoint kept; Ctrl-C again to kill it now)\n`);
      stopping.push(run.cancel(sig === 'SIGHUP' ? 'SIGTERM' : sig, GRACE_MS));
    } else {
      err('train: killing the trainer and its workers now\n');
      stopping.push(run.cancel('SIGKILL', 0));
    }
  };
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const s of sigs) process.on(s, onSignal);
  let exit;
  try {
    exit = await run.done;
    // A stop in flight finishes its sweep of the tree (workers in sessions of their own) before we exit.
    await Promise.all(stopping);
  } finally {
    for (const s of sigs) process.off(s, onSignal);
    if (drawn) err('\n'); // the last bar stays on screen
    drawn = false;
  }
  if (!hungUp) process.stderr.off('error', onStreamError);

  const code = exit.spawnError ? 1 : exit.code ?? 128 + (exit.signal ? osConstants.signals[exit.signal] ?? 0 : 0);
  const error = exit.error ?? lastError;
  const resumeHint = `continue with: dicom-ml train ${trainCliArgs({ task: request.task, out: request.out, resume: true }).map((a) => (/[^\w@%+=:,./-]/.test(a) ? `'${a.replace(/'/g, `'\\''`)}'` : a)).join(' ')}`;
  if (exit.spawnError) {
    const e = exit.spawnError;
    const event = { event: 'error', time: new Date().toISOString(), kind: 'failed', message: `cannot start ${exe}: ${e.code ?? e.message}` };
    if (ctx.json) ctx.stdout(JSON.stringify({ ...event, run: run.runDir }));
    throw new UsageError(event.message, 1);
  }
  if (code === 0 && exit.end) {
    if (ctx.json) ctx.stdout(JSON.stringify({ ...exit.end, run: run.runDir }));
    const best = exit.end.best ? `best epoch ${exit.end.best.epoch}: ${formatMetrics(request.task, exit.end.best.metrics, 4)}` : 'done';
    err(`train ${request.task}: ${best}\n`);
    if (exit.end.onnx) err(`model: ${exit.end.onnx}\n`);
    if (exit.end.card) err(`card:  ${exit.end.card}\n`);
    return;
  }
  const interrupted = exit.cancelled || code === 130 || error?.kind === 'interrupted';
  let message: string;
  if (error) message = error.message;
  else if (interrupted) message = 'interrupted';
  else if (code === 0) message = `the trainer exited without an end event (see ${logFile})`;
  else {
    const said = lastLogLine(logFile, logOffset);
    message = `the trainer exited with status ${code}${said ? `: ${said}` : ''} (see ${logFile})`;
    if (/No module named/.test(said)) message += `; install the trainer: ${installHint(trainerRoot, { command: exe })}`;
  }
  if (ctx.json) ctx.stdout(JSON.stringify(error ? { ...error, run: run.runDir } : { event: 'error', time: new Date().toISOString(), kind: interrupted ? 'interrupted' : 'failed', message, run: run.runDir }));
  // Our own words for an interrupt (the trainer's message tells its own command line how to resume).
  if (interrupted) message = `interrupted${latest ? ` after epoch ${latest.epoch}/${latest.epochs}` : ''}${error && error.kind !== 'interrupted' ? ` (${message})` : ''}; the last checkpoint is kept; ${resumeHint}`;
  throw new UsageError(message, code === 0 ? 1 : interrupted && exit.code === null ? 130 : code);
}
