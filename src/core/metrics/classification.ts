/**
 * Classification metrics for `eval classify` (ARCHITECTURE "CLI contract"), reproducing scikit-learn 1.9
 * exactly: accuracy_score, precision/recall/f1_score (average='binary' on the positive class),
 * cohen_kappa_score, confusion_matrix, roc_auc_score, roc_curve and precision_recall_curve. Parity is checked
 * against the library itself in test/unit/metrics-classification.test.ts (≤ 1e-9). Pure computation: no
 * files, no plots (STYLE "Code"). Non-finite values are sklearn's own: the ROC's leading threshold is Infinity,
 * an undefined kappa or a one-class ROC axis is NaN; JSON.stringify writes both as null, so a JSON writer that
 * must keep them distinct has to encode them itself.
 */

/** One class's row of the per-class table (sklearn precision_recall_fscore_support, average=None). */
export interface PerClassMetrics {
  id: number;
  name: string;
  /** Rows whose truth is this class. */
  support: number;
  precision: number;
  recall: number;
  f1: number;
}

/** ROC curve of the positive class: sklearn roc_curve(drop_intermediate=True), arrays of equal length. */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** Decreasing; thresholds[0] is `Infinity` (sklearn's np.inf: "no sample predicted positive"). JSON.stringify writes it as null. */
  thresholds: number[];
}

/** sklearn precision_recall_curve: precision and recall have one more entry than thresholds (the final 1 / 0 point). */
export interface PrCurve {
  precision: number[];
  recall: number[];
  /** Increasing, the distinct positive-class scores. */
  thresholds: number[];
}

/**
 * Precision, recall and F1 at fixed confidence thresholds, for the "F1 vs confidence" plot (no sklearn twin).
 * confidence[i] = i / 100, i = 0…100 (101 points, each exactly `i / 100` in float64); a row counts as predicted
 * positive when its positive-class score ≥ confidence[i]. P = TP/(TP+FP), R = TP/(TP+FN),
 * F1 = 2TP/(2TP+FP+FN), each 0 when its denominator is 0 — so f1[i] equals sklearn f1_score(y, score ≥ t).
 */
export interface F1ConfidenceCurve {
  confidence: number[];
  f1: number[];
  precision: number[];
  recall: number[];
}

/** Everything `eval classify` reports; binary figures are for `positive` vs the rest. */
export interface ClassificationMetrics {
  images: number;
  /** The class treated as positive (default 1 = fracture). */
  positive: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  /** TN/(TN+FP) for the positive class; 0 with a note when there are no negatives. */
  specificity: number;
  /** Unweighted Cohen's kappa over all classes; NaN (sklearn 1.9's replace_undefined_by default) with a note when undefined. */
  kappa: number;
  /** ROC AUC of the positive class's score; null when truth holds only one of positive / rest (see notes). */
  auc: number | null;
  /** nc × nc, rows = truth, columns = prediction. */
  confusion: number[][];
  perClass: PerClassMetrics[];
  curves: { roc: RocCurve; pr: PrCurve; f1Confidence: F1ConfidenceCurve };
  /** Undefined quantities and what was returned in their place, in words. */
  notes?: string[];
}

/** Options of {@link classificationMetrics}. */
export interface ClassificationOptions {
  /** Positive class index (default 1, fracture). */
  positive?: number;
  /** Class names, one per class (default: normal, fracture for two classes; "class i" otherwise). */
  names?: readonly string[];
}

/** Number of steps of the F1-confidence curve (101 points, 0.00 … 1.00). */
const F1_STEPS = 100;

/**
 * All metrics for `truth[i]` (class index 0…nc−1) against `scores[i]` (per-class probabilities, nc ≥ 2).
 * Prediction = argmax, the first maximum on ties (numpy argmax). Throws on inconsistent input, naming the row.
 */
