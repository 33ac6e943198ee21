/**
 * The "Training Runs" view: every `runs/<task>/<name>/` with an events.jsonl in the workspace, newest first,
 * each with a status icon, epoch k/N and its best metric (src/core/training/runs.ts reads the folder).
 * Refreshes when events.jsonl files change: VS Code's file watcher, and — because that watcher missed every event
 * in some code-server sessions here (E2E, a run started from a terminal) — a cheap check every few seconds while
 * the view is visible (stat of the known runs' events.jsonl and a listing of `runs/` in each workspace folder).
 * While a run is running it also re-reads every few seconds, so that a launcher that died shows as interrupted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { KEY_METRICS, describeRun } from '../../core/training/format';
import { findRuns, LOCK_FILE, summarizeRun, type RunStatus, type RunSummary } from '../../core/training/runs';
import { EVENTS_FILE, type TrainTask } from '../../core/training/events';

/** View id contributed in package.json. */
export const RUNS_VIEW = 'dicomMl.runs';

const ICONS: Record<RunStatus, vscode.ThemeIcon> = {
  running: new vscode.ThemeIcon('sync~spin', new vscode.ThemeColor('charts.blue')),
  completed: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  interrupted: new vscode.ThemeIcon('debug-pause', new vscode.ThemeColor('charts.yellow')),
};

/** A task's group of runs (top level of the tree). */
export class TaskItem extends vscode.TreeItem {
  constructor(readonly task: TrainTask | 'other', readonly runs: RunSummary[]) {
    super(TASK_LABELS[task], vscode.TreeItemCollapsibleState.Expanded);
    this.id = `task:${task}`;
    const running = runs.filter((r) => r.status === 'running').length;
    this.description = `${runs.length} run${runs.length === 1 ? '' : 's'}${running ? `, ${running} running` : ''}`;
    this.iconPath = new vscode.ThemeIcon(task === 'detect' ? 'symbol-array' : 'symbol-boolean');
    this.contextValue = 'task';
  }
}

const TASK_LABELS: Record<TrainTask | 'other', string> = { detect: 'Vertebra detectors', classify: 'Fracture classifiers', other: 'Other runs' };

/** A run in the tree. Commands get it as their argument. */
export class RunItem extends vscode.TreeItem {
  constructor(readonly run: RunSummary) {
    super(run.name, vscode.TreeItemCollapsibleState.None);
    this.id = run.dir;
    this.description = describeRun(run);
    this.iconPath = ICONS[run.status];
    this.resourceUri = vscode.Uri.file(run.dir);
    this.tooltip = tooltip(run);
    // Menus match on these flags (package.json view/item/context `viewItem =~ /…/`).
    const flags = ['run', run.status, run.card ? 'card' : '', run.onnx ? 'onnx' : '', run.status === 'interrupted' || run.status === 'failed' ? 'resumable' : ''];
    this.contextValue = flags.filter(Boolean).join(' ');
    if (run.card) this.command = { command: 'vscode.open', title: 'Open Model Card', arguments: [vscode.Uri.file(run.card)] };
  }
}

