/**
 * Series assembly from a folder: read each file's header only (stop at Pixel Data), group by Series
 * Instance UID, order the images along the slice normal, and say what looks wrong with the stack (gaps,
 * duplicate positions, mixed orientations or sizes). Unreadable files are skipped with a reason, never fatal.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { DicomError, describeThrown, type DicomErrorCode } from './errors';
import { readImageInfo, type ImageInfo } from './image';
import { parseDicom } from './parse';
import { mapLimit } from '../util/async';

/** One file of a series (a multi-frame file is one entry with `frames` frames). */
export interface SeriesEntry {
  path: string;
  info: ImageInfo;
  /** Distance (mm) of Image Position (Patient) along the series' slice normal, when both are known. */
  position?: number;
}

/** One displayable slice: frame `frame` of `entries[fileIndex]`. Structurally a viewer `SliceEntry`. */
export interface SeriesSlice {
  path: string;
  fileIndex: number;
  frame: number;
  position?: number;
}

/** Two consecutive positions further apart than 1.5× the median spacing. */
export interface SliceGap {
  /** Index in `slices` of the slice before the gap. */
  after: number;
  /** Distance between the two slices (mm). */
  distance: number;
}

/** How the entries were ordered: by position along the normal, else InstanceNumber, else file name. */
export type SeriesOrder = 'position' | 'instanceNumber' | 'fileName';

/** The images of one Series Instance UID found in a folder, in display order. */
export interface Series {
  /** The UID, or `"(none)"` for files that lack one (grouped together). */
  seriesInstanceUID: string;
  studyInstanceUID?: string;
  modality?: string;
  /** Files in order; multi-frame files keep their frames together, in stored order. */
  entries: SeriesEntry[];
  /**
   * Every frame of every entry, in order. Frames of a multi-frame file share the file's position (per-frame
   * functional groups of enhanced multi-frame objects are not read).
   */
  slices: SeriesSlice[];
  orderedBy: SeriesOrder;
  /** Unit slice normal (row cosines × column cosines, PS3.3 C.7.6.2.1.1), from the most common orientation. */
  normal?: [number, number, number];
  /** Median distance between consecutive distinct positions (mm); undefined with fewer than two. */
  spacing?: number;
  gaps: SliceGap[];
  /** Pairs of `entries` indices at the same position (within 0.01 mm). */
  duplicates: [number, number][];
  /** Readable notes on gaps, duplicates, mixed orientations, sizes or missing geometry. */
  warnings: string[];
}

/** A file that did not join any series, and why. */
export interface SkippedFile {
  path: string;
  reason: string;
  code: DicomErrorCode;
}

/** Result of {@link scanSeries}. */
export interface SeriesScan {
  /** Sorted by Series Instance UID for a stable order. */
  series: Series[];
  skipped: SkippedFile[];
}

/** Options for {@link scanSeries}. */
export interface ScanOptions {
  /** Files read at once (default 8). */
  concurrency?: number;
  /** Also scan sub-folders (default false: one folder, one listing). */
  recursive?: boolean;
}

/** Bytes read first; a header that does not fit (large private data, deflate) triggers a whole-file read. */
const HEAD_BYTES = 64 * 1024;
const SAME_POSITION_MM = 0.01;
const SAME_ORIENTATION = 1e-3;
const NO_UID = '(none)';

async function readHead(path: string, size: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(size);
    let filled = 0;
    while (filled < size) {
      const { bytesRead } = await handle.read(buffer, filled, size - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** Header-only read of one file: the head first, the whole file when the head is not enough. */
async function readInfo(path: string): Promise<ImageInfo> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new DicomError('IO', describeThrown(err), path, { cause: err });
  }
  const attempt = async (bytes: number) => {
    const file = parseDicom(await readHead(path, bytes), path, { headerOnly: true });
    return readImageInfo(file, path);
  };
  if (size <= HEAD_BYTES) return attempt(size);
  try {
    return await attempt(HEAD_BYTES);
  } catch (err) {
    if (err instanceof DicomError && err.code === 'NOT_DICOM') throw err; // the head decides that
    return attempt(size);
  }
}

async function listFiles(dir: string, recursive: boolean): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isFile() || e.isSymbolicLink()) files.push(path);
    else if (recursive && e.isDirectory()) files.push(...await listFiles(path, true));
  }
  return files;
}

