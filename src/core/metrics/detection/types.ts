/**
 * Shared types of the detection metrics (protocols `ultralytics` and `coco`), the packed form both
 * protocols compute on, and the boundary validation that builds it.
 */

/** A ground-truth box in pixels, xyxy. */
export interface TruthBox { cls: number; box: [number, number, number, number] }
/** A predicted box in pixels, xyxy, with confidence. */
export interface PredBox { cls: number; box: [number, number, number, number]; conf: number }
/** One image: its size in pixels (COCO area ranges need it) and its boxes. `image` is an id/path string carried into records. */
export interface DetectionImage { image: string; width: number; height: number; truth: TruthBox[]; predictions: PredBox[] }
/** Which reference the numbers reproduce: ultralytics 8.4 `val` or pycocotools 2.0 `COCOeval` (bbox). */
export type DetectionProtocol = 'ultralytics' | 'coco';

/** Metrics of one class; null where the reference reports nothing for it. */
export interface ClassMetrics {
  /** Class id (index into `names`). */
  id: number;
  /** Class name. */
  name: string;
  /** Images with at least one truth box of this class. */
  images: number;
  /** Truth boxes of this class. */
  instances: number;
  /** Precision at the max-mean-F1 confidence (ultralytics); null for coco and for classes ultralytics leaves out. */
  precision: number | null;
  /** Recall at the max-mean-F1 confidence (ultralytics); null for coco and for classes ultralytics leaves out. */
  recall: number | null;
  /** AP at IoU 0.5. */
  mAP50: number | null;
  /** AP averaged over IoU 0.5:0.95. */
  mAP50_95: number | null;
}

/** Curves as data for a panel (ultralytics `ap_per_class`), rows aligned with `classes`. */
export interface DetectionCurves {
  /** Class ids of the rows (ultralytics' `ap_class_index`: classes with truth boxes, ascending). */
  classes: number[];
  /** px: 1000 confidences 0..1 (np.linspace(0, 1, 1000)). */
  confidence: number[];
  /** Precision at each confidence, per class (classes × 1000). */
  precision: number[][];
  /** Recall at each confidence, per class. */
  recall: number[][];
  /** F1 at each confidence, per class. */
  f1: number[][];
  /** Recall grid of the PR curves (the same 1000-point linspace). */
  prRecall: number[];
  /** Precision at each recall at IoU 0.5 (envelope), per class. */
  prPrecision: number[][];
}

/** What `evaluateDetection` returns. */
export interface DetectionMetrics {
  /** The protocol that produced the numbers. */
  protocol: DetectionProtocol;
  /** Images evaluated. */
  images: number;
  /** Truth boxes. */
  instances: number;
  /** Mean precision over classes with truth (ultralytics); null for coco (COCO has no single P). */
  precision: number | null;
  /** Mean recall over classes with truth (ultralytics); null for coco. */
  recall: number | null;
  /** mAP at IoU 0.5 (coco: stats[1]). */
  mAP50: number;
  /** mAP over IoU 0.5:0.95 (coco: stats[0]). */
  mAP50_95: number;
  /** One entry per name, in id order. */
  perClass: ClassMetrics[];
  /** protocol coco: the 12 COCOeval.stats in pycocotools' order, named (AP, AP50, AP75, APsmall, APmedium, APlarge, AR1, AR10, AR100, ARsmall, ARmedium, ARlarge), -1 where pycocotools gives -1 */
  coco?: Record<string, number>;
  /** protocol ultralytics: curves as data for a panel (no plotting), exactly as ap_per_class computes them. */
  curves?: DetectionCurves;
}

/**
 * All boxes of a data set packed into typed arrays (no per-box objects in the hot loops).
 * Boxes of image i are truth[tStart[i] .. tStart[i+1]) and preds[pStart[i] .. pStart[i+1]).
 */
