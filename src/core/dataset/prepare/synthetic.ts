/**
 * A small synthetic RSNA-layout dataset for the prepare tests and benchmark (the full phantom generator,
 * `dicom-ml sample`, is src/core/dataset/phantom): DICOM slices written with write.ts, train.csv and
 * train_bounding_boxes.csv, and the label volume in slice space. The NIfTI masks themselves are written by
 * test/python/prepare_seg.py with nibabel, so their orientation and affine come from an independent
 * implementation rather than from the code under test.
 *
 * Anatomy (LPS mm, image centre x = y = 0, IOP 1\0\0\0\1\0): air (−1000 HU) outside a neck ellipse of soft
 * tissue (40 HU); from 4 % to 56 % of the stack's height seven vertebrae C1–C7 (labels 1–7) and T1
 * (label 8), each an elliptic cylinder of bone (cortical shell 1000 HU, cancellous 350 HU) with a thin disc
 * (80 HU) below it. The spine drifts forward and sideways with z and the vertebrae grow downwards, so a mask
 * flipped in z no longer sits on bone. The lower part of the stack is soft tissue only.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeCtSlice, uidFrom } from '../../dicom/write';
import { mulberry32 } from '../../util/random';

/** How one synthetic study looks. */
export interface SyntheticStudyOptions {
  uid: string;
  /** Number of slices (default 40). */
  slices?: number;
  /** Rows = columns (default 64). */
  size?: number;
  /** Field of view in mm (default 160). */
  fovMm?: number;
  /** Slice spacing in mm (default 2). */
  sliceMm?: number;
  /** Image Position z falls as slice_number rises (default true, the common RSNA case). */
  zFalls?: boolean;
  /** Noise seed (default 1). */
  seed?: number;
}

/** What {@link writeSyntheticStudy} wrote. */
export interface SyntheticStudy {
  uid: string;
  dir: string;
  rows: number;
  columns: number;
  slices: number;
  /** Labels in slice space: [k][r][c], k = slice_number − 1, row-major, 0 background. */
  labels: Uint8Array;
  /** Image Position (Patient) of slice_number k + 1. */
  positions: [number, number, number][];
  orientation: [number, number, number, number, number, number];
  /** Row spacing, column spacing (mm). */
  pixelSpacing: [number, number];
}

const HU = { air: -1000, soft: 40, cortical: 1000, cancellous: 350, disc: 80 } as const;
/** Height (mm) of each vertebra body C1…C7, T1; a 2 mm disc follows each. */
const HEIGHTS = [8, 12, 10, 10, 10, 11, 11, 12];
const DISC_MM = 2;

/**
 * Label (1–8) and tissue at (x, y, z) in LPS mm for a spine whose top is at z = `top` and whose C1…T1 span
 * `length` mm downwards (vertebra heights in proportion to {@link HEIGHTS}).
 */
export function syntheticTissue(x: number, y: number, z: number, top: number, length: number): { label: number; hu: number } {
  const nx = x / 70;
  const ny = (y - 5) / 55;
  if (nx * nx + ny * ny > 1) return { label: 0, hu: HU.air };
  const unit = length / (HEIGHTS.reduce((a, b) => a + b, 0) + DISC_MM * HEIGHTS.length);
  const depth = top - z; // mm below the top of C1
  if (depth < 0 || depth >= length) return { label: 0, hu: HU.soft };
  const f = depth / length;
  const cx = -10 + 22 * f; // the spine drifts sideways…
  const cy = 22 - 16 * f; // …and forward, so a mask flipped in z leaves the bone
  let zz = 0;
  for (let v = 0; v < HEIGHTS.length; v++) {
    const h = HEIGHTS[v] * unit;
    if (depth < zz + h) {
      const rx = 9 + 0.6 * v + (v === 0 ? 5 : 0); // C1 is a wide ring, the rest grow downwards
      const ry = 7 + 0.4 * v;
      const ex = (x - cx) / rx;
      const ey = (y - cy) / ry;
      const r2 = ex * ex + ey * ey;
      if (r2 > 1) return { label: 0, hu: HU.soft };
      return { label: v + 1, hu: r2 > 0.6 ? HU.cortical : HU.cancellous };
    }
    zz += h;
    if (depth < zz + DISC_MM * unit) {
      const ex = (x - cx) / 9;
      const ey = (y - cy) / 7;
      return { label: 0, hu: ex * ex + ey * ey <= 1 ? HU.disc : HU.soft };
    }
    zz += DISC_MM * unit;
  }
  return { label: 0, hu: HU.soft };
}


