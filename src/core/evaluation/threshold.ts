/**
 * Tables at a chosen threshold, for the metrics panel's slider: a classifier's metrics with "fracture" when
 * the positive probability ≥ t (classification.ts on the thresholded decisions; AUC does not depend on t),
 * and a detector's precision / recall / F1 per class at confidence t, read from ultralytics' curves
 * (sampled at np.linspace(0, 1, 1000), as ultralytics picks its reported P and R).
 */
import { classificationMetrics, type ClassificationMetrics } from '../metrics/classification';
import type { ClassifyPrediction } from './evalFolder';

/** Classification metrics when the positive class is predicted at probability ≥ `t` (binary evaluations). */
export function classificationAt(lines: readonly ClassifyPrediction[], t: number, positive = 1, names?: readonly string[]): Omit<ClassificationMetrics, 'curves'> & { threshold: number } {
  if (!lines.length) throw new Error('no predictions to threshold');
  const nc = lines[0].scores.length;
  if (nc !== 2) throw new Error(`a threshold needs a two-class evaluation, this one has ${nc} classes`);
  const truth = lines.map((l) => l.label);
  const hard = lines.map((l) => (l.probability >= t ? (positive === 1 ? [0, 1] : [1, 0]) : (positive === 1 ? [1, 0] : [0, 1])));
  const m = classificationMetrics(truth, hard, { positive, names });
  const auc = classificationMetrics(truth, lines.map((l) => l.scores), { positive, names }).auc;
  const rest: Partial<ClassificationMetrics> = { ...m };
  delete rest.curves;
  return { ...(rest as Omit<ClassificationMetrics, 'curves'>), auc, threshold: t };
}

/** ultralytics' curves in metrics.json (`curves` of the ultralytics protocol). */
export interface DetectionCurvesJson {
  classes: number[];
  confidence: number[];
  precision: number[][];
  recall: number[][];
  f1: number[][];
}

/** Per class and overall (mean over classes) precision, recall, F1 at confidence `t`. */
export function detectionAt(curves: DetectionCurvesJson, t: number, names: readonly string[] = []): { threshold: number; rows: { id: number; name: string; precision: number; recall: number; f1: number }[]; precision: number; recall: number; f1: number } {
  const x = curves.confidence;
  if (!x?.length) throw new Error('the evaluation has no confidence curves');
  // The grid point nearest t (the grid is uniform from 0 to 1).
  const i = Math.max(0, Math.min(x.length - 1, Math.round(t * (x.length - 1))));
  const rows = curves.classes.map((id, r) => ({ id, name: names[id] ?? String(id), precision: curves.precision[r][i], recall: curves.recall[r][i], f1: curves.f1[r][i] }));
  const mean = (k: 'precision' | 'recall' | 'f1') => (rows.length ? rows.reduce((a, r) => a + r[k], 0) / rows.length : 0);
  return { threshold: x[i], rows, precision: mean('precision'), recall: mean('recall'), f1: mean('f1') };
}
