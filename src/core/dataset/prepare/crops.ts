/**
 * The vertebra-crop classification set (ARCHITECTURE "Two-stage design": the classifier looks at what the
 * detector found): OUT/classify-vertebrae/{train,val}/{normal,fracture}/<UID>_<slice>_<Cn>.png, one crop per
 * vertebra box of every detection slice.
 *
 * - Crop rule (measured in ARCHITECTURE "Default classifier on CPU"): a square of side
 *   round(1.25 × max(w, h) + 16) source pixels centred on the box centre, cut from the windowed slice,
 *   black (0) outside the slice, resized to --crop-imgsz (sharp, the PNG path of the other sets).
 * - Label rule: fracture when the centre of a fracture box of that slice (train_bounding_boxes.csv) lies
 *   inside the vertebra box (edges included). The centre, not an overlap share, because RSNA boxes are drawn
 *   around the fracture line with a margin that may leave the vertebra's mask extent; the phantom's boxes are
 *   built so that their centre pixel carries the fractured vertebra's label. A box centred where two vertebra
 *   boxes overlap (C1's ring around C2's dens) makes both positive: the crop shows the fracture either way.
 * - Negatives: positives are all kept; normal crops are undersampled per split, after every study is done,
 *   to round(positives × --neg-ratio), matched by vertebra level (largest-remainder quotas per level,
 *   seeded draws per level; a level short of normal crops is topped up from the other levels), from every
 *   study or only healthy ones (--neg-from), like classify/. Normal crops of a vertebra that train.csv calls
 *   fractured while no fracture box of the study falls in it are left out (unlabelled: the fracture is on it
 *   somewhere, unmarked).
 */
import { join } from 'node:path';
import { encodeGray8Png } from '../../dicom/decodePool';
import type { Window } from '../../dicom/voi';
import { writeFileAtomic } from '../../io/atomic';
import type { LabelBox } from './maskMap';
import { imagePaths, VERTEBRA_NAMES, type ClassLabel, type CropCandidate, type ManifestLine, type PixelBox, type StudyMarker } from './output';
import type { DatasetPlan, NegativeSource } from './plan';
import type { FractureBox } from './rsna';
import type { SliceSource } from './slices';
import { sampleIndices, seededRandom, type Split } from './split';

/** Crop side = CROP_SCALE × max(w, h) + CROP_MARGIN_PX (source pixels, rounded). */
export const CROP_SCALE = 1.25;
export const CROP_MARGIN_PX = 16;

/** The rules in words, for prepare.json. */
export const CROP_RULES = {
  crop: 'square, side = round(1.25 * max(w, h) + 16) source pixels, centred on the vertebra box centre; black outside the slice; resized to cropImgsz',
  label: 'fracture when the centre of a fracture box of the slice lies inside the vertebra box (edges included), else normal',
  negatives: 'per split: round(positives * negRatio) normal crops, level-matched (largest-remainder quota per vertebra, seeded; a short level is topped up from the others); from all studies or only healthy ones (negFrom); crops of a vertebra train.csv calls fractured while no fracture box of the study falls in it are left out (unlabelled)',
} as const;

/**
 * The crop square of a vertebra box (inclusive pixels; may extend past the slice). `rule`: another scale and
 * margin (a model card's `input.crop`); prepare's own by default.
 */
export function cropSquare(box: PixelBox, rule: { scale: number; padPx: number } = { scale: CROP_SCALE, padPx: CROP_MARGIN_PX }): PixelBox {
  const side = Math.round(rule.scale * Math.max(box.x1 - box.x0 + 1, box.y1 - box.y0 + 1) + rule.padPx);
  // Centre in pixel-edge coordinates is (x0 + x1 + 1) / 2; the origin is rounded to a whole pixel (≤ ½ px off).
  const x0 = Math.floor((box.x0 + box.x1 + 1 - side) / 2 + 0.5);
  const y0 = Math.floor((box.y0 + box.y1 + 1 - side) / 2 + 0.5);
  return { x0, y0, x1: x0 + side - 1, y1: y0 + side - 1 };
}

