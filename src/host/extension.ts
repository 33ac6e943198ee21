/** Extension entry: registers the DICOM viewer and its command. Thin — logic lives in src/core. */
import * as vscode from 'vscode';
import { DicomViewerProvider, VIEW_TYPE } from './viewer/provider';

export function activate(context: vscode.ExtensionContext): void {
  context.subscriptions.push(
    DicomViewerProvider.register(context),
    vscode.commands.registerCommand('dicomMl.openViewer', async (uri?: vscode.Uri) => {
      const target = uri ?? vscode.window.activeTextEditor?.document.uri
        ?? (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { DICOM: ['dcm', 'DCM'] } }))?.[0];
      if (target) await vscode.commands.executeCommand('vscode.openWith', target, VIEW_TYPE);
    }),
  );
}

export function deactivate(): void {}
