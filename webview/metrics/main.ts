/**
 * The metrics panel webview: tables (both detection protocols side by side, or the classification metrics and
 * confusion matrix) that follow a threshold, curves (uPlot), the model's errors (click → the source slice in
 * the DICOM viewer), per-study fusion with the RSNA metric, and the run comparison with export. Browser code
 * only; the host does the reading and the maths (src/core/evaluation) and answers through src/protocol/metrics.
 */
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-table/index.js';
import '@vscode-elements/elements/dist/vscode-table-body/index.js';
import '@vscode-elements/elements/dist/vscode-table-cell/index.js';
import '@vscode-elements/elements/dist/vscode-table-header/index.js';
import '@vscode-elements/elements/dist/vscode-table-header-cell/index.js';
import '@vscode-elements/elements/dist/vscode-table-row/index.js';
import type { HostToMetrics, MetricsAtThreshold, MetricsComparison, MetricsError, MetricsEvaluation, MetricsMethods, MetricsTraining } from '../../src/protocol/metrics';
import { RpcClient } from '../viewer/rpc';
import { Chart, type Series } from './charts';

type Tab = 'tables' | 'curves' | 'errors' | 'compare' | 'training';
interface State {
  dir?: string;
  /** The training run whose curves are shown. */
  run?: string;
  tab?: Tab;
  threshold?: number;
  kinds?: string[];
  cls?: string;
  sort?: string;
}

const vscode = acquireVsCodeApi<State>();
const rpc = new RpcClient<MetricsMethods>((m) => vscode.postMessage(m));
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const state: State = vscode.getState() ?? {};
let ev: MetricsEvaluation | undefined;
let at: MetricsAtThreshold | undefined;
let comparison: MetricsComparison[] = [];

const save = () => vscode.setState(state);
const num = (v: unknown, d = 3) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '–');
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, text?: string, cls?: string): HTMLElementTagNameMap[K] => {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
};

/** A vscode-table with `head` columns and `rows` (cells as text; `mark(r, c)` highlights a cell). */
function table(head: string[], rows: string[][], mark: (r: number, c: number) => boolean = () => false, label = ''): HTMLElement {
  const t = document.createElement('vscode-table');
  t.setAttribute('zebra', '');
  t.setAttribute('bordered-columns', '');
  t.setAttribute('aria-label', label);
  t.dataset.table = label;
  const h = document.createElement('vscode-table-header');
  h.slot = 'header';
  for (const c of head) h.append(Object.assign(document.createElement('vscode-table-header-cell'), { textContent: c }));
  const b = document.createElement('vscode-table-body');
  b.slot = 'body';
  rows.forEach((r, i) => {
    const row = document.createElement('vscode-table-row');
    r.forEach((c, j) => {
      const cell = document.createElement('vscode-table-cell');
      cell.textContent = c;
      if (mark(i, j)) cell.classList.add('best');
      row.append(cell);
    });
    b.append(row);
  });
  t.append(h, b);
  return t;
}

// ---- header, tabs, threshold ----
function showTab(tab: Tab): void {
  state.tab = tab;
  save();
  for (const b of document.querySelectorAll<HTMLElement>('[data-tab]')) b.toggleAttribute('secondary', b.dataset.tab !== tab);
  for (const p of document.querySelectorAll<HTMLElement>('[data-panel]')) p.hidden = p.dataset.panel !== tab;
  document.body.dataset.tab = tab;
  if (tab === 'curves') drawCurves();
  if (tab === 'training') drawTraining();
}
for (const b of document.querySelectorAll<HTMLElement>('[data-tab]')) b.addEventListener('click', () => showTab(b.dataset.tab as Tab));

const slider = $<HTMLInputElement>('threshold');
let thresholdTimer: ReturnType<typeof setTimeout> | undefined;
slider.addEventListener('input', () => {
  state.threshold = Number(slider.value);
  save();
  $('threshold-label').textContent = Number(slider.value).toFixed(2);
  for (const c of charts) c.redraw();
  clearTimeout(thresholdTimer);
  thresholdTimer = setTimeout(() => void loadThreshold(), 60);
});

