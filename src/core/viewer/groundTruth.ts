/**
 * Ground truth for the slices a viewer shows (issue 8 item 3), from the two places the project keeps it
 * (ARCHITECTURE "Data flow and file contracts"):
 *
 * - an RSNA 2022 layout around the opened file (`<root>/train_images/<UID>/<n>.dcm`, train.csv beside
 *   train_images/): fracture boxes of train_bounding_boxes.csv, the train.csv row, and the vertebrae of
 *   segmentations/<UID>.nii[.gz] mapped onto the slices exactly as `dicom-ml prepare` maps them — the same
 *   functions (study.ts studyGeometry, mapSegmentation, tallyBone, alignmentVerdict over maskMap.ts): the
 *   affine cross-checked against the DICOM geometry, the z-rule fallback, and the bone check; a study that
 *   fails it gets no vertebrae, with the reason in `notes`;
 * - prepared datasets' manifest.jsonl files: detect lines give the vertebra boxes prepare wrote, classify and
 *   crop lines the fracture boxes.
 *
 * Coordinates are source pixels with pixel edges as coordinates (pixel (r, c) covers [c, c + 1] × [r, r + 1]);
 * boxes are xyxy edges, outlines as in outline.ts. A study is mapped once (and kept for the next viewer of
 * it); a slice's outlines are traced when the slice is asked for.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DicomError, describeThrown, formatUserError } from '../dicom/errors';
import { loadImage, loadModality } from '../dicom/load';
import { flipSliceAxis, labelBoxes, sampleSlice, type LabelBox, type LabelVolume, type MaskMapping } from '../dataset/prepare/maskMap';
import { VERTEBRA_NAMES, type ManifestLine } from '../dataset/prepare/output';
import { PREPARE_DEFAULTS, readManifest } from '../dataset/prepare/prepare';
import { readRsna, type RsnaStudy } from '../dataset/prepare/rsna';
import { alignmentVerdict, mapSegmentation, studyGeometry, tallyBone, type BoneCandidate } from '../dataset/prepare/study';
import { mapLimit } from '../util/async';
import { traceOutline } from './outline';

/** A box in source pixels, xyxy pixel edges: [left, top, right, bottom] (a 1-pixel box is [c, r, c + 1, r + 1]). */
export type EdgeBox = [number, number, number, number];

/** A vertebra on a slice. */
export interface VertebraTruth {
  /** "C1" … "C7". */
  name: string;
  /** Mask label 1…7 (YOLO class + 1). */
  label: number;
  box: EdgeBox;
  /**
   * RSNA only: the mask's boundary on this slice as closed loops `[x0, y0, x1, y1, …]` in pixel-edge
   * coordinates, horizontal and vertical segments only, outer loops clockwise and holes counter-clockwise on
   * screen (outline.ts). Its extent equals `box`.
   */
  outline?: number[][];
}

/** The truth of one slice. */
export interface SliceTruth {
  /** slice_number (the RSNA file name's number; the manifest's `slice`). */
  sliceNumber: number;
  /** Fracture boxes of train_bounding_boxes.csv on this slice (x, y, x + width, y + height). */
  fractures: { box: EdgeBox }[];
  /**
   * Vertebrae labels 1–7 on this slice: from the verified segmentation (rsna) or the detect line (manifest).
   * Empty when there are none, or when the study has no usable segmentation (see {@link StudyTruth.vertebrae}).
   */
  vertebrae: VertebraTruth[];
  source: 'rsna' | 'manifest';
}

/** How the segmentation was mapped, when it was used. */
export interface MaskUse {
  file: string;
  method: 'affine' | 'z-rule' | 'seg-reference';
  /** Labelled pixels above the bone threshold, over the slices checked. */
  boneFraction: number;
  /** Labelled slices decoded for the bone check, of all labelled slices (prepare checks all of them). */
  slicesChecked: number;
  labelledSlices: number;
  /** Facts from the mapping (slice axis, z direction, …). */
  notes: string[];
}

/** The truth of a study, per slice of the viewer's series. */
export interface StudyTruth {
  /** StudyInstanceUID. */
  study: string;
  source: 'rsna' | 'manifest';
  /** train.csv row (rsna): fracture flags of C1…C7 (index 0 = C1) and patient_overall. */
  labels?: { C: number[]; patient: number };
  /** Whether slices carry vertebrae: from a verified mask, from manifest detect lines, or not at all. */
  vertebrae: 'mask' | 'manifest' | 'none';
  /** rsna: the segmentation and how it was mapped (absent when it was not used). */
  mask?: MaskUse;
  /** Why the segmentation was not used (missing, failed the bone check, …) and other problems of the study. */
  notes: string[];
  /** Truth of `index` (position in the viewer's series), or undefined for a slice this source does not know. */
  slice(index: number): SliceTruth | undefined;
}