/** The fracture boxes whose centre lies inside `box` (pixel edges as coordinates: [x0, x1 + 1] × [y0, y1 + 1]). */
export function fracturesIn(box: PixelBox, fractures: readonly FractureBox[]): FractureBox[] {
  return fractures.filter((f) => {
    const cx = f.x + f.width / 2;
    const cy = f.y + f.height / 2;
    return cx >= box.x0 && cx <= box.x1 + 1 && cy >= box.y0 && cy <= box.y1 + 1;
  });
}

/** Cut `crop` out of a rows×columns grey image; pixels outside the image are 0. Returns side×side bytes. */
export function cutCrop(gray: Uint8Array, rows: number, columns: number, crop: PixelBox): Uint8Array {
  const w = crop.x1 - crop.x0 + 1;
  const h = crop.y1 - crop.y0 + 1;
  const out = new Uint8Array(w * h);
  const c0 = Math.max(0, crop.x0);
  const c1 = Math.min(columns - 1, crop.x1);
  if (c1 < c0) return out;
  for (let r = Math.max(0, crop.y0); r <= Math.min(rows - 1, crop.y1); r++) {
    out.set(gray.subarray(r * columns + c0, r * columns + c1 + 1), (r - crop.y0) * w + (c0 - crop.x0));
  }
  return out;
}

/** The crop's PNG: cut, then size×size 8-bit grey (the PNG encoder of the other sets). */
export function encodeCrop(gray: Uint8Array, rows: number, columns: number, crop: PixelBox, size: number, level: number): Promise<Buffer> {
  const side = crop.x1 - crop.x0 + 1;
  return encodeGray8Png(cutCrop(gray, rows, columns, crop), side, side, { width: size, height: size, level });
}

/** A key that is equal for crops with equal pixels (same slice, same square). */
export function cropKey(k: number, crop: PixelBox): string {
  return `${k}:${crop.x0},${crop.y0},${crop.x1},${crop.y1}`;
}

/** One vertebra box of a slice, with its crop and the fracture boxes inside it. */
export interface CropItem {
  /** Slice index (slice_number order) and slice_number. */
  k: number;
  slice: number;
  vertebra: string;
  box: PixelBox;
  crop: PixelBox;
  /** Fracture boxes whose centre is inside `box` (non-empty: a positive). */
  fractures: FractureBox[];
}

/** Every vertebra box of the slices `boxes` (per slice index) as a crop item. */
export function cropItems(boxes: readonly LabelBox[][], slices: readonly { number: number }[], fractures: ReadonlyMap<number, readonly FractureBox[]>): CropItem[] {
  const items: CropItem[] = [];
  boxes.forEach((list, k) => {
    const slice = slices[k].number;
    for (const b of list) {
      const box = { x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1 };
      items.push({ k, slice, vertebra: VERTEBRA_NAMES[b.label - 1], box, crop: cropSquare(box), fractures: fracturesIn(box, fractures.get(slice) ?? []) });
    }
  });
  return items;
}

/**
 * The vertebrae whose normal crops cannot be trusted: train.csv flags them (`flags[i]` for C(i + 1)) but no
 * fracture box of the study falls in them on any slice.
 */
export function unlabelledLevels(items: readonly CropItem[], flags: readonly number[]): Set<string> {
  const boxed = new Set(items.filter((i) => i.fractures.length > 0).map((i) => i.vertebra));
  return new Set(VERTEBRA_NAMES.filter((name, i) => flags[i] === 1 && !boxed.has(name)));
}

