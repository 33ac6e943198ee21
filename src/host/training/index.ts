/** Registers the training side of the extension: commands, the Training Runs view, the environment set-up. */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { LOG_FILE, summarizeRun } from '../../core/training/runs';
import { resumeCommand, trainCommand, type TrainArgs } from './commands';
import { clearDoctorCache } from './python';
import { RUNS_VIEW, RunItem, RunsProvider } from './runsView';
import { setUpTrainingEnvironment } from './setup';
import { setViewerModel } from '../viewer/chooseModels';

/** A run from a view item, or a folder path given programmatically. */
function runDirOf(arg: RunItem | string | vscode.Uri | undefined): string | undefined {
  if (arg instanceof RunItem) return arg.run.dir;
  if (arg instanceof vscode.Uri) return arg.fsPath;
  return typeof arg === 'string' ? arg : undefined;
}

/** Everything training contributes; all disposables go to `context.subscriptions`. */
export function registerTraining(context: vscode.ExtensionContext): void {
  const { extensionUri } = context;
  const output = vscode.window.createOutputChannel('DICOM ML');
  const runs = new RunsProvider();
  const view = vscode.window.createTreeView(RUNS_VIEW, { treeDataProvider: runs, showCollapseAll: false });
  runs.setVisible(view.visible);
  const item = (arg: RunItem | string | vscode.Uri | undefined) => {
    const dir = runDirOf(arg);
    return dir ? new RunItem(summarizeRun(dir)) : undefined;
  };
  context.subscriptions.push(
    output, runs, view,
    view.onDidChangeVisibility((e) => runs.setVisible(e.visible)),
    vscode.commands.registerCommand('dicomMl.trainDetector', (args?: TrainArgs) => trainCommand(extensionUri, 'detect', args)),
    vscode.commands.registerCommand('dicomMl.trainClassifier', (args?: TrainArgs) => trainCommand(extensionUri, 'classify', args)),
    vscode.commands.registerCommand('dicomMl.setupTrainingEnvironment', () => setUpTrainingEnvironment(context, output)),
    vscode.commands.registerCommand('dicomMl.runs.refresh', () => runs.refresh()),
    vscode.commands.registerCommand('dicomMl.runs.resume', (arg?: RunItem | string) => {
      const dir = runDirOf(arg);
      return dir ? resumeCommand(extensionUri, dir) : undefined;
    }),
    vscode.commands.registerCommand('dicomMl.runs.openFolder', async (arg?: RunItem | string) => {
      const dir = runDirOf(arg);
      if (dir) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(dir));
    }),
    vscode.commands.registerCommand('dicomMl.runs.openCard', async (arg?: RunItem | string) => {
      const card = item(arg)?.run.card;
      if (card) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(card));
      else void vscode.window.showWarningMessage('DICOM ML: this run has no model card yet (it is written when training ends).');
    }),
    vscode.commands.registerCommand('dicomMl.runs.revealOnnx', async (arg?: RunItem | string) => {
      const onnx = item(arg)?.run.onnx;
      if (onnx) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(onnx));
      else void vscode.window.showWarningMessage('DICOM ML: this run has no ONNX model yet (it is exported when training ends).');
    }),
    vscode.commands.registerCommand('dicomMl.runs.useInViewer', async (arg?: RunItem | string) => {
      const run = item(arg)?.run;
      if (!run?.onnx || !run.task) {
        void vscode.window.showWarningMessage('DICOM ML: this run has no ONNX model yet (it is exported when training ends).');
        return;
      }
      if (!vscode.workspace.isTrusted) return void vscode.window.showWarningMessage('DICOM ML: choosing the viewer\'s models needs a trusted workspace.');
      await setViewerModel(run.task, run.onnx);
    }),
    vscode.commands.registerCommand('dicomMl.runs.openLog', async (arg?: RunItem | string) => {
      const dir = runDirOf(arg);
      if (dir) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(path.join(dir, LOG_FILE)));
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('dicomMl.pythonPath')) clearDoctorCache();
    }),
  );
}