export function classificationMetrics(
  truth: readonly number[],
  scores: readonly (readonly number[])[],
  opts: ClassificationOptions = {},
): ClassificationMetrics {
  const { nc, positive, names } = validate(truth, scores, opts);
  const n = truth.length;
  const notes: string[] = [];

  const pred = new Int32Array(n);
  const confusion = Array.from({ length: nc }, () => new Array<number>(nc).fill(0));
  for (let i = 0; i < n; i++) {
    const row = scores[i];
    let best = 0;
    for (let c = 1; c < nc; c++) if (row[c] > row[best]) best = c;
    pred[i] = best;
    confusion[truth[i]][best]++;
  }
  const rowSum = confusion.map((r) => r.reduce((a, b) => a + b, 0));
  const colSum = confusion[0].map((_, c) => confusion.reduce((a, r) => a + r[c], 0));
  let trace = 0;
  for (let c = 0; c < nc; c++) trace += confusion[c][c];

  const tp = confusion[positive][positive];
  const fp = colSum[positive] - tp;
  const fn = rowSum[positive] - tp;
  const tn = n - tp - fp - fn;
  const name = names[positive];
  // sklearn _prf_divide with zero_division="warn": the undefined ratio becomes 0.0 (and a warning: our note).
  const divide = (num: number, den: number, what: string, why: string): number => {
    if (den !== 0) return num / den;
    notes.push(`${what} is undefined (${why}); reported as 0 like scikit-learn's zero_division default`);
    return 0;
  };
  const precision = divide(tp, tp + fp, 'precision', `no row predicted ${name}`);
  const recall = divide(tp, tp + fn, 'recall', `no row is truly ${name}`);
  // sklearn: F = (1+β²)·tp / (β²·true_sum + pred_sum), not 2PR/(P+R) (the two differ in the last bits).
  const f1 = divide(2 * tp, rowSum[positive] + colSum[positive], 'f1', `no row truly or predicted ${name}`);
  const specificity = divide(tn, tn + fp, 'specificity', `no row is truly other than ${name}`);

  const perClass: PerClassMetrics[] = [];
  for (let c = 0; c < nc; c++) {
    const ctp = confusion[c][c];
    perClass.push({
      id: c, name: names[c], support: rowSum[c],
      precision: colSum[c] === 0 ? 0 : ctp / colSum[c],
      recall: rowSum[c] === 0 ? 0 : ctp / rowSum[c],
      f1: rowSum[c] + colSum[c] === 0 ? 0 : (2 * ctp) / (rowSum[c] + colSum[c]),
    });
  }

  const kappa = cohenKappa(confusion, rowSum, colSum, n);
  if (Number.isNaN(kappa)) notes.push('kappa is undefined (truth and prediction hold one and the same single class: expected agreement is 1); reported as NaN like scikit-learn 1.9 (replace_undefined_by=np.nan)');

  const y = new Uint8Array(n);
  const s = new Float64Array(n);
  for (let i = 0; i < n; i++) { y[i] = truth[i] === positive ? 1 : 0; s[i] = scores[i][positive]; }
  const counts = thresholdCounts(y, s);
  const roc = rocCurve(counts);
  const pr = prCurve(counts);
  const positives = counts.tps[counts.tps.length - 1];
  const negatives = counts.fps[counts.fps.length - 1];
  let auc: number | null = null;
  if (positives > 0 && negatives > 0) auc = trapezoid(roc.fpr, roc.tpr);
  else {
    const only = positives > 0 ? name : `not ${name}`;
    notes.push(`auc is undefined: every row is truly ${only} (scikit-learn roc_auc_score warns and returns NaN); the ROC curve's ${positives > 0 ? 'fpr' : 'tpr'} is NaN`);
    if (positives === 0) notes.push(`precision-recall curve: no row is truly ${name}, recall is 1 at every threshold (scikit-learn precision_recall_curve)`);
  }

  return {
    images: n, positive, accuracy: trace / n, precision, recall, f1, specificity, kappa, auc,
    confusion, perClass,
    curves: { roc, pr, f1Confidence: f1Confidence(y, s) },
    ...(notes.length > 0 ? { notes } : {}),
  };
}

