/**
 * A training task with a progress notification: epoch k/N and the latest metrics, read by tailing
 * RUNDIR/events.jsonl (src/core/training/events.ts); Cancel terminates the task, and the CLI inside it then
 * stops the trainer's whole process tree (src/core/training/processTree.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { EVENTS_FILE, EventTail, type EpochEvent, type TrainTask } from '../../core/training/events';
import { formatEpoch, formatMetrics } from '../../core/training/format';
import { summarizeRun, type RunSummary } from '../../core/training/runs';

/** How a tracked run ended. */
export interface TrackedRun {
  /** The task's exit code (undefined when VS Code terminated it). */
  exitCode: number | undefined;
  /** The run folder's summary after the end. */
  summary: RunSummary;
  cancelled: boolean;
}

/** The task's exit, via onDidEndTaskProcess (subscribed before the task starts, so no end is missed). */
async function startAndWait(task: vscode.Task): Promise<{ execution: vscode.TaskExecution; ended: Promise<number | undefined> }> {
  let resolveEnd: (code: number | undefined) => void = () => {};
  const ended = new Promise<number | undefined>((r) => (resolveEnd = r));
  const started: { execution?: vscode.TaskExecution } = {};
  const early: { execution: vscode.TaskExecution; code: number | undefined }[] = [];
  const sub = vscode.tasks.onDidEndTaskProcess((e) => {
    if (!started.execution) early.push({ execution: e.execution, code: e.exitCode });
    else if (e.execution === started.execution) {
      sub.dispose();
      resolveEnd(e.exitCode);
    }
  });
  const execution = await vscode.tasks.executeTask(task);
  started.execution = execution;
  const seen = early.find((e) => e.execution === execution);
  if (seen) {
    sub.dispose();
    resolveEnd(seen.code);
  }
  return { execution, ended };
}

/**
 * Runs `task` (a `dicom-ml train` task writing to `runDir`) under a cancellable progress notification titled
 * `title`, and resolves when the task's process has ended. `onEvent` hears of every new event (the runs view
 * refreshes on it without waiting for the file watcher).
 */
export async function runWithProgress(task: vscode.Task, runDir: string, trainTask: TrainTask, title: string, onEvent: () => void = () => {}): Promise<TrackedRun> {
  const eventsFile = path.join(runDir, EVENTS_FILE);
  const offset = fs.existsSync(eventsFile) ? fs.statSync(eventsFile).size : 0; // a resumed run: only new lines
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
    progress.report({ message: 'starting (loading data, building the model)…' });
    let reported = 0;
    let latest: EpochEvent | undefined;
    const tail = new EventTail(eventsFile, {
      offset,
      intervalMs: 500,
      onEvent: (e) => {
        onEvent();
        if (e.event === 'start') {
          const d = e.device ? ` on ${e.device.type === 'cuda' ? e.device.names.join(', ') : 'CPU'}${e.device.worldSize > 1 ? ` × ${e.device.worldSize}` : ''}` : '';
          progress.report({ message: `${e.resumedFrom ? `resumed from epoch ${e.resumedFrom}` : 'training'}${d}; ${e.resumedFrom ? 'next' : 'first'} epoch running…` });
        } else if (e.event === 'epoch') {
          latest = e;
          const pct = e.epochs > 0 ? Math.min(100, (100 * e.epoch) / e.epochs) : 0;
          progress.report({ message: formatEpoch(trainTask, e, ' · '), increment: Math.max(0, pct - reported) });
          reported = Math.max(reported, pct);
        } else if (e.event === 'end') {
          progress.report({ message: `finished${e.best ? `: best epoch ${e.best.epoch} · ${formatMetrics(trainTask, e.best.metrics, 3, ' · ')}` : ''}`, increment: 100 - reported });
        } else if (e.event === 'error') {
          progress.report({ message: e.kind === 'interrupted' ? 'stopping…' : `error: ${e.message}` });
        }
      },
    }).start();
    const { execution, ended } = await startAndWait(task);
    let cancelled = false;
    const onCancel = token.onCancellationRequested(() => {
      cancelled = true;
      progress.report({ message: `stopping the trainer${latest ? ` after epoch ${latest.epoch}/${latest.epochs}` : ''}…` });
      execution.terminate();
    });
    try {
      const exitCode = await ended;
      tail.close();
      return { exitCode, summary: summarizeRun(runDir), cancelled };
    } finally {
      onCancel.dispose();
      tail.close();
    }
  });
}
