/**
 * Per-study fusion of slice-level answers into the RSNA 2022 submission shape (C1…C7 + patient_overall), and
 * the competition's metric (ARCHITECTURE "Two-stage design": the classifier looks at what the detector found;
 * fusion makes its answers scoreable). Pure computation: no files, no plots.
 */
import { csvError, intField, parseCsv } from '../dataset/prepare/csv';

/** The eight scored targets of RSNA 2022, in train.csv's vertebra order then patient_overall. */
export const RSNA_TARGETS = ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'patient_overall'] as const;

/** The seven vertebrae (index 0 = C1). */
const VERTEBRAE = RSNA_TARGETS.slice(0, 7);

/** One detection on a slice with its fracture probability: the vertebra (0..6 = C1..C7), detector confidence, classifier probability of fracture. */
export interface SliceVertebra { vertebra: number; conf: number; fracture: number }

/** Everything found on one slice (`slice` = slice_number / InstanceNumber). */
export interface SliceResult { slice: number; vertebrae: SliceVertebra[] }

/** One vertebra's fused answer. */
export interface FusedVertebra {
  /** C1…C7. */
  name: string;
  /** Fused fracture probability; `undetected` when the vertebra was never detected. */
  probability: number;
  detected: boolean;
  /** Distinct slices on which it was detected (at conf ≥ minConf). */
  slices: number;
  /** The slice whose crop gave the highest fracture probability (lowest slice number on ties); null when undetected. */
  peakSlice: number | null;
}

/** A study's fused answer in RSNA's submission shape. */
export interface StudyFusion {
  study: string;
  /** C1…C7 in order. */
  vertebrae: FusedVertebra[];
  /** patient_overall probability. */
  patient: number;
  /** The rule used, in words (goes into reports next to the numbers). */
  rule: string;
}

/** Options of {@link fuseStudy}. */
export interface FusionOptions {
  /**
   * 'max' (default): a vertebra's probability is the max over its slices (one fractured slice is enough; a mean
   * would dilute a fracture seen on 3 of 40 slices). 'mean': the mean over its slices, for comparison.
   */
  rule?: 'max' | 'mean';
  /** Probability given to a vertebra never detected (default 0.5: uninformative; flagged detected:false). */
  undetected?: number;
  /** Detections with conf < minConf are ignored (default 0: keep all). */
  minConf?: number;
  /**
   * patient_overall = max over 'detected' vertebrae (default; `undetected` when none is) or over 'all' seven,
   * undetected ones included. With 'all' and the default 0.5, any study with one undetected vertebra gets
   * patient ≥ 0.5, whatever the slices show — which is why 'detected' is the default.
   */
  patientFrom?: 'detected' | 'all';
}

/**
 * Fuse one study's slice results (ARCHITECTURE "Fusion"): per vertebra, the slices where it was detected
 * (several boxes of one vertebra on one slice count once, at their highest fracture probability) are reduced
 * by `rule`; patient = max over C1–C7 (see {@link FusionOptions.patientFrom}). Throws on out-of-range input.
 */
export function fuseStudy(study: string, slices: readonly SliceResult[], opts: FusionOptions = {}): StudyFusion {
  const rule = opts.rule ?? 'max';
  const undetected = opts.undetected ?? 0.5;
  const minConf = opts.minConf ?? 0;
  const patientFrom = opts.patientFrom ?? 'detected';
  if (rule !== 'max' && rule !== 'mean') throw new Error(`fusion: unknown rule "${String(rule)}" (max or mean)`);
  if (patientFrom !== 'detected' && patientFrom !== 'all') throw new Error(`fusion: patientFrom "${String(patientFrom)}" is not detected or all`);
  checkUnit(undetected, `fusion: undetected probability`);
  checkUnit(minConf, `fusion: minConf`);

  // perSlice[v]: slice number → highest fracture probability of vertebra v on that slice.
  const perSlice = VERTEBRAE.map(() => new Map<number, number>());
  const seen = new Set<number>();
  for (const s of slices) {
    if (!Number.isFinite(s.slice)) throw new Error(`${study}: slice number ${String(s.slice)} is not a number`);
    if (seen.has(s.slice)) throw new Error(`${study}: slice ${s.slice} appears twice`);
    seen.add(s.slice);
    s.vertebrae.forEach((d, k) => {
      const where = `${study} slice ${s.slice} detection ${k}`;
      if (!Number.isInteger(d.vertebra) || d.vertebra < 0 || d.vertebra > 6) throw new Error(`${where}: vertebra ${String(d.vertebra)} is not 0…6 (C1…C7)`);
      checkUnit(d.conf, `${where}: conf`);
      checkUnit(d.fracture, `${where}: fracture probability`);
      if (d.conf < minConf) return;
      const m = perSlice[d.vertebra];
      m.set(s.slice, Math.max(m.get(s.slice) ?? 0, d.fracture));
    });
  }

  const vertebrae: FusedVertebra[] = perSlice.map((m, v) => {
    if (m.size === 0) return { name: VERTEBRAE[v], probability: undetected, detected: false, slices: 0, peakSlice: null };
    let peak: number | null = null;
    let best = -1;
    let sum = 0;
    for (const [slice, p] of [...m].sort((a, b) => a[0] - b[0])) {
      sum += p;
      if (p > best) { best = p; peak = slice; }
    }
    return { name: VERTEBRAE[v], probability: rule === 'max' ? best : sum / m.size, detected: true, slices: m.size, peakSlice: peak };
  });
  const pool = vertebrae.filter((v) => patientFrom === 'all' || v.detected).map((v) => v.probability);
  const patient = pool.length > 0 ? Math.max(...pool) : undetected;
  const ruleText = `vertebra = ${rule} over its slices' crop fracture probabilities (conf ≥ ${minConf}); undetected = ${undetected}; patient = max over ${patientFrom === 'all' ? 'C1–C7' : `detected C1–C7 (${undetected} if none)`}`;
  return { study, vertebrae, patient, rule: ruleText };
}