export interface PackedDetections {
  /** Number of images. */
  n: number;
  /** Number of classes. */
  nc: number;
  /** Truth boxes, T×4, xyxy pixels. */
  tBox: Float64Array;
  /** Truth classes, T. */
  tCls: Int32Array;
  /** Image offsets into the truth arrays, n+1. */
  tStart: Int32Array;
  /** Predicted boxes, P×4, xyxy pixels. */
  pBox: Float64Array;
  /** Predicted classes, P. */
  pCls: Int32Array;
  /** Predicted confidences, P. */
  pConf: Float64Array;
  /** Image offsets into the prediction arrays, n+1. */
  pStart: Int32Array;
}

function checkBox(box: unknown, where: string): asserts box is [number, number, number, number] {
  if (!Array.isArray(box) || box.length !== 4) throw new Error(`${where}: box must be [x1, y1, x2, y2]`);
  for (const v of box) if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}: box ${JSON.stringify(box)} has a non-finite coordinate`);
  if (box[2] < box[0] || box[3] < box[1]) throw new Error(`${where}: box ${JSON.stringify(box)} has x2 < x1 or y2 < y1 (expected xyxy pixels)`);
}

function checkClass(cls: unknown, nc: number, where: string): void {
  if (typeof cls !== 'number' || !Number.isInteger(cls) || cls < 0 || cls >= nc) {
    throw new Error(nc === Number.MAX_SAFE_INTEGER
      ? `${where}: class ${String(cls)} is not a non-negative integer`
      : `${where}: class ${String(cls)} is outside 0..${nc - 1} (${nc} names)`);
  }
}

/**
 * Validate one image at the boundary; throws an Error naming the image and the box.
 * `nc` is the number of class names (class ids must be 0..nc-1); Number.MAX_SAFE_INTEGER checks only that ids are integers ≥ 0.
 */
export function validateDetectionImage(img: DetectionImage, nc: number): void {
  const name = typeof img?.image === 'string' ? img.image : '(unnamed image)';
  if (!(Number.isFinite(img.width) && img.width > 0 && Number.isFinite(img.height) && img.height > 0)) {
    throw new Error(`image ${name}: width/height must be positive numbers (got ${img.width}×${img.height})`);
  }
  if (!Array.isArray(img.truth) || !Array.isArray(img.predictions)) throw new Error(`image ${name}: truth and predictions must be arrays`);
  img.truth.forEach((t, i) => {
    const where = `image ${name}, truth ${i}`;
    checkClass(t.cls, nc, where);
    checkBox(t.box, where);
  });
  img.predictions.forEach((p, i) => {
    const where = `image ${name}, prediction ${i}`;
    checkClass(p.cls, nc, where);
    checkBox(p.box, where);
    if (typeof p.conf !== 'number' || !(p.conf >= 0 && p.conf <= 1)) throw new Error(`${where}: confidence ${String(p.conf)} is outside [0, 1]`);
  });
}

/** Validate every image and pack the boxes into typed arrays (input order kept). */
export function packDetections(images: readonly DetectionImage[], names: readonly string[]): PackedDetections {
  const nc = names.length;
  if (nc === 0) throw new Error('names is empty: at least one class name is needed');
  let nt = 0;
  let np = 0;
  for (const img of images) {
    validateDetectionImage(img, nc);
    nt += img.truth.length;
    np += img.predictions.length;
  }
  const n = images.length;
  const out: PackedDetections = {
    n, nc,
    tBox: new Float64Array(nt * 4), tCls: new Int32Array(nt), tStart: new Int32Array(n + 1),
    pBox: new Float64Array(np * 4), pCls: new Int32Array(np), pConf: new Float64Array(np), pStart: new Int32Array(n + 1),
  };
  let t = 0;
  let p = 0;
  for (let i = 0; i < n; i++) {
    const img = images[i];
    out.tStart[i] = t;
    out.pStart[i] = p;
    for (const b of img.truth) { out.tBox.set(b.box, t * 4); out.tCls[t++] = b.cls; }
    for (const b of img.predictions) { out.pBox.set(b.box, p * 4); out.pCls[p] = b.cls; out.pConf[p++] = b.conf; }
  }
  out.tStart[n] = t;
  out.pStart[n] = p;
  return out;
}
