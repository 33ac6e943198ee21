/**
 * DICOM Segmentation (PS3.3 A.51 / C.8.20): the labelled segments of a SEG object and, for every frame, which
 * segment it holds, which source image (and frame) it was derived from and where it lies in the patient.
 *
 * - BINARY frames are bit-packed (Bits Allocated 1, pixels.ts), one segment per frame;
 * - FRACTIONAL frames are 8-bit, 0…Maximum Fractional Value (probability or occupancy), one segment per frame;
 * - LABELMAP (Label Map Segmentation Storage, 2024) frames hold segment numbers, every segment in one frame.
 *
 * Frames are read from the Per-frame Functional Groups (5200,9230), falling back to the Shared ones (5200,9229):
 * Segment Identification (0062,000A), Derivation Image (0008,9124) → Source Image (0008,2112), Plane Position
 * (0020,9113); the plane orientation and pixel spacing from Plane Orientation (0020,9116) / Pixel Measures
 * (0028,9110). Whatever a frame lacks stays undefined; a reference that cannot be trusted is refused, never guessed.
 */
import type { DataSet } from 'dicom-parser';
import { DicomError } from './errors';
import { num, numbers, type ImageInfo } from './image';
import type { LoadedImage } from './load';
import { loadStored } from './load';

export const SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.4';
export const LABEL_MAP_SEGMENTATION_STORAGE = '1.2.840.10008.5.1.4.1.1.66.7';

type Vec3 = [number, number, number];

/** One segment of the Segment Sequence (0062,0002). */
export interface Segment {
  /** Segment Number (0062,0004), from 1 (a LABELMAP's background may be 0). */
  number: number;
  /** Segment Label (0062,0005). */
  label: string;
  description?: string;
  /** Segment Algorithm Type (0062,0008): AUTOMATIC, SEMIAUTOMATIC, MANUAL. */
  algorithmType?: string;
  /** Code Meaning of the Segmented Property Category / Type Code Sequences (0062,0003 / 0062,000F). */
  category?: string;
  type?: string;
  /** Recommended Display CIELab Value (0062,000D) as sRGB 0…255, when given. */
  colour?: [number, number, number];
}

/** One frame of the SEG. */
export interface SegmentFrame {
  /** Frame index in the file (0-based). */
  index: number;
  /** Referenced Segment Number (BINARY / FRACTIONAL); undefined for LABELMAP (the pixel values are segment numbers). */
  segment?: number;
  /** The source image the frame was derived from, and its frame (1-based, as in the file) for multi-frame sources. */
  source?: { sopInstanceUID: string; frame?: number };
  /** Image Position (Patient) of the frame's first pixel, mm. */
  position?: Vec3;
}

/** A read SEG object. */
export interface Segmentation {
  type: 'BINARY' | 'FRACTIONAL' | 'LABELMAP';
  /** FRACTIONAL: PROBABILITY or OCCUPANCY, and the value meaning 1.0. */
  fractionalType?: string;
  maxFractional?: number;
  rows: number;
  columns: number;
  segments: Segment[];
  frames: SegmentFrame[];
  orientation?: [number, number, number, number, number, number];
  /** Row spacing, column spacing (mm). */
  pixelSpacing?: [number, number];
  frameOfReferenceUID?: string;
  /** Series Instance UIDs of Referenced Series Sequence (0008,1115), and the SOP instances listed there. */
  referencedSeries: string[];
  referencedInstances: string[];
}

function str(ds: DataSet | undefined, tag: string): string | undefined {
  const s = ds?.string(tag);
  return s === undefined ? undefined : s.replace(/\0/g, '').trim() || undefined;
}

function items(ds: DataSet | undefined, tag: string): DataSet[] {
  return (ds?.elements[tag]?.items ?? []).map((i) => i.dataSet).filter((d): d is DataSet => d !== undefined);
}

function decimals(ds: DataSet | undefined, tag: string, count: number): number[] | undefined {
  return ds ? numbers(ds, tag, count) : undefined;
}

function us(ds: DataSet | undefined, tag: string, index = 0): number | undefined {
  return ds ? num(ds, tag, index) : undefined;
}

