/** Run a YOLO detection export on one grey image (pre-processing, session, decode + NMS, boxes back in that image's pixels). */
import type { DetectorSpec } from './model';
import { loadOrt, type LoadedModel } from './session';
import { decodeYolo, detectionsToSource, detectorInput, type Detection, type NmsOptions } from './yolo';

/**
 * Detections on a width×height grey image (e.g. a prepared detect PNG), xyxy in its pixels, highest
 * confidence first — what ultralytics `predict` returns for the same image and settings.
 */
export async function detectImage(model: LoadedModel, gray: Uint8Array, width: number, height: number, nms: NmsOptions): Promise<Detection[]> {
  const spec = model.spec as DetectorSpec;
  const [ih, iw] = spec.imgsz;
  const { tensor, lb } = detectorInput(gray, width, height, iw, ih, spec.pad);
  const ort = await loadOrt();
  const res = await model.session.run({ [spec.inputName]: new ort.Tensor('float32', tensor, [1, 3, ih, iw]) });
  try {
    const t = res[spec.outputName] ?? Object.values(res)[0];
    const [, ch, n] = t.dims;
    const nc = ch - 4;
    if (nc !== spec.names.length) throw new Error(`${spec.path}: output has ${nc} classes, the names list ${spec.names.length}`);
    return detectionsToSource(decodeYolo(t.data as Float32Array, nc, n, nms), lb);
  } finally {
    for (const v of Object.values(res)) v.dispose?.();
  }
}