const cross = (a: number[], b: number[]): [number, number, number] =>
  [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const dot = (a: readonly number[], b: readonly number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

function sameOrientation(a: readonly number[], b: readonly number[]): boolean {
  return a.every((v, i) => Math.abs(v - b[i]) < SAME_ORIENTATION);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

const byName = (a: SeriesEntry, b: SeriesEntry) =>
  basename(a.path).localeCompare(basename(b.path), 'en', { numeric: true }) || a.path.localeCompare(b.path);

/** Order one UID's entries and describe its geometry. */
function assemble(uid: string, entries: SeriesEntry[]): Series {
  const warnings: string[] = [];
  // The most common orientation defines the normal; others are reported, still ordered along it.
  const orientations: { iop: number[]; count: number }[] = [];
  for (const e of entries) {
    const iop = e.info.imageOrientationPatient;
    if (!iop) continue;
    const known = orientations.find((o) => sameOrientation(o.iop, iop));
    if (known) known.count++;
    else orientations.push({ iop, count: 1 });
  }
  orientations.sort((a, b) => b.count - a.count);
  let normal: [number, number, number] | undefined;
  if (orientations.length > 0) {
    const iop = orientations[0].iop;
    const n = cross(iop.slice(0, 3), iop.slice(3, 6));
    const len = Math.hypot(...n);
    if (len > 1e-6) normal = [n[0] / len, n[1] / len, n[2] / len];
    else warnings.push('Image Orientation (Patient) has parallel row and column cosines; no slice normal');
  }
  if (orientations.length > 1) {
    const others = entries.length - orientations[0].count - entries.filter((e) => !e.info.imageOrientationPatient).length;
    warnings.push(`mixed orientations: ${others} of ${entries.length} files differ from the most common Image Orientation (Patient) ${orientations[0].iop.join('\\')}`);
  }
  if (normal) for (const e of entries) if (e.info.imagePositionPatient) e.position = dot(e.info.imagePositionPatient, normal);

  let orderedBy: SeriesOrder;
  const tieBreak = (a: SeriesEntry, b: SeriesEntry) => (a.info.instanceNumber ?? 0) - (b.info.instanceNumber ?? 0) || byName(a, b);
  if (entries.every((e) => e.position !== undefined)) {
    orderedBy = 'position';
    entries.sort((a, b) => (a.position as number) - (b.position as number) || tieBreak(a, b));
  } else if (entries.every((e) => e.info.instanceNumber !== undefined)) {
    orderedBy = 'instanceNumber';
    entries.sort(tieBreak);
  } else {
    orderedBy = 'fileName';
    entries.sort(byName);
  }
  if (orderedBy !== 'position' && entries.length > 1) {
    const missing = entries.filter((e) => e.position === undefined).length;
    warnings.push(`${missing} of ${entries.length} files lack Image Position/Orientation (Patient); ordered by ${orderedBy === 'fileName' ? 'file name' : 'Instance Number'}`);
  }

  const slices: SeriesSlice[] = [];
  entries.forEach((e, fileIndex) => {
    for (let frame = 0; frame < e.info.frames; frame++) slices.push({ path: e.path, fileIndex, frame, position: e.position });
  });

  const duplicates: [number, number][] = [];
  const gaps: SliceGap[] = [];
  let spacing: number | undefined;
  if (orderedBy === 'position') {
    const steps: { after: number; distance: number }[] = [];
    for (let i = 1; i < entries.length; i++) {
      const d = (entries[i].position as number) - (entries[i - 1].position as number);
      if (d < SAME_POSITION_MM) duplicates.push([i - 1, i]);
      else steps.push({ after: i - 1, distance: d });
    }
    if (steps.length > 0) spacing = median(steps.map((s) => s.distance));
    for (const s of steps) {
      if (spacing !== undefined && s.distance > 1.5 * spacing) {
        gaps.push({ after: slices.findIndex((sl) => sl.fileIndex === s.after) + entries[s.after].info.frames - 1, distance: s.distance });
      }
    }
    if (duplicates.length > 0) {
      warnings.push(`${duplicates.length} duplicate position${duplicates.length > 1 ? 's' : ''}: ${duplicates.slice(0, 3).map(([a, b]) => `${basename(entries[a].path)} and ${basename(entries[b].path)} at ${entries[a].position?.toFixed(2)} mm`).join('; ')}${duplicates.length > 3 ? '; …' : ''}`);
    }
    if (gaps.length > 0) {
      warnings.push(`${gaps.length} gap${gaps.length > 1 ? 's' : ''} wider than 1.5× the median spacing ${spacing?.toFixed(3)} mm: ${gaps.slice(0, 3).map((g) => `${g.distance.toFixed(2)} mm after slice ${g.after}`).join('; ')}${gaps.length > 3 ? '; …' : ''}`);
    }
  }
  const sizes = new Set(entries.map((e) => `${e.info.rows}×${e.info.columns}`));
  if (sizes.size > 1) warnings.push(`mixed image sizes: ${[...sizes].join(', ')}`);

  const first = entries[0].info;
  return {
    seriesInstanceUID: uid, studyInstanceUID: first.studyInstanceUID, modality: first.modality,
    entries, slices, orderedBy, normal, spacing, gaps, duplicates, warnings,
  };
}

/**
 * Every image series in `dir`. Files are read header-only, `concurrency` at a time; files that are not
 * DICOM images are listed in `skipped` with the reason. Throws only when `dir` itself cannot be listed.
 */
export async function scanSeries(dir: string, options: ScanOptions = {}): Promise<SeriesScan> {
  const concurrency = options.concurrency ?? 8;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new DicomError('BAD_ARGUMENT', `concurrency must be an integer from 1 and up (got ${concurrency})`);
  }
  let paths: string[];
  try {
    paths = await listFiles(dir, options.recursive ?? false);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DicomError('IO', code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : describeThrown(err), dir, { cause: err });
  }
  const results = await mapLimit(paths, concurrency, async (path): Promise<{ path: string; info: ImageInfo } | { skipped: SkippedFile }> => {
    try {
      return { path, info: await readInfo(path) };
    } catch (err) {
      return { skipped: { path, reason: describeThrown(err), code: err instanceof DicomError ? err.code : 'IO' } };
    }
  });
  const groups = new Map<string, SeriesEntry[]>();
  const skipped: SkippedFile[] = [];
  for (const r of results) {
    if ('skipped' in r) { skipped.push(r.skipped); continue; }
    const uid = r.info.seriesInstanceUID ?? NO_UID;
    let group = groups.get(uid);
    if (!group) groups.set(uid, group = []);
    group.push({ path: r.path, info: r.info });
  }
  const series = [...groups.keys()].sort().map((uid) => assemble(uid, groups.get(uid) as SeriesEntry[]));
  skipped.sort((a, b) => a.path.localeCompare(b.path));
  return { series, skipped };
}

/** Result of {@link seriesOf}. */
export interface SeriesOfResult {
  series: Series;
  /** Index in `series.slices` of the file's first frame. */
  index: number;
  /** Index in `series.entries` of the file. */
  entry: number;
  /** Other files of the folder that were skipped. */
  skipped: SkippedFile[];
  /** DICOM SEG files of the folder (Modality SEG, other series), for the viewer's mask overlays. */
  segmentations: string[];
}

/**
 * The series (from `file`'s folder) that contains `file`, and where. Throws the file's own DicomError
 * (naming it) when `file` is not a readable DICOM image.
 */
export async function seriesOf(file: string, options: ScanOptions = {}): Promise<SeriesOfResult> {
  const target = resolve(file);
  const { series, skipped } = await scanSeries(dirname(target), { ...options, recursive: false });
  for (const s of series) {
    const entry = s.entries.findIndex((e) => resolve(e.path) === target);
    if (entry >= 0) {
      const segmentations = series.filter((o) => o !== s && o.modality === 'SEG').flatMap((o) => o.entries.map((e) => e.path));
      return { series: s, entry, index: s.slices.findIndex((sl) => sl.fileIndex === entry), skipped: skipped.filter((k) => resolve(k.path) !== target), segmentations };
    }
  }
  const own = skipped.find((k) => resolve(k.path) === target);
  if (own) throw new DicomError(own.code, own.reason, file);
  throw new DicomError('IO', 'no such file', file);
}
