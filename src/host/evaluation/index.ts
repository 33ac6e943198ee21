/** Registers evaluation: the Evaluate commands, the metrics panel (and its restore after a reload), training curves, next / previous error, the Problems view entries. */
import * as vscode from 'vscode';
import { evaluateCommand, showMetricsCommand, showTrainingCurvesCommand, type EvalArgs } from './commands';
import { METRICS_VIEW, MetricsPanel } from './panel';

export function registerEvaluation(context: vscode.ExtensionContext): void {
  const { extensionUri } = context;
  const diagnostics = vscode.languages.createDiagnosticCollection('dicom-ml');
  context.subscriptions.push(
    diagnostics,
    vscode.commands.registerCommand('dicomMl.evaluateDetector', (args?: EvalArgs) => evaluateCommand(extensionUri, diagnostics, 'detect', args)),
    vscode.commands.registerCommand('dicomMl.evaluateClassifier', (args?: EvalArgs) => evaluateCommand(extensionUri, diagnostics, 'classify', args)),
    vscode.commands.registerCommand('dicomMl.showMetrics', (dir?: string | vscode.Uri) => showMetricsCommand(extensionUri, diagnostics, dir instanceof vscode.Uri ? dir.fsPath : dir)),
    vscode.commands.registerCommand('dicomMl.showTrainingCurves', (dir?: string | vscode.Uri) => showTrainingCurvesCommand(extensionUri, diagnostics, dir instanceof vscode.Uri ? dir.fsPath : dir)),
    // From the Training Runs view (a RunItem, whose run.dir is the folder).
    vscode.commands.registerCommand('dicomMl.runs.showCurves', (item?: { run?: { dir?: string } } | string) => showTrainingCurvesCommand(extensionUri, diagnostics, typeof item === 'string' ? item : item?.run?.dir)),
    vscode.commands.registerCommand('dicomMl.nextError', () => MetricsPanel.active?.step(1) ?? vscode.window.showInformationMessage('DICOM ML: open an evaluation in the metrics panel first (DICOM ML: Show Metrics).')),
    vscode.commands.registerCommand('dicomMl.previousError', () => MetricsPanel.active?.step(-1) ?? vscode.window.showInformationMessage('DICOM ML: open an evaluation in the metrics panel first (DICOM ML: Show Metrics).')),
    vscode.window.registerWebviewPanelSerializer(METRICS_VIEW, {
      deserializeWebviewPanel: async (panel) => {
        MetricsPanel.revive(panel, extensionUri, diagnostics);
      },
    }),
  );
}
