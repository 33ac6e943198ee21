/**
 * The RSNA 2022 cervical-spine layout (ARCHITECTURE "Data flow" item 1), read and checked up front:
 *
 *   train.csv                     StudyInstanceUID, patient_overall, C1…C7 (0/1)
 *   train_bounding_boxes.csv      StudyInstanceUID, x, y, width, height, slice_number — FRACTURE boxes
 *   train_images/<UID>/<n>.dcm    one axial slice per file, n = slice_number (1, 2, …)
 *   segmentations/<UID>.nii[.gz]  labels 1–7 = C1–C7 (8–19 thoracic), for a subset of studies; or <UID>.dcm, a DICOM
 *                                 SEG with segments named C1…C7 (segMask.ts)
 *
 * Only listings and the two CSVs are read here (no DICOM headers): the plan (split, negative sampling)
 * needs slice numbers, not pixels. Garbled CSV lines are fatal (file:line), since a wrong label is worse
 * than no run; a study with a problem of its own (missing slices, a box on a slice that does not exist)
 * is kept with its `problems` so the run reports and skips it.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { DicomError, describeThrown } from '../../dicom/errors';
import { csvError, intField, numberField, readCsv } from './csv';
import { mapLimit } from '../../util/async';

/** A fracture box from train_bounding_boxes.csv, in source pixels. */
export interface FractureBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One slice file of a study. */
export interface RsnaSlice {
  /** slice_number: the file name's number (train_images/<UID>/<number>.dcm). */
  number: number;
  /** Absolute path of the source DICOM. */
  path: string;
}

/** One study of train.csv that has an image folder. */
export interface RsnaStudy {
  uid: string;
  /** Absolute train_images/<UID> folder. */
  dir: string;
  /** Slice files, sorted by slice number. */
  slices: RsnaSlice[];
  /** patient_overall of train.csv (1 = a fracture somewhere). */
  patientOverall: number;
  /** C1…C7 fracture flags of train.csv, index 0 = C1. */
  vertebrae: number[];
  /** Fracture boxes by slice number. */
  fractures: Map<number, FractureBox[]>;
  /** Absolute segmentations/<UID>.nii[.gz] or <UID>.dcm (DICOM SEG), when there is one. */
  segmentation?: string;
  /** Reasons this study cannot be used as it is (missing slices, …); the run skips it and says why. */
  problems: string[];
}

/** A study that is not in the dataset at all, and why. */
export interface RsnaMissing {
  study: string;
  reason: string;
}

/** The whole layout. */
export interface RsnaDataset {
  root: string;
  /** Studies sorted by UID. */
  studies: RsnaStudy[];
  /** Studies of train.csv without images. */
  missing: RsnaMissing[];
  /** Things worth saying that do not stop anything (folders not in train.csv, stray files, …). */
  warnings: string[];
}

const VERTEBRAE = ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7'] as const;
/** A UID is used in output file names: allow only what UIDs (and sane test names) contain. */
const SAFE_UID = /^[0-9A-Za-z][0-9A-Za-z._-]*$/;
const SLICE_FILE = /^(\d+)\.dcm$/i;

