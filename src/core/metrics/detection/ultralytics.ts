/**
 * Protocol `ultralytics`: the numbers `yolo val` prints, reproduced from ultralytics 8.4.190 —
 * models/yolo/detect/val.py DetectionValidator._process_batch (box_iou + BaseValidator.match_predictions,
 * the greedy non-scipy branch), then utils/metrics.py ap_per_class / compute_ap / smooth and Metric's means.
 *
 * Floating point follows the reference: box_iou runs in float32 (`box1.float()`), confidences are float32
 * (torch tensors), IoU thresholds are torch.linspace float32 values; everything after is numpy float64.
 */
import type { DetectionCurves, DetectionMetrics, PackedDetections, ClassMetrics } from './types';

const f32 = Math.fround;
/** torch.linspace(0.5, 0.95, 10) is float32: 0.55 is stored as 0.550000011920929 (validator iouv). */
const IOUV = Float64Array.from([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95], f32);
const NT = 10;
/** box_iou's eps=1e-7 added to a float32 tensor: the scalar is applied as float32. */
const IOU_EPS = f32(1e-7);
/** ap_per_class eps. */
const EPS = 1e-16;

/** numpy.linspace(start, stop, num) bit for bit: i * step + start, last = stop. */
export function linspace(start: number, stop: number, num: number): Float64Array {
  const out = new Float64Array(num);
  const step = (stop - start) / (num - 1);
  for (let i = 0; i < num; i++) out[i] = i * step + start;
  if (num > 1) out[num - 1] = stop;
  return out;
}
const PX = linspace(0, 1, 1000);
const AP_X = linspace(0, 1, 101); // compute_ap: 101-point interpolation (COCO)

/** numpy's pairwise summation (umath loops: 8 accumulators up to 128 items, then halves). */
function pairwise(a: ArrayLike<number>, off: number, n: number, stride: number): number {
  if (n < 8) {
    let res = 0;
    for (let i = 0; i < n; i++) res += a[off + i * stride];
    return res;
  }
  if (n <= 128) {
    const r = new Float64Array(8);
    for (let j = 0; j < 8; j++) r[j] = a[off + j * stride];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[off + (i + j) * stride];
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += a[off + i * stride];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwise(a, off, n2, stride) + pairwise(a, off + n2 * stride, n - n2, stride);
}

/** np.add.reduce (sum) over n items from off with stride, in numpy's order: the first item seeds the accumulator, the rest are summed pairwise. */
export function npSum(a: ArrayLike<number>, off = 0, n = a.length, stride = 1): number {
  return n === 0 ? 0 : a[off] + pairwise(a, off + stride, n - 1, stride);
}

/**
 * numpy.interp (multiarray compiled_base.c arr_interp): j = last index with xp[j] <= x; exact hits and the
 * right end return fp[j]; otherwise slope * (x - xp[j]) + fp[j]. Duplicates in xp are allowed.
 */
export function npInterp(x: ArrayLike<number>, xp: ArrayLike<number>, fp: ArrayLike<number>, left?: number, right?: number): Float64Array {
  const n = xp.length;
  const out = new Float64Array(x.length);
  const lval = left ?? fp[0];
  const rval = right ?? fp[n - 1];
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (v > xp[n - 1]) { out[i] = rval; continue; }
    if (v < xp[0]) { out[i] = lval; continue; }
    let lo = 0;
    let hi = n;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (v >= xp[mid]) lo = mid + 1; else hi = mid; }
    const j = lo - 1;
    if (j === n - 1 || xp[j] === v) { out[i] = fp[j]; continue; }
    const slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]);
    let r = slope * (v - xp[j]) + fp[j];
    if (Number.isNaN(r)) { // "if we get nan in one direction, try the other"
      r = slope * (v - xp[j + 1]) + fp[j + 1];
      if (Number.isNaN(r) && fp[j] === fp[j + 1]) r = fp[j];
    }
    out[i] = r;
  }
  return out;
}

/**
 * np.argsort(v) with numpy's portable introsort (npysort/quicksort.cpp aquicksort_ + heapsort.hpp
 * aheapsort_). Not stable: ties come out in the order this exact algorithm leaves them, which is what
 * ap_per_class's `np.argsort(-conf)` gives wherever numpy does not dispatch to x86-simd-sort (see index.ts).
 */