async function loadThreshold(): Promise<void> {
  if (!ev) return;
  const t = Number(slider.value);
  try {
    at = await rpc.request('metrics/atThreshold', { threshold: t });
    if (Number(slider.value) !== t) return;
    renderTables();
    document.body.dataset.threshold = t.toFixed(2);
  } catch (err) {
    $('threshold-label').textContent = (err as Error).message;
  }
}

/** ultralytics' own operating point: the confidence of the best mean F1 (where its reported P and R are read). */
function bestF1Confidence(m: Record<string, unknown>): number {
  const curves = ((m.protocols as Record<string, { curves?: { confidence: number[]; f1: number[][] } }> | undefined)?.ultralytics?.curves ?? m.curves) as { confidence: number[]; f1: number[][] } | undefined;
  if (!curves?.f1?.length) return 0.25;
  let best = 0;
  let arg = 0;
  curves.confidence.forEach((c, i) => {
    const mean = curves.f1.reduce((a, row) => a + row[i], 0) / curves.f1.length;
    if (mean > best) [best, arg] = [mean, c];
  });
  return Math.round(arg * 100) / 100;
}

// ---- tables ----
function renderTables(): void {
  const root = $('tab-tables');
  root.replaceChildren();
  if (!ev) return;
  const m = ev.metrics;
  if (ev.task === 'detect') {
    const ul = ((m.protocols as Record<string, Record<string, unknown>> | undefined)?.ultralytics ?? m) as Record<string, unknown>;
    const coco = (m.protocols as Record<string, Record<string, unknown>> | undefined)?.coco;
    const classes = (ul.perClass as { id: number; name: string; images: number; instances: number; precision: number | null; recall: number | null; mAP50: number | null; mAP50_95: number | null }[]) ?? [];
    const cocoBy = new Map(((coco?.perClass as { id: number; mAP50: number | null; mAP50_95: number | null }[] | undefined) ?? []).map((c) => [c.id, c]));
    const atRow = (id: number) => (at?.task === 'detect' ? at.rows.find((r) => r.id === id) : undefined);
    const head = ['Class', 'Images', 'Instances', 'P', 'R', 'mAP50', 'mAP50-95', ...(coco ? ['COCO mAP50', 'COCO mAP50-95'] : []), `P @${num(at?.threshold, 2)}`, `R @${num(at?.threshold, 2)}`, `F1 @${num(at?.threshold, 2)}`];
    const rows = [
      ['all', String(ul.images), String(ul.instances), num(ul.precision), num(ul.recall), num(ul.mAP50), num(ul.mAP50_95), ...(coco ? [num(coco.mAP50), num(coco.mAP50_95)] : []),
        num(at?.task === 'detect' ? at.precision : undefined), num(at?.task === 'detect' ? at.recall : undefined), num(at?.task === 'detect' ? at.f1 : undefined)],
      ...classes.map((c) => [c.name, String(c.images), String(c.instances), num(c.precision), num(c.recall), num(c.mAP50), num(c.mAP50_95),
        ...(coco ? [num(cocoBy.get(c.id)?.mAP50), num(cocoBy.get(c.id)?.mAP50_95)] : []), num(atRow(c.id)?.precision), num(atRow(c.id)?.recall), num(atRow(c.id)?.f1)]),
    ];
    root.append(el('h2', 'Vertebra detection'), table(head, rows, undefined, 'detection'));
    root.append(el('p', 'P and R are ultralytics\' (at the confidence of the best mean F1); mAP under the ultralytics protocol interpolates precision at 101 recall points per class over all predictions (conf ≥ 0.001), COCO\'s pycocotools keeps at most 100 detections per image and its own matching — the two differ by design, a few points on small sets. The @ columns follow the threshold.', 'note'));
  } else {
    const a = at?.task === 'classify' ? at : undefined;
    const keys: [string, string][] = [['accuracy', 'Accuracy'], ['precision', 'Precision'], ['recall', 'Recall (sensitivity)'], ['f1', 'F1'], ['specificity', 'Specificity'], ['kappa', "Cohen's kappa"], ['auc', 'ROC AUC']];
    const rows = keys.map(([k, title]) => [title, num(m[k]), num(a?.[k as keyof typeof a])]);
    root.append(el('h2', 'Fracture classification'), table(['Metric', 'argmax (reported)', `at p ≥ ${num(a?.threshold, 2)}`], rows, undefined, 'classification'));
    const conf = a?.confusion ?? (m.confusion as number[][] | undefined);
    if (conf) {
      const names = ev.names;
      root.append(el('h3', `Confusion matrix (rows = truth, columns = prediction${a ? `, at p ≥ ${num(a.threshold, 2)}` : ''})`),
        table(['', ...names.map((n) => `pred ${n}`)], conf.map((r, i) => [`true ${names[i] ?? i}`, ...r.map(String)]), (r, c) => c - 1 === r, 'confusion'));
    }
    if (ev.studies?.length) {
      root.append(el('h3', `Per study: fused C1–C7 and patient probability (max over a vertebra's crops) · RSNA 2022 metric ${num(ev.rsna, 4)} (lower is better; truth from the crop labels)`));
      root.append(table(['Study', 'C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'Patient'],
        ev.studies.map((s) => [s.study.length > 24 ? `…${s.study.slice(-22)}` : s.study, ...s.vertebrae.map((v, i) => (v === null ? '–' : `${num(v, 2)}${s.truth[i] ? ' ✱' : ''}`)), `${num(s.patient, 2)}${s.truthPatient ? ' ✱' : ''}`]),
        undefined, 'studies'));
      root.append(el('p', '✱ fractured in truth.', 'note'));
    }
  }
  document.body.dataset.tables = 'drawn';
}

// ---- curves ----
const charts: Chart[] = [];
function drawCurves(): void {
  const root = $('tab-curves');
  if (!ev || root.hidden) return;
  root.replaceChildren();
  charts.length = 0;
  const marker = () => Number(slider.value);
  const add = (title: string, axes: { x: string; y: string }, series: Series[], withMarker = false) => {
    const box = el('div', undefined, 'chart');
    root.append(box);
    const c = new Chart(box, title, axes, withMarker ? marker : undefined);
    c.set(series);
    charts.push(c);
  };
  const m = ev.metrics;
  if (ev.task === 'detect') {
    const c = ((m.protocols as Record<string, { curves?: Record<string, unknown> }> | undefined)?.ultralytics?.curves ?? m.curves) as { classes: number[]; confidence: number[]; precision: number[][]; recall: number[][]; f1: number[][]; prRecall: number[]; prPrecision: number[][] } | undefined;
    if (!c) return;
    const name = (i: number) => ev?.names[c.classes[i]] ?? String(c.classes[i]);
    add('Precision–recall (ultralytics, IoU 0.5)', { x: 'recall', y: 'precision' }, c.prPrecision.map((y, i) => ({ label: name(i), x: c.prRecall, y })));
    add('F1–confidence', { x: 'confidence', y: 'F1' }, c.f1.map((y, i) => ({ label: name(i), x: c.confidence, y })), true);
    add('Precision–confidence', { x: 'confidence', y: 'precision' }, c.precision.map((y, i) => ({ label: name(i), x: c.confidence, y })), true);
    add('Recall–confidence', { x: 'confidence', y: 'recall' }, c.recall.map((y, i) => ({ label: name(i), x: c.confidence, y })), true);
  } else {
    const c = m.curves as { roc: { fpr: number[]; tpr: number[] }; pr: { precision: number[]; recall: number[] }; f1Confidence: { confidence: number[]; f1: number[]; precision: number[]; recall: number[] } } | undefined;
    if (!c) return;
    add('ROC', { x: 'false positive rate', y: 'true positive rate' }, [{ label: `AUC ${num(m.auc)}`, x: c.roc.fpr, y: c.roc.tpr }]);
    add('Precision–recall', { x: 'recall', y: 'precision' }, [{ label: 'fracture', x: [...c.pr.recall].reverse(), y: [...c.pr.precision].reverse() }]);
    const f = c.f1Confidence;
    add('F1, precision, recall – threshold', { x: 'threshold', y: 'value' }, [{ label: 'F1', x: f.confidence, y: f.f1 }, { label: 'precision', x: f.confidence, y: f.precision }, { label: 'recall', x: f.confidence, y: f.recall }], true);
  }
  document.body.dataset.charts = String(charts.length);
}
new ResizeObserver(() => { if (!$('tab-curves').hidden) drawCurves(); }).observe($('tab-curves'));

// ---- training curves (a run's events.jsonl, live) ----
let training: MetricsTraining | undefined;
const trainingCharts: Chart[] = [];
function drawTraining(): void {
  const root = $('training-charts');
  if (!training || $('tab-training').hidden) return;
  const t = training;
  $('training-status').textContent = `${t.name} (${t.task}) · ${t.status} · ${t.points.length}/${t.epochs || '?'} epochs${t.status === 'running' ? ' · updating as it trains' : ''}`;
  root.replaceChildren();
  trainingCharts.length = 0;
  const keys = [...new Set(t.points.flatMap((p) => Object.keys(p.values)))];
  const groups: [string, string[]][] = [['Losses', keys.filter((k) => k.startsWith('loss '))], ['Validation metrics', keys.filter((k) => !k.startsWith('loss '))]];
  const x = t.points.map((p) => p.epoch);
  for (const [title, ks] of groups) {
    if (!ks.length || !x.length) continue;
    const box = el('div', undefined, 'chart');
    root.append(box);
    const c = new Chart(box, title, { x: 'epoch', y: title === 'Losses' ? 'loss' : 'value' }, undefined, false);
    c.set(ks.map((k) => ({ label: k.replace(/^loss /, ''), x, y: t.points.map((p) => p.values[k] ?? Number.NaN) })));
    trainingCharts.push(c);
  }
  document.body.dataset.trainingPoints = String(t.points.length);
}

// ---- errors ----
const kinds = ['fp', 'fn', 'wrong-class'] as const;
function visibleErrors(): MetricsError[] {
  if (!ev) return [];
  const on = new Set(state.kinds ?? kinds);
  const cls = state.cls && state.cls !== 'all' ? Number(state.cls) : undefined;
  const sort = state.sort ?? 'conf';
  const list = ev.errors.filter((e) => on.has(e.kind) && (cls === undefined || e.cls === cls));
  const key = (e: MetricsError): number | string => (sort === 'conf' ? -(e.conf ?? -1) : sort === 'iou' ? -(e.iou ?? -1) : sort === 'class' ? e.cls : `${e.study ?? ''}\u0000${String(e.slice ?? 0).padStart(8, '0')}`);
  return list.map((e, i) => ({ e, i })).sort((a, b) => {
    const ka = key(a.e);
    const kb = key(b.e);
    return (ka < kb ? -1 : ka > kb ? 1 : 0) || a.i - b.i;
  }).map((x) => x.e);
}

function renderErrors(selected?: number): void {
  const list = $('error-list');
  const shown = visibleErrors();
  const counts = { fp: 0, fn: 0, 'wrong-class': 0 };
  for (const e of ev?.errors ?? []) counts[e.kind]++;
  $('error-count').textContent = `${shown.length} shown · ${counts.fp} false positives, ${counts.fn} false negatives, ${counts['wrong-class']} wrong class`;
  list.replaceChildren(...shown.slice(0, 2000).map((e) => {
    const row = el('div', undefined, `error-row${e.id === selected ? ' selected' : ''}`);
    row.setAttribute('role', 'option');
    row.dataset.id = String(e.id);
    row.dataset.kind = e.kind;
    if (e.study) row.dataset.study = e.study;
    row.tabIndex = -1;
    row.append(el('span', e.kind === 'fp' ? 'FP' : e.kind === 'fn' ? 'FN' : 'class', `badge ${e.kind}`), el('span', e.message, 'msg'),
      el('span', `${e.vertebra ? `${e.vertebra} · ` : ''}${e.slice !== undefined ? `slice ${e.slice}` : ''}${e.hasSource ? '' : ' · no source DICOM'}`, 'where'));
    row.addEventListener('click', () => void openError(e.id));
    return row;
  }));
  document.body.dataset.errors = String(shown.length);
}

async function openError(id: number): Promise<void> {
  renderErrors(id);
  try {
    const r = await rpc.request('metrics/openError', { id, order: visibleErrors().map((e) => e.id) });
    document.body.dataset.opened = r.opened ? String(id) : '';
  } catch (err) {
    $('error-count').textContent = (err as Error).message;
  }
}

function setUpErrorFilters(): void {
  for (const k of kinds) {
    const box = $(`kind-${k}`) as HTMLElement & { checked: boolean };
    box.checked = (state.kinds ?? kinds).includes(k);
    box.addEventListener('change', () => {
      state.kinds = kinds.filter((x) => ($(`kind-${x}`) as HTMLElement & { checked: boolean }).checked);
      save();
      renderErrors();
    });
  }
  const sort = $('error-sort') as HTMLElement & { value: string };
  sort.value = state.sort ?? 'conf';
  sort.addEventListener('change', () => { state.sort = sort.value; save(); renderErrors(); });
  const cls = $('error-class') as HTMLElement & { value: string };
  cls.addEventListener('change', () => { state.cls = cls.value; save(); renderErrors(); });
}
setUpErrorFilters();

function fillClassFilter(): void {
  const cls = $('error-class') as HTMLElement & { value: string };
  cls.replaceChildren(Object.assign(document.createElement('vscode-option'), { value: 'all', textContent: 'all classes' }),
    ...(ev?.names ?? []).map((n, i) => Object.assign(document.createElement('vscode-option'), { value: String(i), textContent: n })));
  cls.value = state.cls ?? 'all';
}

// ---- comparison ----
function renderComparison(): void {
  const root = $('compare-tables');
  root.replaceChildren(...comparison.flatMap((t) => [
    el('h2', t.task === 'detect' ? 'Vertebra detection' : 'Fracture classification'),
    table(['Model', ...t.columns.map((c) => c.title)], t.rows.map((r) => [r.label, ...r.values.map((v) => num(v))]), (r, c) => c > 0 && t.best[c - 1].includes(r), `compare-${t.task}`),
  ]));
  for (const id of ['export-md', 'export-csv']) $(id).toggleAttribute('disabled', !comparison.length);
  document.body.dataset.compared = String(comparison.reduce((a, t) => a + t.rows.length, 0));
}
$('compare-pick').addEventListener('click', async () => {
  try {
    const r = await rpc.request('metrics/compare', {}, { timeoutMs: 600_000 });
    if (r) {
      comparison = r;
      renderComparison();
    }
  } catch (err) {
    $('compare-tables').textContent = (err as Error).message;
  }
});
for (const [id, what] of [['export-md', 'comparison-md'], ['export-csv', 'comparison-csv']] as const) {
  $(id).addEventListener('click', async () => {
    if ($(id).hasAttribute('disabled')) return;
    try {
      const r = await rpc.request('metrics/export', { what }, { timeoutMs: 600_000 });
      if (r) document.body.dataset.exported = r.file;
    } catch (err) {
      $('compare-tables').prepend(el('p', (err as Error).message, 'error'));
    }
  });
}

// ---- report ----
/**
 * The curves as PNGs for the HTML report, on the theme's background (a transparent canvas with light text would
 * vanish on a white page); drawn first when the Curves tab was never opened, after uPlot's deferred paint.
 */
async function chartImages(): Promise<{ title: string; dataUrl: string }[]> {
  const curves = $('tab-curves');
  const wasHidden = curves.hidden;
  if (!charts.length) {
    curves.hidden = false;
    drawCurves();
    await new Promise((r) => setTimeout(r, 100));
  }
  const bg = getComputedStyle(document.body).getPropertyValue('--vscode-editor-background').trim() || '#ffffff';
  const out = [...curves.querySelectorAll<HTMLElement>('.uplot')].map((u) => {
    const src = u.querySelector('canvas') as HTMLCanvasElement;
    const c = document.createElement('canvas');
    c.width = src.width;
    c.height = src.height;
    const ctx = c.getContext('2d') as CanvasRenderingContext2D;
    ctx.fillStyle = bg;
    ctx.fillRect(0, 0, c.width, c.height);
    ctx.drawImage(src, 0, 0);
    // The legend is HTML beside the canvas: its series names and colours go into the caption.
    const series = [...u.querySelectorAll<HTMLElement>('.u-legend .u-series')].slice(1).map((r) => `${r.querySelector('.u-label')?.textContent ?? ''} ${(r.querySelector('.u-marker') as HTMLElement | null)?.style.borderColor ?? ''}`.trim());
    return { title: `${u.querySelector('.u-title')?.textContent ?? 'curve'}${series.length > 1 ? ` — ${series.join(', ')}` : ''}`, dataUrl: c.toDataURL('image/png') };
  });
  curves.hidden = wasHidden;
  return out;
}
for (const [id, what] of [['report-html', 'report-html'], ['report-md', 'report-md']] as const) {
  $(id).addEventListener('click', async () => {
    try {
      const r = await rpc.request('metrics/export', { what, ...(what === 'report-html' ? { charts: await chartImages() } : {}) }, { timeoutMs: 600_000 });
      if (r) document.body.dataset.exported = r.file;
    } catch (err) {
      $('source').textContent = (err as Error).message;
    }
  });
}

// ---- messages ----
window.addEventListener('message', (event: MessageEvent<HostToMetrics>) => {
  const m = event.data;
  if (rpc.handle(m) || m.kind !== 'rpc/notify') return;
  if (m.method === 'metrics/fatal') {
    $('fatal').textContent = m.params.message;
    $('fatal').hidden = false;
    document.body.dataset.state = 'error';
  } else if (m.method === 'metrics/evaluation') {
    const fresh = state.dir !== m.params.dir;
    ev = m.params;
    state.dir = ev.dir;
    if (fresh) state.threshold = ev.task === 'detect' ? bestF1Confidence(ev.metrics) : 0.5;
    save();
    $('fatal').hidden = true;
    $('title').textContent = `${ev.task === 'detect' ? 'Vertebra detector' : 'Fracture classifier'}: ${ev.label}`;
    const src = ev.metrics.source as { model?: string; data?: string; split?: string } | undefined;
    $('source').textContent = [src?.model && `model ${src.model}`, src?.data && `data ${src.data}`, src?.split && `split ${src.split}`, `${String(ev.metrics.images ?? '')} images`, String(ev.metrics.created ?? '')].filter(Boolean).join(' · ');
    slider.value = String(state.threshold ?? 0.5);
    $('threshold-label').textContent = Number(slider.value).toFixed(2);
    fillClassFilter();
    $('tab-curves').replaceChildren(); // the last evaluation's curves go (drawn again when shown or exported)
    charts.length = 0;
    renderTables();
    renderErrors();
    showTab(state.tab ?? 'tables');
    document.body.dataset.state = 'ready';
    document.body.dataset.task = ev.task;
    void loadThreshold();
  } else if (m.method === 'metrics/selected') {
    renderErrors(m.params.id);
  } else if (m.method === 'metrics/training') {
    const first = training?.dir !== m.params.dir;
    training = m.params;
    state.run = training.dir;
    save();
    document.querySelector<HTMLElement>('[data-tab="training"]')?.removeAttribute('hidden');
    if (!ev) {
      $('title').textContent = `Training: ${training.name}`;
      $('source').textContent = training.dir;
      document.body.dataset.state = 'ready';
    }
    if (first || !ev) showTab('training');
    else drawTraining();
    document.body.dataset.trainingPoints = String(training.points.length);
    document.body.dataset.trainingStatus = training.status;
  }
});

showTab(state.tab ?? 'tables');
vscode.postMessage({ kind: 'rpc/notify', method: 'metrics/ready', params: { ...(state.dir ? { dir: state.dir } : {}), ...(state.run ? { run: state.run } : {}) } });
