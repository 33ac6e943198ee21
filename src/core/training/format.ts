/**
 * Training progress as short text: the CLI's one-line bar, the notification's message and the Training Runs
 * view's description all use these, so they say the same thing.
 */
import type { EpochEvent, NumberMap, TrainTask } from './events';
import type { RunSummary } from './runs';

/** Metrics worth a glance, per task, with their short labels (the order they are shown in). */
export const KEY_METRICS: Record<TrainTask, [key: string, label: string][]> = {
  detect: [['mAP50', 'mAP50'], ['mAP50_95', 'mAP50-95'], ['precision', 'P'], ['recall', 'R']],
  classify: [['f1', 'F1'], ['accuracy', 'acc'], ['auc', 'AUC'], ['kappa', 'κ']],
};

/** The metric that ranks runs: detect mAP50-95 (ultralytics' fitness leans on it), classify F1 (best.pt's criterion). */
export const HEADLINE_METRIC: Record<TrainTask, [key: string, label: string]> = {
  detect: ['mAP50_95', 'mAP50-95'],
  classify: ['f1', 'F1'],
};

/** `3`, `2m05s`, `1h20m` — for ETAs and durations. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

const num = (v: number | null | undefined) => (typeof v === 'number' ? v.toFixed(3) : '–');

/** `F1 0.712  acc 0.801  AUC 0.850` (only the metrics present; `limit` of them; `sep` between them). */
export function formatMetrics(task: TrainTask | undefined, metrics: NumberMap, limit = 3, sep = '  '): string {
  const keys = task ? KEY_METRICS[task] : Object.keys(metrics).map((k) => [k, k] as [string, string]);
  return keys.filter(([k]) => k in metrics).slice(0, limit).map(([k, label]) => `${label} ${num(metrics[k])}`).join(sep);
}

/** Seconds left: the trainer's `eta`, else this epoch's time × epochs left. */
export function etaSeconds(e: EpochEvent): number | undefined {
  if (typeof e.eta === 'number') return e.eta;
  if (typeof e.seconds === 'number') return e.seconds * Math.max(0, e.epochs - e.epoch);
  return undefined;
}

/** `epoch 3/30  loss 0.412  F1 0.712  acc 0.801  ETA 2m05s` (`sep` between the parts; the notification uses ` · `). */
export function formatEpoch(task: TrainTask | undefined, e: EpochEvent, sep = '  '): string {
  const losses = Object.values(e.losses).filter((v): v is number => typeof v === 'number');
  const loss = losses.length ? `loss ${num(losses.reduce((a, b) => a + b, 0))}` : '';
  const eta = etaSeconds(e);
  return [`epoch ${e.epoch}/${e.epochs}`, loss, formatMetrics(task, e.metrics, 3, sep), eta !== undefined && e.epoch < e.epochs ? `ETA ${formatDuration(eta)}` : '']
    .filter(Boolean).join(sep);
}

/** `train classify [######......] epoch 3/30  …` — the CLI's bar (one line, redrawn on a terminal). */
export function progressBar(task: TrainTask, e: EpochEvent | undefined, width = 20): string {
  const f = e && e.epochs > 0 ? Math.min(1, e.epoch / e.epochs) : 0;
  const fill = Math.round(f * width);
  return `train ${task} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${e ? formatEpoch(task, e) : 'starting (loading data, building the model)…'}`;
}

/** `epoch 3/30 · best F1 0.712` — the Training Runs view's description of a run. */
export function describeRun(run: RunSummary): string {
  const parts: string[] = [];
  if (run.epoch !== undefined) parts.push(`epoch ${run.epoch}/${run.epochs ?? '?'}`);
  else if (run.status === 'running') parts.push('starting');
  if (run.task && run.best) {
    const [key, label] = HEADLINE_METRIC[run.task];
    const v = run.best.metrics[key];
    if (typeof v === 'number') parts.push(`best ${label} ${v.toFixed(3)}`);
  }
  if (run.status === 'failed' && run.error) parts.push(run.error.kind);
  return parts.join(' · ');
}
