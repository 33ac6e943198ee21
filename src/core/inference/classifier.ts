/**
 * Running a classifier export (trainer/ `export_classifier`: outputs `logits` [N, nc] and, with in-graph
 * Grad-CAM, `cam` [N, 1, H, W] — ReLU'd, not normalised) and placing its Grad-CAM maps on the slice's pixel
 * grid.
 */
import type { PixelBox } from '../dataset/prepare/output';
import type { ClassifierSpec } from './model';
import type { LoadedModel } from './session';
import { loadOrt } from './session';

/** One classified image: class probabilities (softmax of the logits, in double) and its Grad-CAM map. */
export interface Classified {
  probabilities: number[];
  /** Probability of the positive class (fracture). */
  positive: number;
  /** h×w Grad-CAM of the positive class in input pixels, when the model has it. */
  cam?: Float32Array;
}

/** Softmax in double precision (logits are float32; the difference to torch's float32 softmax is < 1e-7). */
export function softmax(logits: ArrayLike<number>): number[] {
  let m = -Infinity;
  for (let i = 0; i < logits.length; i++) m = Math.max(m, logits[i]);
  const e = Array.from(logits, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Run the classifier on an NCHW tensor of `n` images. */
export async function classify(model: LoadedModel, tensor: Float32Array, n: number, withCam: boolean): Promise<Classified[]> {
  const spec = model.spec as ClassifierSpec;
  const [h, w] = spec.size;
  if (n === 0) return [];
  const ort = await loadOrt();
  const outputs = [spec.logits, ...(withCam && spec.cam ? [spec.cam] : [])];
  const res = await model.session.run({ [spec.inputName]: new ort.Tensor('float32', tensor, [n, 3, h, w]) }, outputs);
  const logits = res[spec.logits];
  const nc = logits.dims[1];
  const ld = logits.data as Float32Array;
  const camT = withCam && spec.cam ? res[spec.cam] : undefined;
  const cd = camT?.data as Float32Array | undefined;
  const plane = camT ? camT.dims[2] * camT.dims[3] : 0;
  const out: Classified[] = [];
  for (let i = 0; i < n; i++) {
    const probabilities = softmax(ld.subarray(i * nc, (i + 1) * nc));
    out.push({ probabilities, positive: probabilities[spec.positive], cam: cd ? cd.slice(i * plane, (i + 1) * plane) : undefined });
  }
  for (const t of Object.values(res)) t.dispose?.();
  return out;
}

/**
 * Paste a Grad-CAM map (h×w over `region`, inclusive slice pixels, possibly past the slice) into `heat`
 * (rows×columns), bilinear with half-pixel centres (the trainer upsamples with align_corners False), keeping
 * the larger value where maps overlap.
 */
export function pasteCam(heat: Float32Array, rows: number, columns: number, cam: Float32Array, h: number, w: number, region: PixelBox): void {
  const rw = region.x1 - region.x0 + 1;
  const rh = region.y1 - region.y0 + 1;
  const sx = w / rw;
  const sy = h / rh;
  for (let y = Math.max(0, region.y0); y <= Math.min(rows - 1, region.y1); y++) {
    const v = Math.min(h - 1, Math.max(0, (y - region.y0 + 0.5) * sy - 0.5));
    const v0 = Math.floor(v);
    const v1 = Math.min(h - 1, v0 + 1);
    const fv = v - v0;
    for (let x = Math.max(0, region.x0); x <= Math.min(columns - 1, region.x1); x++) {
      const u = Math.min(w - 1, Math.max(0, (x - region.x0 + 0.5) * sx - 0.5));
      const u0 = Math.floor(u);
      const u1 = Math.min(w - 1, u0 + 1);
      const fu = u - u0;
      const val = (1 - fv) * ((1 - fu) * cam[v0 * w + u0] + fu * cam[v0 * w + u1]) + fv * ((1 - fu) * cam[v1 * w + u0] + fu * cam[v1 * w + u1]);
      const i = y * columns + x;
      if (val > heat[i]) heat[i] = val;
    }
  }
}
