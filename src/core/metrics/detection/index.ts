/**
 * Detection metrics: one entry point, two protocols that reproduce their references exactly.
 *
 * - `ultralytics`: ultralytics 8.4.190 `yolo val` (match_predictions + ap_per_class). One caveat that
 *   is ultralytics', not ours: ap_per_class sorts with `np.argsort(-conf)`, which is not stable, and numpy
 *   2.x picks the sort by CPU (x86-simd-sort on AVX-512 / AVX2, introsort elsewhere). With equal
 *   confidences across predictions the reference's own AP then differs between machines. We reproduce
 *   numpy's portable introsort, i.e. ultralytics on CPUs without AVX2 (and on ARM); without ties every
 *   sort agrees.
 * - `coco`: pycocotools 2.0.11 COCOeval, bbox, maxDets [1, 10, 100] (stable mergesort: no such caveat).
 */
import { evaluateCoco } from './coco';
import { packDetections, type DetectionImage, type DetectionMetrics, type DetectionProtocol } from './types';
import { evaluateUltralytics } from './ultralytics';

export * from './types';
export { detectionRecords, type DetectionRecord, type DetectionRecordKind, type DetectionRecordOptions } from './records';
export { COCO_STAT_NAMES } from './coco';

/**
 * Evaluate detections over a data set. `names[i]` is class i's name; every class id must be in
 * 0..names.length-1. Throws an Error naming the image on invalid input (class out of range, non-finite
 * or inverted box, confidence outside [0, 1]). Computes only: no plotting, no files.
 * Protocol coco with no truth at all gives -1 for mAP50 / mAP50_95, as COCOeval.stats does.
 */
export function evaluateDetection(images: readonly DetectionImage[], names: readonly string[], protocol: DetectionProtocol): DetectionMetrics {
  if (protocol !== 'ultralytics' && protocol !== 'coco') throw new Error(`unknown detection protocol ${JSON.stringify(protocol)} (expected ultralytics or coco)`);
  if (!Array.isArray(images)) throw new Error('images must be an array');
  const packed = packDetections(images, names);
  return protocol === 'coco' ? evaluateCoco(packed, names) : evaluateUltralytics(packed, names);
}