/** The manifest line of a crop (the one place its contract is written; see ManifestLine). */
export function cropLine(c: { split: Split; study: string; slice: number; dicom: string; vertebra: string; box: PixelBox; crop: PixelBox; label: ClassLabel; fractures?: FractureBox[]; size: number }): ManifestLine {
  return {
    image: imagePaths(c.split, c.study, c.slice).crop(c.label, c.vertebra), set: 'classify-vertebrae', split: c.split, study: c.study, slice: c.slice, dicom: c.dicom,
    width: c.size, height: c.size, label: c.label, vertebra: c.vertebra, box: { ...c.box }, crop: { ...c.crop },
    ...(c.label === 'fracture' ? { fractures: c.fractures ?? [] } : {}),
  };
}

/** A normal crop of a finished study, ready to be picked as a negative. */
export interface PoolEntry extends CropCandidate {
  study: string;
  dicom: string;
}

/**
 * Pick the negatives of one split: round(Σ positives × ratio) entries of `pool`, level-matched. Quotas per
 * level: positives × ratio, floored, the remainder handed out by largest fraction (ties: C1 first); each level
 * draws its quota from its own normal crops (seeded by seed, split and level); what a level lacks is drawn from
 * the crops left over at every level. The result is in pool order (study, slice, vertebra); independent of the
 * order `pool` is given in.
 */
export function pickNegatives(positives: ReadonlyMap<string, number>, pool: readonly PoolEntry[], ratio: number, seed: number, split: Split): PoolEntry[] {
  const order = (a: PoolEntry, b: PoolEntry) => (a.study < b.study ? -1 : a.study > b.study ? 1 : a.slice - b.slice || VERTEBRA_NAMES.indexOf(a.vertebra as never) - VERTEBRA_NAMES.indexOf(b.vertebra as never));
  const sorted = [...pool].sort(order);
  const exact = VERTEBRA_NAMES.map((name) => (positives.get(name) ?? 0) * ratio);
  const quota = exact.map(Math.floor);
  const total = Math.round(exact.reduce((a, b) => a + b, 0));
  const byFraction = VERTEBRA_NAMES.map((_, i) => i).sort((a, b) => (exact[b] - quota[b]) - (exact[a] - quota[a]) || a - b);
  for (let i = 0, left = total - quota.reduce((a, b) => a + b, 0); left > 0 && i < byFraction.length; i++, left--) quota[byFraction[i]]++;
  const chosen = new Set<PoolEntry>();
  let short = 0;
  VERTEBRA_NAMES.forEach((name, i) => {
    const mine = sorted.filter((e) => e.vertebra === name);
    for (const j of sampleIndices(mine.length, quota[i], seededRandom(seed, 'crop-negatives', split, name))) chosen.add(mine[j]);
    short += Math.max(0, quota[i] - mine.length);
  });
  const rest = sorted.filter((e) => !chosen.has(e));
  for (const j of sampleIndices(rest.length, short, seededRandom(seed, 'crop-negatives', split, 'rest'))) chosen.add(rest[j]);
  return sorted.filter((e) => chosen.has(e));
}

/** What writing the sampled negatives needs. */
export interface NegativeWriter {
  out: string;
  window: Window;
  size: number;
  level: number;
  source: SliceSource;
  limit<T>(task: () => Promise<T>): Promise<T>;
  /** Whether a file is already there (a rerun after a kill: the bytes would be the same). */
  exists(rel: string): Promise<boolean>;
}

/**
 * Write the negatives' PNGs that are not on disk yet, decoding each slice once (windowed like the other
 * sets). Returns how many files were written. A slice that no longer decodes rejects with its DicomError.
 */
export async function writeNegatives(lines: readonly ManifestLine[], w: NegativeWriter): Promise<number> {
  const missing: ManifestLine[] = [];
  for (const l of lines) if (!(await w.exists(l.image))) missing.push(l);
  const bySlice = new Map<string, ManifestLine[]>();
  for (const l of missing) bySlice.set(l.dicom, [...(bySlice.get(l.dicom) ?? []), l]);
  let written = 0;
  await Promise.all([...bySlice].map(([dicom, mine]) => w.limit(async () => {
    const { info, gray } = await w.source.decode(dicom, { window: w.window, values: false, png: [], gray: true });
    const pngs = await Promise.all(mine.map((l) => encodeCrop(gray as Uint8Array, info.rows, info.columns, l.crop as PixelBox, w.size, w.level)));
    await Promise.all(mine.map((l, i) => writeFileAtomic(join(w.out, l.image), pngs[i])));
    written += mine.length;
  })));
  return written;
}

