/**
 * The prepared dataset on disk (ARCHITECTURE "Data flow" item 2) and the bookkeeping that makes a run
 * idempotent and a killed run harmless:
 *
 *   OUT/detect/images/{train,val}/<UID>_<slice>.png     ultralytics layout, 8-bit grey
 *   OUT/detect/labels/{train,val}/<UID>_<slice>.txt     `class cx cy w h` normalised, class = vertebra − 1
 *   OUT/detect/data.yaml                                absolute `path`, train/val, names {0: C1 … 6: C7}
 *   OUT/classify/{train,val}/{normal,fracture}/<UID>_<slice>.png   torchvision ImageFolder layout
 *   OUT/classify-vertebrae/{train,val}/{normal,fracture}/<UID>_<slice>_<Cn>.png
 *                                                       one square crop per vertebra box (crops.ts), ImageFolder
 *   OUT/manifest.jsonl                                  one line per image (see {@link ManifestLine})
 *   OUT/prepare.json                                    summary; written last: its presence means complete
 *   OUT/.prepare/config.json                            options + plan fingerprint (a changed config is refused)
 *   OUT/.prepare/studies/<UID>.json                     per-study completion marker with its manifest lines
 *                                                       and its normal vertebra crops not yet sampled
 *
 * Every file is written atomically (temp + rename). manifest.jsonl, data.yaml and prepare.json are removed
 * when a run starts work and rewritten at its end, so nothing looks complete until everything is.
 */
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic';
import type { FractureBox } from './rsna';
import type { Split } from './split';

/**
 * Which dataset an image belongs to: `detect` (whole slices, vertebra boxes), `classify` (whole slices, the
 * paper's protocol), `classify-vertebrae` (one crop per vertebra box, ARCHITECTURE "Two-stage design").
 */
export type ImageSet = 'detect' | 'classify' | 'classify-vertebrae';

/** Classification label (ImageFolder class folder); index order: normal = 0, fracture = 1. */
export type ClassLabel = 'normal' | 'fracture';

/** Class names of the detection set, index = YOLO class id = mask label − 1. */
export const VERTEBRA_NAMES = ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7'] as const;

