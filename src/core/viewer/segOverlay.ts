/**
 * DICOM SEG masks over the viewer's series (issue 11 item 4): the SEG objects that belong to the series — found in
 * its folder, in sibling folders that hold a few files (TCIA-style study/series folders), or added by the user —
 * with each frame placed on the slice it was derived from (seg.ts framesOnSlice), and per slice the masks as alpha
 * rectangles (the bounding box of the non-zero pixels) in the segment's colour.
 *
 * A SEG belongs to the series when one of its frames lands on a slice; one on another pixel grid is listed with the
 * reason and not drawn (nothing is resampled).
 */
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { classColour } from '../classColours';
import { formatUserError } from '../dicom/errors';
import { loadImage, type LoadedImage } from '../dicom/load';
import { framesOnSlice, readSegmentation, segmentFrame, type Segmentation, type SegmentFrame, type SliceIdentity } from '../dicom/seg';
import { scanSeries } from '../dicom/series';
import { mapLimit } from '../util/async';

/** A segment as the viewer lists it. */
export interface SegSegmentInfo {
  number: number;
  label: string;
  /** CSS colour: the Recommended Display CIELab value, else the C1–C7 class colour for vertebrae, else a palette colour. */
  colour: string;
}

/** One SEG file over the series. */
export interface SegFileInfo {
  file: string;
  type: Segmentation['type'];
  segments: SegSegmentInfo[];
  /** Slices of the series with at least one frame. */
  slices: number;
}

/** What the viewer shows about the series' segmentations. */
export interface SegOverlayInfo {
  files: SegFileInfo[];
  /** SEG files found but not shown, and why. */
  notes: string[];
}

/** One mask on a slice: alpha 0…255 (binary 255; fractional the fraction) over the rectangle x, y, width × height. */
export interface SegMask {
  /** Index into {@link SegOverlayInfo.files}. */
  file: number;
  segment: number;
  x: number;
  y: number;
  width: number;
  height: number;
  alpha: Uint8Array;
}

interface Loaded {
  image: LoadedImage;
  seg: Segmentation;
  info: SegFileInfo;
  byIndex: Map<number, SegmentFrame[]>;
}

/** Sibling folders holding at most this many files are looked into (a SEG series is usually one file). */
const SIBLING_FILES = 4;
const SIBLING_FOLDERS = 64;

