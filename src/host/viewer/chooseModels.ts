/**
 * "Choose Viewer Models" (palette) and "Use in Viewer" (Training Runs view): which detector and classifier
 * the DICOM viewer runs — the shipped defaults, a training run's model, any ONNX the user picks, or none —
 * written to the workspace settings `dicomMl.models.detector|classifier` (open viewers follow the change).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { cardPathFor } from '../../core/inference/model';
import { findRuns, summarizeRun } from '../../core/training/runs';
import type { TrainTask } from '../../core/training/events';

/** Which setting a model role writes. */
const SETTING: Record<TrainTask, 'models.detector' | 'models.classifier'> = { detect: 'models.detector', classify: 'models.classifier' };
const ROLE: Record<TrainTask, string> = { detect: 'vertebra detector', classify: 'fracture classifier' };

/** Programmatic arguments: a path (or '' = the default, 'none' = no model) per role. */
export interface ChooseModelsArgs {
  detector?: string;
  classifier?: string;
}

/** The task a model card declares (undefined without a readable card). */
function cardTask(onnx: string): TrainTask | undefined {
  try {
    const card = JSON.parse(fs.readFileSync(cardPathFor(onnx), 'utf8')) as { task?: unknown };
    return card.task === 'detect' || card.task === 'classify' ? card.task : undefined;
  } catch {
    return undefined;
  }
}

/** Write one role's setting for the workspace (user settings when no folder is open); says what it did. */
export async function setViewerModel(task: TrainTask, value: string): Promise<void> {
  const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration('dicomMl').update(SETTING[task], value, target);
  const what = value === '' ? 'the default model' : value === 'none' ? 'no model' : path.basename(value);
  void vscode.window.showInformationMessage(`DICOM ML: the viewer's ${ROLE[task]} is now ${what} (setting dicomMl.${SETTING[task]}).`);
}

/** Trained models of `task` in the workspace's runs, newest first. */
function runModels(task: TrainTask): { label: string; description: string; value: string }[] {
  const out: { label: string; description: string; value: string }[] = [];
  for (const folder of vscode.workspace.workspaceFolders ?? []) {
    for (const dir of findRuns(folder.uri.fsPath)) {
      const run = summarizeRun(dir);
      if (run.task !== task || !run.onnx || !fs.existsSync(run.onnx)) continue;
      const best = run.best ? `best epoch ${run.best.epoch}` : run.status;
      out.push({ label: run.name, description: `${path.relative(folder.uri.fsPath, run.onnx)} · ${best}`, value: run.onnx });
    }
  }
  return out;
}

/** "Choose Viewer Models": role, then default / a run's model / browse / none. */
export async function chooseViewerModels(args?: ChooseModelsArgs): Promise<void> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('DICOM ML: choosing the viewer\'s models needs a trusted workspace (models run code on your data).');
    return;
  }
  if (args && (args.detector !== undefined || args.classifier !== undefined)) {
    if (args.detector !== undefined) await setViewerModel('detect', args.detector);
    if (args.classifier !== undefined) await setViewerModel('classify', args.classifier);
    return;
  }
  const role = await vscode.window.showQuickPick(
    [{ label: 'Vertebra detector', description: 'boxes C1–C7', task: 'detect' as const }, { label: 'Fracture classifier', description: 'fracture probability and Grad-CAM', task: 'classify' as const }],
    { title: 'Choose Viewer Models (1/2): which model', ignoreFocusOut: true },
  );
  if (!role) return;
  const current = vscode.workspace.getConfiguration('dicomMl').get<string>(SETTING[role.task], '');
  const choices: { label: string; description: string; value?: string }[] = [
    { label: 'Default', description: 'the model shipped with the extension', value: '' },
    ...runModels(role.task),
    { label: '$(folder-opened) Browse…', description: 'any ONNX model (an ultralytics detection export works without a card)' },
    { label: 'None', description: `no ${ROLE[role.task]}`, value: 'none' },
  ];
  const items: (vscode.QuickPickItem & { value?: string })[] = choices.map((i) => ({ ...i, picked: i.value === current }));
  const pick = await vscode.window.showQuickPick(items, { title: `Choose Viewer Models (2/2): ${ROLE[role.task]}`, placeHolder: current ? `now: ${current}` : 'now: the default', ignoreFocusOut: true });
  if (!pick) return;
  let value = pick.value;
  if (value === undefined) {
    value = (await vscode.window.showOpenDialog({ canSelectMany: false, filters: { 'ONNX model': ['onnx'] }, openLabel: `Use as ${ROLE[role.task]}` }))?.[0]?.fsPath;
    if (!value) return;
    const declared = cardTask(value);
    if (declared && declared !== role.task) {
      const go = await vscode.window.showWarningMessage(`DICOM ML: ${path.basename(value)}'s card says it is a ${ROLE[declared]}, not a ${ROLE[role.task]}.`, 'Use Anyway');
      if (go !== 'Use Anyway') return;
    }
  }
  await setViewerModel(role.task, value);
}