/** A vertebra box of a detection image: normalised centre/size (YOLO) and the source-pixel extent. */
export interface ManifestBox {
  class: number;
  name: string;
  /** Normalised to the image width/height, as in the label file. */
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** Extent in source DICOM pixels, inclusive: columns x0…x1, rows y0…y1. */
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** A pixel rectangle of a source slice, inclusive: columns x0…x1, rows y0…y1 (x1 − x0 + 1 pixels wide). */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/**
 * One line of manifest.jsonl: one written image. Every line has image, set, split, study, slice, dicom, width
 * and height; the rest depends on `set`:
 *
 * - `detect`: labels, boxes.
 * - `classify`: label; fractures when label is fracture (all boxes of the slice).
 * - `classify-vertebrae`: label, vertebra, box, crop; fractures when label is fracture (the boxes that made
 *   it one). The PNG is the slice windowed like the other sets, cut to `crop` (pixels outside the slice are
 *   black, 0) and resized (sharp, Lanczos 3) to width × height = --crop-imgsz². A point (x, y) of the slice
 *   lies at ((x − crop.x0) · s, (y − crop.y0) · s) of the PNG, s = width / (crop.x1 − crop.x0 + 1), pixel
 *   edges as coordinates.
 */
export interface ManifestLine {
  /** Path relative to the output folder. */
  image: string;
  set: ImageSet;
  split: Split;
  /** StudyInstanceUID. */
  study: string;
  /** slice_number (the source file name's number). */
  slice: number;
  /** Absolute path of the source DICOM. */
  dicom: string;
  /** Written image size (pixels). */
  width: number;
  height: number;
  /** classify, classify-vertebrae: the ImageFolder class. */
  label?: ClassLabel;
  /**
   * Positives: fracture boxes of train_bounding_boxes.csv (source pixels; x, y = top-left corner). classify:
   * every box of the slice; classify-vertebrae: the boxes whose centre (x + width/2, y + height/2) lies in
   * `box` (edges included, pixel edges as coordinates: box spans [x0, x1 + 1] × [y0, y1 + 1]).
   */
  fractures?: FractureBox[];
  /** classify-vertebrae: which vertebra, "C1" … "C7". */
  vertebra?: string;
  /** classify-vertebrae: the vertebra's box on the slice (mask extent, source pixels, inclusive; as in detect's boxes). */
  box?: PixelBox;
  /**
   * classify-vertebrae: the square cut from the slice (source pixels, inclusive, may extend past the slice):
   * side = round(1.25 × max(box width, box height) + 16), centred on the box centre (within ½ px).
   */
  crop?: PixelBox;
  /** detect: the label file, relative to the output folder. */
  labels?: string;
  /** detect: vertebra boxes (empty for a background slice). */
  boxes?: ManifestBox[];
}

/** Output paths of one slice, relative to the output folder. */
export function imagePaths(split: Split, study: string, slice: number): { detectImage: string; detectLabels: string; classify: (label: ClassLabel) => string; crop: (label: ClassLabel, vertebra: string) => string } {
  const stem = `${study}_${slice}`;
  return {
    detectImage: `detect/images/${split}/${stem}.png`,
    detectLabels: `detect/labels/${split}/${stem}.txt`,
    classify: (label) => `classify/${split}/${label}/${stem}.png`,
    crop: (label, vertebra) => `classify-vertebrae/${split}/${label}/${stem}_${vertebra}.png`,
  };
}

/** A YOLO label file: one `class cx cy w h` line per box, 6 decimals. */
export function labelFileText(boxes: readonly ManifestBox[]): string {
  return boxes.map((b) => `${b.class} ${b.cx.toFixed(6)} ${b.cy.toFixed(6)} ${b.w.toFixed(6)} ${b.h.toFixed(6)}\n`).join('');
}

/** data.yaml for ultralytics: `path` absolute, names as a mapping. With no val images, val = train. */
export function dataYaml(detectDir: string, hasVal: boolean): string {
  return [
    '# written by dicom-ml prepare: cervical vertebrae C1–C7 on axial CT slices (window 500/2000 unless prepare.json says otherwise)',
    `path: ${JSON.stringify(detectDir)}`,
    'train: images/train',
    `val: images/${hasVal ? 'val' : 'train'}${hasVal ? '' : '  # no validation studies (--val 0)'}`,
    `nc: ${VERTEBRA_NAMES.length}`,
    'names:',
    ...VERTEBRA_NAMES.map((n, i) => `  ${i}: ${n}`),
    '',
  ].join('\n');
}

/** The state folder and its files. */
export const STATE_DIR = '.prepare';
const CONFIG = `${STATE_DIR}/config.json`;
const STUDIES = `${STATE_DIR}/studies`;

/** Files that exist only after a complete run. */
export const FINAL_FILES = ['prepare.json', 'manifest.jsonl', 'detect/data.yaml'] as const;

/** The image folders a run owns (replaced with --force). */
export const SET_DIRS = ['detect', 'classify', 'classify-vertebrae'] as const;

/** What decides the output: options and a fingerprint of the plan (split, selected slices, inputs). */
export interface PrepareConfig {
  version: 1;
  rsna: string;
  options: Record<string, unknown>;
  plan: string;
}

/** The stored config, or undefined when the folder has none. */
export async function readConfig(out: string): Promise<PrepareConfig | undefined> {
  try {
    return JSON.parse(await readFile(join(out, CONFIG), 'utf8')) as PrepareConfig;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Store the config (atomically). */
export async function writeConfig(out: string, config: PrepareConfig): Promise<void> {
  await writeFileAtomic(join(out, CONFIG), `${JSON.stringify(config, null, 2)}\n`);
}

/** What differs between a stored config and this run's, one readable phrase each. */
export function configChanges(before: PrepareConfig, now: PrepareConfig): string[] {
  const out: string[] = [];
  if (before.version !== now.version) out.push(`format version ${before.version} → ${now.version}`);
  if (before.rsna !== now.rsna) out.push(`--rsna ${before.rsna} → ${now.rsna}`);
  const keys = new Set([...Object.keys(before.options ?? {}), ...Object.keys(now.options)]);
  for (const k of [...keys].sort()) {
    const a = JSON.stringify(before.options?.[k]);
    const b = JSON.stringify(now.options[k]);
    if (a !== b) out.push(`${k} ${a ?? '(unset)'} → ${b ?? '(unset)'}`);
  }
  if (out.length === 0 && before.plan !== now.plan) out.push('the input data changed (train.csv, train_bounding_boxes.csv or the slice files listed)');
  return out;
}

/** How a study's detection images were decided. */
export interface DetectOutcome {
  /** written: boxes from the mask; skipped: alignment failed or the mask is unusable; none: no segmentation. */
  status: 'written' | 'skipped' | 'none';
  method?: 'affine' | 'z-rule' | 'seg-reference';
  /** Why the detection images were not written (status skipped). */
  reason?: string;
  /** Labelled pixels on bone (HU > boneHU) under the chosen mapping. */
  boneFraction?: number;
  /** Whether the affine and the z-rule mapped the same way (undefined when one was not applicable). */
  affineMatchesRule?: boolean;
  notes?: string[];
}

/** A normal vertebra crop a study could contribute; written only if the run's negative sampling picks it. */
export interface CropCandidate {
  slice: number;
  /** "C1" … "C7". */
  vertebra: string;
  box: PixelBox;
  crop: PixelBox;
}

/** Per-study completion marker: written after all of the study's files. */
export interface StudyMarker {
  study: string;
  split: Split;
  /** Manifest lines of the files the study wrote (classify-vertebrae: positives only). */
  lines: ManifestLine[];
  detect: DetectOutcome;
  /**
   * classify-vertebrae: the study's normal crops (the pool negatives are sampled from once every study is
   * done, crops.ts), and how many were left out of it as unlabelled.
   */
  crops?: { pool: CropCandidate[]; unlabelled: number };
  ms: number;
}

/** Completion markers present (by study UID). */
export async function readMarkers(out: string): Promise<Map<string, StudyMarker>> {
  const dir = join(out, STUDIES);
  const names = await readdir(dir).catch(() => [] as string[]);
  const markers = new Map<string, StudyMarker>();
  for (const name of names) {
    if (!name.endsWith('.json')) continue;
    try {
      const m = JSON.parse(await readFile(join(dir, name), 'utf8')) as StudyMarker;
      if (m && typeof m.study === 'string' && Array.isArray(m.lines)) markers.set(m.study, m);
    } catch {
      // a marker that does not parse is not a completion: the study is redone
    }
  }
  return markers;
}

/** Write a study's completion marker (atomically). */
export async function writeMarker(out: string, marker: StudyMarker): Promise<void> {
  await writeFileAtomic(join(out, STUDIES, `${marker.study}.json`), JSON.stringify(marker));
}

/** Remove every marker (a fresh start of the same folder with --force). */
export async function clearState(out: string): Promise<void> {
  await rm(join(out, STATE_DIR), { recursive: true, force: true });
}

/** The folders images and labels go into. */
export function outputDirs(): string[] {
  const dirs: string[] = [];
  for (const split of ['train', 'val']) {
    dirs.push(`detect/images/${split}`, `detect/labels/${split}`, `classify/${split}/normal`, `classify/${split}/fracture`,
      `classify-vertebrae/${split}/normal`, `classify-vertebrae/${split}/fracture`);
  }
  return dirs;
}

/**
 * Delete files under the image/label folders that no manifest line names (left by a killed run or by a
 * study that failed since), and stray temp files. Returns how many were removed. Touches nothing else.
 */
export async function sweepOrphans(out: string, keep: ReadonlySet<string>): Promise<number> {
  let removed = 0;
  for (const dir of outputDirs()) {
    const names = await readdir(join(out, dir)).catch(() => [] as string[]);
    for (const name of names) {
      const rel = `${dir}/${name}`;
      if (keep.has(rel)) continue;
      if (!/\.(png|txt|tmp)$/.test(name)) continue;
      await rm(join(out, rel), { force: true });
      removed++;
    }
  }
  return removed;
}

/** Write manifest.jsonl (atomically). */
export async function writeManifest(out: string, lines: readonly ManifestLine[]): Promise<void> {
  await writeFileAtomic(join(out, 'manifest.jsonl'), lines.map((l) => `${JSON.stringify(l)}\n`).join(''));
}