/** A slice of the viewer's series (structurally a viewer SliceEntry). */
export interface TruthEntry {
  path: string;
  frame: number;
}

/** Modality values of one slice (HU for CT), rows×columns, row-major. */
export type DecodeModality = (path: string) => Promise<{ values: ArrayLike<number>; rows: number; columns: number }>;

/** Options of {@link loadRsnaTruth}. */
export interface RsnaTruthOptions {
  /** Bone check, as prepare's --bone-hu / minBoneFraction (defaults PREPARE_DEFAULTS: 200 HU, 0.5). */
  boneHU?: number;
  minBoneFraction?: number;
  /**
   * Labelled slices decoded for the bone check, evenly spaced (default 64). Prepare decodes all of them;
   * `Infinity` does the same and gives its verdict exactly, a sample estimates it (borderline studies may differ).
   */
  verifySlices?: number;
  /** Decoder for the bone check (default: in this thread; a host passes its decode pool). */
  decode?: DecodeModality;
}

/** One study's truth in slice_number order, independent of the viewer's order (what the cache keeps). */
interface RsnaStudyTruth {
  study: RsnaStudy | undefined;
  uid: string;
  notes: string[];
  mask?: { use: MaskUse; volume: LabelVolume; mapping: MaskMapping; boxes: LabelBox[][]; rows: number; columns: number };
}

const SLICE_FILE = /^\d+\.dcm$/i;
const DEFAULT_VERIFY_SLICES = 64;
/** Mapped studies kept (a 512²×300 mask is ~80 MB). */
const STUDY_CACHE_SIZE = 2;
const studyCache = new Map<string, Promise<RsnaStudyTruth>>();

const edges = (b: { x0: number; y0: number; x1: number; y1: number }): EdgeBox => [b.x0, b.y0, b.x1 + 1, b.y1 + 1];
const mtime = (path: string) => stat(path).then((s) => `${s.mtimeMs}/${s.size}`, () => '-');

/** Keep `value` under `key` in an LRU map of `size`; a rejected promise leaves it. */
function remember<T>(cache: Map<string, Promise<T>>, key: string, size: number, make: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (p) cache.delete(key);
  else {
    p = make();
    p.catch(() => { if (cache.get(key) === p) cache.delete(key); });
  }
  cache.set(key, p);
  while (cache.size > size) cache.delete(cache.keys().next().value as string);
  return p;
}

/** `count` indices spread evenly over `items` (all of them when count ≥ length). */
function spread<T>(items: readonly T[], count: number): T[] {
  if (count >= items.length) return [...items];
  if (count <= 1) return count === 1 ? [items[Math.floor(items.length / 2)]] : [];
  return Array.from({ length: count }, (_, i) => items[Math.round((i * (items.length - 1)) / (count - 1))]);
}

const inThisThread: DecodeModality = async (path) => {
  const image = await loadImage(path);
  return { values: await loadModality(image), rows: image.info.rows, columns: image.info.columns };
};

/** Map and verify a study's segmentation; undefined (with a note) when it cannot be used. */
async function mapStudyMask(study: RsnaStudy, o: Required<RsnaTruthOptions>, notes: string[]): Promise<RsnaStudyTruth['mask']> {
  const file = study.segmentation as string;
  const refuse = (why: string) => { notes.push(`segmentation not used: ${why}`); return undefined; };
  let geometry;
  try {
    geometry = await studyGeometry(study);
  } catch (err) {
    return refuse(formatUserError(err));
  }
  const mapped = await mapSegmentation(file, geometry);
  if ('reason' in mapped) return refuse(mapped.reason);
  const { volume, rows, columns } = mapped;
  const scratch = new Uint8Array(rows * columns);
  const candidates = mapped.mappings.map((mapping) => ({
    mapping, bone: { labelled: 0, onBone: 0 }, flipped: flipSliceAxis(mapping, volume.dims), flippedBone: { labelled: 0, onBone: 0 },
    boxes: mapping.slices.map((m) => labelBoxes(sampleSlice(volume, m, rows, columns, scratch), rows, columns)),
  } satisfies BoneCandidate & { boxes: LabelBox[][] }));
  // The slices prepare decodes for the check (with --min-box 0, its default): labelled under any candidate.
  const labelled = study.slices.map((_, k) => k).filter((k) => candidates.some((c) => c.boxes[k].length > 0));
  const checked = spread(labelled, o.verifySlices);
  try {
    await mapLimit(checked, 4, async (k) => {
      const slice = study.slices[k];
      let decoded;
      try {
        decoded = await o.decode(slice.path);
      } catch (err) {
        throw new Error(`slice ${slice.number}: ${describeThrown(err)}`, { cause: err });
      }
      if (decoded.rows !== rows || decoded.columns !== columns) throw new Error(`slice ${slice.number}: ${decoded.rows}×${decoded.columns}, the header scan said ${rows}×${columns}`);
      tallyBone(candidates, volume, k, decoded.values, rows, columns, o.boneHU);
    });
  } catch (err) {
    return refuse(describeThrown(err));
  }
  const chosen = alignmentVerdict(candidates, o);
  if (typeof chosen === 'string') return refuse(chosen);
  const use: MaskUse = { file, method: chosen.mapping.method, boneFraction: chosen.bone.onBone / chosen.bone.labelled, slicesChecked: checked.length, labelledSlices: labelled.length, notes: mapped.notes };
  return { use, volume, mapping: chosen.mapping, boxes: chosen.boxes, rows, columns };
}