/** classify-vertebrae/ of one split in detail. */
export interface CropSplitCounts {
  /** Per vertebra C1…C7: crops written (fracture, normal) and the normal crops there were to sample from. */
  levels: Record<string, { fracture: number; normal: number; pool: number }>;
  /** Normal crops left out of the pool: their vertebra is fractured per train.csv but has no fracture box. */
  unlabelled: number;
}

/** The split's finished studies whose normal crops may be negatives (--neg-from), with their markers. */
function poolStudies(plan: DatasetPlan, finished: ReadonlyMap<string, StudyMarker>, split: Split, negFrom: NegativeSource) {
  return plan.studies.filter((p) => p.split === split && finished.has(p.study.uid) && (negFrom === 'all' || p.study.patientOverall === 0))
    .map((p) => ({ plan: p, marker: finished.get(p.study.uid) as StudyMarker }));
}

/** classify-vertebrae negatives of both splits: {@link pickNegatives} over the pools of the finished studies. */
export function cropNegatives(plan: DatasetPlan, finished: ReadonlyMap<string, StudyMarker>, o: { negRatio: number; negFrom: NegativeSource; seed: number; cropImgsz: number }): ManifestLine[] {
  const out: ManifestLine[] = [];
  for (const split of ['train', 'val'] as const) {
    const positives = new Map<string, number>();
    for (const p of plan.studies) {
      if (p.split !== split) continue;
      for (const l of finished.get(p.study.uid)?.lines ?? []) {
        if (l.set === 'classify-vertebrae' && l.label === 'fracture') positives.set(l.vertebra as string, (positives.get(l.vertebra as string) ?? 0) + 1);
      }
    }
    const pool: PoolEntry[] = [];
    for (const { plan: p, marker } of poolStudies(plan, finished, split, o.negFrom)) {
      const paths = new Map(p.study.slices.map((s) => [s.number, s.path]));
      for (const c of marker.crops?.pool ?? []) pool.push({ ...c, study: p.study.uid, dicom: paths.get(c.slice) as string });
    }
    for (const e of pickNegatives(positives, pool, o.negRatio, o.seed, split)) {
      out.push(cropLine({ split, study: e.study, slice: e.slice, dicom: e.dicom, vertebra: e.vertebra, box: e.box, crop: e.crop, label: 'normal', size: o.cropImgsz }));
    }
  }
  return out;
}

/** prepare.json's crop counts per split and vertebra. */
export function cropCounts(plan: DatasetPlan, finished: ReadonlyMap<string, StudyMarker>, lines: readonly ManifestLine[], negFrom: NegativeSource): Record<Split, CropSplitCounts> {
  const out = {} as Record<Split, CropSplitCounts>;
  for (const split of ['train', 'val'] as const) {
    const levels: CropSplitCounts['levels'] = Object.fromEntries(VERTEBRA_NAMES.map((n) => [n, { fracture: 0, normal: 0, pool: 0 }]));
    for (const l of lines) if (l.split === split && l.set === 'classify-vertebrae') levels[l.vertebra as string][l.label as 'normal' | 'fracture']++;
    let unlabelled = 0;
    for (const { marker } of poolStudies(plan, finished, split, negFrom)) {
      for (const c of marker.crops?.pool ?? []) levels[c.vertebra].pool++;
      unlabelled += marker.crops?.unlabelled ?? 0;
    }
    out[split] = { levels, unlabelled };
  }
  return out;
}
