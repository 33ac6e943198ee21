/**
 * One study, start to finish: map its segmentation onto its slices (maskMap.ts), decode every slice it
 * needs once (classification positives/negatives, vertebra slices, optional background slices), window and
 * encode each at the sizes it is needed at (and cut the positive vertebra crops, crops.ts), verify the mask
 * alignment from the data (labelled pixels on bone), then write the files atomically and a completion marker
 * last. Nothing is written before every slice has decoded, so a corrupt slice skips the study without leaving
 * part of it behind. The study's normal vertebra crops go into its marker, not to disk: which of them are
 * written is decided across the split once every study is done (prepare.ts).
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DicomError, describeThrown, formatUserError } from '../../dicom/errors';
import { readNifti, type NiftiVolume } from '../../dicom/nifti';
import { segLabelVolume } from './segMask';
import { scanSeries } from '../../dicom/series';
import type { Window } from '../../dicom/voi';
import { writeFileAtomic } from '../../io/atomic';
import { cropItems, cropKey, cropLine, encodeCrop, unlabelledLevels, type CropItem } from './crops';
import {
  affineMapping, boneCount, flipSliceAxis, labelBoxes, labelVolume, sameMapping, sampleSlice, zRuleMapping,
  type LabelBox, type LabelVolume, type MaskMapping, type SliceGeometry,
} from './maskMap';
import {
  imagePaths, labelFileText, VERTEBRA_NAMES, writeMarker,
  type CropCandidate, type DetectOutcome, type ManifestBox, type ManifestLine, type PixelBox, type StudyMarker,
} from './output';
import type { StudyPlan } from './plan';
import type { RsnaStudy } from './rsna';
import { fitSize, type PngSpec, type SliceSource } from './slices';
import { sampleIndices, seededRandom } from './split';

/** Settings a study needs. */
export interface StudySettings {
  out: string;
  window: Window;
  imgsz: number;
  clsImgsz: number;
  bgRatio: number;
  seed: number;
  boneHU: number;
  minBoneFraction: number;
  pngLevel: number;
  /** Vertebra crop size (square). */
  cropImgsz: number;
  /** Vertebra boxes whose longer side is under this many source pixels are dropped (0: none). */
  minBox: number;
}

/** Shared by all studies of a run: the decoder and a limit on slices in flight. */
export interface StudyRuntime {
  source: SliceSource;
  /** Run `task` when a slot is free (bounds decoded slices held in memory). */
  limit<T>(task: () => Promise<T>): Promise<T>;
  /** Called after each decoded slice, and with a corrected estimate of this study's slice count. */
  onSlice(study: string, done: number, total: number): void;
}

/** A study that could not be prepared at all (unreadable slice, …). */
export class StudyFailure extends Error {
  override readonly name = 'StudyFailure';
}

/** A mapping under verification: its alignment statistic, and the same with the mask's slice axis reversed (a diagnosis). */
export interface BoneCandidate {
  mapping: MaskMapping;
  bone: { labelled: number; onBone: number };
  flipped: MaskMapping;
  flippedBone: { labelled: number; onBone: number };
}

interface Candidate extends BoneCandidate {
  /** Boxes of labels 1–7 per slice index (slice_number order), those under --min-box dropped. */
  boxes: LabelBox[][];
  /** Every box of `boxes` as a vertebra crop. */
  crops: CropItem[];
}

interface DetectPlan {
  volume: LabelVolume;
  candidates: Candidate[];
  /** Slice indices to decode for detection (labelled under any candidate) and background ones. */
  slices: Set<number>;
  background: Set<number>;
  /** Per slice index: the distinct crop squares of positives under any candidate (cut while decoding). */
  positiveCrops: Map<number, Map<string, PixelBox>>;
  outcome: DetectOutcome;
  rows: number;
  columns: number;
}

const pct = (b: { labelled: number; onBone: number }) => (b.labelled ? `${Math.round((100 * b.onBone) / b.labelled)}%` : 'n/a');

/**
 * Geometry of a study's slices (slice_number order) from a header scan of its folder. Throws StudyFailure
 * naming up to three slices that cannot be read, or a slice the scan did not find.
 */
