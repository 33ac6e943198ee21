/**
 * The one owner of coordinates between a slice, the prepared image and a model's input (STYLE "Coordinates
 * have one owner"). Three frames:
 * - slice: the DICOM's rows × columns pixel grid (boxes in pixel-edge coordinates, x right, y down);
 * - prepared: the PNG `prepare` writes for detection, longest side `preparedSize` (prepare/slices.ts fitSize,
 *   sharp's fill resize: a plain scale per axis);
 * - input: ultralytics' LetterBox of the prepared image into the model's imgsz (centre padding), undone by
 *   ultralytics' scale_boxes (ultralytics/utils/ops.py) — Python's round is round-half-even, reproduced.
 */
import { fitSize } from '../dataset/prepare/slices';

/** Round half to even (Python 3 `round`). */
export function pyRound(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** A LetterBox: the resized (unpadded) size and the padding on each side, in input pixels. */
export interface Letterbox {
  /** Source image size. */
  width: number;
  height: number;
  /** Model input size. */
  inWidth: number;
  inHeight: number;
  /** Size after resize, before padding. */
  newWidth: number;
  newHeight: number;
  top: number;
  left: number;
  bottom: number;
  right: number;
}

/** ultralytics LetterBox.get_params with center=True, auto=False, scaleup=True (the predictor's, for a fixed-size export). */
export function letterbox(width: number, height: number, inWidth: number, inHeight: number): Letterbox {
  const r = Math.min(inHeight / height, inWidth / width);
  const newWidth = Math.max(pyRound(width * r), 1);
  const newHeight = Math.max(pyRound(height * r), 1);
  const dw = (inWidth - newWidth) / 2;
  const dh = (inHeight - newHeight) / 2;
  return {
    width, height, inWidth, inHeight, newWidth, newHeight,
    top: pyRound(dh - 0.1), bottom: pyRound(dh + 0.1), left: pyRound(dw - 0.1), right: pyRound(dw + 0.1),
  };
}

/**
 * Input-pixel xyxy boxes → source-image pixels: ultralytics scale_boxes (ratio_pad None): subtract the pad
 * (recomputed as round(pad/2 − 0.1)), divide by the per-axis gain, clip to the image. In place; returns it.
 * `boxes`: Float32Array or number[], N×4 xyxy.
 */
export function unletterbox(lb: Letterbox, boxes: Float64Array): Float64Array {
  const gain = Math.min(lb.inHeight / lb.height, lb.inWidth / lb.width);
  const newH = Math.max(pyRound(lb.height * gain), 1);
  const newW = Math.max(pyRound(lb.width * gain), 1);
  const gy = newH / lb.height;
  const gx = newW / lb.width;
  const px = pyRound((lb.inWidth - newW) / 2 - 0.1);
  const py = pyRound((lb.inHeight - newH) / 2 - 0.1);
  // float32 steps, as torch does on the float32 box tensor (the Python scalars are cast to float32).
  const f = Math.fround;
  const fx = f(gx);
  const fy = f(gy);
  for (let i = 0; i < boxes.length; i += 4) {
    boxes[i] = clamp(f(f(boxes[i] - px) / fx), lb.width);
    boxes[i + 1] = clamp(f(f(boxes[i + 1] - py) / fy), lb.height);
    boxes[i + 2] = clamp(f(f(boxes[i + 2] - px) / fx), lb.width);
    boxes[i + 3] = clamp(f(f(boxes[i + 3] - py) / fy), lb.height);
  }
  return boxes;
}

function clamp(v: number, max: number): number {
  return v < 0 ? 0 : v > max ? max : v;
}

/** The prepared image's size for a slice (prepare's detection PNG). */
export function preparedSize(rows: number, columns: number, longest: number): { width: number; height: number } {
  return fitSize(rows, columns, longest);
}

/** Prepared-image xyxy → slice xyxy (per-axis scale), in place. */
export function preparedToSlice(boxes: Float64Array, prepared: { width: number; height: number }, rows: number, columns: number): Float64Array {
  const sx = columns / prepared.width;
  const sy = rows / prepared.height;
  for (let i = 0; i < boxes.length; i += 4) {
    boxes[i] *= sx;
    boxes[i + 1] *= sy;
    boxes[i + 2] *= sx;
    boxes[i + 3] *= sy;
  }
  return boxes;
}