function tooltip(run: RunSummary): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  md.appendMarkdown(`**${run.name}** — ${run.status}\n\n`);
  const rows: [string, string | undefined][] = [
    ['task', run.task], ['model', run.model], ['data', run.data],
    ['device', run.device ? `${run.device.type}${run.device.names.length ? ` (${run.device.names.join(', ')})` : ''}${run.device.worldSize > 1 ? ` × ${run.device.worldSize}` : ''}` : undefined],
    ['epoch', run.epoch !== undefined ? `${run.epoch}/${run.epochs ?? '?'}` : undefined], ['started', run.started], ['folder', run.dir],
  ];
  for (const [k, v] of rows) if (v) md.appendMarkdown(`${k}: \`${v.replace(/`/g, "'")}\`  \n`);
  if (run.best && run.task) {
    md.appendMarkdown(`\nbest epoch ${run.best.epoch}:\n\n| metric | value |\n|---|---|\n`);
    for (const [key, label] of KEY_METRICS[run.task]) {
      const v = run.best.metrics[key];
      if (typeof v === 'number') md.appendMarkdown(`| ${label} | ${v.toFixed(4)} |\n`);
    }
  }
  if (run.error) md.appendMarkdown(`\n${run.error.kind}: ${run.error.message.replace(/[\\`*_[\]<>]/g, (c) => `\\${c}`)}\n`);
  return md;
}

type Node = TaskItem | RunItem;

/** Tree data for the view: runs grouped by task, newest first. */
export class RunsProvider implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [this.changed];
  private timer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private check: NodeJS.Timeout | undefined;
  /** Run folders read last time, and the state of their files then. */
  private known: string[] = [];
  private signature = '';

  constructor() {
    const watcher = vscode.workspace.createFileSystemWatcher('**/runs/*/*/{events.jsonl,.dicom-ml-train.json,model.card.json}');
    this.disposables.push(watcher, watcher.onDidChange(() => this.refreshSoon()), watcher.onDidCreate(() => this.refreshSoon()), watcher.onDidDelete(() => this.refreshSoon()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.refreshSoon()));
  }

  /** Starts or stops the visible-view check (TreeView.onDidChangeVisibility). */
  setVisible(visible: boolean): void {
    if (this.check) clearInterval(this.check);
    this.check = undefined;
    if (!visible) return;
    this.check = setInterval(() => {
      if (this.currentSignature() !== this.signature) this.refresh();
    }, 3000);
  }

  /** Run folders under `runs/` of each workspace folder plus those seen before, with their files' size and time. */
  private currentSignature(dirs?: string[]): string {
    const all = new Set(dirs ?? this.known);
    if (!dirs) for (const f of vscode.workspace.workspaceFolders ?? []) for (const d of findRuns(f.uri.fsPath)) all.add(d);
    return [...all].sort().map((d) => {
      const st = (f: string) => {
        try {
          const s = fs.statSync(path.join(d, f));
          return `${s.size}@${s.mtimeMs}`;
        } catch {
          return '-';
        }
      };
      return `${d}:${st(EVENTS_FILE)}:${st(LOCK_FILE)}`;
    }).join('\n');
  }

  /** Re-reads the runs now. */
  refresh(): void {
    this.changed.fire();
  }

  /** Re-reads soon, coalescing bursts of file events. */
  refreshSoon(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 300);
  }

  getTreeItem(item: Node): Node {
    return item;
  }

  async getChildren(parent?: Node): Promise<Node[]> {
    if (parent instanceof TaskItem) return parent.runs.map((r) => new RunItem(r));
    if (parent) return [];
    const runs = await this.readRuns();
    // While something runs, look again every few seconds (a launcher killed outright writes no event).
    if (this.poll) clearTimeout(this.poll);
    if (runs.some((r) => r.status === 'running')) this.poll = setTimeout(() => this.refresh(), 5000);
    if (!runs.length) return []; // the welcome view (package.json viewsWelcome) shows instead
    const groups = (['classify', 'detect', 'other'] as const).map((t) => new TaskItem(t, runs.filter((r) => (r.task ?? 'other') === t)));
    return groups.filter((g) => g.runs.length);
  }

  /** Every run folder in the workspace, summarised, newest first. */
  private async readRuns(): Promise<RunSummary[]> {
    const files = await vscode.workspace.findFiles('**/runs/*/*/events.jsonl', '**/{node_modules,.git}/**', 500);
    const found = files.map((f) => {
      let mtime = 0;
      try {
        mtime = fs.statSync(f.fsPath).mtimeMs;
      } catch {
        /* just removed */
      }
      return { dir: path.dirname(f.fsPath), mtime };
    }).sort((a, b) => b.mtime - a.mtime);
    this.known = found.map((r) => r.dir);
    this.signature = this.currentSignature();
    const runs: RunSummary[] = [];
    for (const r of found) {
      try {
        runs.push(summarizeRun(r.dir));
      } catch {
        /* an unreadable run folder: skip it rather than blank the view */
      }
    }
    return runs;
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.poll) clearTimeout(this.poll);
    if (this.check) clearInterval(this.check);
    for (const d of this.disposables) d.dispose();
  }
}