/** Boundary checks (STYLE: validate and say what was wrong); returns nc, positive and the names. */
function validate(truth: readonly number[], scores: readonly (readonly number[])[], opts: ClassificationOptions): { nc: number; positive: number; names: readonly string[] } {
  if (truth.length !== scores.length) throw new Error(`classification metrics: ${truth.length} truth labels but ${scores.length} score rows`);
  if (truth.length === 0) throw new Error('classification metrics: no rows to score');
  const nc = scores[0].length;
  if (nc < 2) throw new Error(`classification metrics: row 0 has ${nc} class score${nc === 1 ? '' : 's'}, at least 2 are needed`);
  for (let i = 0; i < scores.length; i++) {
    const row = scores[i];
    if (row.length !== nc) throw new Error(`classification metrics: row ${i} has ${row.length} class scores, row 0 has ${nc}`);
    for (let c = 0; c < nc; c++) if (typeof row[c] !== 'number' || !Number.isFinite(row[c])) throw new Error(`classification metrics: row ${i} score ${c} is ${String(row[c])}, not a finite number`);
    const t = truth[i];
    if (!Number.isInteger(t) || t < 0 || t >= nc) throw new Error(`classification metrics: row ${i} truth ${String(t)} is not a class index 0…${nc - 1}`);
  }
  const positive = opts.positive ?? 1;
  if (!Number.isInteger(positive) || positive < 0 || positive >= nc) throw new Error(`classification metrics: positive class ${String(positive)} is not a class index 0…${nc - 1}`);
  if (opts.names && opts.names.length !== nc) throw new Error(`classification metrics: ${opts.names.length} class names for ${nc} classes`);
  const names = opts.names ?? (nc === 2 ? ['normal', 'fracture'] : Array.from({ length: nc }, (_, c) => `class ${c}`));
  return { nc, positive, names };
}

/**
 * sklearn cohen_kappa_score (weights=None): expected = outer(colSum, rowSum) / n, kappa = 1 − Σ w·C / Σ w·E with
 * w = 1 off the diagonal. sklearn builds C over the labels present only; absent classes add zero rows and
 * columns, which change neither sum. Undefined (Σ w·E = 0) → NaN, sklearn 1.9's default.
 */
function cohenKappa(confusion: number[][], rowSum: number[], colSum: number[], n: number): number {
  const nc = confusion.length;
  const observed: number[] = [];
  const expected: number[] = [];
  for (let i = 0; i < nc; i++) {
    for (let j = 0; j < nc; j++) {
      // numpy: outer(sum0, sum1)[i][j] = colSum[i]·rowSum[j]; summed in row-major order like xp.sum.
      observed.push(i === j ? 0 : confusion[i][j]);
      expected.push(i === j ? 0 : (colSum[i] * rowSum[j]) / n);
    }
  }
  const den = pairwiseSum(expected, 0, expected.length);
  if (den === 0) return Number.NaN;
  return 1 - pairwiseSum(observed, 0, observed.length) / den;
}

/** Counts at each distinct score, highest first (sklearn confusion_matrix_at_thresholds). */
interface ThresholdCounts {
  /** True positives / false positives among rows with score ≥ thresholds[k]. */
  tps: Float64Array;
  fps: Float64Array;
  /** Distinct scores, decreasing. */
  thresholds: Float64Array;
}

/**
 * sklearn confusion_matrix_at_thresholds: sort by score descending, keep the last index of each run of equal
 * scores (ties collapse into one threshold), tps = cumulative positives there, fps = 1 + index − tps. One sort,
 * O(n log n): fine for 100k rows.
 */
function thresholdCounts(y: Uint8Array, s: Float64Array): ThresholdCounts {
  const n = y.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => s[b] - s[a] || a - b);
  const tps: number[] = [];
  const fps: number[] = [];
  const thresholds: number[] = [];
  let cum = 0;
  for (let k = 0; k < n; k++) {
    cum += y[order[k]];
    if (k === n - 1 || s[order[k + 1]] !== s[order[k]]) {
      tps.push(cum);
      fps.push(1 + k - cum);
      thresholds.push(s[order[k]]);
    }
  }
  return { tps: Float64Array.from(tps), fps: Float64Array.from(fps), thresholds: Float64Array.from(thresholds) };
}

/**
 * sklearn roc_curve(drop_intermediate=True): drop points where neither fps nor tps bends (second difference
 * 0 in both: collinear, invisible on the plot, no effect on the AUC), keep the first and last; then prepend
 * (0, 0) with threshold +inf. With no negatives fpr is NaN throughout (no positives: tpr), as sklearn returns.
 */
