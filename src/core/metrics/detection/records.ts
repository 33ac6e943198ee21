/**
 * Per-image error records for inspection (which box was a hit, a miss, a false alarm or the wrong class).
 * Not part of either protocol's numbers: a plain greedy one-to-one matching at one IoU and one confidence.
 */
import { validateDetectionImage, type DetectionImage } from './types';

/** What happened to one box. */
export type DetectionRecordKind = 'tp' | 'wrong-class' | 'fp' | 'fn';

/** One record: a prediction (tp, wrong-class, fp) or an unmatched truth box (fn). */
export interface DetectionRecord {
  /** tp: same class, IoU ≥ iou; wrong-class: IoU ≥ iou, other class; fp: no truth matched; fn: truth unmatched. */
  kind: DetectionRecordKind;
  /** Predicted class, or the truth class for fn. */
  cls: number;
  /** The matched truth's class (tp, wrong-class). */
  truthCls?: number;
  /** Predicted box, or the truth box for fn (xyxy pixels). */
  box: [number, number, number, number];
  /** The matched truth box (tp, wrong-class). */
  truthBox?: [number, number, number, number];
  /** Prediction confidence (not for fn). */
  conf?: number;
  /** IoU with the matched truth (tp, wrong-class). */
  iou?: number;
}

/** Options of detectionRecords. */
export interface DetectionRecordOptions {
  /** IoU a match needs, in [0, 1]; default 0.5. */
  iou?: number;
  /** Predictions below this confidence are left out, in [0, 1]; default 0.25. */
  conf?: number;
}

function iou(a: readonly number[], b: readonly number[]): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

function checkOption(name: string, v: number | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new Error(`detectionRecords: opts.${name} must be a number in [0, 1] (got ${String(v)})`);
  return v;
}

/**
 * Records for one image: predictions with conf ≥ opts.conf matched to truth greedily by IoU (highest IoU
 * first, one-to-one; ties: higher confidence, then earlier prediction, then earlier truth), class-aware
 * first (tp), then class-agnostic among what is left (wrong-class). Predictions come first in input order,
 * then the unmatched truth boxes (fn) in input order. Throws on invalid boxes or options.
 */
export function detectionRecords(image: DetectionImage, opts: DetectionRecordOptions = {}): DetectionRecord[] {
  const minIou = checkOption('iou', opts.iou, 0.5);
  const minConf = checkOption('conf', opts.conf, 0.25);
  validateDetectionImage(image, Number.MAX_SAFE_INTEGER);
  const preds = image.predictions.map((p, i) => ({ p, i })).filter(({ p }) => p.conf >= minConf);
  const truth = image.truth;
  const predMatch = new Int32Array(preds.length).fill(-1);
  const predIou = new Float64Array(preds.length);
  const truthUsed = new Uint8Array(truth.length);
  const pairs: { k: number; t: number; v: number }[] = [];
  for (let k = 0; k < preds.length; k++) {
    for (let t = 0; t < truth.length; t++) {
      const v = iou(preds[k].p.box, truth[t].box);
      if (v >= minIou && v > 0) pairs.push({ k, t, v });
    }
  }
  pairs.sort((a, b) => b.v - a.v || preds[b.k].p.conf - preds[a.k].p.conf || a.k - b.k || a.t - b.t);
  for (const sameClass of [true, false]) {
    for (const { k, t, v } of pairs) {
      if (predMatch[k] >= 0 || truthUsed[t]) continue;
      if (sameClass && preds[k].p.cls !== truth[t].cls) continue;
      predMatch[k] = t; predIou[k] = v; truthUsed[t] = 1;
    }
  }
  const out: DetectionRecord[] = preds.map(({ p }, k) => {
    const t = predMatch[k];
    if (t < 0) return { kind: 'fp', cls: p.cls, box: [...p.box], conf: p.conf };
    const tb = truth[t];
    return { kind: tb.cls === p.cls ? 'tp' : 'wrong-class', cls: p.cls, truthCls: tb.cls, box: [...p.box], truthBox: [...tb.box], conf: p.conf, iou: predIou[k] };
  });
  truth.forEach((tb, t) => { if (!truthUsed[t]) out.push({ kind: 'fn', cls: tb.cls, box: [...tb.box] }); });
  return out;
}
