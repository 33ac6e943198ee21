/**
 * "DICOM ML: Set Up Training Environment": a venv with the trainer and its pinned packages, then
 * `dicomMl.pythonPath` pointing at it.
 *
 * Where: `<workspace>/.dicom-ml/venv` (per project, beside the data it trains on; a `.gitignore` inside keeps
 * it out of version control), or the extension's global storage when no folder is open. What: `python -m venv`,
 * then `pip install <extension>/trainer` from a temporary copy (pip builds local projects in place and
 * the installed extension's folder may be read-only). Both run with argument arrays, in their own process
 * group, so Cancel stops pip and whatever it started.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { describeSource, MIN_PYTHON } from '../../core/training/doctor';
import { DEFAULT_PYTHON, findExecutable } from '../../core/training/python';
import { killProcessTree, spawnGroup } from '../../core/training/processTree';
import { checkEnvironment, clearDoctorCache, PYTHON_PATH_SETTING, resolveInterpreter, trainerRoot } from './python';

/** Where the venv goes: `<first workspace folder>/.dicom-ml/venv`, else global storage. */
export function venvDir(context: vscode.ExtensionContext): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  return folder ? path.join(folder.uri.fsPath, '.dicom-ml', 'venv') : path.join(context.globalStorageUri.fsPath, 'venv');
}

function venvPython(dir: string): string {
  return process.platform === 'win32' ? path.join(dir, 'Scripts', 'python.exe') : path.join(dir, 'bin', 'python');
}

/** Runs a process in its own group; lines of its output go to `onLine`. Rejects with the last lines on failure. */
function run(command: string, args: string[], token: vscode.CancellationToken, onLine: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawnGroup(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1', PYTHONUNBUFFERED: '1', ELECTRON_RUN_AS_NODE: undefined } });
    const tail: string[] = [];
    let partial = '';
    const take = (chunk: Buffer) => {
      const lines = (partial + chunk.toString('utf8')).split(/\r?\n|\r/);
      partial = lines.pop() ?? '';
      for (const l of lines) {
        if (!l.trim()) continue;
        onLine(l);
        tail.push(l);
        if (tail.length > 5) tail.shift();
      }
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    const cancel = token.onCancellationRequested(() => {
      if (child.pid !== undefined) void killProcessTree(child.pid, { graceMs: 3000 });
    });
    child.once('error', (err) => {
      cancel.dispose();
      reject(err);
    });
    child.once('close', (code, signal) => {
      cancel.dispose();
      if (code === 0) resolve();
      else reject(new Error(token.isCancellationRequested ? 'cancelled' : `${path.basename(command)} ${args.slice(0, 3).join(' ')} exited with ${code ?? signal}: ${tail.slice(-2).join(' | ')}`));
    });
  });
}

/** The interpreter that makes the venv: the current choice when it runs at all, else python3. */
async function baseInterpreter(): Promise<string | undefined> {
  const current = await resolveInterpreter(vscode.workspace.workspaceFolders?.[0]?.uri);
  return findExecutable(current.command) ?? findExecutable(DEFAULT_PYTHON);
}

/**
 * Creates the venv and installs the trainer with a cancellable progress notification; sets dicomMl.pythonPath.
 * Resolves with the venv's python, or undefined when cancelled or failed (the reason is shown).
 */
export async function setUpTrainingEnvironment(context: vscode.ExtensionContext, output: vscode.OutputChannel): Promise<string | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showWarningMessage('DICOM ML: Set Up Training Environment creates a Python environment and runs pip, which needs a trusted workspace (Workspaces: Manage Workspace Trust).');
    return undefined;
  }
  const base = await baseInterpreter();
  if (!base) {
    void vscode.window.showErrorMessage(`DICOM ML: no Python interpreter found (${DEFAULT_PYTHON} is not on PATH). Install Python ${MIN_PYTHON.join('.')}+ (Debian: apt-get install python3 python3-venv), then run Set Up Training Environment again.`);
    return undefined;
  }
  const dir = venvDir(context);
  const python = venvPython(dir);
  const trainer = trainerRoot(context.extensionUri);
  output.show(true);
  output.appendLine(`[setup] venv ${dir} from ${base}; trainer ${trainer}`);
  try {
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'DICOM ML: setting up the training environment', cancellable: true }, async (progress, token) => {
      const log = (line: string) => {
        output.appendLine(line);
        progress.report({ message: line.length > 90 ? `${line.slice(0, 87)}…` : line });
      };
      if (!fs.existsSync(python)) {
        progress.report({ message: `creating ${dir}` });
        fs.mkdirSync(path.dirname(dir), { recursive: true });
        const marker = path.join(path.dirname(dir), '.gitignore');
        if (path.basename(path.dirname(dir)) === '.dicom-ml' && !fs.existsSync(marker)) fs.writeFileSync(marker, '# made by DICOM ML Workbench: the training venv\n*\n');
        await run(base, ['-m', 'venv', dir], token, log).catch((err: Error) => {
          throw new Error(/ensurepip|venv/.test(err.message) ? `${err.message} — on Debian/Ubuntu: apt-get install python3-venv` : err.message);
        });
      }
      const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'dicom-ml-trainer-'));
      try {
        fs.cpSync(trainer, copy, { recursive: true, filter: (src) => !/(__pycache__|\.egg-info|\.pytest_cache|[\\/]build)$/.test(src) });
        progress.report({ message: 'pip install the trainer (torch, ultralytics, onnx…: a few GB the first time)' });
        await run(python, ['-m', 'pip', 'install', copy], token, log);
      } finally {
        fs.rmSync(copy, { recursive: true, force: true });
      }
    });
  } catch (err) {
    const message = (err as Error).message;
    output.appendLine(`[setup] ${message}`);
    if (message !== 'cancelled') void vscode.window.showErrorMessage(`DICOM ML: setting up the training environment failed: ${message}`, 'Show Log').then((b) => b && output.show());
    return undefined;
  }
  const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration('dicomMl').update(PYTHON_PATH_SETTING, python, target);
  clearDoctorCache();
  const choice = await resolveInterpreter(vscode.workspace.workspaceFolders?.[0]?.uri);
  const report = await checkEnvironment(context.extensionUri, choice, true);
  output.appendLine(`[setup] dicomMl.pythonPath = ${python}; check: ${report.ok ? 'ready' : report.problems.join('; ')}`);
  if (report.ok) void vscode.window.showInformationMessage(`DICOM ML: training environment ready (${python}, ${describeSource(choice.source)}).`);
  else void vscode.window.showErrorMessage(`DICOM ML: the new environment is not ready: ${report.problems[0]}`);
  return python;
}