export function npArgsort(v: Float64Array): Int32Array {
  const num = v.length;
  const a = new Int32Array(num);
  for (let i = 0; i < num; i++) a[i] = i;
  if (num < 2) return a;
  const SMALL_QUICKSORT = 15;
  const stack: number[] = [];
  const depths: number[] = [];
  let pl = 0;
  let pr = num - 1;
  let cdepth = 2 * (31 - Math.clz32(num)); // npy_get_msb(num) * 2
  let t: number;
  for (;;) {
    if (cdepth < 0) {
      aheapsort(v, a, pl, pr - pl + 1);
    } else {
      while (pr - pl > SMALL_QUICKSORT) {
        const pm = pl + ((pr - pl) >> 1);
        if (v[a[pm]] < v[a[pl]]) { t = a[pm]; a[pm] = a[pl]; a[pl] = t; }
        if (v[a[pr]] < v[a[pm]]) { t = a[pr]; a[pr] = a[pm]; a[pm] = t; }
        if (v[a[pm]] < v[a[pl]]) { t = a[pm]; a[pm] = a[pl]; a[pl] = t; }
        const vp = v[a[pm]];
        let pi = pl;
        let pj = pr - 1;
        t = a[pm]; a[pm] = a[pj]; a[pj] = t;
        for (;;) {
          do ++pi; while (v[a[pi]] < vp);
          do --pj; while (vp < v[a[pj]]);
          if (pi >= pj) break;
          t = a[pi]; a[pi] = a[pj]; a[pj] = t;
        }
        const pk = pr - 1;
        t = a[pi]; a[pi] = a[pk]; a[pk] = t;
        if (pi - pl < pr - pi) { stack.push(pi + 1, pr); pr = pi - 1; } else { stack.push(pl, pi - 1); pl = pi + 1; }
        depths.push(--cdepth);
      }
      for (let pi = pl + 1; pi <= pr; ++pi) { // insertion sort
        const vi = a[pi];
        const vp = v[vi];
        let pj = pi;
        while (pj > pl && vp < v[a[pj - 1]]) { a[pj] = a[pj - 1]; pj--; }
        a[pj] = vi;
      }
    }
    if (stack.length === 0) break;
    pr = stack.pop() as number;
    pl = stack.pop() as number;
    cdepth = depths.pop() as number;
  }
  return a;
}

/** numpy aheapsort_ on a[off .. off+n) (1-based heap indexing as in the C source). */
function aheapsort(v: Float64Array, arr: Int32Array, off: number, n: number): void {
  const a = (k: number): number => arr[off + k - 1];
  const set = (k: number, x: number): void => { arr[off + k - 1] = x; };
  let i: number; let j: number; let tmp: number;
  for (let l = n >> 1; l > 0; --l) {
    tmp = a(l);
    for (i = l, j = l << 1; j <= n;) {
      if (j < n && v[a(j)] < v[a(j + 1)]) j += 1;
      if (v[tmp] < v[a(j)]) { set(i, a(j)); i = j; j += j; } else break;
    }
    set(i, tmp);
  }
  for (; n > 1;) {
    tmp = a(n); set(n, a(1)); n -= 1;
    for (i = 1, j = 2; j <= n;) {
      if (j < n && v[a(j)] < v[a(j + 1)]) j++;
      if (v[tmp] < v[a(j)]) { set(i, a(j)); i = j; j += j; } else break;
    }
    set(i, tmp);
  }
}

/**
 * metrics.py compute_ap: sentinels, precision envelope (reverse running max), 101-point np.interp and
 * np.trapezoid. Returns the AP and the envelope (mrec, mpre) the PR curve is read from.
 */
function computeAp(recall: Float64Array, precision: Float64Array): { ap: number; mrec: Float64Array; mpre: Float64Array } {
  const n = recall.length;
  const mrec = new Float64Array(n + 3);
  const mpre = new Float64Array(n + 3);
  mrec[0] = 0; mpre[0] = 1;
  mrec.set(recall, 1); mpre.set(precision, 1);
  mrec[n + 1] = n ? recall[n - 1] : 1; mrec[n + 2] = 1;
  mpre[n + 1] = 0; mpre[n + 2] = 0;
  for (let i = n + 1; i >= 0; i--) if (mpre[i + 1] > mpre[i]) mpre[i] = mpre[i + 1];
  const y = npInterp(AP_X, mrec, mpre);
  const terms = new Float64Array(AP_X.length - 1);
  for (let i = 0; i < terms.length; i++) terms[i] = (AP_X[i + 1] - AP_X[i]) * (y[i + 1] + y[i]) / 2.0; // np.trapezoid
  return { ap: npSum(terms), mrec, mpre };
}

/** metrics.py smooth(y, f): box filter of odd width round(len * f * 2) // 2 + 1, edges padded with end values. */
function smooth(y: Float64Array, f: number): Float64Array {
  const nf = Math.floor(Math.round(y.length * f * 2) / 2) + 1;
  const half = nf >> 1;
  const yp = new Float64Array(y.length + 2 * half);
  yp.fill(y[0], 0, half); yp.set(y, half); yp.fill(y[y.length - 1], half + y.length);
  const w = 1 / nf;
  const out = new Float64Array(y.length);
  for (let k = 0; k < y.length; k++) {
    let s = 0;
    for (let m = 0; m < nf; m++) s += yp[k + m] * w;
    out[k] = s;
  }
  return out;
}

