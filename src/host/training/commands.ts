/**
 * Palette commands "Train Vertebra Detector" and "Train Fracture Classifier" (and Resume from the Training Runs
 * view): check the Python environment, ask only what they must — dataset, model, epochs, device, each preset to
 * the trainer's (the paper's) defaults — and run `dicom-ml train` as a `dicom-ml` task (ProcessExecution with
 * an argument array) under a progress notification. Called with an args object (scripts, E2E), they ask only
 * for what the object leaves out.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { CudaDevice, DoctorReport } from '../../core/training/doctor';
import type { TrainTask } from '../../core/training/events';
import { formatMetrics } from '../../core/training/format';
import { CLASSIFY_MODELS, DETECT_MODELS, defaultRunDir, TRAIN_DEFAULTS, trainTaskDefinition, type TrainRequest } from '../../core/training/request';
import { LOG_FILE, summarizeRun, type RunSummary } from '../../core/training/runs';
import { cliTask, TASK_TYPE } from '../tasks';
import { runWithProgress, type TrackedRun } from './progress';
import { checkEnvironment, resolveInterpreter } from './python';

/** Arguments of the train commands for programmatic callers; whatever is missing is asked for. */
export interface TrainArgs {
  /** Prepared dataset folder (or, for detect, a data.yaml). */
  data?: string;
  model?: string;
  epochs?: number;
  /** `auto`, `cpu`, `0`, `0,1`. */
  device?: string;
  imgsz?: number;
  batch?: number;
  /** Run folder; default `<workspace>/runs/<task>/<model>-<timestamp>`. */
  out?: string;
  /** classify: DDP processes (torchrun). */
  nproc?: number;
  /** More trainer arguments. */
  extra?: string[];
}

const TITLES: Record<TrainTask, string> = { detect: 'Train Vertebra Detector', classify: 'Train Fracture Classifier' };
const SETUP = 'Set Up Training Environment';

/** Refuses in an untrusted workspace, saying why. */
export function requireTrust(what: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showWarningMessage(`DICOM ML: ${what} runs Python training processes, which needs a trusted workspace (Workspaces: Manage Workspace Trust).`);
  return false;
}

function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** The interpreter, checked; on failure the problem and the offer to set up an environment. */
async function readyEnvironment(extensionUri: vscode.Uri): Promise<{ python: string; report: DoctorReport } | undefined> {
  const choice = await resolveInterpreter(vscode.workspace.workspaceFolders?.[0]?.uri);
  const report = await checkEnvironment(extensionUri, choice);
  if (report.ok) return { python: report.python.executable ?? choice.command, report };
  const fix = report.install ? ` To fix it by hand: ${report.install}` : '';
  const pick = await vscode.window.showErrorMessage(`DICOM ML: the Python training environment (${choice.command}) is not ready: ${report.problems[0] ?? 'unknown problem'}.${fix}`, SETUP, 'Open Settings');
  if (pick === SETUP) await vscode.commands.executeCommand('dicomMl.setupTrainingEnvironment');
  else if (pick === 'Open Settings') await vscode.commands.executeCommand('workbench.action.openSettings', 'dicomMl.pythonPath');
  return undefined;
}

/** Prepared datasets in the workspace for `task`: folders with detect/data.yaml, or with classify/ or classify-vertebrae/. */
export async function findDatasets(task: TrainTask): Promise<{ dir: string; parts: string[] }[]> {
  const exclude = '**/{node_modules,.git,runs,.dicom-ml,.venv}/**';
  const hits = [...await vscode.workspace.findFiles('**/detect/data.yaml', exclude, 200), ...await vscode.workspace.findFiles('**/manifest.jsonl', exclude, 200)];
  const dirs = new Set(hits.map((u) => (u.path.endsWith('/detect/data.yaml') ? path.dirname(path.dirname(u.fsPath)) : path.dirname(u.fsPath))));
  const out: { dir: string; parts: string[] }[] = [];
  for (const dir of [...dirs].sort()) {
    const parts = ['detect', 'classify', 'classify-vertebrae'].filter((p) => fs.existsSync(path.join(dir, p)));
    const fits = task === 'detect' ? fs.existsSync(path.join(dir, 'detect', 'data.yaml')) : parts.some((p) => p.startsWith('classify'));
    if (fits) out.push({ dir, parts });
  }
  return out;
}

