/** Extension entry: registers the DICOM viewer, the dataset and training commands, the Training Runs view and the task provider. Thin — logic lives in src/core. */
import * as vscode from 'vscode';
import { createSampleDataset, prepareDataset, type PrepareArgs, type SampleArgs } from './commands/dataset';
import { DicomMlTaskProvider, TASK_TYPE } from './tasks';
import { registerEvaluation } from './evaluation';
import { registerTraining } from './training';
import { resolveInterpreter } from './training/python';
import { chooseViewerModels, type ChooseModelsArgs } from './viewer/chooseModels';
import { DicomViewerProvider, VIEW_TYPE } from './viewer/provider';

export function activate(context: vscode.ExtensionContext): void {
  const { extensionUri } = context;
  context.subscriptions.push(
    ...DicomViewerProvider.register(context),
    vscode.tasks.registerTaskProvider(TASK_TYPE, new DicomMlTaskProvider(extensionUri, async (scope) => (await resolveInterpreter(scope)).command)),
    vscode.commands.registerCommand('dicomMl.openViewer', async (uri?: vscode.Uri) => {
      const target = uri ?? vscode.window.activeTextEditor?.document.uri
        ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { DICOM: ['dcm', 'DCM'] } }))?.[0];
      if (target) await vscode.commands.executeCommand('vscode.openWith', target, VIEW_TYPE);
    }),
    vscode.commands.registerCommand('dicomMl.chooseViewerModels', (args?: ChooseModelsArgs) => chooseViewerModels(args)),
    vscode.commands.registerCommand('dicomMl.showSegmentation', () => DicomViewerProvider.showSegmentation()),
    vscode.commands.registerCommand('dicomMl.createSampleDataset', (args?: SampleArgs) => createSampleDataset(extensionUri, args)),
    vscode.commands.registerCommand('dicomMl.prepareDataset', (args?: PrepareArgs | vscode.Uri) =>
      prepareDataset(extensionUri, args instanceof vscode.Uri ? { rsna: args.fsPath } : args)),
  );
  registerTraining(context);
  registerEvaluation(context);
}

export function deactivate(): void {}