function rocCurve({ tps, fps, thresholds }: ThresholdCounts): RocCurve {
  const m = tps.length;
  const keep: number[] = [];
  for (let k = 0; k < m; k++) {
    if (m <= 2 || k === 0 || k === m - 1) { keep.push(k); continue; }
    const d2f = fps[k + 1] - 2 * fps[k] + fps[k - 1];
    const d2t = tps[k + 1] - 2 * tps[k] + tps[k - 1];
    if (d2f !== 0 || d2t !== 0) keep.push(k);
  }
  const lastF = fps[m - 1];
  const lastT = tps[m - 1];
  const fpr = [lastF > 0 ? 0 : Number.NaN];
  const tpr = [lastT > 0 ? 0 : Number.NaN];
  const th = [Number.POSITIVE_INFINITY];
  for (const k of keep) {
    fpr.push(lastF > 0 ? fps[k] / lastF : Number.NaN);
    tpr.push(lastT > 0 ? tps[k] / lastT : Number.NaN);
    th.push(thresholds[k]);
  }
  return { fpr, tpr, thresholds: th };
}

/**
 * sklearn 1.9 precision_recall_curve(drop_intermediate=False): precision = tps/(tps+fps), recall = tps/P (all 1
 * when there are no positives), reversed so recall decreases, then the final (precision 1, recall 0) point
 * that has no threshold.
 */
function prCurve({ tps, fps, thresholds }: ThresholdCounts): PrCurve {
  const m = tps.length;
  const total = tps[m - 1];
  const precision: number[] = [];
  const recall: number[] = [];
  const th: number[] = [];
  for (let k = m - 1; k >= 0; k--) {
    const ps = tps[k] + fps[k];
    precision.push(ps !== 0 ? tps[k] / ps : 0);
    recall.push(total === 0 ? 1 : tps[k] / total);
    th.push(thresholds[k]);
  }
  precision.push(1);
  recall.push(0);
  return { precision, recall, thresholds: th };
}

/** sklearn.metrics.auc → scipy trapezoid: Σ (x[k+1]−x[k])·(y[k+1]+y[k])/2, summed pairwise like numpy. */
function trapezoid(x: readonly number[], y: readonly number[]): number {
  const terms = new Float64Array(x.length - 1);
  for (let k = 0; k + 1 < x.length; k++) terms[k] = ((x[k + 1] - x[k]) * (y[k + 1] + y[k])) / 2;
  return pairwiseSum(terms, 0, terms.length);
}

/**
 * numpy's pairwise summation (numpy/_core/src/umath/loops_utils.h.src, pairwise_sum): 8 accumulators in blocks
 * of ≤ 128, recursive halving above. Reproducing it makes AUC and kappa equal numpy's to the last bit rather
 * than merely to 1e-15.
 */
function pairwiseSum(a: ArrayLike<number>, lo: number, n: number): number {
  if (n < 8) {
    let r = 0;
    for (let i = 0; i < n; i++) r += a[lo + i];
    return r;
  }
  if (n <= 128) {
    const r = [a[lo], a[lo + 1], a[lo + 2], a[lo + 3], a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[lo + i + j];
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[lo + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, lo, n2) + pairwiseSum(a, lo + n2, n - n2);
}

/** See {@link F1ConfidenceCurve}: counts at t = i/100 from the scores sorted once. */
function f1Confidence(y: Uint8Array, s: Float64Array): F1ConfidenceCurve {
  const n = y.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => s[b] - s[a]);
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i];
  const out: F1ConfidenceCurve = { confidence: [], f1: [], precision: [], recall: [] };
  // Walk thresholds from high to low so the count of rows with score ≥ t only grows.
  let k = 0;
  let tp = 0;
  const rows: [number, number, number, number][] = [];
  for (let i = F1_STEPS; i >= 0; i--) {
    const t = i / F1_STEPS;
    while (k < n && s[order[k]] >= t) { tp += y[order[k]]; k++; }
    const fp = k - tp;
    const fn = positives - tp;
    rows.push([t, tp + fp === 0 ? 0 : tp / (tp + fp), positives === 0 ? 0 : tp / positives, 2 * tp + fp + fn === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn)]);
  }
  for (const [t, p, r, f] of rows.reverse()) {
    out.confidence.push(t);
    out.precision.push(p);
    out.recall.push(r);
    out.f1.push(f);
  }
  return out;
}
