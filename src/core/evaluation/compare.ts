/**
 * Run comparison in the paper's shape (its Tables 2 and 3): one row per evaluation, detection columns
 * P, R, mAP50, mAP50-95 (ultralytics protocol; COCO mAP beside when present) and classification columns
 * accuracy, P, R, F1, specificity, kappa, AUC; the best value per column marked; as Markdown and CSV.
 */
import type { Evaluation } from './evalFolder';

export interface ComparisonColumn {
  key: string;
  title: string;
  /** Shown only when some row has a value (COCO mAP needs `--protocol both`). */
  optional?: boolean;
}

export interface ComparisonTable {
  task: 'detect' | 'classify';
  columns: ComparisonColumn[];
  rows: { label: string; dir: string; values: (number | null)[] }[];
  /** Per column, the row indices holding its best value (all higher-is-better; ties all marked). */
  best: number[][];
}

const DETECT: ComparisonColumn[] = [
  { key: 'precision', title: 'P' }, { key: 'recall', title: 'R' }, { key: 'mAP50', title: 'mAP50' }, { key: 'mAP50_95', title: 'mAP50-95' },
  { key: 'coco.mAP50', title: 'COCO mAP50', optional: true }, { key: 'coco.mAP50_95', title: 'COCO mAP50-95', optional: true },
];
const CLASSIFY: ComparisonColumn[] = [
  { key: 'accuracy', title: 'Accuracy' }, { key: 'precision', title: 'P' }, { key: 'recall', title: 'R' }, { key: 'f1', title: 'F1' },
  { key: 'specificity', title: 'Specificity' }, { key: 'kappa', title: 'Kappa' }, { key: 'auc', title: 'AUC' },
];

function value(m: Record<string, unknown>, key: string): number | null {
  let v: unknown;
  if (key.startsWith('coco.')) {
    const coco = (m.protocols as Record<string, Record<string, unknown>> | undefined)?.coco;
    v = coco?.[key.slice(5)];
  } else v = (m.protocols as Record<string, Record<string, unknown>> | undefined)?.ultralytics?.[key] ?? m[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Tables for `evals` (one per task present, detection first). Optional (COCO) columns only when some row has them. */
export function compareEvaluations(evals: readonly Evaluation[]): ComparisonTable[] {
  const out: ComparisonTable[] = [];
  for (const task of ['detect', 'classify'] as const) {
    const these = evals.filter((e) => e.metrics.task === task);
    if (!these.length) continue;
    const rows = these.map((e) => ({ label: e.label, dir: e.dir, all: (task === 'detect' ? DETECT : CLASSIFY).map((c) => value(e.metrics, c.key)) }));
    const keep = (task === 'detect' ? DETECT : CLASSIFY).map((c, j) => !c.optional || rows.some((r) => r.all[j] !== null));
    const columns = (task === 'detect' ? DETECT : CLASSIFY).filter((_, j) => keep[j]);
    const table = rows.map((r) => ({ label: r.label, dir: r.dir, values: r.all.filter((_, j) => keep[j]) }));
    const best = columns.map((_, j) => {
      const vals = table.map((r) => r.values[j]);
      const max = Math.max(...vals.map((v) => (v === null ? -Infinity : v)));
      return max === -Infinity ? [] : vals.flatMap((v, i) => (v === max ? [i] : []));
    });
    out.push({ task, columns, rows: table, best });
  }
  return out;
}

const fmt = (v: number | null, digits: number) => (v === null ? '–' : v.toFixed(digits));

/** Markdown: a heading per task, best values bold. */
export function comparisonMarkdown(tables: readonly ComparisonTable[], digits = 3): string {
  return tables.map((t) => {
    const head = `| Model | ${t.columns.map((c) => c.title).join(' | ')} |`;
    const rule = `|---|${t.columns.map(() => '---:').join('|')}|`;
    const rows = t.rows.map((r, i) => `| ${r.label.replace(/\|/g, '\\|')} | ${r.values.map((v, j) => (t.best[j].includes(i) ? `**${fmt(v, digits)}**` : fmt(v, digits))).join(' | ')} |`);
    return [`### ${t.task === 'detect' ? 'Vertebra detection' : 'Fracture classification'}`, '', head, rule, ...rows].join('\n');
  }).join('\n\n') + '\n';
}

const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);

/** CSV: one block per task with a `task` column; full precision, empty where there is no value. */
export function comparisonCsv(tables: readonly ComparisonTable[]): string {
  const lines: string[] = [];
  for (const t of tables) {
    lines.push(['task', 'model', 'folder', ...t.columns.map((c) => c.title)].map(csvCell).join(','));
    for (const r of t.rows) lines.push([t.task, r.label, r.dir, ...r.values.map((v) => (v === null ? '' : String(v)))].map(csvCell).join(','));
  }
  return `${lines.join('\n')}\n`;
}
