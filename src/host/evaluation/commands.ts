/**
 * Palette commands "Evaluate Vertebra Detector" and "Evaluate Fracture Classifier": pick a model (the
 * default, a run's, any ONNX), a prepared dataset and a split; run `dicom-ml eval` as a `dicom-ml` task under
 * a cancellable progress notification; then open the metrics panel on the folder it wrote (metrics.json,
 * predictions.jsonl — inside the run's folder for a run's model). Called with an args object (scripts, E2E),
 * they ask only for what it leaves out. "Show Metrics" opens any evaluation folder of the workspace.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { readEvaluation } from '../../core/evaluation/evalFolder';
import { defaultEvalDir, evalTaskDefinition, type EvalRequest } from '../../core/evaluation/request';
import { DEFAULT_CLASSIFIER, DEFAULT_DETECTOR } from '../../core/inference/defaults';
import type { TrainTask } from '../../core/training/events';
import { findRuns, summarizeRun } from '../../core/training/runs';
import { cliTask, TASK_TYPE } from '../tasks';
import { findDatasets, requireTrust } from '../training/commands';
import { MetricsPanel } from './panel';

/** Arguments for programmatic callers. */
export interface EvalArgs {
  model?: string;
  dataset?: string;
  split?: string;
  out?: string;
}

const TITLES: Record<TrainTask, string> = { detect: 'Evaluate Vertebra Detector', classify: 'Evaluate Fracture Classifier' };

async function askModel(extensionUri: vscode.Uri, task: TrainTask): Promise<string | undefined> {
  const shipped = vscode.Uri.joinPath(extensionUri, 'models', task === 'detect' ? DEFAULT_DETECTOR : DEFAULT_CLASSIFIER).fsPath;
  const items: (vscode.QuickPickItem & { value?: string })[] = [{ label: 'Default', description: path.basename(shipped), value: shipped }];
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    for (const dir of findRuns(folder.uri.fsPath)) {
      const run = summarizeRun(dir);
      if (run.task === task && run.onnx && fs.existsSync(run.onnx)) items.push({ label: run.name, description: vscode.workspace.asRelativePath(run.onnx), value: run.onnx });
    }
  }
  items.push({ label: '$(folder-opened) Browse…', description: 'any ONNX model' });
  const pick = await vscode.window.showQuickPick(items, { title: `${TITLES[task]} (1/3): model`, ignoreFocusOut: true });
  if (!pick) return undefined;
  return pick.value ?? (await vscode.window.showOpenDialog({ filters: { 'ONNX model': ['onnx'] }, openLabel: 'Evaluate' }))?.[0]?.fsPath;
}

async function askDataset(task: TrainTask): Promise<string | undefined> {
  const found = await findDatasets(task);
  const items: (vscode.QuickPickItem & { dir?: string })[] = found.map((d) => ({ label: vscode.workspace.asRelativePath(d.dir), description: d.parts.join(' · '), dir: d.dir }));
  items.push({ label: '$(folder-opened) Browse…', description: 'another prepared folder' });
  const pick = await vscode.window.showQuickPick(items, {
    title: `${TITLES[task]} (2/3): prepared dataset`, ignoreFocusOut: true,
    placeHolder: found.length ? 'Prepared dataset (DICOM ML: Prepare Dataset)' : 'No prepared dataset in the workspace: browse, or run DICOM ML: Prepare Dataset first',
  });
  if (!pick) return undefined;
  return pick.dir ?? (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Evaluate on this' }))?.[0]?.fsPath;
}

/** Splits the dataset holds for `task` (val first). */
function splitsOf(dataset: string, task: TrainTask): string[] {
  const base = task === 'detect' ? path.join(dataset, 'detect', 'images') : fs.existsSync(path.join(dataset, 'classify-vertebrae')) ? path.join(dataset, 'classify-vertebrae') : path.join(dataset, 'classify');
  const have = ['val', 'test', 'train'].filter((s) => fs.existsSync(path.join(base, s)));
  return have.length ? have : ['val'];
}

async function askSplit(dataset: string, task: TrainTask): Promise<string | undefined> {
  const splits = splitsOf(dataset, task);
  if (splits.length === 1) return splits[0];
  const pick = await vscode.window.showQuickPick(splits.map((s) => ({ label: s, description: s === 'train' ? 'the data the model trained on: not a fair score' : '' })), { title: `${TITLES[task]} (3/3): split`, ignoreFocusOut: true });
  return pick?.label;
}

/** Run `req` as a task with a cancellable progress notification; resolves with its exit code (undefined: cancelled). */
async function runEval(extensionUri: vscode.Uri, req: EvalRequest): Promise<number | undefined> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const task = cliTask(extensionUri, { ...evalTaskDefinition(req), type: TASK_TYPE }, `${TITLES[req.task]}: ${path.basename(req.model)} on ${path.basename(req.dataset)}/${req.split}`, folder ?? vscode.TaskScope.Workspace);
  task.presentationOptions = { reveal: vscode.TaskRevealKind.Silent, panel: vscode.TaskPanelKind.Dedicated, clear: true };
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `DICOM ML: ${TITLES[req.task]} (${path.basename(req.model)}, ${req.split})`, cancellable: true }, async (_progress, token) => {
    const execution = await vscode.tasks.executeTask(task);
    return new Promise<number | undefined>((resolve) => {
      const done = vscode.tasks.onDidEndTaskProcess((e) => {
        if (e.execution !== execution) return;
        done.dispose();
        cancel.dispose();
        resolve(token.isCancellationRequested ? undefined : e.exitCode);
      });
      const cancel = token.onCancellationRequested(() => execution.terminate());
    });
  });
}

