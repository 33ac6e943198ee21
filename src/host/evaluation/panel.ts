/**
 * The metrics panel (issue 9): one webview per window showing an evaluation folder — tables under both
 * detection protocols or the classification metrics, curves with a threshold the tables follow, the error list
 * (click → the source DICOM slice in the viewer; also in the Problems view; next / previous error commands),
 * and the run comparison with Markdown / CSV export. Logic lives in src/core/evaluation; this file keeps the
 * panel's state and answers its validated requests. Restored after a window reload (WebviewPanelSerializer).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { compareEvaluations, comparisonCsv, comparisonMarkdown, type ComparisonTable } from '../../core/evaluation/compare';
import { collectErrors, type ModelError } from '../../core/evaluation/errors';
import { readEvaluation, type ClassifyPrediction, type Evaluation } from '../../core/evaluation/evalFolder';
import { errorPicture, reportHtml, reportMarkdown, type ReportImage } from '../../core/evaluation/report';
import { writeFileAtomic } from '../../core/io/atomic';
import { studyFusion } from '../../core/evaluation/studies';
import { classificationAt, detectionAt, type DetectionCurvesJson } from '../../core/evaluation/threshold';
import { formatUserError } from '../../core/dicom/errors';
import { trainingCurves } from '../../core/training/curves';
import { EVENTS_FILE } from '../../core/training/events';
import type { HostToMetrics, MetricsAtThreshold, MetricsError, MetricsMethods } from '../../protocol/metrics';
import { overrideModels } from '../viewer/models';
import { VIEW_TYPE as VIEWER } from '../viewer/provider';
import { webviewHtml, webviewOptions } from '../webviewHtml';
import { parseMetricsMessage } from './messages';

export const METRICS_VIEW = 'dicomMl.metrics';

type Handler<M extends keyof MetricsMethods> = (params: MetricsMethods[M]['params']) => Promise<MetricsMethods[M]['result']>;

const BODY = `
<header class="head">
  <h1 id="title">Metrics</h1>
  <div id="source" class="source"></div>
</header>
<nav class="tabs" aria-label="Sections">
  <vscode-button class="eval-only" data-tab="tables">Tables</vscode-button>
  <vscode-button class="eval-only" data-tab="curves" secondary>Curves</vscode-button>
  <vscode-button class="eval-only" data-tab="errors" secondary>Errors</vscode-button>
  <vscode-button data-tab="compare" secondary>Compare runs</vscode-button>
  <vscode-button data-tab="training" secondary hidden>Training</vscode-button>
  <vscode-button class="eval-only" id="report-html" secondary title="One self-contained HTML file: tables, curves, some error slices">Export report (HTML)</vscode-button>
  <vscode-button class="eval-only" id="report-md" secondary title="Tables and the error list as Markdown">Export report (Markdown)</vscode-button>
</nav>
<section id="threshold-bar" class="threshold eval-only" aria-label="Threshold">
  <label for="threshold">Threshold</label>
  <input type="range" id="threshold" min="0" max="1" step="0.01" value="0.5" aria-label="Decision threshold">
  <span id="threshold-label"></span>
</section>
<main>
  <section id="tab-tables" data-panel="tables"></section>
  <section id="tab-curves" data-panel="curves" hidden></section>
  <section id="tab-errors" data-panel="errors" hidden>
    <div class="filters">
      <vscode-checkbox id="kind-fp" checked>False positives</vscode-checkbox>
      <vscode-checkbox id="kind-fn" checked>False negatives</vscode-checkbox>
      <vscode-checkbox id="kind-wrong-class" checked>Wrong class</vscode-checkbox>
      <vscode-single-select id="error-class" aria-label="Class"></vscode-single-select>
      <vscode-single-select id="error-sort" aria-label="Sort by">
        <vscode-option value="conf">confidence ↓</vscode-option><vscode-option value="iou">IoU ↓</vscode-option>
        <vscode-option value="class">class</vscode-option><vscode-option value="slice">study, slice</vscode-option>
      </vscode-single-select>
      <span id="error-count" class="muted"></span>
    </div>
    <div id="error-list" class="error-list" role="listbox" aria-label="Model errors" tabindex="0"></div>
  </section>
  <section id="tab-training" data-panel="training" hidden>
    <div id="training-status" class="muted"></div>
    <div id="training-charts" class="charts"></div>
  </section>
  <section id="tab-compare" data-panel="compare" hidden>
    <div class="filters">
      <vscode-button id="compare-pick">Choose evaluations…</vscode-button>
      <vscode-button id="export-md" secondary disabled>Export Markdown</vscode-button>
      <vscode-button id="export-csv" secondary disabled>Export CSV</vscode-button>
    </div>
    <div id="compare-tables"></div>
  </section>
  <div id="fatal" role="alert" hidden></div>
</main>`;

/** The one metrics panel of the window. */
export class MetricsPanel {
  private static current: MetricsPanel | undefined;
  private evaluation?: Evaluation;
  private errors: ModelError[] = [];
  private comparison: ComparisonTable[] = [];
  /** The error list as the panel orders it (ids), for next / previous. */
  private order: number[] = [];
  private cursor = -1;
  private readonly disposables: vscode.Disposable[] = [];
  /** The training run whose curves the panel follows, and how to stop following it. */
  private run?: string;
  private unwatchRun?: () => void;

