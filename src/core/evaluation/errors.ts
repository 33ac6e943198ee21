/**
 * The model's errors from `predictions.jsonl`: false positives, false negatives and wrong-class detections
 * (records with a detector confidence at or above the one the records were kept at), misclassified slices
 * or vertebra crops — each with where it is (the source DICOM slice through the manifest) so that the panel,
 * the Problems view and "next error" can land on it. Sorting and filtering for the panel's list.
 */
import type { Box, ClassifyPrediction, DetectPrediction, PredictionLine } from './evalFolder';

export type ErrorKind = 'fp' | 'fn' | 'wrong-class';

/** One error, self-contained. */
export interface ModelError {
  /** Stable position in the list as built (before sorting), used as an id. */
  id: number;
  kind: ErrorKind;
  /** The class predicted (fp, wrong-class) or missed (fn); for a classifier, the true label. */
  cls: number;
  className: string;
  /** wrong-class: the true class. */
  truthCls?: number;
  truthName?: string;
  /** Detector confidence (fp, wrong-class) or the classifier's positive probability. */
  conf?: number;
  /** wrong-class: IoU with the true box. */
  iou?: number;
  box?: Box;
  truthBox?: Box;
  image: string;
  dicom?: string;
  study?: string;
  slice?: number;
  vertebra?: string;
  /** One line for lists and the Problems view. */
  message: string;
}

const pct = (v: number) => `${(100 * v).toFixed(0)}%`;

function detectErrors(p: DetectPrediction, names: readonly string[], next: () => number): ModelError[] {
  const name = (c: number) => names[c] ?? `class ${c}`;
  return p.records.filter((r) => r.kind !== 'tp').map((r) => {
    const where = { image: p.image, dicom: p.dicom, study: p.study, slice: p.slice };
    const base = { id: next(), kind: r.kind as ErrorKind, cls: r.cls, className: name(r.cls), box: r.box, ...where };
    if (r.kind === 'fn') return { ...base, message: `missed ${name(r.cls)} (false negative)` };
    if (r.kind === 'fp') return { ...base, conf: r.conf, message: `${name(r.cls)} where there is none (false positive, conf ${pct(r.conf ?? 0)})` };
    return {
      ...base, conf: r.conf, iou: r.iou, truthCls: r.truthCls, truthName: name(r.truthCls ?? -1), truthBox: r.truthBox,
      message: `${name(r.truthCls ?? -1)} detected as ${name(r.cls)} (conf ${pct(r.conf ?? 0)}, IoU ${(r.iou ?? 0).toFixed(2)})`,
    };
  });
}

function classifyError(p: ClassifyPrediction, names: readonly string[], id: number): ModelError | undefined {
  if (p.correct) return undefined;
  const name = (c: number) => names[c] ?? `class ${c}`;
  const what = p.vertebra ? `${p.vertebra} crop` : 'slice';
  return {
    id, kind: p.kind === 'fp' ? 'fp' : 'fn', cls: p.label, className: name(p.label), conf: p.probability, image: p.image,
    dicom: p.dicom, study: p.study, slice: p.slice, vertebra: p.vertebra, box: p.box,
    message: `${name(p.label)} ${what} classified as ${name(p.prediction)} (p ${pct(p.probability)}; ${p.kind === 'fp' ? 'false positive' : 'false negative'})`,
  };
}

/** Every error in `lines`, in file order. */
export function collectErrors(lines: readonly PredictionLine[], names: readonly string[]): ModelError[] {
  let id = 0;
  const out: ModelError[] = [];
  for (const l of lines) {
    if (l.task === 'detect') out.push(...detectErrors(l, names, () => id++));
    else {
      const e = classifyError(l, names, id);
      if (e) {
        out.push(e);
        id++;
      }
    }
  }
  return out;
}

/** What the list shows. */
export interface ErrorQuery {
  kinds?: readonly ErrorKind[];
  /** Class ids (the predicted or missed class; for wrong-class, either side). */
  classes?: readonly number[];
  /** Keep errors whose confidence is ≥ this (errors without one, false negatives, are kept). */
  minConf?: number;
  sort?: 'conf' | 'iou' | 'class' | 'slice';
  descending?: boolean;
}

/** Filter and sort errors (stable: ties keep file order). */
export function queryErrors(errors: readonly ModelError[], q: ErrorQuery = {}): ModelError[] {
  const kinds = q.kinds?.length ? new Set(q.kinds) : undefined;
  const classes = q.classes?.length ? new Set(q.classes) : undefined;
  const kept = errors.filter((e) => (!kinds || kinds.has(e.kind))
    && (!classes || classes.has(e.cls) || (e.truthCls !== undefined && classes.has(e.truthCls)))
    && (q.minConf === undefined || e.conf === undefined || e.conf >= q.minConf));
  const key: Record<NonNullable<ErrorQuery['sort']>, (e: ModelError) => number | string> = {
    conf: (e) => e.conf ?? -1,
    iou: (e) => e.iou ?? -1,
    class: (e) => e.cls,
    slice: (e) => `${e.study ?? ''}\u0000${String(e.slice ?? 0).padStart(8, '0')}`,
  };
  if (!q.sort) return kept;
  const k = key[q.sort];
  const dir = q.descending ? -1 : 1;
  return kept.map((e, i) => ({ e, i })).sort((a, b) => {
    const ka = k(a.e);
    const kb = k(b.e);
    return (ka < kb ? -1 : ka > kb ? 1 : 0) * dir || a.i - b.i;
  }).map((x) => x.e);
}

/** Counts per kind, for the list's header. */
export function errorCounts(errors: readonly ModelError[]): Record<ErrorKind, number> {
  const c: Record<ErrorKind, number> = { fp: 0, fn: 0, 'wrong-class': 0 };
  for (const e of errors) c[e.kind]++;
  return c;
}
