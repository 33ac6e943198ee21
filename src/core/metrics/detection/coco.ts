/**
 * Protocol `coco`: pycocotools 2.0.11 COCOeval, iouType 'bbox' (cocoeval.py evaluate → evaluateImg →
 * accumulate → summarize), every class a category, iscrowd 0, areas w*h in pixels as COCO.loadRes sets them.
 */
import type { ClassMetrics, DetectionMetrics, PackedDetections } from './types';
import { linspace, npSum } from './ultralytics';

/** Params.setDetParams: iouThrs = np.linspace(.5, .95, 10), recThrs = np.linspace(0, 1, 101). */
const IOU_THRS = linspace(0.5, 0.95, 10);
const REC_THRS = linspace(0, 1, 101);
const T = 10;
const R = 101;
/** areaRng all / small / medium / large, both ends inclusive (evaluateImg ignores area < lo or > hi). */
const AREA_RNG: readonly (readonly [number, number])[] = [[0, 1e5 ** 2], [0, 32 ** 2], [32 ** 2, 96 ** 2], [96 ** 2, 1e5 ** 2]];
const A = 4;
const MAX_DETS = [1, 10, 100];
const M = 3;
/** np.spacing(1), the eps in accumulate's precision. */
const SPACING1 = 2.220446049250313e-16;
/** Names of COCOeval.stats in summarize's order. */
export const COCO_STAT_NAMES = ['AP', 'AP50', 'AP75', 'APsmall', 'APmedium', 'APlarge', 'AR1', 'AR10', 'AR100', 'ARsmall', 'ARmedium', 'ARlarge'] as const;

/** Per-class detections after evaluateImg, in (image, score rank) order. */
interface ClassDets {
  score: number[];
  rank: number[];
  /** Per area range a: bit t set = matched at iouThrs[t] (dtMatches != 0). */
  match: number[][];
  /** Per area range a: bit t set = dtIgnore at iouThrs[t]. */
  ignore: number[][];
  /** Non-ignored truth boxes per area range (npig). */
  npig: Float64Array;
  /** Whether any image had truth or detections of the class (E non-empty). */
  present: boolean;
}

/**
 * evaluateImg for one image and category, all four area ranges. `gt`/`dt` index the packed arrays;
 * dt is already in computeIoU's order (stable by -score) and cut to maxDets[-1].
 */
function evaluateImage(d: PackedDetections, gt: number[], dt: number[], out: ClassDets): void {
  const G = gt.length; const D = dt.length;
  // maskUtils.iou (maskApi.c bbIou) on xywh doubles, loadRes' bbox: w = x2 - x1, area = w * h
  const ious = new Float64Array(D * G);
  const gArea = new Float64Array(G);
  for (let g = 0; g < G; g++) {
    const b = gt[g] * 4;
    gArea[g] = (d.tBox[b + 2] - d.tBox[b]) * (d.tBox[b + 3] - d.tBox[b + 1]);
  }
  const dArea = new Float64Array(D);
  for (let k = 0; k < D; k++) {
    const b = dt[k] * 4;
    const dx = d.pBox[b]; const dy = d.pBox[b + 1]; const dw = d.pBox[b + 2] - dx; const dh = d.pBox[b + 3] - dy;
    const da = dw * dh;
    dArea[k] = da;
    for (let g = 0; g < G; g++) {
      const c = gt[g] * 4;
      const gx = d.tBox[c]; const gy = d.tBox[c + 1]; const gw = d.tBox[c + 2] - gx; const gh = d.tBox[c + 3] - gy;
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) continue;
      const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) continue;
      const i = w * h;
      ious[k * G + g] = i / (da + gw * gh - i);
    }
  }
  const base = out.score.length - D;
  const gtIg = new Uint8Array(G);
  const gOrder = new Int32Array(G);
  const gtm = new Uint8Array(G);
  for (let a = 0; a < A; a++) {
    const [lo, hi] = AREA_RNG[a];
    let n = 0;
    for (let g = 0; g < G; g++) if (!(gArea[g] < lo || gArea[g] > hi)) gOrder[n++] = g; // gt sorted by _ignore (mergesort)
    out.npig[a] += n;
    for (let g = 0; g < G; g++) if (gArea[g] < lo || gArea[g] > hi) gOrder[n++] = g;
    for (let g = 0; g < G; g++) gtIg[g] = gArea[gOrder[g]] < lo || gArea[gOrder[g]] > hi ? 1 : 0;
    const match = out.match[a]; const ignore = out.ignore[a];
    for (let k = 0; k < D; k++) { match[base + k] = 0; ignore[base + k] = 0; }
    if (G > 0 && D > 0) {
      for (let t = 0; t < T; t++) {
        gtm.fill(0);
        for (let k = 0; k < D; k++) {
          let iou = Math.min(IOU_THRS[t], 1 - 1e-10);
          let m = -1;
          for (let g = 0; g < G; g++) {
            if (gtm[g]) continue; // already matched, not a crowd
            if (m > -1 && gtIg[m] === 0 && gtIg[g] === 1) break; // matched a regular gt: stop at the ignored ones
            const v = ious[k * G + gOrder[g]];
            if (v < iou) continue; // an equal IoU later in the list takes the match
            iou = v;
            m = g;
          }
          if (m === -1) continue;
          if (gtIg[m]) ignore[base + k] |= 1 << t;
          match[base + k] |= 1 << t;
          gtm[m] = 1;
        }
      }
    }
    // unmatched detections outside the area range are ignored
    for (let k = 0; k < D; k++) if (dArea[k] < lo || dArea[k] > hi) ignore[base + k] |= ~match[base + k] & 0x3ff;
  }
}