  private constructor(private readonly panel: vscode.WebviewPanel, extensionUri: vscode.Uri, private readonly diagnostics: vscode.DiagnosticCollection) {
    panel.webview.options = webviewOptions(extensionUri);
    panel.webview.html = webviewHtml(panel.webview, extensionUri, 'metrics', 'Metrics', BODY);
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => this.receive(m)),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  /** Show the panel (creating it) on evaluation folder `dir`. */
  static show(extensionUri: vscode.Uri, diagnostics: vscode.DiagnosticCollection, dir?: string): MetricsPanel {
    let p = MetricsPanel.current;
    if (!p) {
      const panel = vscode.window.createWebviewPanel(METRICS_VIEW, 'DICOM ML Metrics', vscode.ViewColumn.Active, { ...webviewOptions(extensionUri), retainContextWhenHidden: true });
      p = new MetricsPanel(panel, extensionUri, diagnostics);
      MetricsPanel.current = p;
    } else p.panel.reveal();
    if (dir) void p.load(dir);
    return p;
  }

  /** Restore after a window reload (the webview's saved state names the folder it showed). */
  static revive(panel: vscode.WebviewPanel, extensionUri: vscode.Uri, diagnostics: vscode.DiagnosticCollection): void {
    MetricsPanel.current?.panel.dispose();
    MetricsPanel.current = new MetricsPanel(panel, extensionUri, diagnostics);
  }

  /** The panel now open, if any. */
  static get active(): MetricsPanel | undefined {
    return MetricsPanel.current;
  }

  private post(m: HostToMetrics): void {
    void this.panel.webview.postMessage(m);
  }

  private notify<M extends HostToMetrics & { kind: 'rpc/notify' }>(method: M['method'], params: M['params']): void {
    this.post({ kind: 'rpc/notify', method, params } as HostToMetrics);
  }

  /** Show the panel (creating it) on run folder `dir`'s training curves, following them while it trains. */
  static showRun(extensionUri: vscode.Uri, diagnostics: vscode.DiagnosticCollection, dir: string): MetricsPanel {
    const p = MetricsPanel.show(extensionUri, diagnostics);
    p.watchRun(dir);
    return p;
  }

  /** Send run `dir`'s curves now and whenever its events.jsonl grows (polled each second: runs may live outside the workspace). */
  private watchRun(dir: string): void {
    this.unwatchRun?.();
    this.run = dir;
    const file = path.join(dir, EVENTS_FILE);
    const send = () => {
      try {
        this.notify('metrics/training', trainingCurves(dir));
      } catch (err) {
        this.notify('metrics/fatal', { message: formatUserError(err, file) });
      }
    };
    send();
    fs.watchFile(file, { interval: 1000 }, send);
    this.unwatchRun = () => fs.unwatchFile(file, send);
  }

  /** Read `dir` and send it to the panel; the errors become diagnostics. */
  async load(dir: string): Promise<void> {
    try {
      const e = await readEvaluation(dir);
      this.evaluation = e;
      const names = e.metrics.names ?? (e.metrics.task === 'classify' ? ['normal', 'fracture'] : []);
      this.errors = collectErrors(e.predictions, names);
      this.order = this.errors.map((x) => x.id);
      this.cursor = -1;
      this.panel.title = `Metrics: ${e.label}`;
      const fused = e.metrics.task === 'classify' ? studyFusion(e.predictions as ClassifyPrediction[], typeof e.metrics.positiveClass === 'number' ? e.metrics.positiveClass : 1) : undefined;
      this.notify('metrics/evaluation', {
        dir, label: e.label, task: e.metrics.task, metrics: e.metrics, names,
        errors: this.errors.map(toMessage), ...(fused ? { studies: fused.studies, rsna: fused.rsna } : {}),
      });
      this.publishDiagnostics();
    } catch (err) {
      this.notify('metrics/fatal', { message: formatUserError(err, path.join(dir, 'metrics.json')) });
    }
  }

