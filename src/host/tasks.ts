/**
 * `dicom-ml` CLI runs as VS Code tasks: same code path as the headless CLI, output in the terminal panel,
 * cancellable from the task UI. ProcessExecution with an argument array — never a shell string
 * (STYLE.md: a hostile folder name must not become a command).
 */
import * as vscode from 'vscode';
import { CLI_TASK_TYPE, parseCliTaskDefinition, type CliTaskDefinition } from '../core/training/request';

/** Task type contributed in package.json `taskDefinitions`. */
export const TASK_TYPE = CLI_TASK_TYPE;

/**
 * A task that runs `dicom-ml <command> <args…>` (the shape lives in src/core/training/request.ts so that plain
 * Node tests can round-trip it). `train` and `doctor` tasks get the interpreter the extension resolved.
 */
export interface DicomMlTaskDefinition extends vscode.TaskDefinition, CliTaskDefinition {
  type: typeof TASK_TYPE;
}

/** Commands that start Python: their tasks get DICOM_ML_PYTHON (Python extension / dicomMl.pythonPath / python3). */
export const PYTHON_COMMANDS = new Set(['train', 'doctor']);

/** The bundled CLI inside the extension. */
function cliPath(extensionUri: vscode.Uri): string {
  return vscode.Uri.joinPath(extensionUri, 'dist', 'cli.js').fsPath;
}

/**
 * A task for `definition`. The extension host's own runtime runs the CLI: in VS Code desktop that is
 * Electron, which ELECTRON_RUN_AS_NODE turns into plain Node; in code-server it is Node already.
 */
export function cliTask(extensionUri: vscode.Uri, definition: DicomMlTaskDefinition, label: string, scope: vscode.TaskScope | vscode.WorkspaceFolder = vscode.TaskScope.Workspace, env: Record<string, string> = {}): vscode.Task {
  const execution = new vscode.ProcessExecution(process.execPath, [cliPath(extensionUri), definition.command, ...(definition.args ?? [])], {
    env: { ...env, ELECTRON_RUN_AS_NODE: '1' },
    ...(definition.command === 'train' || definition.command === 'doctor' ? { cwd: workspaceCwd(scope) } : {}),
  });
  const task = new vscode.Task(definition, scope, label, 'dicom-ml', execution, []);
  task.presentationOptions = { reveal: vscode.TaskRevealKind.Always, panel: vscode.TaskPanelKind.Dedicated, clear: true };
  return task;
}

/** Run a task and resolve with its exit code (undefined when it was terminated). */
export async function runTask(task: vscode.Task): Promise<number | undefined> {
  const execution = await vscode.tasks.executeTask(task);
  return new Promise((resolve) => {
    const done = vscode.tasks.onDidEndTaskProcess((e) => {
      if (e.execution === execution) {
        done.dispose();
        resolve(e.exitCode);
      }
    });
  });
}

/** The folder relative paths (`runs/…`, `--data prepared/…`) mean: the task's workspace folder, else the first one. */
function workspaceCwd(scope: vscode.TaskScope | vscode.WorkspaceFolder): string | undefined {
  if (typeof scope === 'object') return scope.uri.fsPath;
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** Resolves `dicom-ml` tasks written in tasks.json. */
export class DicomMlTaskProvider implements vscode.TaskProvider {
  /** `python(scope)`: the interpreter for train/doctor tasks (see src/host/training/python.ts). */
  constructor(private readonly extensionUri: vscode.Uri, private readonly python?: (scope?: vscode.Uri) => Promise<string>) {}

  provideTasks(): vscode.Task[] {
    return [];
  }

  async resolveTask(task: vscode.Task): Promise<vscode.Task | undefined> {
    const parsed = parseCliTaskDefinition(task.definition);
    if (!parsed) return undefined;
    // Keep the caller's definition object (VS Code matches tasks by it); only its shape was checked.
    const def = task.definition as DicomMlTaskDefinition;
    const scope = task.scope ?? vscode.TaskScope.Workspace;
    const env: Record<string, string> = {};
    if (this.python && PYTHON_COMMANDS.has(parsed.command)) env.DICOM_ML_PYTHON = await this.python(typeof scope === 'object' ? scope.uri : undefined);
    return cliTask(this.extensionUri, def, task.name, scope, env);
  }
}