export async function studyGeometry(study: RsnaStudy): Promise<SliceGeometry[]> {
  const scan = await scanSeries(study.dir, { concurrency: 8 });
  const byPath = new Map(scan.series.flatMap((s) => s.entries).map((e) => [e.path, e.info]));
  const bad = scan.skipped.filter((k) => study.slices.some((s) => s.path === k.path));
  if (bad.length > 0) {
    const number = (path: string) => study.slices.find((s) => s.path === path)?.number;
    throw new StudyFailure(bad.slice(0, 3).map((b) => `slice ${number(b.path)}: ${b.reason}`).join('; ') + (bad.length > 3 ? ` (and ${bad.length - 3} more)` : ''));
  }
  return study.slices.map((s) => {
    const info = byPath.get(s.path);
    if (!info) throw new StudyFailure(`slice ${s.number}: not found by the header scan`);
    return { number: s.number, rows: info.rows, columns: info.columns, sopInstanceUID: info.sopInstanceUID, imagePositionPatient: info.imagePositionPatient, imageOrientationPatient: info.imageOrientationPatient, pixelSpacing: info.pixelSpacing };
  });
}

/** The mappings of a segmentation worth verifying: the affine (when it agrees with the DICOM) and the z-rule (unless it picks the same voxels). */
export interface SegmentationMappings {
  volume: LabelVolume;
  /** One or two, the affine first; the caller verifies each from the data (labelled pixels on bone). */
  mappings: MaskMapping[];
  /** Whether the affine and the z-rule pick the same voxels (undefined when either is missing). */
  affineMatchesRule?: boolean;
  notes: string[];
  rows: number;
  columns: number;
}

/**
 * Read a segmentation and map it onto the slices (`geometry` in slice_number order): the NIfTI affine
 * cross-checked against the DICOM geometry, and the z-rule fallback (maskMap.ts); a DICOM SEG (.dcm) by its
 * frames' references (segMask.ts). Returns the reason (and
 * notes) instead when the file is unreadable or no method applies.
 */
export async function mapSegmentation(segmentation: string, geometry: readonly SliceGeometry[]): Promise<SegmentationMappings | { reason: string; notes?: string[] }> {
  if (/\.dcm$/i.test(segmentation)) {
    const seg = await segLabelVolume(segmentation, geometry);
    return 'reason' in seg ? seg : { volume: seg.volume, mappings: [seg.mapping], notes: seg.notes, rows: seg.rows, columns: seg.columns };
  }
  let volume: LabelVolume;
  let nifti: NiftiVolume;
  try {
    nifti = await readNifti(segmentation);
    volume = labelVolume(nifti);
  } catch (err) {
    return { reason: `segmentation unreadable: ${formatUserError(err)}` };
  }
  const affine = affineMapping(nifti, geometry);
  const rule = zRuleMapping(nifti, geometry);
  const notes = [...affine.notes.map((n) => `affine: ${n}`), ...rule.notes.map((n) => `z-rule: ${n}`)];
  if (geometry.length === 0) return { reason: 'no slices', notes };
  const { rows, columns } = geometry[0];
  const mappings: MaskMapping[] = [];
  let affineMatchesRule: boolean | undefined;
  if (affine.mapping) mappings.push(affine.mapping);
  else notes.push(`affine disagrees with the DICOM geometry: ${affine.why}`);
  if (rule.mapping) {
    affineMatchesRule = affine.mapping ? sameMapping(affine.mapping, rule.mapping, rows, columns) : undefined;
    if (!affineMatchesRule) mappings.push(rule.mapping);
  } else notes.push(`z-rule not applicable: ${rule.why}`);
  if (mappings.length === 0) return { reason: `no usable mapping (affine: ${affine.why}; z-rule: ${rule.why})`, notes };
  return { volume, mappings, affineMatchesRule, notes, rows, columns };
}

