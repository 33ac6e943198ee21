/**
 * YOLO detection pre- and post-processing as ultralytics does it for an exported ONNX model:
 * - input: LetterBox (geometry.ts) with cv2 INTER_LINEAR (resize.ts) and pad 114, RGB (a grey image repeated),
 *   bytes / 255, NCHW float32 (ultralytics/engine/predictor.py preprocess);
 * - output `output0` [1, 4 + nc, N]: cx, cy, w, h in input pixels, then sigmoid class scores (no objectness,
 *   no NMS in the graph);
 * - non_max_suppression (ultralytics/utils/nms.py, multi_label False): candidates whose best class score
 *   > conf, xywh → xyxy in float32, best class per box, at most max_nms by score, boxes offset by
 *   class × max_wh (7680) unless agnostic, torchvision.ops.nms (greedy by score, stable order, drop IoU > iou),
 *   first max_det kept; then scale_boxes back to the source image.
 */
import { letterbox, unletterbox, type Letterbox } from './geometry';
import { resizeLinear8 } from './resize';

/** NMS settings; ultralytics' predict defaults: conf 0.25, iou 0.7, maxDet 300. */
export interface NmsOptions {
  conf: number;
  iou: number;
  maxDet: number;
  agnostic?: boolean;
  maxNms?: number;
  /**
   * Every class whose score > conf becomes its own candidate box (ultralytics `val` passes multi_label=True;
   * `predict` keeps the best class only).
   */
  multiLabel?: boolean;
}

export const PREDICT_DEFAULTS: NmsOptions = { conf: 0.25, iou: 0.7, maxDet: 300 };

/** Check NMS options at the boundary (never silently replaced). */
export function checkNms(o: NmsOptions): NmsOptions {
  if (!(o.conf >= 0 && o.conf <= 1)) throw new Error(`conf must be in 0…1 (got ${o.conf})`);
  if (!(o.iou >= 0 && o.iou <= 1)) throw new Error(`iou must be in 0…1 (got ${o.iou})`);
  if (!Number.isInteger(o.maxDet) || o.maxDet < 1) throw new Error(`max-det must be a whole number ≥ 1 (got ${o.maxDet})`);
  return o;
}

/** One detection: class, confidence, xyxy box (pixels of the frame the caller asked for). */
export interface Detection {
  cls: number;
  conf: number;
  box: [number, number, number, number];
}

/**
 * The detector's input tensor for a grey image (width×height bytes): LetterBox to inWidth×inHeight.
 * Returns NCHW float32 [1, 3, inHeight, inWidth] and the letterbox to undo on the boxes.
 */
export function detectorInput(gray: Uint8Array, width: number, height: number, inWidth: number, inHeight: number, pad = 114): { tensor: Float32Array; lb: Letterbox } {
  const lb = letterbox(width, height, inWidth, inHeight);
  const resized = resizeLinear8(gray, width, height, 1, lb.newWidth, lb.newHeight);
  const plane = inWidth * inHeight;
  const tensor = new Float32Array(3 * plane);
  const padValue = pad / 255;
  tensor.fill(padValue, 0, plane);
  for (let y = 0; y < lb.newHeight; y++) {
    const o = (y + lb.top) * inWidth + lb.left;
    for (let x = 0; x < lb.newWidth; x++) tensor[o + x] = resized[y * lb.newWidth + x] / 255;
  }
  tensor.copyWithin(plane, 0, plane);
  tensor.copyWithin(2 * plane, 0, plane);
  return { tensor, lb };
}

/**
 * Decode `output0` (data of dims [1, 4 + nc, n]) into detections in input pixels, after class-aware NMS.
 * Sorted by confidence, highest first.
 */
