/**
 * Which Python trains, and is it ready: VS Code glue over src/core/training/{python,doctor}.ts.
 *
 * Order: the `dicomMl.pythonPath` setting when set, else the Python extension's active interpreter for the
 * folder (`@vscode/python-extension`), else python3. The explicit setting comes first — a deliberate change
 * from "Python extension first": "Set Up Training Environment" writes the setting, and it must take effect
 * even where the Python extension (pointing at some other interpreter) is installed.
 */
import { PythonExtension } from '@vscode/python-extension';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { runDoctor, type DoctorReport } from '../../core/training/doctor';
import { DEFAULT_PYTHON, type PythonChoice } from '../../core/training/python';

/** The Python extension's id (ms-python.python). */
const PYTHON_EXTENSION_ID = 'ms-python.python';
/** The setting this extension contributes. */
export const PYTHON_PATH_SETTING = 'pythonPath';

/** `dicomMl.pythonPath`, with `${workspaceFolder}` and `~` expanded; undefined when unset. */
function settingPath(resource?: vscode.Uri): string | undefined {
  const raw = vscode.workspace.getConfiguration('dicomMl', resource).get<string>(PYTHON_PATH_SETTING)?.trim();
  if (!raw) return undefined;
  const folder = (resource && vscode.workspace.getWorkspaceFolder(resource)) ?? vscode.workspace.workspaceFolders?.[0];
  let p = raw.replace(/\$\{workspaceFolder\}/g, folder?.uri.fsPath ?? '');
  if (p.startsWith('~/')) p = path.join(process.env.HOME ?? '', p.slice(2));
  if (!path.isAbsolute(p) && /[\\/]/.test(p) && folder) p = path.join(folder.uri.fsPath, p);
  return p;
}

/** The Python extension's active interpreter for `resource`, when that extension is installed and has one. */
async function pythonExtensionInterpreter(resource?: vscode.Uri): Promise<string | undefined> {
  if (!vscode.extensions.getExtension(PYTHON_EXTENSION_ID)) return undefined; // don't activate what isn't there
  try {
    const api = await PythonExtension.api();
    const active = api.environments.getActiveEnvironmentPath(resource);
    const env = await api.environments.resolveEnvironment(active);
    return env?.executable.uri?.fsPath ?? (active.path || undefined);
  } catch {
    return undefined; // an extension error must not block training; fall through to the defaults
  }
}

/** The interpreter to train with, and where the choice came from. */
export async function resolveInterpreter(resource?: vscode.Uri): Promise<PythonChoice> {
  const fromSetting = settingPath(resource);
  if (fromSetting) return { command: fromSetting, source: 'setting' };
  const fromExtension = await pythonExtensionInterpreter(resource);
  if (fromExtension) return { command: fromExtension, source: 'python-extension' };
  return { command: DEFAULT_PYTHON, source: 'default' };
}

/** The bundled trainer (`<extension>/trainer`). */
export function trainerRoot(extensionUri: vscode.Uri): string {
  return vscode.Uri.joinPath(extensionUri, 'trainer').fsPath;
}

const ready = new Map<string, DoctorReport>();

/** Forgets earlier checks (after a set-up, or when the interpreter setting changes). */
export function clearDoctorCache(): void {
  ready.clear();
}

/**
 * Runs `python -m dicom_ml_trainer doctor --json` (execFile, argument array) for `python`, with a window
 * progress message. A passing check is remembered for the session (it imports torch: seconds).
 */
export async function checkEnvironment(extensionUri: vscode.Uri, python: PythonChoice, force = false): Promise<DoctorReport> {
  const cached = ready.get(python.command);
  if (cached && !force) return cached;
  const report = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Window, title: 'DICOM ML: checking the Python training environment' },
    () => runDoctor({ python, trainerRoot: trainerRoot(extensionUri) }),
  );
  if (report.ok) ready.set(python.command, report);
  return report;
}