/** Map the mask onto the slices; an unusable mask gives `outcome.status = 'skipped'` with the reason. */
async function planDetection(plan: StudyPlan, settings: StudySettings): Promise<DetectPlan | DetectOutcome> {
  const study = plan.study;
  const geometry = await studyGeometry(study);
  const mapped = await mapSegmentation(study.segmentation as string, geometry);
  if ('reason' in mapped) return { status: 'skipped', reason: mapped.reason, ...(mapped.notes ? { notes: mapped.notes } : {}) };
  const { volume, mappings, affineMatchesRule, notes, rows, columns } = mapped;
  const labels = new Uint8Array(rows * columns);
  // --min-box: a slice grazing an end plate gives a sliver box (ARCHITECTURE "Default detector on CPU").
  // Such a box leaves the labels and the crops; a slice left with none is not a detection image, nor a
  // background one (it is not free of vertebrae).
  const touched = new Set<number>();
  const big = (b: LabelBox) => Math.max(b.x1 - b.x0 + 1, b.y1 - b.y0 + 1) >= settings.minBox;
  const candidates: Candidate[] = mappings.map((mapping) => {
    const all = mapping.slices.map((m) => labelBoxes(sampleSlice(volume, m, rows, columns, labels), rows, columns));
    all.forEach((b, k) => { if (b.length > 0) touched.add(k); });
    const boxes = settings.minBox > 0 ? all.map((list) => list.filter(big)) : all;
    const crops = cropItems(boxes, study.slices, study.fractures);
    return { mapping, boxes, crops, bone: { labelled: 0, onBone: 0 }, flipped: flipSliceAxis(mapping, volume.dims), flippedBone: { labelled: 0, onBone: 0 } };
  });
  const slices = new Set<number>();
  for (const c of candidates) c.boxes.forEach((b, k) => { if (b.length > 0) slices.add(k); });
  const background = new Set<number>();
  const labelled = candidates[0].boxes.filter((b) => b.length > 0).length;
  const want = Math.round(labelled * settings.bgRatio);
  if (want > 0) {
    const empty = study.slices.map((_, k) => k).filter((k) => !touched.has(k));
    for (const i of sampleIndices(empty.length, want, seededRandom(settings.seed, 'background', study.uid))) background.add(empty[i]);
  }
  const positiveCrops = new Map<number, Map<string, PixelBox>>();
  for (const c of candidates) {
    for (const item of c.crops) {
      if (item.fractures.length === 0) continue;
      const mine = positiveCrops.get(item.k) ?? new Map<string, PixelBox>();
      mine.set(cropKey(item.k, item.crop), item.crop);
      positiveCrops.set(item.k, mine);
    }
  }
  return { volume, candidates, slices, background, positiveCrops, rows, columns, outcome: { status: 'written', affineMatchesRule, notes } };
}

/**
 * Add slice `k`'s alignment statistic to every candidate, under its mapping and under the flipped one. `values`:
 * the slice's modality values (HU), rows×columns, row-major. The statistic needs no full resolution: every
 * step-th row and column (~128² samples).
 */
export function tallyBone(candidates: readonly BoneCandidate[], volume: LabelVolume, k: number, values: ArrayLike<number>, rows: number, columns: number, boneHU: number): void {
  const step = Math.max(1, Math.floor(Math.min(rows, columns) / 128));
  for (const c of candidates) {
    for (const [map, into] of [[c.mapping, c.bone], [c.flipped, c.flippedBone]] as const) {
      const b = boneCount(volume, map.slices[k], values, rows, columns, boneHU, step);
      into.labelled += b.labelled;
      into.onBone += b.onBone;
    }
  }
}

/**
 * Choose the first mapping whose labelled pixels sit on bone (≥ `minBoneFraction` above `boneHU`, tallied by
 * {@link tallyBone}); else the reason to skip detection.
 */
export function alignmentVerdict<C extends BoneCandidate>(candidates: readonly C[], settings: { boneHU: number; minBoneFraction: number }): C | string {
  for (const c of candidates) {
    if (c.bone.labelled > 0 && c.bone.onBone / c.bone.labelled >= settings.minBoneFraction) return c;
  }
  if (candidates.every((c) => c.bone.labelled === 0)) return 'no labelled pixels (labels 1–7) on any slice';
  const tried = candidates.map((c) => `${c.mapping.method} ${pct(c.bone)}`).join(', ');
  const flip = candidates.map((c) => ({ c, f: c.flippedBone.labelled ? c.flippedBone.onBone / c.flippedBone.labelled : 0 })).sort((a, b) => b.f - a.f)[0];
  const inverted = flip.f >= settings.minBoneFraction ? `; with the mask's slice axis reversed ${pct(flip.c.flippedBone)} (labels look inverted in z)` : '';
  return `alignment check failed: labelled pixels on bone (> ${settings.boneHU} HU) ${tried}, need ${Math.round(settings.minBoneFraction * 100)}%${inverted}`;
}