  private publishDiagnostics(): void {
    this.diagnostics.clear();
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const e of this.errors) {
      if (!e.dicom) continue;
      const d = new vscode.Diagnostic(new vscode.Range(0, 0, 0, 0), `${e.message}${e.slice !== undefined ? ` · slice ${e.slice}` : ''}`, vscode.DiagnosticSeverity.Warning);
      d.source = `dicom-ml eval (${this.evaluation?.label ?? ''})`;
      d.code = e.kind;
      const list = byFile.get(e.dicom) ?? [];
      list.push(d);
      byFile.set(e.dicom, list);
    }
    this.diagnostics.set([...byFile].map(([f, ds]) => [vscode.Uri.file(f), ds]));
  }

  private receive(raw: unknown): void {
    const parsed = parseMetricsMessage(raw);
    if (!parsed.ok) {
      if (parsed.id !== undefined) this.post({ kind: 'rpc/response', id: parsed.id, error: `bad request: ${parsed.reason}` });
      return;
    }
    const m = parsed.message;
    if (m.kind === 'rpc/notify') {
      const dir = m.params.dir ?? this.evaluation?.dir;
      if (dir) void this.load(dir);
      const run = m.params.run ?? this.run;
      if (run) this.watchRun(run);
      return;
    }
    if (m.kind === 'rpc/cancel') return;
    const run = this.handle(m.method, m.params as never);
    run.then((result) => this.post({ kind: 'rpc/response', id: m.id, result }), (err: unknown) => this.post({ kind: 'rpc/response', id: m.id, error: formatUserError(err) }));
  }

  private handle<M extends keyof MetricsMethods>(method: M, params: MetricsMethods[M]['params']): Promise<MetricsMethods[M]['result']> {
    const handlers: { [K in keyof MetricsMethods]: Handler<K> } = {
      'metrics/atThreshold': async ({ threshold }) => this.atThreshold(threshold),
      'metrics/openError': async ({ id, order }) => {
        if (order) this.order = order.filter((x) => this.errors.some((e) => e.id === x));
        return { opened: await this.open(id) };
      },
      'metrics/compare': async ({ dirs }) => this.compare(dirs),
      'metrics/export': async ({ what, charts }) => (what.startsWith('report') ? this.report(what === 'report-html' ? 'html' : 'md', charts ?? []) : this.export(what as 'comparison-md' | 'comparison-csv')),
    };
    return (handlers[method] as Handler<M>)(params);
  }

  private atThreshold(t: number): MetricsAtThreshold {
    const e = this.evaluation;
    if (!e) throw new Error('no evaluation loaded');
    if (e.metrics.task === 'classify') {
      const m = classificationAt(e.predictions as ClassifyPrediction[], t, typeof e.metrics.positiveClass === 'number' ? e.metrics.positiveClass : 1, e.metrics.names);
      return { task: 'classify', threshold: t, accuracy: m.accuracy, precision: m.precision, recall: m.recall, f1: m.f1, specificity: m.specificity, kappa: m.kappa, auc: m.auc, confusion: m.confusion };
    }
    const ul = (e.metrics.protocols as Record<string, { curves?: DetectionCurvesJson }> | undefined)?.ultralytics?.curves ?? (e.metrics.curves as DetectionCurvesJson | undefined);
    if (!ul) throw new Error('this detection evaluation has no ultralytics curves (evaluate with --protocol ultralytics or both)');
    return { task: 'detect', ...detectionAt(ul, t, e.metrics.names ?? []) };
  }

  /** Open error `id`'s source slice in the DICOM viewer; it becomes the cursor for next / previous. */
  async open(id: number): Promise<boolean> {
    const e = this.errors.find((x) => x.id === id);
    if (!e) throw new RangeError(`no error ${id} in this evaluation`);
    this.cursor = this.order.indexOf(id);
    if (!e.dicom) {
      void vscode.window.showWarningMessage(`DICOM ML: ${path.basename(e.image)} has no source DICOM (no manifest.jsonl beside the prepared dataset).`);
      return false;
    }
    const uri = vscode.Uri.file(e.dicom);
    // The viewer draws the evaluated model's predictions on this slice (not whatever the settings name).
    const model = this.evaluation?.metrics.source?.model;
    if (model) overrideModels(uri, this.evaluation?.metrics.task === 'detect' ? { detector: model } : { classifier: model });
    await vscode.commands.executeCommand('vscode.openWith', uri, VIEWER, { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false });
    void vscode.window.setStatusBarMessage(`DICOM ML error ${this.cursor + 1}/${this.order.length}: ${e.message}`, 8000);
    return true;
  }

  /** Next (+1) or previous (−1) error of the list. */
  async step(delta: number): Promise<void> {
    if (!this.order.length) {
      void vscode.window.showInformationMessage('DICOM ML: no model errors loaded (open an evaluation in the metrics panel).');
      return;
    }
    this.cursor = (this.cursor + delta + this.order.length) % this.order.length;
    const id = this.order[this.cursor];
    this.notify('metrics/selected', { id });
    await this.open(id);
  }

  private async compare(dirs?: string[]): Promise<ComparisonTable[] | null> {
    let chosen = dirs;
    if (!chosen) {
      const found = await vscode.workspace.findFiles('**/metrics.json', '**/{node_modules,.git}/**', 500);
      const items = await Promise.all(found.map(async (u) => {
        const dir = path.dirname(u.fsPath);
        try {
          const e = await readEvaluation(dir, { withPredictions: false });
          return { label: e.label, description: `${e.metrics.task} · ${vscode.workspace.asRelativePath(dir)}`, picked: dir === this.evaluation?.dir, dir };
        } catch {
          return undefined;
        }
      }));
      const pick = await vscode.window.showQuickPick(items.filter((i): i is NonNullable<typeof i> => Boolean(i)), { canPickMany: true, title: 'Compare runs: evaluations', placeHolder: 'Evaluation folders (metrics.json) in the workspace' });
      if (!pick?.length) return null;
      chosen = pick.map((p) => p.dir);
    }
    const evals = await Promise.all(chosen.map((d) => readEvaluation(d, { withPredictions: false })));
    this.comparison = compareEvaluations(evals);
    return this.comparison;
  }

  private async export(what: 'comparison-md' | 'comparison-csv'): Promise<{ file: string } | null> {
    if (!this.comparison.length) throw new Error('compare some evaluations first');
    const ext = what === 'comparison-md' ? 'md' : 'csv';
    const root = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({ defaultUri: root ? vscode.Uri.joinPath(root, `comparison.${ext}`) : undefined, filters: { [ext === 'md' ? 'Markdown' : 'CSV']: [ext] }, saveLabel: 'Export' });
    if (!target) return null;
    await writeFileAtomic(target.fsPath, ext === 'md' ? comparisonMarkdown(this.comparison) : comparisonCsv(this.comparison));
    return { file: target.fsPath };
  }

  /** This evaluation as report.md / report.html (tables, curves, up to six error pictures, the error list). */
  private async report(kind: 'md' | 'html', charts: { title: string; dataUrl: string }[]): Promise<{ file: string } | null> {
    const e = this.evaluation;
    if (!e) throw new Error('no evaluation loaded');
    const target = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.file(path.join(e.dir, `report.${kind}`)), filters: { [kind === 'md' ? 'Markdown' : 'HTML']: [kind] }, saveLabel: 'Export' });
    if (!target) return null;
    let text: string;
    if (kind === 'md') text = reportMarkdown(e, this.errors);
    else {
      const pictures = (await Promise.all(this.errors.slice(0, 6).map((x) => errorPicture(x)))).filter((p): p is ReportImage => Boolean(p));
      const images = charts.map((c) => ({ title: c.title, png: Buffer.from(c.dataUrl.slice(c.dataUrl.indexOf(',') + 1), 'base64') }));
      text = reportHtml(e, this.errors, images, pictures);
    }
    await writeFileAtomic(target.fsPath, text);
    return { file: target.fsPath };
  }

  private dispose(): void {
    if (MetricsPanel.current === this) MetricsPanel.current = undefined;
    this.unwatchRun?.();
    this.diagnostics.clear();
    for (const d of this.disposables) d.dispose();
  }
}

function toMessage(e: ModelError): MetricsError {
  return {
    id: e.id, kind: e.kind, cls: e.cls, className: e.className, truthName: e.truthName, conf: e.conf, iou: e.iou,
    study: e.study, slice: e.slice, vertebra: e.vertebra, image: e.image, hasSource: Boolean(e.dicom), message: e.message,
  };
}