async function loadStudy(root: string, uid: string, o: Required<RsnaTruthOptions>): Promise<RsnaStudyTruth> {
  const data = await readRsna(root);
  const study = data.studies.find((s) => s.uid === uid);
  if (!study) {
    const missing = data.missing.find((m) => m.study === uid);
    return { study: undefined, uid, notes: [missing ? missing.reason : `${uid} is not in ${join(root, 'train.csv')}`] };
  }
  const notes = [...study.problems];
  let mask: RsnaStudyTruth['mask'];
  if (!study.segmentation) notes.push(`no segmentation (segmentations/${uid}.nii[.gz] or .dcm): fracture boxes only`);
  else mask = await mapStudyMask(study, o, notes);
  return { study, uid, notes, mask };
}

/**
 * Truth for the series `entries` (paths in display order) of a DICOM in an RSNA layout
 * (`<root>/train_images/<UID>/<n>.dcm` with train.csv in `<root>`): the train.csv row, fracture boxes and the
 * vertebrae of the mapped and verified segmentation. Undefined when the file is not in an RSNA layout.
 * Throws DicomError naming the file when the layout's CSVs are missing or garbled (as prepare does).
 */
export async function loadRsnaTruth(dicomPath: string, entries: readonly TruthEntry[], options: RsnaTruthOptions = {}): Promise<StudyTruth | undefined> {
  const file = resolve(dicomPath);
  const studyDir = dirname(file);
  const imagesDir = dirname(studyDir);
  if (!SLICE_FILE.test(basename(file)) || basename(imagesDir) !== 'train_images') return undefined;
  const root = dirname(imagesDir);
  const csv = join(root, 'train.csv');
  const boxesCsv = join(root, 'train_bounding_boxes.csv');
  if ((await mtime(csv)) === '-') return undefined;
  const o: Required<RsnaTruthOptions> = {
    boneHU: options.boneHU ?? PREPARE_DEFAULTS.boneHU, minBoneFraction: options.minBoneFraction ?? PREPARE_DEFAULTS.minBoneFraction,
    verifySlices: options.verifySlices ?? DEFAULT_VERIFY_SLICES, decode: options.decode ?? inThisThread,
  };
  if (!(o.verifySlices >= 1)) throw new DicomError('BAD_ARGUMENT', `verifySlices must be at least 1 (got ${o.verifySlices})`);
  const uid = basename(studyDir);
  const seg = join(root, 'segmentations', uid);
  // A changed CSV or segmentation maps the study again; a custom decoder gives the same values, so not in the key.
  const stamps = await Promise.all([csv, boxesCsv, `${seg}.nii`, `${seg}.nii.gz`, `${seg}.dcm`].map(mtime));
  const key = JSON.stringify([root, uid, o.boneHU, o.minBoneFraction, o.verifySlices, stamps]);
  const truth = await remember(studyCache, key, STUDY_CACHE_SIZE, () => loadStudy(root, uid, o));
  return rsnaView(truth, entries);
}