/** A finite number in [0, 1], or an error naming it. */
function checkUnit(v: number, what: string): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) throw new Error(`${what} ${String(v)} is not a number in [0, 1]`);
}

/** One study's labels from train.csv. */
export interface RsnaTruth { study: string; patient_overall: 0 | 1; C: number[] /* 7 values 0/1, index 0 = C1 */ }

/** One study's submission: C1…C7 probabilities and patient_overall. */
export interface RsnaPrediction { study: string; vertebrae: number[]; patient: number }

/** The competition metric and its parts. */
export interface RsnaScore {
  /** The official score: mean over studies of each study's weight-normalised loss (see {@link rsnaScore}). Lower is better. */
  score: number;
  /** Per target (C1…C7, patient_overall): sklearn log_loss of that column with the competition weights. */
  perTarget: Record<string, number>;
  /** The other aggregation seen in public code: one weighted log loss over all (study, target) rows. */
  pooled: number;
  /** Studies scored. */
  studies: number;
  /** Truth studies without a prediction (skipped; only with allowMissing). */
  missing: string[];
  definition: string;
}

/** Options of {@link rsnaScore}. */
export interface RsnaScoreOptions {
  /** Skip truth studies that have no prediction (listed in `missing`) instead of throwing. */
  allowMissing?: boolean;
}

/** Competition weights (Kaggle discussion 340392): vertebra negative 1 / positive 2, patient_overall 7 / 14. */
const WEIGHT_NEG = [1, 1, 1, 1, 1, 1, 1, 7];
const WEIGHT_POS = [2, 2, 2, 2, 2, 2, 2, 14];
/** sklearn 1.9 log_loss clips probabilities to [eps, 1 − eps], eps = np.finfo(float64).eps. */
const EPS = 2 ** -52;

/** sklearn log_loss's per-sample term: −log of the clipped probability of the true label (clip p and 1 − p apart, as sklearn does on its two columns). */
function logLossTerm(y: number, p: number): number {
  const q = y === 1 ? p : 1 - p;
  return -Math.log(Math.min(Math.max(q, EPS), 1 - EPS));
}

const DEFINITION = 'RSNA 2022 weighted multi-label log loss: per study, Σ_t w_t·logloss_t / Σ_t w_t over C1–C7 and patient_overall '
  + '(w = 1/2 for vertebra negative/positive, 7/14 for patient_overall), then the mean over studies; probabilities '
  + 'clipped to [eps, 1−eps] (float64 eps, as sklearn log_loss)';

/**
 * The RSNA 2022 Cervical Spine Fracture Detection competition metric (weighted multi-label log loss; vertebra
 * weights 1 negative / 2 positive, patient_overall 7 / 14, Kaggle discussion 340392).
 *
 * Aggregation — row-normalised: each study's loss is Σ_t w_t·ℓ_t / Σ_t w_t over its 8 targets, and the score
 * is the mean over studies. Source: the host's clarification that weights are normalised per row (Kaggle
 * discussion 344565, "row-wise weights normalization"), the widely copied implementation of discussion 341854,
 * and mle-bench's grader for this competition (openai/mle-bench, rsna-2022-cervical-spine-fracture-detection/
 * grade.py: `loss.sum(1) / weights.sum(1)`, then `mean`). Equivalently: the mean over studies of sklearn
 * `log_loss(y_study, p_study, sample_weight=w_study)`. Public code disagrees in one respect: some notebooks pool
 * all (study, target) rows into one weighted log loss (Σ w·ℓ / Σ w over everything); that number is returned
 * as `pooled` for comparison, never as `score`. Clipping follows sklearn 1.9 (eps = 2⁻⁵²), where mle-bench
 * clips at 1e-15: the two differ only for predictions of exactly 0 or 1.
 *
 * Every study in `predictions` must be in `truth` (else throw: a join error scores nothing); truth studies
 * without a prediction throw unless `opts.allowMissing`, then they are skipped and listed in `missing`.
 */