/** CIE L*a*b* (PS3.3 C.10.7.1.1: scaled to 0…65535, a/b offset) → sRGB 0…255 under D65. */
export function cielabToRgb(scaled: readonly number[]): [number, number, number] {
  const L = (scaled[0] / 65535) * 100;
  const a = (scaled[1] / 65535) * 255 - 128;
  const b = (scaled[2] / 65535) * 255 - 128;
  const fy = (L + 16) / 116;
  const f = (t: number) => (t > 6 / 29 ? t ** 3 : 3 * (6 / 29) ** 2 * (t - 4 / 29));
  const [x, y, z] = [0.95047 * f(fy + a / 500), f(fy), 1.08883 * f(fy - b / 200)];
  const lin = [3.2406 * x - 1.5372 * y - 0.4986 * z, -0.9689 * x + 1.8758 * y + 0.0415 * z, 0.0557 * x - 0.204 * y + 1.057 * z];
  const gamma = (c: number) => (c <= 0.0031308 ? 12.92 * c : 1.055 * c ** (1 / 2.4) - 0.055);
  return lin.map((c) => Math.round(255 * Math.min(1, Math.max(0, gamma(c))))) as [number, number, number];
}

/** Whether a loaded image is a DICOM SEG (by SOP Class UID, or Modality SEG). */
export function isSegmentation(image: LoadedImage): boolean {
  const ds = image.file.dataSet;
  const sop = str(ds, 'x00080016');
  return sop === SEGMENTATION_STORAGE || sop === LABEL_MAP_SEGMENTATION_STORAGE || str(ds, 'x00080060') === 'SEG';
}

/** A functional group macro of frame `i`: its per-frame item, else the shared one. */
function group(perFrame: DataSet[], shared: DataSet | undefined, i: number, tag: string): DataSet | undefined {
  return items(perFrame[i], tag)[0] ?? items(shared, tag)[0];
}

/** Read the segments and frames of a SEG; a MALFORMED DicomError names what is wrong. */
export function readSegmentation(image: LoadedImage): Segmentation {
  const ds = image.file.dataSet;
  const info = image.info;
  const fail = (why: string) => new DicomError('MALFORMED', `DICOM SEG: ${why}`, image.path);
  if (!isSegmentation(image)) throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', 'not a DICOM SEG (SOP Class UID is not Segmentation Storage)', image.path);
  const sopClass = str(ds, 'x00080016');
  const rawType = (str(ds, 'x00620001') ?? (sopClass === LABEL_MAP_SEGMENTATION_STORAGE ? 'LABELMAP' : '')).toUpperCase();
  if (rawType !== 'BINARY' && rawType !== 'FRACTIONAL' && rawType !== 'LABELMAP') throw fail(`Segmentation Type (0062,0001) is "${rawType || 'missing'}" (BINARY, FRACTIONAL or LABELMAP)`);
  const type = rawType;
  if (type === 'BINARY' && info.bitsAllocated !== 1) throw fail(`a BINARY segmentation needs Bits Allocated 1, the file says ${info.bitsAllocated}`);
  if (type === 'FRACTIONAL' && info.bitsAllocated !== 8) throw fail(`a FRACTIONAL segmentation needs Bits Allocated 8, the file says ${info.bitsAllocated}`);
  const maxFractional = type === 'FRACTIONAL' ? us(ds, 'x0062000e') : undefined;
  if (type === 'FRACTIONAL' && !maxFractional) throw fail('Maximum Fractional Value (0062,000E) is missing or 0');

  const segments: Segment[] = [];
  for (const item of items(ds, 'x00620002')) {
    const number = us(item, 'x00620004');
    // A label map may describe its background as segment 0; elsewhere numbers start at 1.
    const least = type === 'LABELMAP' ? 0 : 1;
    if (number === undefined || number < least) throw fail(`a Segment Sequence item has no Segment Number (0062,0004) ≥ ${least}`);
    if (segments.some((s) => s.number === number)) throw fail(`Segment Number ${number} appears twice in the Segment Sequence`);
    const lab = item.elements.x0062000d ? [0, 1, 2].map((k) => us(item, 'x0062000d', k)) : undefined;
    const category = str(items(item, 'x00620003')[0], 'x00080104');
    const kind = str(items(item, 'x0062000f')[0], 'x00080104');
    const description = str(item, 'x00620006');
    const algorithmType = str(item, 'x00620008');
    segments.push({
      number,
      label: str(item, 'x00620005') ?? kind ?? `Segment ${number}`,
      ...(description ? { description } : {}),
      ...(algorithmType ? { algorithmType } : {}),
      ...(category ? { category } : {}),
      ...(kind ? { type: kind } : {}),
      ...(lab && lab.every((v) => v !== undefined) ? { colour: cielabToRgb(lab as number[]) } : {}),
    });
  }
  if (segments.length === 0) throw fail('the Segment Sequence (0062,0002) is empty or missing');

  const perFrame = items(ds, 'x52009230');
  const shared = items(ds, 'x52009229')[0];
  if (perFrame.length > 0 && perFrame.length !== info.frames) throw fail(`${perFrame.length} Per-frame Functional Groups items for ${info.frames} frames`);
  const frames: SegmentFrame[] = [];
  for (let i = 0; i < info.frames; i++) {
    const segment = type === 'LABELMAP' ? undefined : us(group(perFrame, shared, i, 'x0062000a'), 'x0062000b');
    if (type !== 'LABELMAP') {
      if (segment === undefined) throw fail(`frame ${i + 1} has no Referenced Segment Number (Segment Identification Sequence 0062,000A)`);
      if (!segments.some((s) => s.number === segment)) throw fail(`frame ${i + 1} references segment ${segment}, which the Segment Sequence does not define`);
    }
    const derivation = group(perFrame, shared, i, 'x00089124');
    const src = items(derivation, 'x00082112')[0];
    const sop = str(src, 'x00081155');
    const srcFrame = src?.elements.x00081160 ? Number(src.intString('x00081160')) : undefined;
    const position = decimals(group(perFrame, shared, i, 'x00209113'), 'x00200032', 3) as Vec3 | undefined;
    frames.push({
      index: i,
      ...(segment !== undefined ? { segment } : {}),
      ...(sop ? { source: { sopInstanceUID: sop, ...(srcFrame !== undefined && Number.isFinite(srcFrame) ? { frame: srcFrame } : {}) } } : {}),
      ...(position ? { position } : {}),
    });
  }
  const orientation = decimals(items(shared, 'x00209116')[0] ?? group(perFrame, shared, 0, 'x00209116'), 'x00200037', 6);
  const spacing = decimals(items(shared, 'x00289110')[0] ?? group(perFrame, shared, 0, 'x00289110'), 'x00280030', 2);
  const refSeries = items(ds, 'x00081115');
  const fractionalType = type === 'FRACTIONAL' ? str(ds, 'x00620010') : undefined;
  const frameOfReferenceUID = str(ds, 'x00200052');
  return {
    type,
    ...(fractionalType ? { fractionalType } : {}),
    ...(maxFractional ? { maxFractional } : {}),
    rows: info.rows,
    columns: info.columns,
    segments,
    frames,
    ...(orientation ? { orientation: orientation as Segmentation['orientation'] } : {}),
    ...(spacing ? { pixelSpacing: spacing as [number, number] } : {}),
    ...(frameOfReferenceUID ? { frameOfReferenceUID } : {}),
    referencedSeries: refSeries.map((s) => str(s, 'x0020000e')).filter((u): u is string => !!u),
    referencedInstances: refSeries.flatMap((s) => items(s, 'x0008114a').map((r) => str(r, 'x00081155')).filter((u): u is string => !!u)),
  };
}