async function askDataset(task: TrainTask): Promise<string | undefined> {
  const found = await findDatasets(task);
  const root = workspaceRoot();
  const browse: vscode.QuickPickItem & { dir?: string } = { label: '$(folder-opened) Browse…', description: 'another prepared folder' };
  const items: (vscode.QuickPickItem & { dir?: string })[] = found.map((d) => ({
    label: root && d.dir.startsWith(root + path.sep) ? path.relative(root, d.dir) : d.dir,
    description: d.parts.join(' · '),
    dir: d.dir,
  }));
  const pick = await vscode.window.showQuickPick([...items, browse], {
    title: `${TITLES[task]} (1/4): dataset`,
    placeHolder: items.length ? 'Prepared dataset (from DICOM ML: Prepare Dataset)' : 'No prepared dataset found in the workspace: browse, or run DICOM ML: Prepare Dataset first',
    ignoreFocusOut: true,
  });
  if (!pick) return undefined;
  if (pick.dir) return pick.dir;
  return (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: task === 'detect', filters: task === 'detect' ? { 'data.yaml': ['yaml', 'yml'] } : undefined, openLabel: 'Train on this' }))?.[0]?.fsPath;
}

const MODEL_NOTES: Record<string, string> = {
  'yolov8n.yaml': 'default · fastest; trains on a CPU',
  'yolov8s.yaml': 'paper Table 3',
  'yolov8m.yaml': 'paper Table 3',
  'yolov8l.yaml': "paper's best: P 0.900, R 0.890, mAP50 0.935",
  'yolov8x.yaml': 'largest',
  'yolov5l.yaml': 'paper Table 3',
  cnn: "default · the paper's proposed CNN (97.8 % accuracy in the paper)",
  resnet50: 'torchvision, from scratch (paper: 94.2 %)',
  densenet121: 'torchvision, from scratch (paper: 94.9 %)',
};

async function askModel(task: TrainTask): Promise<string | undefined> {
  const models: readonly string[] = task === 'detect' ? DETECT_MODELS : CLASSIFY_MODELS;
  const pick = await vscode.window.showQuickPick(models.map((m) => ({ label: m.replace(/\.yaml$/, ''), description: MODEL_NOTES[m], model: m })), {
    title: `${TITLES[task]} (2/4): model`, placeHolder: 'Architecture (built from scratch: no pretrained weights are downloaded)', ignoreFocusOut: true,
  });
  return pick?.model;
}

async function askEpochs(task: TrainTask): Promise<number | undefined> {
  const v = await vscode.window.showInputBox({
    title: `${TITLES[task]} (3/4): epochs`, prompt: `Epochs (the trainer's default: ${TRAIN_DEFAULTS[task].epochs})`, value: String(TRAIN_DEFAULTS[task].epochs), ignoreFocusOut: true,
    validateInput: (s) => (/^\s*\d+\s*$/.test(s) && Number(s) >= 1 ? undefined : 'a whole number ≥ 1'),
  });
  return v === undefined ? undefined : Number(v);
}

/** Device choices from the check's CUDA devices. */
async function askDevice(task: TrainTask, devices: CudaDevice[]): Promise<{ device: string; nproc?: number } | undefined> {
  const gib = (d: CudaDevice) => (d.memory ? ` (${(d.memory / 2 ** 30).toFixed(0)} GiB)` : '');
  const items: (vscode.QuickPickItem & { device: string; nproc?: number })[] = [
    { label: 'auto', description: devices.length ? `GPU 0 (${devices[0].name})` : 'no CUDA device found: CPU', device: 'auto' },
    { label: 'cpu', description: 'slow, but works everywhere', device: 'cpu' },
    ...devices.map((d) => ({ label: String(d.index), description: `${d.name}${gib(d)}`, device: String(d.index) })),
  ];
  if (devices.length > 1) {
    const all = devices.map((d) => d.index).join(',');
    items.push({ label: all, description: `all ${devices.length} GPUs (${task === 'detect' ? 'ultralytics DDP' : `torchrun, ${devices.length} processes`})`, device: all, nproc: task === 'classify' ? devices.length : undefined });
  }
  const pick = await vscode.window.showQuickPick(items, { title: `${TITLES[task]} (4/4): device`, placeHolder: 'Where to train', ignoreFocusOut: true });
  return pick && { device: pick.device, ...(pick.nproc ? { nproc: pick.nproc } : {}) };
}

