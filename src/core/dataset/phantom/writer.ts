/**
 * Writes the phantom as an RSNA 2022 layout (ARCHITECTURE "Data flow and file contracts", item 1):
 *
 *   train.csv                      StudyInstanceUID,patient_overall,C1,…,C7
 *   train_bounding_boxes.csv       StudyInstanceUID,x,y,width,height,slice_number (fractures, pixels)
 *   train_images/<UID>/<n>.dcm     one CT slice per file, n = slice_number = Instance Number
 *   segmentations/<UID>.nii.gz     uint8 labels 1–7 C1–C7, 8–10 T1–T3, for a share of the studies
 *
 * Every file is written atomically. A study is complete when its record `.phantom/<UID>.json` exists (written
 * last); a rerun skips complete studies, so an interrupted run resumes. The CSVs are rebuilt from the
 * records at the end. `.phantom/run.json` pins the options: a folder made with other options is refused.
 */
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DicomError } from '../../dicom/errors';
import { encodeCtSliceAs, type SliceSyntax } from '../../dicom/encode/part10';
import { encodeNiftiGz } from '../../dicom/niftiWrite';
import { writeFileAtomic } from '../../io/atomic';
import { regions, SliceRenderer } from './raster';
import { ctSlice, maskAffine, maskIndex, optionsKey, outsideHU, planStudy, sliceZ, storedPixels, type PhantomOptions, type StudyPlan } from './study';

/** A fracture box in RSNA's convention: pixel coordinates of the slice (x = column, y = row). */
export interface FractureBox {
  x: number; y: number; width: number; height: number;
  sliceNumber: number;
  /** Vertebra (C1…C7) and injury type (not in the CSV; kept in the study record). */
  level: string;
  kind: string;
}

/** The record of a complete study (`.phantom/<UID>.json`). */
export interface StudyRecord {
  index: number;
  studyInstanceUID: string;
  /** C1…C7: 1 when that vertebra shows a fracture on at least one slice. */
  labels: number[];
  patientOverall: number;
  boxes: FractureBox[];
  slices: number;
  rows: number;
  columns: number;
  pixelSpacing: [number, number];
  sliceThickness: number;
  sliceSpacing: number;
  zStep: number;
  storage: string;
  hasSegmentation: boolean;
  fractures: { level: string; kind: string; slices: number }[];
}

/** Data set options: the per-study options plus how many, which seed and which encoding. */
export interface DatasetOptions extends PhantomOptions {
  studies: number;
  seed: number;
  syntax: SliceSyntax;
}

/** Progress after each slice (for a bar) and each study. */
export interface DatasetProgress {
  /** 1-based study number and the number of studies. */
  study: number;
  studies: number;
  /** Slices of this study written so far, and its slice count. */
  slice: number;
  slices: number;
  /** Slices written in this run so far, and the number this run has to write (complete studies excluded). */
  done: number;
  total: number;
  /** True when the study was already complete and skipped. */
  skipped?: boolean;
  /** Set once the study is complete (written or skipped). */
  record?: StudyRecord;
}

/** What {@link writeDataset} did. */
export interface DatasetResult {
  out: string;
  records: StudyRecord[];
  written: number;
  skipped: number;
}

const LEVELS7 = ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7'];

/** Box margin around the changed pixels; a region must cover ≥ 1.5 mm² and 3 pixels to count (smaller ones are invisible in practice). */
const BOX_MARGIN_MM = 2;
const MIN_AREA_MM2 = 1.5;