/** "Evaluate Vertebra Detector" / "Evaluate Fracture Classifier": resolves with the evaluation folder, or undefined. */
export async function evaluateCommand(extensionUri: vscode.Uri, diagnostics: vscode.DiagnosticCollection, task: TrainTask, args: EvalArgs = {}): Promise<string | undefined> {
  if (!requireTrust(TITLES[task])) return undefined;
  const model = args.model ?? await askModel(extensionUri, task);
  if (!model) return undefined;
  const dataset = args.dataset ?? await askDataset(task);
  if (!dataset) return undefined;
  const split = args.split ?? await askSplit(dataset, task);
  if (!split) return undefined;
  const root = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? path.dirname(dataset);
  const out = args.out ?? defaultEvalDir(root, { task, model, dataset, split }, (d) => fs.existsSync(path.join(d, 'events.jsonl')));
  const code = await runEval(extensionUri, { task, model, dataset, split, out });
  if (code === undefined) {
    void vscode.window.showInformationMessage(`DICOM ML: ${TITLES[task]} cancelled.`);
    return undefined;
  }
  if (code !== 0) {
    void vscode.window.showErrorMessage(`DICOM ML: ${TITLES[task]} failed (exit ${code}); the task's terminal says why.`);
    return undefined;
  }
  MetricsPanel.show(extensionUri, diagnostics, out);
  return out;
}

/** "Show Metrics": an evaluation folder (args, or picked among the workspace's metrics.json). */
export async function showMetricsCommand(extensionUri: vscode.Uri, diagnostics: vscode.DiagnosticCollection, dir?: string): Promise<void> {
  let target = dir;
  if (!target) {
    const found = await vscode.workspace.findFiles('**/metrics.json', '**/{node_modules,.git}/**', 500);
    const items = (await Promise.all(found.map(async (u) => {
      const d = path.dirname(u.fsPath);
      try {
        const e = await readEvaluation(d, { withPredictions: false });
        return { label: e.label, description: `${e.metrics.task} · ${vscode.workspace.asRelativePath(d)}`, dir: d, created: String(e.metrics.created ?? '') };
      } catch {
        return undefined;
      }
    }))).filter((i): i is NonNullable<typeof i> => Boolean(i)).sort((a, b) => b.created.localeCompare(a.created));
    if (!items.length) {
      void vscode.window.showInformationMessage('DICOM ML: no evaluation in the workspace yet — run "DICOM ML: Evaluate Vertebra Detector" or "Evaluate Fracture Classifier".');
      return;
    }
    target = (await vscode.window.showQuickPick(items, { title: 'Show Metrics: evaluation' }))?.dir;
    if (!target) return;
  }
  MetricsPanel.show(extensionUri, diagnostics, target);
}

/** "Show Training Curves": a run's losses and metrics per epoch, live while it trains (args: the run folder, else picked). */
export async function showTrainingCurvesCommand(extensionUri: vscode.Uri, diagnostics: vscode.DiagnosticCollection, dir?: string): Promise<void> {
  let target = dir;
  if (!target) {
    const runs = (vscode.workspace.workspaceFolders ?? []).flatMap((f) => findRuns(f.uri.fsPath)).map((d) => summarizeRun(d));
    if (!runs.length) {
      void vscode.window.showInformationMessage('DICOM ML: no training run in the workspace yet — run "DICOM ML: Train Vertebra Detector" or "Train Fracture Classifier".');
      return;
    }
    const pick = await vscode.window.showQuickPick(runs.map((r) => ({ label: r.name, description: `${r.task ?? ''} · ${r.status}${r.epoch ? ` · epoch ${r.epoch}/${r.epochs ?? '?'}` : ''}`, dir: r.dir })), { title: 'Show Training Curves: run' });
    target = pick?.dir;
    if (!target) return;
  }
  MetricsPanel.showRun(extensionUri, diagnostics, target);
}