/** The cached study seen through the viewer's order. */
function rsnaView(truth: RsnaStudyTruth, entries: readonly TruthEntry[]): StudyTruth {
  const { study, mask } = truth;
  const byPath = new Map(study?.slices.map((s, k) => [resolve(s.path), k]));
  const ks = entries.map((e) => (e.frame === 0 ? byPath.get(resolve(e.path)) : undefined));
  const outlines = new Map<number, VertebraTruth[]>();
  const vertebrae = (k: number): VertebraTruth[] => {
    if (!mask) return [];
    let list = outlines.get(k);
    if (!list) {
      const boxes = mask.boxes[k];
      const labels = boxes.length ? sampleSlice(mask.volume, mask.mapping.slices[k], mask.rows, mask.columns) : undefined;
      list = boxes.map((b) => ({ name: VERTEBRA_NAMES[b.label - 1], label: b.label, box: edges(b), outline: traceOutline(labels as Uint8Array, mask.rows, mask.columns, b.label, b) }));
      outlines.set(k, list);
    }
    return list.map((v) => ({ ...v, box: [...v.box], outline: v.outline?.map((l) => [...l]) }));
  };
  return {
    study: truth.uid,
    source: 'rsna',
    ...(study ? { labels: { C: [...study.vertebrae], patient: study.patientOverall } } : {}),
    vertebrae: mask ? 'mask' : 'none',
    ...(mask ? { mask: { ...mask.use, notes: [...mask.use.notes] } } : {}),
    notes: [...truth.notes],
    slice(index) {
      const k = ks[index];
      if (k === undefined || !study) return undefined;
      const number = study.slices[k].number;
      const fractures = (study.fractures.get(number) ?? []).map((f) => ({ box: [f.x, f.y, f.x + f.width, f.y + f.height] as EdgeBox }));
      return { sliceNumber: number, fractures, vertebrae: vertebrae(k), source: 'rsna' };
    },
  };
}

/** Manifest lines by resolved source DICOM path. */
type ManifestIndex = Map<string, ManifestLine[]>;
const manifestCache = new Map<string, Promise<ManifestIndex>>();

async function indexManifest(file: string): Promise<ManifestIndex> {
  let lines: ManifestLine[];
  try {
    lines = await readManifest(dirname(file));
  } catch (err) {
    throw new DicomError('IO', `cannot read the manifest: ${describeThrown(err)}`, file, { cause: err });
  }
  const index: ManifestIndex = new Map();
  for (const line of lines) {
    if (!line || typeof line.dicom !== 'string') throw new DicomError('MALFORMED', 'a line without a "dicom" path (not a prepare manifest)', file);
    const key = resolve(line.dicom);
    const list = index.get(key) ?? [];
    list.push(line);
    index.set(key, list);
  }
  return index;
}

/**
 * Truth from prepared datasets' manifest.jsonl files (paths to the files; the host finds them): for each
 * slice of `entries` whose file is a line's `dicom`, the vertebra boxes of its detect line (the first manifest
 * with one wins) and the fracture boxes of its classify and classify-vertebrae lines (deduplicated).
 * Undefined when no line names a file of the series. Throws DicomError naming a manifest that cannot be read.
 */
export async function loadManifestTruth(manifests: readonly string[], entries: readonly TruthEntry[]): Promise<StudyTruth | undefined> {
  const indexes: ManifestIndex[] = [];
  for (const m of manifests) {
    const file = resolve(m);
    if (basename(file) !== 'manifest.jsonl') throw new DicomError('BAD_ARGUMENT', 'not a manifest.jsonl file', file);
    indexes.push(await remember(manifestCache, `${file}\0${await mtime(file)}`, 4, () => indexManifest(file)));
  }
  let study: string | undefined;
  const slices = entries.map((e): SliceTruth | undefined => {
    if (e.frame !== 0) return undefined;
    const lines = indexes.flatMap((ix) => ix.get(resolve(e.path)) ?? []);
    if (lines.length === 0) return undefined;
    study ??= lines[0].study;
    const detect = lines.find((l) => l.set === 'detect');
    const seen = new Set<string>();
    const fractures: { box: EdgeBox }[] = [];
    for (const f of lines.flatMap((l) => (l.set !== 'detect' ? l.fractures ?? [] : []))) {
      const box: EdgeBox = [f.x, f.y, f.x + f.width, f.y + f.height];
      if (seen.has(box.join())) continue;
      seen.add(box.join());
      fractures.push({ box });
    }
    const vertebrae = (detect?.boxes ?? []).map((b): VertebraTruth => ({ name: b.name, label: b.class + 1, box: edges(b) }));
    return { sliceNumber: lines[0].slice, fractures, vertebrae, source: 'manifest' };
  });
  if (study === undefined) return undefined;
  const known = slices.some((s, i) => s && indexes.some((ix) => ix.get(resolve(entries[i].path))?.some((l) => l.set === 'detect')));
  return {
    study,
    source: 'manifest',
    vertebrae: known ? 'manifest' : 'none',
    notes: known ? [] : ['no detect lines for this series in the manifests: fracture boxes only'],
    slice: (index) => {
      const s = slices[index];
      return s && { ...s, fractures: s.fractures.map((f) => ({ box: [...f.box] })), vertebrae: s.vertebrae.map((v) => ({ ...v, box: [...v.box] })) };
    },
  };
}