/**
 * Frame `index` of a SEG as per-pixel values: BINARY 0/1, FRACTIONAL 0…1 (stored / Maximum Fractional Value),
 * LABELMAP the segment numbers.
 */
export async function segmentFrame(image: LoadedImage, seg: Segmentation, index: number): Promise<Float32Array> {
  const stored = await loadStored(image, index);
  const out = new Float32Array(stored.length);
  const scale = seg.type === 'FRACTIONAL' ? 1 / (seg.maxFractional as number) : 1;
  for (let i = 0; i < stored.length; i++) out[i] = stored[i] * scale;
  return out;
}

/** The slice a SEG frame is matched to: its SOP Instance UID (and frame), or else its plane. */
export interface SliceIdentity {
  sopInstanceUID?: string;
  /** 1-based frame of a multi-frame source. */
  frame?: number;
  imagePositionPatient?: Vec3;
  imageOrientationPatient?: ImageInfo['imageOrientationPatient'];
  frameOfReferenceUID?: string;
}

const SAME_MM = 0.01;

/**
 * The SEG frames that lie on `slice`: those derived from it (Source Image Sequence), or, for frames that name no
 * source, those whose plane position equals the slice's (within 0.01 mm, same orientation). A frame that names
 * another source is never matched by position.
 */
export function framesOnSlice(seg: Segmentation, slice: SliceIdentity): SegmentFrame[] {
  return seg.frames.filter((f) => {
    if (f.source) return f.source.sopInstanceUID === slice.sopInstanceUID && (f.source.frame === undefined || slice.frame === undefined || f.source.frame === slice.frame);
    const p = f.position;
    const q = slice.imagePositionPatient;
    if (!p || !q) return false;
    if (seg.orientation && slice.imageOrientationPatient && seg.orientation.some((v, k) => Math.abs(v - (slice.imageOrientationPatient as number[])[k]) > 1e-3)) return false;
    return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]) <= SAME_MM;
  });
}