/** Normalised YOLO box (and source extent) of a label box on a rows×columns slice. */
export function toManifestBox(b: LabelBox, rows: number, columns: number): ManifestBox {
  return {
    class: b.label - 1, name: VERTEBRA_NAMES[b.label - 1],
    cx: (b.x0 + b.x1 + 1) / 2 / columns, cy: (b.y0 + b.y1 + 1) / 2 / rows, w: (b.x1 + 1 - b.x0) / columns, h: (b.y1 + 1 - b.y0) / rows,
    x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1,
  };
}

/** Every output path a study may write (to clean up after a failure), but its vertebra crops (processStudy lists those it wrote). */
export function plannedPaths(plan: StudyPlan): string[] {
  const out: string[] = [];
  for (const s of plan.study.slices) {
    const p = imagePaths(plan.split, plan.study.uid, s.number);
    out.push(p.detectImage, p.detectLabels, p.classify('normal'), p.classify('fracture'));
  }
  return out;
}

/**
 * Prepare one study and write its marker. Throws StudyFailure (after removing what it wrote) when its input
 * is unusable; other errors (the output folder cannot be written) are rethrown as they are.
 */
export async function processStudy(plan: StudyPlan, settings: StudySettings, runtime: StudyRuntime): Promise<StudyMarker> {
  const started = Date.now();
  const study = plan.study;
  const written: string[] = [];
  try {
    let det: DetectPlan | undefined;
    let detect: DetectOutcome = { status: 'none' };
    if (study.segmentation) {
      const r = await planDetection(plan, settings);
      if ('candidates' in r) { det = r; detect = r.outcome; } else detect = r;
    }
    const wanted = study.slices.map((_, k) => k).filter((k) => plan.classify.has(study.slices[k].number) || det?.slices.has(k) || det?.background.has(k));
    runtime.onSlice(study.uid, 0, wanted.length);
    const detectPng = new Map<number, { png: Uint8Array; width: number; height: number; rows: number; columns: number }>();
    const classifyPng = new Map<number, Uint8Array>();
    const cropPng = new Map<string, Uint8Array>();
    let done = 0;
    let failed = false;
    const one = async (k: number) => {
      const slice = study.slices[k];
      const forDetect = det !== undefined && (det.slices.has(k) || det.background.has(k));
      const forClassify = plan.classify.has(slice.number);
      // Window once and encode at every size the slice is needed at, in the decoder's thread; the detection
      // size comes from the header scan's geometry (checked against the decoded slice below).
      const size = det && forDetect ? fitSize(det.rows, det.columns, settings.imgsz) : undefined;
      const crops = size ? det?.positiveCrops.get(k) : undefined;
      const png: PngSpec[] = [];
      if (size) png.push({ ...size, level: settings.pngLevel });
      if (forClassify) png.push({ width: settings.clsImgsz, height: settings.clsImgsz, level: settings.pngLevel });
      let decoded;
      try {
        decoded = await runtime.source.decode(slice.path, { window: settings.window, values: forDetect, png, gray: crops !== undefined });
      } catch (err) {
        throw new StudyFailure(`slice ${slice.number}: ${err instanceof DicomError ? err.message : describeThrown(err)}`);
      }
      const { info } = decoded;
      if (det && size) {
        if (info.rows !== det.rows || info.columns !== det.columns) throw new StudyFailure(`slice ${slice.number}: ${info.rows}×${info.columns}, the header scan said ${det.rows}×${det.columns}`);
        const values = decoded.values as Float32Array;
        detectPng.set(k, { png: decoded.png[0], ...size, rows: info.rows, columns: info.columns });
        const gray = decoded.gray as Uint8Array;
        await Promise.all([...(crops ?? [])].map(async ([key, crop]) => { cropPng.set(key, await encodeCrop(gray, info.rows, info.columns, crop, settings.cropImgsz, settings.pngLevel)); }));
        tallyBone(det.candidates, det.volume, k, values, info.rows, info.columns, settings.boneHU);
      }
      if (forClassify) classifyPng.set(k, decoded.png[png.length - 1]);
      runtime.onSlice(study.uid, ++done, wanted.length);
    };
    await Promise.all(wanted.map((k) => runtime.limit(async () => {
      if (failed) return; // another slice already failed the study: do not decode the rest
      try {
        await one(k);
      } catch (err) {
        failed = true;
        throw err;
      }
    })));

    const lines: ManifestLine[] = [];
    const writes: Promise<void>[] = [];
    const write = (rel: string, data: Uint8Array | string) => { written.push(rel); writes.push(writeFileAtomic(join(settings.out, rel), data)); };
    let crops: StudyMarker['crops'];
    for (const [k, png] of [...classifyPng].sort((a, b) => a[0] - b[0])) {
      const slice = study.slices[k];
      const label = plan.classify.get(slice.number) as 'normal' | 'fracture';
      const image = imagePaths(plan.split, study.uid, slice.number).classify(label);
      write(image, png);
      lines.push({ image, set: 'classify', split: plan.split, study: study.uid, slice: slice.number, dicom: slice.path, width: settings.clsImgsz, height: settings.clsImgsz, label, ...(label === 'fracture' ? { fractures: study.fractures.get(slice.number) } : {}) });
    }
    if (det) {
      const chosen = alignmentVerdict(det.candidates, settings);
      if (typeof chosen === 'string') detect = { ...detect, status: 'skipped', reason: chosen };
      else {
        detect = { ...detect, method: chosen.mapping.method, boneFraction: chosen.bone.onBone / chosen.bone.labelled };
        for (const [k, img] of [...detectPng].sort((a, b) => a[0] - b[0])) {
          const boxes = chosen.boxes[k].map((b) => toManifestBox(b, img.rows, img.columns));
          if (boxes.length === 0 && !det.background.has(k)) continue; // labelled only under the mapping not chosen
          const slice = study.slices[k];
          const p = imagePaths(plan.split, study.uid, slice.number);
          write(p.detectImage, img.png);
          write(p.detectLabels, labelFileText(boxes));
          lines.push({ image: p.detectImage, set: 'detect', split: plan.split, study: study.uid, slice: slice.number, dicom: slice.path, width: img.width, height: img.height, labels: p.detectLabels, boxes });
        }
        crops = vertebraCrops(chosen, plan, settings, cropPng, write, lines);
      }
    }
    // Settle every write before anything else: a failed one must not race the clean-up below.
    const failedWrite = (await Promise.allSettled(writes)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failedWrite) throw failedWrite.reason;
    lines.sort(lineOrder);
    const marker: StudyMarker = { study: study.uid, split: plan.split, lines, detect, ...(crops ? { crops } : {}), ms: Date.now() - started };
    await writeMarker(settings.out, marker);
    return marker;
  } catch (err) {
    await Promise.all([...plannedPaths(plan), ...written].map((rel) => rm(join(settings.out, rel), { force: true })));
    // Input problems skip the study; anything else (the output cannot be written, a bug) stops the run.
    if (err instanceof StudyFailure) throw err;
    if (err instanceof DicomError) throw new StudyFailure(formatUserError(err), { cause: err });
    throw err;
  }
}