/** Render and write one study; returns its record (also written, last). */
export async function writeStudy(out: string, plan: StudyPlan, syntax: SliceSyntax, subsamples: number, onSlice?: (n: number) => void): Promise<StudyRecord> {
  const dir = join(out, 'train_images', plan.studyInstanceUID);
  await mkdir(dir, { recursive: true });
  // A killed run can leave atomic-write temporaries (".<name>.<pid>.<time>.tmp", io/atomic.ts) behind.
  for (const name of await readdir(dir)) if (/^\..*\.tmp$/.test(name)) await rm(join(dir, name), { force: true });
  const renderer = new SliceRenderer(plan.patient, plan.soft, plan.grid, { subsamples, outsideHU: outsideHU(plan), noiseSeed: plan.seed });
  const mask = plan.hasSegmentation ? new Uint8Array(plan.rows * plan.columns * plan.slices) : undefined;
  const boxes: FractureBox[] = [];
  const perFracture = new Array<number>(plan.fractures.length).fill(0);
  const [dr, dc] = plan.pixelSpacing;
  const minCount = Math.max(3, MIN_AREA_MM2 / (dr * dc));
  const pending: Promise<void>[] = [];
  for (let n = 1; n <= plan.slices; n++) {
    const slice = renderer.render(sliceZ(plan, n), plan.sliceThickness, n);
    const bytes = encodeCtSliceAs(ctSlice(plan, n, storedPixels(plan, slice.hu)), syntax);
    const write = writeFileAtomic(join(dir, `${n}.dcm`), bytes);
    write.catch(() => undefined); // awaited below; this only keeps an early failure from being "unhandled"
    pending.push(write);
    if (pending.length >= 8) await pending.shift();
    if (mask) {
      for (let r = 0; r < plan.rows; r++) {
        for (let c = 0; c < plan.columns; c++) {
          const v = slice.labels[r * plan.columns + c];
          if (v) mask[maskIndex(plan, n, r, c)] = v;
        }
      }
    }
    for (const h of slice.hits) {
      const f = plan.fractures[h.fracture];
      const found = fractureBoxes(h.pixels, slice.labels, plan, LEVELS7.indexOf(f.level) + 1, minCount);
      for (const box of found) boxes.push({ ...box, sliceNumber: n, level: f.level, kind: f.kind });
      if (found.length) perFracture[h.fracture]++;
    }
    onSlice?.(n);
  }
  await Promise.all(pending);
  if (mask) {
    const gz = encodeNiftiGz({ dims: [plan.columns, plan.rows, plan.slices], data: mask, affine: maskAffine(plan), intentCode: 1002, description: 'dicom-ml phantom vertebrae C1-C7=1-7 T1-T3=8-10' });
    await writeFileAtomic(join(out, 'segmentations', `${plan.studyInstanceUID}.nii.gz`), gz);
  }
  const labels = LEVELS7.map((name) => (boxes.some((b) => b.level === name) ? 1 : 0));
  const record: StudyRecord = {
    index: plan.index, studyInstanceUID: plan.studyInstanceUID, labels, patientOverall: Math.max(...labels), boxes,
    slices: plan.slices, rows: plan.rows, columns: plan.columns, pixelSpacing: plan.pixelSpacing, sliceThickness: plan.sliceThickness,
    sliceSpacing: plan.sliceSpacing, zStep: plan.zStep, storage: plan.storage, hasSegmentation: plan.hasSegmentation,
    fractures: plan.fractures.map((f, i) => ({ level: f.level, kind: f.kind, slices: perFracture[i] })),
  };
  await writeFileAtomic(join(out, '.phantom', `${plan.studyInstanceUID}.json`), `${JSON.stringify(record)}\n`);
  return record;
}

type Box = { x: number; y: number; width: number; height: number };

/**
 * The boxes of one fracture on one slice. Each connected region of changed pixels (≥ `minCount`) gets a
 * box with a 2 mm margin; boxes that overlap are merged, so one fracture line is one box, as a reader
 * would draw it. A box must be about its vertebra: one whose centre pixel is not labelled `label` (e.g.
 * around the two-pixel edge of a displaced fragment) is not what a reader would mark and is dropped —
 * a merged box that fails falls back to its parts.
 */
