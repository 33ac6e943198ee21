/**
 * `eval detect`: build the per-image truth and predictions that the metrics (src/core/metrics/detection)
 * score — from a detector run over a dataset's split (the prepared PNGs, pre-processed as ultralytics
 * `predict` does: inference/detector.ts), or from YOLO txt files of labels and predictions.
 */
import { readdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { decodeGrayPng } from '../inference/input';
import { detectImage } from '../inference/detector';
import type { LoadedModel } from '../inference/session';
import type { NmsOptions } from '../inference/yolo';
import type { DetectionImage } from '../metrics/detection';
import { IMAGE_EXTENSIONS, labelPathFor, parseYoloTxt, readTxtOrEmpty, type TxtBox } from './yoloData';

/**
 * ultralytics `val` settings: conf 0.001 (the validator's default when none is given), iou 0.7, max_det 300,
 * and multi_label NMS (models/yolo/detect/val.py postprocess).
 */
export const VAL_DEFAULTS: NmsOptions = { conf: 0.001, iou: 0.7, maxDet: 300, multiLabel: true };

/** Progress and cancellation of a long run. */
export interface RunControl {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
}

/** Label rows with exact duplicates removed (ultralytics verify_image_label drops them with a warning). */
export function dedupeLabels(rows: TxtBox[]): { rows: TxtBox[]; removed: number } {
  const seen = new Set<string>();
  const out = rows.filter((r) => {
    const k = `${r.cls} ${r.box.join(' ')}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { rows: out, removed: rows.length - out.length };
}

/** Truth of an image from its label file (missing file = no boxes). */
async function truthOf(image: string, width: number, height: number, nc: number): Promise<{ rows: TxtBox[]; removed: number }> {
  const file = labelPathFor(image);
  return dedupeLabels(parseYoloTxt(await readTxtOrEmpty(file), file, width, height, false, nc));
}

/**
 * Run `model` over `images` (PNG/JPEG files) and pair each with its labels. Two images are decoded ahead
 * while the model runs. Grey images only: a colour image is reduced to grey (the detector was trained on
 * grey CT).
 */
export async function modelDetections(model: LoadedModel, images: readonly string[], names: readonly string[], nms: NmsOptions, c: RunControl = {}): Promise<{ images: DetectionImage[]; duplicatesRemoved: number }> {
  const out: DetectionImage[] = [];
  let duplicatesRemoved = 0;
  const decode = (p: string) => import('node:fs/promises').then((fs) => fs.readFile(p)).then((b) => decodeGrayPng(b)).catch((err: Error) => {
    throw new Error(`${p}: cannot read the image (${err.message.split('\n')[0]})`);
  });
  const ahead: Promise<Awaited<ReturnType<typeof decodeGrayPng>>>[] = [];
  const queue = (k: number) => {
    if (k < images.length) {
      const p = decode(images[k]);
      p.catch(() => undefined);
      ahead.push(p);
    }
  };
  queue(0);
  queue(1);
  for (let k = 0; k < images.length; k++) {
    if (c.signal?.aborted) throw new Error('cancelled');
    const img = await (ahead.shift() as (typeof ahead)[number]);
    queue(k + 2);
    const dets = await detectImage(model, img.gray, img.width, img.height, nms);
    const t = await truthOf(images[k], img.width, img.height, names.length);
    duplicatesRemoved += t.removed;
    out.push({ image: images[k], width: img.width, height: img.height, truth: t.rows.map((r) => ({ cls: r.cls, box: r.box })), predictions: dets.map((d) => ({ cls: d.cls, conf: d.conf, box: d.box })) });
    c.onProgress?.(k + 1, images.length);
  }
  return { images: out, duplicatesRemoved };
}

/**
 * Labels and predictions from two folders of YOLO txt files (same stem per image; an image with a label file
 * and no prediction file has no predictions, and the other way round no truth). Pixel sizes: from the image
 * beside the labels (ultralytics layout …/images/… for …/labels/…) when `sizeOf` finds it, else `fallback`.
 */
export async function fileDetections(labelsDir: string, predictionsDir: string, names: readonly string[], sizeOf: (stem: string) => Promise<{ width: number; height: number } | undefined>, fallback: { width: number; height: number }): Promise<{ images: DetectionImage[]; duplicatesRemoved: number; sized: number }> {
  const list = async (d: string) => {
    try {
      return (await readdir(d)).filter((n) => extname(n) === '.txt').map((n) => basename(n, '.txt'));
    } catch (err) {
      throw new Error(`${d}: cannot read the folder (${(err as NodeJS.ErrnoException).code})`);
    }
  };
  const stems = [...new Set([...(await list(labelsDir)), ...(await list(predictionsDir))])].sort();
  const out: DetectionImage[] = [];
  let duplicatesRemoved = 0;
  let sized = 0;
  for (const stem of stems) {
    const size = await sizeOf(stem);
    if (size) sized++;
    const { width, height } = size ?? fallback;
    const lf = join(labelsDir, `${stem}.txt`);
    const pf = join(predictionsDir, `${stem}.txt`);
    const t = dedupeLabels(parseYoloTxt(await readTxtOrEmpty(lf), lf, width, height, false, names.length));
    duplicatesRemoved += t.removed;
    const p = parseYoloTxt(await readTxtOrEmpty(pf), pf, width, height, true, names.length);
    out.push({ image: stem, width, height, truth: t.rows.map((r) => ({ cls: r.cls, box: r.box })), predictions: p.map((r) => ({ cls: r.cls, box: r.box, conf: r.conf as number })) });
  }
  return { images: out, duplicatesRemoved, sized };
}

/** An image's size read from its header (sharp metadata), undefined when it cannot be read. */
export async function imageSize(path: string): Promise<{ width: number; height: number } | undefined> {
  const { default: sharp } = await import('sharp');
  try {
    const m = await sharp(path).metadata();
    return m.width && m.height ? { width: m.width, height: m.height } : undefined;
  } catch {
    return undefined;
  }
}

/** The image file of `stem` in `dir` (any ultralytics image extension), or undefined. */
export async function findImage(dir: string, stem: string, names?: Set<string>): Promise<string | undefined> {
  const have = names ?? new Set(await readdir(dir).catch(() => [] as string[]));
  for (const ext of IMAGE_EXTENSIONS) if (have.has(`${stem}${ext}`)) return join(dir, `${stem}${ext}`);
  return undefined;
}