/** IoU of truth t and prediction p as ultralytics box_iou computes it, in float32. */
function iou32(tb: Float32Array, t: number, pb: Float32Array, p: number): number {
  const ax1 = tb[t * 4]; const ay1 = tb[t * 4 + 1]; const ax2 = tb[t * 4 + 2]; const ay2 = tb[t * 4 + 3];
  const bx1 = pb[p * 4]; const by1 = pb[p * 4 + 1]; const bx2 = pb[p * 4 + 2]; const by2 = pb[p * 4 + 3];
  let w = f32(Math.min(ax2, bx2) - Math.max(ax1, bx1)); if (w < 0) w = 0;
  let h = f32(Math.min(ay2, by2) - Math.max(ay1, by1)); if (h < 0) h = 0;
  const inter = f32(w * h);
  const a1 = f32(f32(ax2 - ax1) * f32(ay2 - ay1));
  const a2 = f32(f32(bx2 - bx1) * f32(by2 - by1));
  return f32(inter / f32(f32(f32(a1 + a2) - inter) + IOU_EPS));
}

/**
 * The validator's per-image stats, concatenated over images: predictions of each image in descending
 * float32 confidence (the NMS output order; a stable sort keeps the given order of equal confidences),
 * and tp (P×10) from match_predictions' greedy branch.
 */
function matchAll(d: PackedDetections): { conf: Float64Array; cls: Int32Array; tp: Uint8Array } {
  const P = d.pCls.length;
  const conf = new Float64Array(P);
  const cls = new Int32Array(P);
  const tp = new Uint8Array(P * NT);
  const tb = Float32Array.from(d.tBox); // box_iou: .float()
  const pb = Float32Array.from(d.pBox);
  let iou = new Float64Array(0);
  let matched = new Uint8Array(0);
  const order: number[] = [];
  for (let im = 0; im < d.n; im++) {
    const p0 = d.pStart[im]; const np = d.pStart[im + 1] - p0;
    const t0 = d.tStart[im]; const nl = d.tStart[im + 1] - t0;
    order.length = 0;
    for (let k = 0; k < np; k++) order.push(p0 + k);
    order.sort((a, b) => f32(d.pConf[b]) - f32(d.pConf[a])); // Array.prototype.sort is stable
    for (let k = 0; k < np; k++) { conf[p0 + k] = f32(d.pConf[order[k]]); cls[p0 + k] = d.pCls[order[k]]; }
    if (nl === 0 || np === 0) continue; // _process_batch: all-false tp
    if (iou.length < nl * np) iou = new Float64Array(nl * np);
    if (matched.length < nl * NT) matched = new Uint8Array(nl * NT);
    matched.fill(0, 0, nl * NT);
    for (let k = 0; k < np; k++) {
      const c = cls[p0 + k];
      let any = false;
      for (let l = 0; l < nl; l++) {
        // iou * correct_class: other classes' IoU is 0
        const v = d.tCls[t0 + l] === c ? iou32(tb, t0 + l, pb, order[k]) : 0;
        iou[l * np + k] = v;
        if (v >= IOUV[0]) any = true;
      }
      if (!any) continue; // np.flatnonzero((iou >= thresholds.min()).any(0))
      for (let ti = 0; ti < NT; ti++) {
        let best = 0; // argmax: first maximum of np.where(matched, 0, iou)
        let bestV = -Infinity;
        for (let l = 0; l < nl; l++) {
          const v = matched[l * NT + ti] ? 0 : iou[l * np + k];
          if (v > bestV) { bestV = v; best = l; }
        }
        if (bestV >= IOUV[ti]) { tp[(p0 + k) * NT + ti] = 1; matched[best * NT + ti] = 1; }
      }
    }
  }
  return { conf, cls, tp };
}