function fractureBoxes(pixels: number[], labels: Uint8Array, plan: StudyPlan, label: number, minCount: number): Box[] {
  const [dr, dc] = plan.pixelSpacing;
  const mx = BOX_MARGIN_MM / dc; const my = BOX_MARGIN_MM / dr;
  const toBox = (g: { c0: number; c1: number; r0: number; r1: number }): Box => {
    const x = Math.max(0, g.c0 - mx); const y = Math.max(0, g.r0 - my);
    const x1 = Math.min(plan.columns, g.c1 + 1 + mx); const y1 = Math.min(plan.rows, g.r1 + 1 + my);
    return { x: round1(x), y: round1(y), width: round1(x1 - x), height: round1(y1 - y) };
  };
  const onBone = (b: Box) => labels[Math.floor(b.y + b.height / 2) * plan.columns + Math.floor(b.x + b.width / 2)] === label;
  const overlap = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
  // Groups of regions whose boxes overlap (transitively), each with the union of its regions' bounds.
  const groups = regions(pixels, plan.columns).filter((g) => g.count >= minCount).map((g) => ({ bounds: { ...g }, parts: [g] }));
  for (let merged = true; merged;) {
    merged = false;
    for (let i = 0; i < groups.length && !merged; i++) {
      for (let j = i + 1; j < groups.length && !merged; j++) {
        if (!overlap(toBox(groups[i].bounds), toBox(groups[j].bounds))) continue;
        const a = groups[i].bounds; const b = groups[j].bounds;
        groups[i] = { bounds: { ...a, c0: Math.min(a.c0, b.c0), c1: Math.max(a.c1, b.c1), r0: Math.min(a.r0, b.r0), r1: Math.max(a.r1, b.r1) }, parts: [...groups[i].parts, ...groups[j].parts] };
        groups.splice(j, 1);
        merged = true;
      }
    }
  }
  return groups.flatMap((g) => {
    const box = toBox(g.bounds);
    if (onBone(box)) return [box];
    return g.parts.length > 1 ? g.parts.map(toBox).filter(onBone) : [];
  });
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

async function exists(path: string): Promise<boolean> {
  try { await stat(path); return true; } catch { return false; }
}

/** Write (or resume) a whole data set into `out`. */
export async function writeDataset(out: string, options: DatasetOptions, onProgress?: (p: DatasetProgress) => void): Promise<DatasetResult> {
  const runFile = join(out, '.phantom', 'run.json');
  const run = { generator: 'dicom-ml phantom 1', seed: options.seed, key: optionsKey(options) };
  if (await exists(runFile)) {
    const before = JSON.parse(await readFile(runFile, 'utf8')) as typeof run;
    if (before.generator !== run.generator || before.seed !== run.seed || before.key !== run.key) {
      throw new DicomError('BAD_ARGUMENT', `${out} holds a phantom made with other options (seed ${before.seed}, ${before.key}); use another --out or delete it`);
    }
  } else {
    const present = await readdir(out).catch(() => [] as string[]);
    if (present.length > 0) throw new DicomError('BAD_ARGUMENT', `${out} is not empty and holds no phantom (.phantom/run.json); choose an empty or new folder`);
    await writeFileAtomic(runFile, `${JSON.stringify(run)}\n`);
  }
  // Plan every study first (cheap: no pixels), so progress knows how many slices lie ahead.
  const plans = Array.from({ length: options.studies }, (_, i) => planStudy(options.seed, i, options));
  const recordFile = (plan: StudyPlan) => join(out, '.phantom', `${plan.studyInstanceUID}.json`);
  const complete = await Promise.all(plans.map((plan) => exists(recordFile(plan))));
  const total = plans.reduce((n, plan, i) => n + (complete[i] ? 0 : plan.slices), 0);
  const records: StudyRecord[] = [];
  let written = 0;
  let done = 0;
  for (const [i, plan] of plans.entries()) {
    const base = { study: i + 1, studies: options.studies, slices: plan.slices, total };
    if (complete[i]) {
      const record = JSON.parse(await readFile(recordFile(plan), 'utf8')) as StudyRecord;
      records.push(record);
      onProgress?.({ ...base, slice: plan.slices, done, skipped: true, record });
      continue;
    }
    const record = await writeStudy(out, plan, options.syntax, options.subsamples, (n) => onProgress?.({ ...base, slice: n, done: done + n }));
    done += plan.slices;
    records.push(record);
    written++;
    onProgress?.({ ...base, slice: plan.slices, done, record });
  }
  await writeFileAtomic(join(out, 'train.csv'), trainCsv(records));
  await writeFileAtomic(join(out, 'train_bounding_boxes.csv'), boxesCsv(records));
  return { out, records, written, skipped: options.studies - written };
}

/** train.csv: one row per study. */
export function trainCsv(records: readonly StudyRecord[]): string {
  const rows = records.map((r) => [r.studyInstanceUID, r.patientOverall, ...r.labels].join(','));
  return `${['StudyInstanceUID', 'patient_overall', ...LEVELS7].join(',')}\n${rows.map((r) => `${r}\n`).join('')}`;
}

/** train_bounding_boxes.csv: one row per fracture box (several per slice when several fractures show). */
export function boxesCsv(records: readonly StudyRecord[]): string {
  const rows = records.flatMap((r) => r.boxes.map((b) => [r.studyInstanceUID, b.x, b.y, b.width, b.height, b.sliceNumber].join(',')));
  return `StudyInstanceUID,x,y,width,height,slice_number\n${rows.map((r) => `${r}\n`).join('')}`;
}
