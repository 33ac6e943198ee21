/**
 * `dicom-ml` CLI runs as VS Code tasks: same code path as the headless CLI, output in the terminal panel,
 * cancellable from the task UI. ProcessExecution with an argument array — never a shell string
 * (STYLE.md: a hostile folder name must not become a command).
 */
import * as vscode from 'vscode';

/** Task type contributed in package.json `taskDefinitions`. */
export const TASK_TYPE = 'dicom-ml';

/** A task that runs `dicom-ml <command> <args…>`. */
export interface DicomMlTaskDefinition extends vscode.TaskDefinition {
  type: typeof TASK_TYPE;
  command: string;
  args?: string[];
}

/** The bundled CLI inside the extension. */
function cliPath(extensionUri: vscode.Uri): string {
  return vscode.Uri.joinPath(extensionUri, 'dist', 'cli.js').fsPath;
}

/**
 * A task for `definition`. The extension host's own runtime runs the CLI: in VS Code desktop that is
 * Electron, which ELECTRON_RUN_AS_NODE turns into plain Node; in code-server it is Node already.
 */
export function cliTask(extensionUri: vscode.Uri, definition: DicomMlTaskDefinition, label: string, scope: vscode.TaskScope | vscode.WorkspaceFolder = vscode.TaskScope.Workspace): vscode.Task {
  const execution = new vscode.ProcessExecution(process.execPath, [cliPath(extensionUri), definition.command, ...(definition.args ?? [])], {
    env: { ELECTRON_RUN_AS_NODE: '1' },
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

/** Resolves `dicom-ml` tasks written in tasks.json. */
export class DicomMlTaskProvider implements vscode.TaskProvider {
  constructor(private readonly extensionUri: vscode.Uri) {}

  provideTasks(): vscode.Task[] {
    return [];
  }

  resolveTask(task: vscode.Task): vscode.Task | undefined {
    const def = task.definition as DicomMlTaskDefinition;
    if (def.type !== TASK_TYPE || typeof def.command !== 'string') return undefined;
    if (def.args !== undefined && (!Array.isArray(def.args) || def.args.some((a) => typeof a !== 'string'))) return undefined;
    return cliTask(this.extensionUri, def, task.name, task.scope ?? vscode.TaskScope.Workspace);
  }
}