/** Evaluate with protocol `ultralytics` (see the module comment). `d` comes from packDetections. */
export function evaluateUltralytics(d: PackedDetections, names: readonly string[]): DetectionMetrics {
  const { conf, cls, tp } = matchAll(d);
  const P = conf.length;
  // ap_per_class: i = np.argsort(-conf) (float32 keys)
  const neg = new Float64Array(P);
  for (let i = 0; i < P; i++) neg[i] = -conf[i];
  const order = npArgsort(neg);
  // np.unique(target_cls, return_counts=True): only classes with truth boxes get a row
  const nt = new Int32Array(d.nc);
  const ntImg = new Int32Array(d.nc);
  for (let i = 0; i < d.tCls.length; i++) nt[d.tCls[i]]++;
  const seen = new Int32Array(d.nc).fill(-1);
  for (let im = 0; im < d.n; im++) {
    for (let t = d.tStart[im]; t < d.tStart[im + 1]; t++) if (seen[d.tCls[t]] !== im) { seen[d.tCls[t]] = im; ntImg[d.tCls[t]]++; }
  }
  const classes: number[] = [];
  for (let c = 0; c < d.nc; c++) if (nt[c] > 0) classes.push(c);
  const nc = classes.length;
  // bucket the sorted predictions by class once (tp[i] keeps the sorted order within a class)
  const cnt = new Int32Array(d.nc + 1);
  for (let k = 0; k < P; k++) cnt[cls[order[k]] + 1]++;
  for (let c = 0; c < d.nc; c++) cnt[c + 1] += cnt[c];
  const byCls = new Int32Array(P);
  const fill = cnt.slice(0, d.nc);
  for (let k = 0; k < P; k++) { const i = order[k]; byCls[fill[cls[i]]++] = i; }

  const ap = new Float64Array(nc * NT);
  const pCurve: Float64Array[] = []; const rCurve: Float64Array[] = []; const precValues: Float64Array[] = [];
  const negPx = PX.map((x) => -x);
  for (let ci = 0; ci < nc; ci++) {
    const c = classes[ci];
    const s = cnt[c]; const np = cnt[c + 1] - s; const nl = nt[c];
    if (np === 0) {
      pCurve.push(new Float64Array(1000)); rCurve.push(new Float64Array(1000)); precValues.push(new Float64Array(1000));
      continue;
    }
    const xp = new Float64Array(np);
    for (let k = 0; k < np; k++) xp[k] = -conf[byCls[s + k]];
    const recall = new Float64Array(np);
    const precision = new Float64Array(np);
    for (let j = 0; j < NT; j++) {
      let tpc = 0; let fpc = 0;
      for (let k = 0; k < np; k++) {
        if (tp[byCls[s + k] * NT + j]) tpc++; else fpc++;
        recall[k] = tpc / (nl + EPS);
        precision[k] = tpc / (tpc + fpc);
      }
      if (j === 0) { // curves use IoU 0.5
        rCurve.push(npInterp(negPx, xp, recall, 0));
        pCurve.push(npInterp(negPx, xp, precision, 1));
      }
      const r = computeAp(recall, precision);
      ap[ci * NT + j] = r.ap;
      if (j === 0) precValues.push(npInterp(PX, r.mrec, r.mpre));
    }
  }
  const f1Curve = pCurve.map((p, ci) => {
    const r = rCurve[ci];
    return p.map((pv, k) => 2 * pv * r[k] / (pv + r[k] + EPS));
  });
  // i = smooth(f1_curve.mean(0), 0.1).argmax(): axis-0 mean sums classes in order
  let best = 0;
  if (nc) {
    const mean = new Float64Array(1000);
    for (let k = 0; k < 1000; k++) { let sum = f1Curve[0][k]; for (let ci = 1; ci < nc; ci++) sum += f1Curve[ci][k]; mean[k] = sum / nc; }
    const sm = smooth(mean, 0.1);
    for (let k = 1; k < 1000; k++) if (sm[k] > sm[best]) best = k;
  }
  const p = Float64Array.from(pCurve, (row) => row[best]);
  const r = Float64Array.from(rCurve, (row) => row[best]);
  const ap50 = Float64Array.from({ length: nc }, (_, ci) => ap[ci * NT]);
  const row = new Map(classes.map((c, ci) => [c, ci]));
  const perClass: ClassMetrics[] = names.map((name, id) => {
    const ci = row.get(id);
    if (ci === undefined) return { id, name, images: ntImg[id], instances: nt[id], precision: null, recall: null, mAP50: null, mAP50_95: null };
    return { id, name, images: ntImg[id], instances: nt[id], precision: p[ci], recall: r[ci], mAP50: ap[ci * NT], mAP50_95: npSum(ap, ci * NT, NT) / NT };
  });
  const curves: DetectionCurves = {
    classes, confidence: Array.from(PX),
    precision: pCurve.map((x) => Array.from(x)), recall: rCurve.map((x) => Array.from(x)), f1: f1Curve.map((x) => Array.from(x)),
    prRecall: Array.from(PX), prPrecision: precValues.map((x) => Array.from(x)),
  };
  // Metric.mp / mr / map50 / map: plain means over the ap_per_class rows, 0.0 when there are none
  return {
    protocol: 'ultralytics', images: d.n, instances: d.tCls.length,
    precision: nc ? npSum(p) / nc : 0, recall: nc ? npSum(r) / nc : 0,
    mAP50: nc ? npSum(ap50) / nc : 0, mAP50_95: nc ? npSum(ap) / (nc * NT) : 0,
    perClass, curves,
  };
}