/** Tells how a run ended, with the actions that fit. */
async function announce(run: TrackedRun, task: TrainTask): Promise<void> {
  const s: RunSummary = run.summary;
  const what = task === 'detect' ? 'Vertebra detector' : 'Fracture classifier';
  if (s.status === 'completed') {
    const best = s.best ? `best epoch ${s.best.epoch}: ${formatMetrics(task, s.best.metrics, 4, ' · ')}` : 'done';
    const pick = await vscode.window.showInformationMessage(`DICOM ML: ${what} trained (${s.name}) — ${best}.`, ...(s.card ? ['Open Model Card'] : []), ...(s.onnx ? ['Reveal ONNX'] : []));
    if (pick === 'Open Model Card' && s.card) await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(s.card));
    if (pick === 'Reveal ONNX' && s.onnx) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(s.onnx));
  } else if (s.status === 'interrupted' || run.cancelled) {
    void vscode.window.showInformationMessage(`DICOM ML: training ${s.name} stopped${s.epoch ? ` after epoch ${s.epoch}/${s.epochs}` : ''}; resume it from Training Runs.`);
  } else {
    const reason = s.error?.message ?? `the training task exited with ${run.exitCode ?? 'no status'}; see ${LOG_FILE} in the run folder`;
    const actions = s.error?.kind === 'missing-package' ? [SETUP, 'Open Log'] : ['Open Log'];
    const pick = await vscode.window.showErrorMessage(`DICOM ML: training ${s.name} failed: ${reason}`, ...actions);
    if (pick === SETUP) await vscode.commands.executeCommand('dicomMl.setupTrainingEnvironment');
    if (pick === 'Open Log') await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(path.join(s.dir, LOG_FILE)));
  }
}

/** Starts `req` as a task with progress; resolves with how it ended. */
export async function startTraining(extensionUri: vscode.Uri, req: TrainRequest & { out: string }, python: string, label: string): Promise<TrackedRun> {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const def = { ...trainTaskDefinition(req), type: TASK_TYPE } as const;
  const task = cliTask(extensionUri, def, `${label}: ${path.basename(req.out)}`, folder ?? vscode.TaskScope.Workspace, { DICOM_ML_PYTHON: python });
  task.presentationOptions = { reveal: vscode.TaskRevealKind.Silent, panel: vscode.TaskPanelKind.Dedicated, clear: true };
  const refresh = () => void vscode.commands.executeCommand('dicomMl.runs.refresh');
  const run = await runWithProgress(task, req.out, req.task, `DICOM ML: ${label} (${path.basename(req.out)})`, refresh);
  await vscode.commands.executeCommand('dicomMl.runs.refresh');
  void announce(run, req.task);
  return run;
}

/** "Train Vertebra Detector" / "Train Fracture Classifier". Resolves with the run, or undefined when stopped early. */
export async function trainCommand(extensionUri: vscode.Uri, task: TrainTask, args: TrainArgs = {}): Promise<TrackedRun | undefined> {
  if (!requireTrust(TITLES[task])) return undefined;
  const env = await readyEnvironment(extensionUri);
  if (!env) return undefined;
  const data = args.data ?? await askDataset(task);
  if (!data) return undefined;
  const model = args.model ?? await askModel(task);
  if (!model) return undefined;
  const epochs = args.epochs ?? await askEpochs(task);
  if (epochs === undefined) return undefined;
  const device = args.device !== undefined ? { device: args.device, nproc: args.nproc } : await askDevice(task, env.report.cuda.devices);
  if (!device) return undefined;
  const root = workspaceRoot() ?? path.dirname(data);
  const req: TrainRequest & { out: string } = {
    task, data, model, epochs, device: device.device,
    out: args.out ?? defaultRunDir(root, task, model),
    ...(args.imgsz ? { imgsz: args.imgsz } : {}),
    ...(args.batch ? { batch: args.batch } : {}),
    ...(device.nproc ? { nproc: device.nproc } : {}),
    ...(args.extra?.length ? { extra: args.extra } : {}),
  };
  return startTraining(extensionUri, req, env.python, TITLES[task]);
}

/** Resume: the same task on the same run folder with --resume (data and settings from its config.json). */
export async function resumeCommand(extensionUri: vscode.Uri, runDir: string): Promise<TrackedRun | undefined> {
  const s = summarizeRun(runDir);
  if (!s.task) {
    void vscode.window.showErrorMessage(`DICOM ML: ${runDir} does not say whether it is a detect or classify run.`);
    return undefined;
  }
  if (!requireTrust(`Resume ${TITLES[s.task]}`)) return undefined;
  if (s.status === 'running') {
    void vscode.window.showWarningMessage(`DICOM ML: ${s.name} is still running.`);
    return undefined;
  }
  const env = await readyEnvironment(extensionUri);
  if (!env) return undefined;
  return startTraining(extensionUri, { task: s.task, out: s.dir, resume: true }, env.python, `Resume ${TITLES[s.task].replace(/^Train /, '')}`);
}