export function rsnaScore(truth: readonly RsnaTruth[], predictions: readonly RsnaPrediction[], opts: RsnaScoreOptions = {}): RsnaScore {
  const labels = new Map<string, number[]>();
  for (const t of truth) {
    if (labels.has(t.study)) throw new Error(`RSNA score: study ${t.study} appears twice in the truth`);
    if (t.C.length !== 7) throw new Error(`RSNA score: truth for ${t.study} has ${t.C.length} vertebra labels, expected 7 (C1…C7)`);
    const y = [...t.C, t.patient_overall];
    y.forEach((v, k) => { if (v !== 0 && v !== 1) throw new Error(`RSNA score: truth ${RSNA_TARGETS[k]} of ${t.study} is ${String(v)}, not 0 or 1`); });
    labels.set(t.study, y);
  }
  const preds = new Map<string, number[]>();
  for (const p of predictions) {
    if (preds.has(p.study)) throw new Error(`RSNA score: study ${p.study} has two predictions`);
    if (!labels.has(p.study)) throw new Error(`RSNA score: prediction for study ${p.study}, which is not in the truth`);
    if (p.vertebrae.length !== 7) throw new Error(`RSNA score: prediction for ${p.study} has ${p.vertebrae.length} vertebra probabilities, expected 7 (C1…C7)`);
    const q = [...p.vertebrae, p.patient];
    q.forEach((v, k) => checkUnit(v, `RSNA score: prediction ${RSNA_TARGETS[k]} of ${p.study}`));
    preds.set(p.study, q);
  }
  const missing = [...labels.keys()].filter((s) => !preds.has(s));
  if (missing.length > 0 && !opts.allowMissing) {
    throw new Error(`RSNA score: ${missing.length} truth stud${missing.length === 1 ? 'y has' : 'ies have'} no prediction (${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}); pass allowMissing to score the rest`);
  }
  if (preds.size === 0) throw new Error('RSNA score: no study to score');

  let total = 0;
  let pooledLoss = 0;
  let pooledWeight = 0;
  const targetLoss = new Array<number>(8).fill(0);
  const targetWeight = new Array<number>(8).fill(0);
  for (const [study, q] of preds) {
    const y = labels.get(study) as number[];
    let loss = 0;
    let weight = 0;
    for (let k = 0; k < 8; k++) {
      const w = y[k] === 1 ? WEIGHT_POS[k] : WEIGHT_NEG[k];
      const l = w * logLossTerm(y[k], q[k]);
      loss += l;
      weight += w;
      targetLoss[k] += l;
      targetWeight[k] += w;
    }
    total += loss / weight;
    pooledLoss += loss;
    pooledWeight += weight;
  }
  const perTarget: Record<string, number> = {};
  RSNA_TARGETS.forEach((name, k) => { perTarget[name] = targetLoss[k] / targetWeight[k]; });
  return { score: total / preds.size, perTarget, pooled: pooledLoss / pooledWeight, studies: preds.size, missing, definition: DEFINITION };
}

/**
 * RSNA train.csv text (StudyInstanceUID, patient_overall, C1…C7; extra columns allowed) → truth rows, through
 * the project's CSV reader (prepare/csv.ts), so errors name `file` and the line.
 */
export function parseTrainCsv(text: string, file: string): RsnaTruth[] {
  const table = parseCsv(text.replace(/^\uFEFF/, ''), file, ['StudyInstanceUID', 'patient_overall', ...VERTEBRAE]);
  const seen = new Set<string>();
  return table.rows.map((row) => {
    const study = row.values.StudyInstanceUID;
    if (study === '') throw csvError(file, row.line, 'empty StudyInstanceUID');
    if (seen.has(study)) throw csvError(file, row.line, `StudyInstanceUID ${study} appears twice`);
    seen.add(study);
    const flag = (name: string): 0 | 1 => {
      const v = intField(table, row, name);
      if (v > 1) throw csvError(file, row.line, `${name} "${row.values[name]}" is not 0 or 1`);
      return v as 0 | 1;
    };
    return { study, patient_overall: flag('patient_overall'), C: VERTEBRAE.map(flag) };
  });
}
