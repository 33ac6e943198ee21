/**
 * Model inputs built from a windowed slice exactly as `prepare` built the training PNGs (decode → window →
 * sharp resize → 8-bit grey), then as the trainer fed them:
 * - detector: the prepared detection image (longest side `preparedSize`, prepare/slices.ts) → ultralytics
 *   LetterBox (yolo.ts);
 * - classifier: a vertebra crop (prepare/crops.ts cropSquare + cutCrop, sharp to the crop size) or the whole
 *   slice stretched to the input size (classify/), then torchvision ToTensor + Normalize (trainer data.py:
 *   Grayscale(3) repeats the grey, Resize is a no-op at the PNG's own size), in float32 like torch.
 * The `…FromPng` twins start from the PNG files instead; test/unit/inference-input.test.ts proves both give the
 * same tensors.
 */
import { cropSquare, cutCrop } from '../dataset/prepare/crops';
import type { PixelBox } from '../dataset/prepare/output';
import { resizeGray8 } from '../dicom/decodePool';
import { preparedSize, type Letterbox } from './geometry';
import type { ClassifierSpec, DetectorSpec, Normalization } from './model';
import { detectorInput } from './yolo';

/** A slice windowed to 8-bit grey: rows×columns bytes. */
export interface GraySlice {
  gray: Uint8Array;
  rows: number;
  columns: number;
}

/** The detector's tensor for a slice, the letterbox and the prepared image size (to map boxes back). */
export interface DetectorInput {
  tensor: Float32Array;
  lb: Letterbox;
  prepared: { width: number; height: number };
}

/**
 * The prepared detection image of a slice (what prepare wrote as detect/images/…png), as grey bytes; the slice
 * itself when `longest` is undefined (a model without a card).
 */
export async function preparedImage(s: GraySlice, longest: number | undefined): Promise<{ gray: Uint8Array; width: number; height: number }> {
  if (longest === undefined) return { gray: s.gray, width: s.columns, height: s.rows };
  const size = preparedSize(s.rows, s.columns, longest);
  return { gray: await resizeGray8(s.gray, s.rows, s.columns, size.width, size.height), ...size };
}

/** Detector input from a windowed slice. */
export async function detectorTensor(s: GraySlice, spec: DetectorSpec): Promise<DetectorInput> {
  const p = await preparedImage(s, spec.preparedSize);
  const { tensor, lb } = detectorInput(p.gray, p.width, p.height, spec.imgsz[1], spec.imgsz[0], spec.pad);
  return { tensor, lb, prepared: { width: p.width, height: p.height } };
}

/** Detector input from a prepared PNG (detect/images/…): what ultralytics predict would read. */
export async function detectorTensorFromPng(png: Uint8Array, spec: DetectorSpec): Promise<DetectorInput> {
  const p = await decodeGrayPng(png);
  const { tensor, lb } = detectorInput(p.gray, p.width, p.height, spec.imgsz[1], spec.imgsz[0], spec.pad);
  return { tensor, lb, prepared: { width: p.width, height: p.height } };
}

/** An 8-bit grey PNG (or any image sharp reads) as grey bytes; colour is reduced with sharp's b-w. */
export async function decodeGrayPng(png: Uint8Array): Promise<{ gray: Uint8Array; width: number; height: number }> {
  const { default: sharp } = await import('sharp');
  const { data, info } = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 1) throw new Error(`expected a grey image, got ${info.channels} channels`);
  return { gray: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height };
}

/** A detection box (xyxy, pixel edges, slice pixels) as prepare's inclusive pixel box. */
export function toPixelBox(box: readonly [number, number, number, number]): PixelBox {
  const x0 = Math.round(box[0]);
  const y0 = Math.round(box[1]);
  return { x0, y0, x1: Math.max(x0, Math.round(box[2]) - 1), y1: Math.max(y0, Math.round(box[3]) - 1) };
}

/** The crop squares (slice pixels, inclusive) the classifier sees for these vertebra boxes (the card's crop rule). */
export function cropsFor(boxes: readonly PixelBox[], rule?: { scale: number; padPx: number }): PixelBox[] {
  return boxes.map((b) => cropSquare(b, rule));
}

/** Grey images (size×size each) of the classifier's input, cut and resized as prepare does. */
export async function classifierImages(s: GraySlice, spec: ClassifierSpec, crops?: readonly PixelBox[]): Promise<Uint8Array[]> {
  const [h, w] = spec.size;
  if (spec.kind === 'slice') return [await resizeGray8(s.gray, s.rows, s.columns, w, h)];
  if (!crops) throw new Error('a vertebra-crop classifier needs the vertebra boxes (run the detector first)');
  return Promise.all(crops.map((c) => {
    const side = c.x1 - c.x0 + 1;
    return resizeGray8(cutCrop(s.gray, s.rows, s.columns, c), side, side, w, h);
  }));
}

/** N grey images (h×w bytes each) → NCHW float32 [N, 3, h, w]: bytes / 255, (x − mean) / std, float32 steps. */
export function classifierTensor(images: readonly Uint8Array[], h: number, w: number, n: Normalization): Float32Array {
  const f = Math.fround;
  const plane = h * w;
  const out = new Float32Array(images.length * 3 * plane);
  const scale = f(n.scale);
  // A scale of 1/255 is ToTensor's float32 division by 255 (multiplying by fround(1/255) differs in the last bit).
  const divide = Math.abs(n.scale * 255 - 1) < 1e-12;
  images.forEach((img, i) => {
    if (img.length !== plane) throw new Error(`classifier input ${i} has ${img.length} pixels, expected ${w}×${h}`);
    for (let c = 0; c < 3; c++) {
      const mean = f(n.mean[c]);
      const std = f(n.std[c]);
      const o = (i * 3 + c) * plane;
      // torchvision ToTensor divides by 255 (float32), Normalize subtracts then divides, each step in float32.
      for (let p = 0; p < plane; p++) out[o + p] = f(f((divide ? f(img[p] / 255) : f(img[p] * scale)) - mean) / std);
    }
  });
  return out;
}