export function decodeYolo(data: Float32Array, nc: number, n: number, o: NmsOptions): Detection[] {
  const f = Math.fround;
  // Candidates as (anchor, class, score), in the order ultralytics builds them: anchors ascending; with
  // multi_label, torch.where over (anchor, class) row-major.
  const anchor: number[] = [];
  const klass: number[] = [];
  const score: number[] = [];
  const multi = Boolean(o.multiLabel) && nc > 1;
  for (let a = 0; a < n; a++) {
    let m = -Infinity;
    let j = 0;
    for (let c = 0; c < nc; c++) {
      const s = data[(4 + c) * n + a];
      if (s > m) {
        m = s;
        j = c;
      }
    }
    if (!(m > o.conf)) continue;
    if (!multi) {
      anchor.push(a);
      klass.push(j);
      score.push(m);
      continue;
    }
    for (let c = 0; c < nc; c++) {
      const s = data[(4 + c) * n + a];
      if (s > o.conf) {
        anchor.push(a);
        klass.push(c);
        score.push(s);
      }
    }
  }
  // torch.sort(descending) / torchvision nms order: by score, ties in candidate order (stable).
  const order = anchor.map((_, i) => i).sort((p, q) => score[q] - score[p] || p - q);
  const k = order.slice(0, Math.min(order.length, o.maxNms ?? 30000));
  const m = k.length;
  // xyxy in float32 (ultralytics xywh2xyxy); the class-offset copy (boxes + class × max_wh, float32) only
  // decides suppression — the kept boxes are returned without it, as ultralytics returns x[i]. (Adding then
  // subtracting 7680·c would round the coordinates to 1/512 px.)
  const xy = new Float32Array(4 * m);
  const bx = new Float32Array(4 * m);
  const off = o.agnostic ? 0 : 7680;
  for (let i = 0; i < m; i++) {
    const a = anchor[k[i]];
    const cx = data[a];
    const cy = data[n + a];
    const dw = f(data[2 * n + a] / 2);
    const dh = f(data[3 * n + a] / 2);
    xy[4 * i] = f(cx - dw);
    xy[4 * i + 1] = f(cy - dh);
    xy[4 * i + 2] = f(cx + dw);
    xy[4 * i + 3] = f(cy + dh);
    const c = f(klass[k[i]] * off);
    for (let j = 0; j < 4; j++) bx[4 * i + j] = f(xy[4 * i + j] + c);
  }
  const keep = nms(bx, m, o.iou, o.maxDet);
  return keep.map((i) => ({ cls: klass[k[i]], conf: score[k[i]], box: [xy[4 * i], xy[4 * i + 1], xy[4 * i + 2], xy[4 * i + 3]] }));
}

/** torchvision.ops.nms on boxes already in score order: greedy, suppress IoU > thr (float32 arithmetic). */
function nms(b: Float32Array, m: number, thr: number, maxDet: number): number[] {
  const f = Math.fround;
  const area = new Float32Array(m);
  for (let i = 0; i < m; i++) area[i] = f(f(b[4 * i + 2] - b[4 * i]) * f(b[4 * i + 3] - b[4 * i + 1]));
  const suppressed = new Uint8Array(m);
  const keep: number[] = [];
  for (let i = 0; i < m && keep.length < maxDet; i++) {
    if (suppressed[i]) continue;
    keep.push(i);
    const x1 = b[4 * i];
    const y1 = b[4 * i + 1];
    const x2 = b[4 * i + 2];
    const y2 = b[4 * i + 3];
    for (let j = i + 1; j < m; j++) {
      if (suppressed[j]) continue;
      const w = Math.max(0, f(Math.min(x2, b[4 * j + 2]) - Math.max(x1, b[4 * j])));
      const h = Math.max(0, f(Math.min(y2, b[4 * j + 3]) - Math.max(y1, b[4 * j + 1])));
      const inter = f(w * h);
      const iou = f(inter / f(f(area[i] + area[j]) - inter));
      if (iou > thr) suppressed[j] = 1;
    }
  }
  return keep;
}

/** Detections in input pixels → source-image pixels (scale_boxes), new objects. */
export function detectionsToSource(dets: readonly Detection[], lb: Letterbox): Detection[] {
  const flat = new Float64Array(dets.length * 4);
  dets.forEach((d, i) => flat.set(d.box, 4 * i));
  unletterbox(lb, flat);
  return dets.map((d, i) => ({ cls: d.cls, conf: d.conf, box: [flat[4 * i], flat[4 * i + 1], flat[4 * i + 2], flat[4 * i + 3]] }));
}
