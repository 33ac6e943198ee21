/**
 * Palette commands "Create Sample Dataset" and "Prepare Dataset": ask for folders (prefilled with
 * sensible defaults), then run the CLI as a task. Both need a trusted workspace (they start processes).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { cliTask, runTask, TASK_TYPE } from '../tasks';

/** Optional arguments (for scripts and tests); missing ones are asked for. */
export interface SampleArgs {
  out?: string;
  studies?: number;
}
export interface PrepareArgs {
  rsna?: string;
  out?: string;
}

function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

function requireTrust(what: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(`DICOM ML: ${what} starts processes, which needs a trusted workspace (Workspaces: Manage Workspace Trust).`);
  return false;
}

async function askPath(prompt: string, value: string): Promise<string | undefined> {
  const answer = await vscode.window.showInputBox({ prompt, value, ignoreFocusOut: true, validateInput: (v) => (v.trim() ? undefined : 'a folder is required') });
  return answer?.trim();
}

/** "DICOM ML: Create Sample Dataset" — synthetic RSNA-layout CT studies via `dicom-ml sample`. */
export async function createSampleDataset(extensionUri: vscode.Uri, args: SampleArgs = {}): Promise<void> {
  if (!requireTrust('Create Sample Dataset')) return;
  const root = workspaceRoot();
  const out = args.out ?? await askPath('Folder for the synthetic RSNA-layout dataset', root ? path.join(root, 'sample-rsna') : 'sample-rsna');
  if (!out) return;
  let studies = args.studies;
  if (studies === undefined) {
    const n = await vscode.window.showInputBox({ prompt: 'Number of studies', value: '8', ignoreFocusOut: true, validateInput: (v) => (/^\d+$/.test(v) && Number(v) > 0 ? undefined : 'a whole number ≥ 1') });
    if (!n) return;
    studies = Number(n);
  }
  const task = cliTask(extensionUri, { type: TASK_TYPE, command: 'sample', args: ['--out', out, '--studies', String(studies)] }, 'Create Sample Dataset');
  const code = await runTask(task);
  if (code === 0) {
    const pick = await vscode.window.showInformationMessage(`DICOM ML: sample dataset written to ${out}`, 'Prepare Dataset');
    if (pick === 'Prepare Dataset') await vscode.commands.executeCommand('dicomMl.prepareDataset', { rsna: out } satisfies PrepareArgs);
  } else {
    void vscode.window.showErrorMessage(`DICOM ML: Create Sample Dataset failed (exit ${code ?? 'terminated'}); see the task terminal.`);
  }
}

/** Folders in the workspace that look like the RSNA layout (hold train.csv). */
async function findRsnaFolders(): Promise<string[]> {
  const found = await vscode.workspace.findFiles('**/train.csv', '**/{node_modules,.git,datasets}/**', 50);
  return found.map((u) => path.dirname(u.fsPath)).sort();
}

/** "DICOM ML: Prepare Dataset" — RSNA layout → YOLO detection + classification sets via `dicom-ml prepare`. */
export async function prepareDataset(extensionUri: vscode.Uri, args: PrepareArgs = {}): Promise<void> {
  if (!requireTrust('Prepare Dataset')) return;
  let rsna = args.rsna;
  if (!rsna) {
    const candidates = await findRsnaFolders();
    const browse = 'Browse…';
    const pick = candidates.length
      ? await vscode.window.showQuickPick([...candidates, browse], { placeHolder: 'RSNA-layout folder (train.csv, train_images/, segmentations/)', ignoreFocusOut: true })
      : browse;
    if (!pick) return;
    rsna = pick === browse ? (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this RSNA folder' }))?.[0]?.fsPath : pick;
    if (!rsna) return;
  }
  const root = workspaceRoot() ?? path.dirname(rsna);
  const out = args.out ?? await askPath('Output folder for the prepared datasets', path.join(root, 'datasets', `${path.basename(rsna)}-prepared`));
  if (!out) return;
  const task = cliTask(extensionUri, { type: TASK_TYPE, command: 'prepare', args: ['--rsna', rsna, '--out', out] }, 'Prepare Dataset');
  const code = await runTask(task);
  if (code === 0) {
    const pick = await vscode.window.showInformationMessage(`DICOM ML: datasets prepared in ${out}`, 'Reveal data.yaml');
    if (pick) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(path.join(out, 'detect', 'data.yaml')));
  } else {
    void vscode.window.showErrorMessage(`DICOM ML: Prepare Dataset failed (exit ${code ?? 'terminated'}); see the task terminal.`);
  }
}