/** Evaluate with protocol `coco` (see the module comment). `d` comes from packDetections. */
export function evaluateCoco(d: PackedDetections, names: readonly string[]): DetectionMetrics {
  const K = d.nc;
  const cls: ClassDets[] = Array.from({ length: K }, () => ({
    score: [], rank: [], match: [[], [], [], []], ignore: [[], [], [], []], npig: new Float64Array(A), present: false,
  }));
  const gts: number[][] = Array.from({ length: K }, () => []);
  const dts: number[][] = Array.from({ length: K }, () => []);
  const ntImg = new Int32Array(K);
  for (let im = 0; im < d.n; im++) {
    for (let k = 0; k < K; k++) { gts[k].length = 0; dts[k].length = 0; }
    for (let t = d.tStart[im]; t < d.tStart[im + 1]; t++) gts[d.tCls[t]].push(t);
    for (let p = d.pStart[im]; p < d.pStart[im + 1]; p++) dts[d.pCls[p]].push(p);
    for (let k = 0; k < K; k++) {
      const gt = gts[k]; const dt = dts[k];
      if (gt.length === 0 && dt.length === 0) continue; // evaluateImg returns None
      if (gt.length) ntImg[k]++;
      const c = cls[k];
      c.present = true;
      dt.sort((a, b) => d.pConf[b] - d.pConf[a] || a - b); // np.argsort(-score, kind='mergesort')
      if (dt.length > MAX_DETS[M - 1]) dt.length = MAX_DETS[M - 1];
      for (let r = 0; r < dt.length; r++) { c.score.push(d.pConf[dt[r]]); c.rank.push(r); }
      evaluateImage(d, gt, dt, c);
    }
  }

  // accumulate: precision T×R×K×A×M and recall T×K×A×M, -1 where nothing was evaluated
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const pIdx = (t: number, r: number, k: number, a: number, m: number): number => (((t * R + r) * K + k) * A + a) * M + m;
  const rIdx = (t: number, k: number, a: number, m: number): number => ((t * K + k) * A + a) * M + m;
  const q = new Float64Array(R);
  for (let k = 0; k < K; k++) {
    const c = cls[k];
    if (!c.present) continue;
    const n = c.score.length;
    const order = Array.from({ length: n }, (_, i) => i);
    // one stable sort by -score serves every maxDet: the cut keeps a subsequence (mergesort order)
    order.sort((x, y) => c.score[y] - c.score[x] || x - y);
    const rc = new Float64Array(n);
    const pr = new Float64Array(n);
    for (let a = 0; a < A; a++) {
      const npig = c.npig[a];
      if (npig === 0) continue;
      const match = c.match[a]; const ignore = c.ignore[a];
      for (let m = 0; m < M; m++) {
        const maxDet = MAX_DETS[m];
        for (let t = 0; t < T; t++) {
          const bit = 1 << t;
          let nd = 0; let tp = 0; let fp = 0;
          for (let i = 0; i < n; i++) {
            const j = order[i];
            if (c.rank[j] >= maxDet) continue;
            if (!(ignore[j] & bit)) { if (match[j] & bit) tp++; else fp++; }
            rc[nd] = tp / npig;
            pr[nd] = tp / (fp + tp + SPACING1);
            nd++;
          }
          recall[rIdx(t, k, a, m)] = nd ? rc[nd - 1] : 0;
          for (let i = nd - 1; i > 0; i--) if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
          q.fill(0);
          // np.searchsorted(rc, recThrs, side='left'); the first index past the end stops the fill
          let pi = 0;
          for (let ri = 0; ri < R; ri++) {
            while (pi < nd && rc[pi] < REC_THRS[ri]) pi++;
            if (pi >= nd) break;
            q[ri] = pr[pi];
          }
          for (let ri = 0; ri < R; ri++) precision[pIdx(t, ri, k, a, m)] = q[ri];
        }
      }
    }
  }

  // summarize: mean of the entries > -1 (C order of the selected slice), -1 when there are none
  const meanValid = (vals: number[]): number => {
    const v = vals.filter((x) => x > -1);
    return v.length ? npSum(v) / v.length : -1;
  };
  const ap = (ts: number[], a: number, m: number): number => {
    const vals: number[] = [];
    for (const t of ts) for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) vals.push(precision[pIdx(t, r, k, a, m)]);
    return meanValid(vals);
  };
  const ar = (a: number, m: number): number => {
    const vals: number[] = [];
    for (let t = 0; t < T; t++) for (let k = 0; k < K; k++) vals.push(recall[rIdx(t, k, a, m)]);
    return meanValid(vals);
  };
  const all = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const stats = [ap(all, 0, 2), ap([0], 0, 2), ap([5], 0, 2), ap(all, 1, 2), ap(all, 2, 2), ap(all, 3, 2),
    ar(0, 0), ar(0, 1), ar(0, 2), ar(1, 2), ar(2, 2), ar(3, 2)];
  const coco: Record<string, number> = {};
  COCO_STAT_NAMES.forEach((name, i) => { coco[name] = stats[i]; });

  const nt = new Int32Array(K);
  for (let i = 0; i < d.tCls.length; i++) nt[d.tCls[i]]++;
  const perClass: ClassMetrics[] = names.map((name, k) => {
    const classAp = (ts: number[]): number | null => {
      const vals: number[] = [];
      for (const t of ts) for (let r = 0; r < R; r++) vals.push(precision[pIdx(t, r, k, 0, 2)]);
      const v = meanValid(vals);
      return v === -1 ? null : v;
    };
    return { id: k, name, images: ntImg[k], instances: nt[k], precision: null, recall: null, mAP50: classAp([0]), mAP50_95: classAp(all) };
  });
  return {
    protocol: 'coco', images: d.n, instances: d.tCls.length, precision: null, recall: null,
    mAP50: stats[1], mAP50_95: stats[0], perClass, coco,
  };
}