/** SEG files in the sibling folders of `dir` that hold only a few files (header-only reads). */
export async function siblingSegmentations(dir: string): Promise<string[]> {
  const parent = dirname(resolve(dir));
  let names: string[];
  try {
    names = (await readdir(parent, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort().slice(0, SIBLING_FOLDERS);
  } catch {
    return [];
  }
  const found = await mapLimit(names.map((n) => join(parent, n)).filter((d) => d !== resolve(dir)), 4, async (d) => {
    try {
      const files = (await readdir(d, { withFileTypes: true })).filter((e) => e.isFile());
      if (files.length === 0 || files.length > SIBLING_FILES) return [];
      const scan = await scanSeries(d, { concurrency: 2 });
      return scan.series.filter((s) => s.modality === 'SEG').flatMap((s) => s.entries.map((e) => e.path));
    } catch {
      return [];
    }
  });
  return found.flat();
}

function segmentColour(seg: Segmentation['segments'][number], number: number): string {
  if (seg.colour) return `rgb(${seg.colour.join(', ')})`;
  const vertebra = /^C([1-7])\b/i.exec(seg.label);
  return classColour(vertebra ? Number(vertebra[1]) - 1 : 7 + number);
}

/** The SEG objects over one series, loaded once; masks decoded per slice on request. */
export class SeriesSegmentations {
  private constructor(private readonly loaded: Loaded[], readonly notes: string[], private readonly size: readonly { rows: number; columns: number }[]) {}

  /**
   * Read `files` (duplicates and unreadable ones noted, never fatal) and place their frames on `slices` (display
   * order; `sizes` their rows × columns). A SEG of another series is left out silently, unless the user `picked` it:
   * then a note says so.
   */
  static async load(files: readonly string[], slices: readonly SliceIdentity[], sizes: readonly { rows: number; columns: number }[], options: { picked?: readonly string[] } = {}): Promise<SeriesSegmentations> {
    const picked = new Set((options.picked ?? []).map((f) => resolve(f)));
    const notes: string[] = [];
    const loaded: Loaded[] = [];
    for (const file of [...new Set(files.map((f) => resolve(f)))]) {
      let image: LoadedImage;
      let seg: Segmentation;
      try {
        image = await loadImage(file);
        seg = readSegmentation(image);
      } catch (err) {
        notes.push(formatUserError(err, file));
        continue;
      }
      const byIndex = new Map<number, SegmentFrame[]>();
      slices.forEach((slice, k) => {
        const frames = framesOnSlice(seg, slice);
        if (frames.length > 0) byIndex.set(k, frames);
      });
      if (byIndex.size === 0) { // another series' SEG
        if (picked.has(file)) notes.push(`${basename(file)}: none of its frames lies on a slice of this series`);
        continue;
      }
      const k0 = [...byIndex.keys()][0];
      if (sizes[k0].rows !== seg.rows || sizes[k0].columns !== seg.columns) {
        notes.push(`${basename(file)}: the SEG is ${seg.rows}×${seg.columns}, the slices ${sizes[k0].rows}×${sizes[k0].columns}; not shown (resampling a SEG is not supported)`);
        continue;
      }
      const segments = seg.segments.filter((s) => s.number > 0).map((s) => ({ number: s.number, label: s.label, colour: segmentColour(s, s.number) }));
      loaded.push({ image, seg, byIndex, info: { file, type: seg.type, segments, slices: byIndex.size } });
    }
    return new SeriesSegmentations(loaded, notes, sizes);
  }

  info(): SegOverlayInfo {
    return { files: this.loaded.map((l) => ({ ...l.info, segments: l.info.segments.map((s) => ({ ...s })) })), notes: [...this.notes] };
  }

  /** The masks on slice `index` (display order), in file then frame order. */
  async masks(index: number): Promise<SegMask[]> {
    const out: SegMask[] = [];
    const { rows, columns } = this.size[index] ?? { rows: 0, columns: 0 };
    for (let f = 0; f < this.loaded.length; f++) {
      const l = this.loaded[f];
      for (const frame of l.byIndex.get(index) ?? []) {
        const values = await segmentFrame(l.image, l.seg, frame.index);
        if (l.seg.type === 'LABELMAP') {
          for (const s of l.info.segments) {
            const mask = rectangle(values, rows, columns, (v) => (v === s.number ? 255 : 0));
            if (mask) out.push({ file: f, segment: s.number, ...mask });
          }
          continue;
        }
        const mask = rectangle(values, rows, columns, (v) => Math.round(255 * Math.min(1, Math.max(0, v))));
        if (mask) out.push({ file: f, segment: frame.segment as number, ...mask });
      }
    }
    return out;
  }
}

/** The alpha of `values` over the bounding rectangle of its non-zero alpha, or undefined when all zero. */
function rectangle(values: Float32Array, rows: number, columns: number, alphaOf: (v: number) => number): Omit<SegMask, 'file' | 'segment'> | undefined {
  let [x0, y0, x1, y1] = [columns, rows, -1, -1];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      if (alphaOf(values[r * columns + c]) === 0) continue;
      if (c < x0) x0 = c;
      if (c > x1) x1 = c;
      if (r < y0) y0 = r;
      if (r > y1) y1 = r;
    }
  }
  if (x1 < 0) return undefined;
  const width = x1 - x0 + 1;
  const height = y1 - y0 + 1;
  const alpha = new Uint8Array(width * height);
  for (let r = 0; r < height; r++) for (let c = 0; c < width; c++) alpha[r * width + c] = alphaOf(values[(y0 + r) * columns + x0 + c]);
  return { x: x0, y: y0, width, height, alpha };
}