/** Manifest order within a study: by set, then slice, then vertebra. */
export function lineOrder(a: ManifestLine, b: ManifestLine): number {
  if (a.set !== b.set) return a.set < b.set ? -1 : 1;
  return a.slice - b.slice || VERTEBRA_NAMES.indexOf((a.vertebra ?? '') as never) - VERTEBRA_NAMES.indexOf((b.vertebra ?? '') as never);
}

/**
 * The chosen mapping's vertebra crops: positives written now (their PNGs were cut while decoding), normal ones
 * returned as the study's pool (crops.ts picks the negatives across the split), unlabelled ones counted.
 */
function vertebraCrops(chosen: Candidate, plan: StudyPlan, settings: StudySettings, png: ReadonlyMap<string, Uint8Array>, write: (rel: string, data: Uint8Array) => void, lines: ManifestLine[]): NonNullable<StudyMarker['crops']> {
  const study = plan.study;
  const unlabelled = unlabelledLevels(chosen.crops, study.vertebrae);
  const pool: CropCandidate[] = [];
  let left = 0;
  for (const item of chosen.crops) {
    if (item.fractures.length > 0) {
      const line = cropLine({ split: plan.split, study: study.uid, slice: item.slice, dicom: study.slices[item.k].path, vertebra: item.vertebra, box: item.box, crop: item.crop, label: 'fracture', fractures: item.fractures, size: settings.cropImgsz });
      write(line.image, png.get(cropKey(item.k, item.crop)) as Uint8Array);
      lines.push(line);
    } else if (unlabelled.has(item.vertebra)) left++;
    else pool.push({ slice: item.slice, vertebra: item.vertebra, box: item.box, crop: item.crop });
  }
  return { pool, unlabelled: left };
}