async function isDir(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

/** Slice numbers missing from 1…max (at most a few named). */
function gapsOf(numbers: number[]): string | undefined {
  const have = new Set(numbers);
  const max = numbers.length ? Math.max(...numbers) : 0;
  const missing: number[] = [];
  for (let n = 1; n <= max; n++) if (!have.has(n)) missing.push(n);
  if (missing.length === 0) return undefined;
  return `missing slice${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ` … (${missing.length} of 1…${max})` : ` of 1…${max}`}`;
}

/** Read the RSNA layout under `root`. Throws DicomError for a missing/garbled CSV or a missing train_images/. */
export async function readRsna(root: string): Promise<RsnaDataset> {
  root = resolve(root);
  if (!(await isDir(root))) throw new DicomError('IO', 'no such folder (expected the RSNA layout: train.csv, train_bounding_boxes.csv, train_images/, segmentations/)', root);
  const imagesDir = join(root, 'train_images');
  if (!(await isDir(imagesDir))) throw new DicomError('IO', 'no train_images/ folder here', imagesDir);
  const warnings: string[] = [];

  const train = await readCsv(join(root, 'train.csv'), ['StudyInstanceUID', 'patient_overall', ...VERTEBRAE]);
  const rows = new Map<string, { patientOverall: number; vertebrae: number[] }>();
  for (const row of train.rows) {
    const uid = row.values.StudyInstanceUID;
    if (!SAFE_UID.test(uid)) throw csvError(train.file, row.line, `StudyInstanceUID "${uid}" is not a UID`);
    if (rows.has(uid)) throw csvError(train.file, row.line, `StudyInstanceUID ${uid} appears twice`);
    const flag = (name: string) => {
      const v = intField(train, row, name);
      if (v > 1) throw csvError(train.file, row.line, `${name} "${row.values[name]}" is not 0 or 1`);
      return v;
    };
    rows.set(uid, { patientOverall: flag('patient_overall'), vertebrae: VERTEBRAE.map(flag) });
  }

  const boxesTable = await readCsv(join(root, 'train_bounding_boxes.csv'), ['StudyInstanceUID', 'x', 'y', 'width', 'height', 'slice_number']);
  const boxes = new Map<string, Map<number, FractureBox[]>>();
  const unknownBoxStudies = new Set<string>();
  for (const row of boxesTable.rows) {
    const uid = row.values.StudyInstanceUID;
    if (!SAFE_UID.test(uid)) throw csvError(boxesTable.file, row.line, `StudyInstanceUID "${uid}" is not a UID`);
    const box = { x: numberField(boxesTable, row, 'x'), y: numberField(boxesTable, row, 'y'), width: numberField(boxesTable, row, 'width'), height: numberField(boxesTable, row, 'height') };
    if (box.width < 0 || box.height < 0) throw csvError(boxesTable.file, row.line, `negative width/height (${box.width}×${box.height})`);
    const slice = intField(boxesTable, row, 'slice_number', 1);
    if (!rows.has(uid)) { unknownBoxStudies.add(uid); continue; }
    let byStudy = boxes.get(uid);
    if (!byStudy) boxes.set(uid, byStudy = new Map());
    const list = byStudy.get(slice) ?? [];
    list.push(box);
    byStudy.set(slice, list);
  }
  if (unknownBoxStudies.size > 0) warnings.push(`${boxesTable.file}: ${unknownBoxStudies.size} stud${unknownBoxStudies.size > 1 ? 'ies' : 'y'} not in train.csv ignored (${[...unknownBoxStudies].slice(0, 3).join(', ')}${unknownBoxStudies.size > 3 ? ', …' : ''})`);

  // Segmentations: <UID>.nii, <UID>.nii.gz or <UID>.dcm (DICOM SEG); the folder is optional (then there is no
  // detection set). With several for one study the NIfTI wins (.dcm sorts first), as RSNA ships NIfTI.
  const segDir = join(root, 'segmentations');
  const segmentations = new Map<string, string>();
  if (await isDir(segDir)) {
    for (const name of (await readdir(segDir)).sort()) {
      const m = /^(.+?)\.(nii|nii\.gz|dcm)$/i.exec(name);
      if (!m) continue;
      const before = segmentations.get(m[1]);
      if (before) { warnings.push(`segmentations/: both ${basename(before)} and ${name}; using ${name}`); }
      segmentations.set(m[1], join(segDir, name));
    }
  } else warnings.push(`no segmentations/ folder in ${root}: no detection set`);

  const folders = new Set((await readdir(imagesDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name));
  const notInCsv = [...folders].filter((f) => !rows.has(f));
  if (notInCsv.length > 0) warnings.push(`train_images/: ${notInCsv.length} folder${notInCsv.length > 1 ? 's' : ''} not in train.csv ignored (${notInCsv.slice(0, 3).join(', ')}${notInCsv.length > 3 ? ', …' : ''})`);
  const orphanSegs = [...segmentations.keys()].filter((uid) => !rows.has(uid) || !folders.has(uid));
  if (orphanSegs.length > 0) warnings.push(`segmentations/: ${orphanSegs.length} without a study in train.csv and train_images/ ignored (${orphanSegs.slice(0, 3).join(', ')})`);

  const missing: RsnaMissing[] = [];
  const uids = [...rows.keys()].sort();
  const listed = await mapLimit(uids, 16, async (uid): Promise<RsnaStudy | undefined> => {
    const row = rows.get(uid) as { patientOverall: number; vertebrae: number[] };
    const dir = join(imagesDir, uid);
    if (!folders.has(uid)) { missing.push({ study: uid, reason: `no train_images/${uid} folder` }); return undefined; }
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (err) {
      missing.push({ study: uid, reason: `cannot list train_images/${uid}: ${describeThrown(err)}` });
      return undefined;
    }
    const slices: RsnaSlice[] = [];
    let stray = 0;
    for (const name of names) {
      const m = SLICE_FILE.exec(name);
      if (m) slices.push({ number: Number(m[1]), path: join(dir, name) });
      else stray++;
    }
    slices.sort((a, b) => a.number - b.number);
    const problems: string[] = [];
    if (stray > 0) warnings.push(`train_images/${uid}: ${stray} file${stray > 1 ? 's' : ''} not named <slice_number>.dcm ignored`);
    if (slices.length === 0) problems.push('no <slice_number>.dcm files');
    const gaps = gapsOf(slices.map((s) => s.number));
    if (gaps) problems.push(gaps);
    const fractures = boxes.get(uid) ?? new Map<number, FractureBox[]>();
    const numbers = new Set(slices.map((s) => s.number));
    const absent = [...fractures.keys()].filter((n) => !numbers.has(n));
    if (absent.length > 0) problems.push(`fracture box${absent.length > 1 ? 'es' : ''} on slice${absent.length > 1 ? 's' : ''} ${absent.slice(0, 5).join(', ')} that ${absent.length > 1 ? 'do' : 'does'} not exist`);
    if (fractures.size > 0 && row.patientOverall === 0) warnings.push(`${uid}: fracture boxes but patient_overall = 0 in train.csv`);
    return { uid, dir, slices, patientOverall: row.patientOverall, vertebrae: row.vertebrae, fractures, segmentation: segmentations.get(uid), problems };
  });
  missing.sort((a, b) => a.study.localeCompare(b.study));
  return { root, studies: listed.filter((s): s is RsnaStudy => s !== undefined), missing, warnings };
}