/** Write train_images/<uid>/<n>.dcm under `root`; returns the geometry and the slice-space labels. */
export async function writeSyntheticStudy(root: string, options: SyntheticStudyOptions): Promise<SyntheticStudy> {
  const S = options.slices ?? 40;
  const N = options.size ?? 64;
  const fov = options.fovMm ?? 160;
  const dz = options.sliceMm ?? 2;
  const zFalls = options.zFalls ?? true;
  const ps = fov / N;
  const corner = -fov / 2 + ps / 2;
  const dir = join(root, 'train_images', options.uid);
  await mkdir(dir, { recursive: true });
  // The spine's top sits 4 % below the top of the stack and C1…T1 fill the next 52 %; below is soft tissue.
  const zTop = 100;
  const zBottom = zTop - (S - 1) * dz;
  const top = zTop - 0.04 * (S - 1) * dz;
  const length = 0.52 * (S - 1) * dz;
  const labels = new Uint8Array(S * N * N);
  const positions: [number, number, number][] = [];
  const rand = mulberry32(options.seed ?? 1);
  const series = uidFrom('prepare synthetic', options.uid, 'series');
  for (let k = 0; k < S; k++) {
    const z = zFalls ? zTop - k * dz : zBottom + k * dz;
    positions.push([corner, corner, z]);
    const stored = new Uint16Array(N * N);
    for (let r = 0; r < N; r++) {
      for (let c = 0; c < N; c++) {
        const t = syntheticTissue(corner + c * ps, corner + r * ps, z, top, length);
        labels[(k * N + r) * N + c] = t.label;
        const hu = Math.round(t.hu + (rand() - 0.5) * 20);
        stored[r * N + c] = Math.max(0, Math.min(4095, hu + 1024));
      }
    }
    const bytes = encodeCtSlice({
      rows: N, columns: N, pixelData: stored, bitsStored: 12, rescaleIntercept: -1024, rescaleSlope: 1,
      imagePositionPatient: [corner, corner, z], imageOrientationPatient: [1, 0, 0, 0, 1, 0], pixelSpacing: [ps, ps],
      sliceThickness: dz, instanceNumber: k + 1, sopInstanceUID: uidFrom('prepare synthetic', options.uid, k),
      seriesInstanceUID: series, studyInstanceUID: /^[0-9.]+$/.test(options.uid) ? options.uid : uidFrom(options.uid),
      patientID: options.uid.slice(-16), seriesDescription: 'synthetic neck (prepare tests)',
    });
    await writeFile(join(dir, `${k + 1}.dcm`), bytes);
  }
  return { uid: options.uid, dir, rows: N, columns: N, slices: S, labels, positions, orientation: [1, 0, 0, 0, 1, 0], pixelSpacing: [ps, ps] };
}

/** A train.csv row. */
export interface SyntheticLabelRow {
  uid: string;
  patientOverall: number;
  /** C1…C7 flags (default all 0). */
  vertebrae?: number[];
}

/** A train_bounding_boxes.csv row. */
export interface SyntheticBoxRow {
  uid: string;
  slice: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Write train.csv and train_bounding_boxes.csv under `root` (RSNA column order and number style). */
export async function writeRsnaCsvs(root: string, rows: readonly SyntheticLabelRow[], boxes: readonly SyntheticBoxRow[]): Promise<void> {
  await mkdir(root, { recursive: true });
  const train = ['StudyInstanceUID,patient_overall,C1,C2,C3,C4,C5,C6,C7',
    ...rows.map((r) => [r.uid, r.patientOverall, ...(r.vertebrae ?? [0, 0, 0, 0, 0, 0, 0])].join(','))];
  await writeFile(join(root, 'train.csv'), `${train.join('\n')}\n`);
  const bb = ['StudyInstanceUID,x,y,width,height,slice_number',
    ...boxes.map((b) => `${b.uid},${b.x.toFixed(1)},${b.y.toFixed(1)},${b.width.toFixed(1)},${b.height.toFixed(1)},${b.slice}`)];
  await writeFile(join(root, 'train_bounding_boxes.csv'), `${bb.join('\n')}\n`);
}

/** Extent of each label 1–7 on slice k of a synthetic study (inclusive pixels), by label. */
export function syntheticExtents(study: SyntheticStudy, k: number): Map<number, { x0: number; y0: number; x1: number; y1: number }> {
  const out = new Map<number, { x0: number; y0: number; x1: number; y1: number }>();
  const N = study.columns;
  for (let r = 0; r < study.rows; r++) {
    for (let c = 0; c < N; c++) {
      const l = study.labels[(k * study.rows + r) * N + c];
      if (l < 1 || l > 7) continue;
      const e = out.get(l);
      if (!e) out.set(l, { x0: c, y0: r, x1: c, y1: r });
      else { e.x0 = Math.min(e.x0, c); e.x1 = Math.max(e.x1, c); e.y0 = Math.min(e.y0, r); e.y1 = Math.max(e.y1, r); }
    }
  }
  return out;
}
