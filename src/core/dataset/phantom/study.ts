/**
 * One study of the phantom data set: its acquisition (field of view, pixel spacing, slice thickness and
 * spacing, slice count and direction, storage), its patient, and the DICOM / NIfTI geometry that ties
 * them together. Geometry per PS3.3 C.7.6.2 (Image Plane): IPP is the centre of the first transmitted
 * pixel in LPS mm, IOP the row then column direction cosines; slice n lies at IPP(1) + (n − 1)·step·normal.
 */
import type { Affine } from '../../dicom/nifti';
import { uidFrom, type CtSlice, type WriteElement } from '../../dicom/write';
import { makePatient, type Patient } from './anatomy';
import { addFractures, type Fracture } from './fracture';
import { Rng, seedFrom } from '../../util/random';
import { outlineAt, sampleSoftTissue, type PixelGrid, type SoftTissue } from './softTissue';

/** What the caller decides for every study of a data set. */
export interface PhantomOptions {
  /** Rows = columns. */
  size: number;
  /**
   * Allowed slice counts (inclusive). The count is coverage / spacing; when that falls outside the range,
   * another common spacing that fits is taken, else a count is drawn within the range and the spacing (and
   * thickness) follow from the coverage.
   */
  slices: [number, number];
  /** Share of studies with at least one fracture (0…1). */
  fractureRate: number;
  /** Share of studies that get a segmentation NIfTI (0…1). */
  segmentationRate: number;
  /** Samples through each slab for through-plane partial volume (1–4). */
  subsamples: number;
}

/** Storage variants seen in RSNA 2022: unsigned 12-bit, or signed 16-bit with padding outside the circle. */
export type Storage = 'u12' | 's16';

/** Everything that fixes one study. */
export interface StudyPlan {
  index: number;
  seed: number;
  studyInstanceUID: string;
  seriesInstanceUID: string;
  frameOfReferenceUID: string;
  patientID: string;
  rows: number;
  columns: number;
  /** Row spacing, column spacing (mm). */
  pixelSpacing: [number, number];
  sliceThickness: number;
  /** Distance between slice centres (mm). */
  sliceSpacing: number;
  slices: number;
  /** Image Position (Patient) of slice_number 1. */
  firstPosition: [number, number, number];
  /** z step from slice n to n + 1: +spacing (feet → head) or −spacing (head → feet). */
  zStep: number;
  storage: Storage;
  window: [number, number];
  hasSegmentation: boolean;
  patient: Patient;
  soft: SoftTissue;
  fractures: Fracture[];
  /** Pixel grid of every slice (the same x/y for all). */
  grid: PixelGrid;
}

const IOP: [number, number, number, number, number, number] = [1, 0, 0, 0, 1, 0];

/** A canonical key of the options that change pixel content (UIDs and resume checks use it). */
export function optionsKey(o: PhantomOptions): string {
  return `size=${o.size};slices=${o.slices[0]}-${o.slices[1]};fr=${o.fractureRate};seg=${o.segmentationRate};sub=${o.subsamples}`;
}

/** Plan study `index` of the data set with `seed`. Deterministic. */
export function planStudy(seed: number, index: number, o: PhantomOptions): StudyPlan {
  const studySeed = seedFrom('dicom-ml phantom study', seed, index);
  // Separate streams: the patient stays the same whatever the acquisition options or the fracture rate.
  const stream = (name: string) => new Rng(seedFrom(studySeed, name));
  const anatomy = stream('anatomy');
  const rng = stream('acquisition');
  const zMid = Math.round(anatomy.uniform(-250, 60));
  const origin: [number, number, number] = [anatomy.uniform(-15, 15), anatomy.uniform(-10, 25), zMid];
  const patient = makePatient(anatomy, origin);
  const soft = sampleSoftTissue(anatomy);
  const fov = rng.uniform(180, 260);
  const ps = Math.round((fov / o.size) * 1e6) / 1e6;
  const size = o.size;
  const minGap = 1.2 * ps;
  const fractures = addFractures(patient, stream('fractures'), o.fractureRate, minGap);
  // Coverage: from above the dens (into the skull base) to below C7 (sometimes into T1–T3).
  const L = patient.levels;
  const top = Math.max(patient.zTopOfDens, L[0].frame.o[2] + 6) + rng.uniform(8, 40) * patient.s;
  const bottom = L[6].frame.o[2] - L[6].dims.bodyH - rng.uniform(3, 55) * patient.s;
  const range = top - bottom;
  let thickness = rng.pick([0.625, 0.75, 0.8, 1, 1.25], [3, 1, 1, 3, 2]);
  let spacing = rng.chance(0.25) ? thickness * rng.pick([0.5, 0.8]) : thickness;
  let slices = Math.round(range / spacing) + 1;
  if (slices < o.slices[0] || slices > o.slices[1]) {
    // The coverage does not fit the allowed count at this spacing: take another common reconstruction
    // spacing that fits, else draw a count in range and let the spacing (and thickness) follow.
    const fits = [0.5, 0.625, 0.75, 0.8, 1, 1.25, 1.5, 2, 2.5, 3, 4, 5].filter((sp) => {
      const n = Math.round(range / sp) + 1;
      return n >= o.slices[0] && n <= o.slices[1];
    });
    if (fits.length) spacing = rng.pick(fits);
    else spacing = Math.round((range / (rng.int(o.slices[0], o.slices[1]) - 1)) * 1e4) / 1e4;
    slices = Math.round(range / spacing) + 1;
    thickness = Math.max(thickness, spacing);
  }
  const descending = rng.chance(0.6); // slice_number 1 at the head, z falling (as most RSNA studies)
  const zStep = descending ? -spacing : spacing;
  const zFirst = Math.round((descending ? top : top - (slices - 1) * spacing) * 1000) / 1000;
  // The head rests on the table; the neck lies above it (a pad fills the gap in practice).
  let back = -Infinity;
  for (let z = bottom; z <= top; z += 2) { const e = outlineAt(patient, soft, z); back = Math.max(back, e.cy + e.b); }
  const neck = outlineAt(patient, soft, (top + bottom) / 2);
  soft.tableY = back + rng.uniform(1, 8);
  soft.tableX = neck.cx + rng.uniform(-5, 5);
  // Reconstruction centre: left-right near the neck, front-back so that the table sits in the lower part of
  // the field (or just outside it); the spine is not always in the middle.
  const cx = neck.cx + rng.uniform(-20, 20);
  const cy = soft.tableY - rng.uniform(0.55, 1.02) * (fov / 2);
  const x0 = Math.round((cx - ((size - 1) / 2) * ps) * 1000) / 1000;
  const y0 = Math.round((cy - ((size - 1) / 2) * ps) * 1000) / 1000;
  const key = optionsKey(o);
  const uid = (role: string) => uidFrom('dicom-ml phantom', seed, index, key, role);
  return {
    index, seed: studySeed,
    studyInstanceUID: uid('study'), seriesInstanceUID: uid('series'), frameOfReferenceUID: uid('frame of reference'),
    patientID: `PHANTOM-${seed}-${String(index + 1).padStart(4, '0')}`,
    rows: size, columns: size, pixelSpacing: [ps, ps], sliceThickness: thickness, sliceSpacing: spacing, slices,
    firstPosition: [x0, y0, zFirst], zStep,
    storage: rng.chance(0.55) ? 'u12' : 's16',
    window: rng.pick([[500, 2000], [400, 1800], [300, 1500]]) as [number, number],
    hasSegmentation: stream('segmentation').chance(o.segmentationRate),
    patient, soft, fractures,
    grid: { rows: size, columns: size, x0, y0, dx: ps, dy: ps },
  };
}

/** z (mm) of slice_number `n` (1-based). */
export function sliceZ(plan: StudyPlan, n: number): number {
  return Math.round((plan.firstPosition[2] + (n - 1) * plan.zStep) * 1e4) / 1e4;
}

/** HU outside the reconstruction circle: −2000 (padding) for signed storage, the lowest value otherwise. */
export function outsideHU(plan: StudyPlan): number {
  return plan.storage === 's16' ? -2000 : -1024;
}

/** Stored values for HU (Rescale Intercept −1024, Slope 1; PS3.3 C.11.1.1.2), clamped to −1024…3071 HU. */
export function storedPixels(plan: StudyPlan, hu: Float32Array): Uint16Array | Int16Array {
  // One loop per array type keeps each loop monomorphic (a union-typed store is ~3× slower).
  const pad = outsideHU(plan);
  if (plan.storage === 'u12') {
    const out = new Uint16Array(hu.length);
    for (let i = 0; i < hu.length; i++) out[i] = toStored(hu[i], pad);
    return out;
  }
  const out = new Int16Array(hu.length);
  for (let i = 0; i < hu.length; i++) out[i] = toStored(hu[i], pad);
  return out;
}

function toStored(v: number, pad: number): number {
  if (v === pad) return pad + 1024;
  const c = v < -1024 ? -1024 : v > 3071 ? 3071 : v;
  return Math.round(c) + 1024;
}

/** The CT slice (write.ts input) for slice_number `n` with stored `pixelData`. */
export function ctSlice(plan: StudyPlan, n: number, pixelData: Uint16Array | Int16Array): CtSlice {
  const z = sliceZ(plan, n);
  const extra: WriteElement[] = [
    { tag: 0x00080070, vr: 'LO', value: 'DICOM-ML WORKBENCH' },
    { tag: 0x00081090, vr: 'LO', value: 'SYNTHETIC CSPINE PHANTOM' },
    { tag: 0x00180015, vr: 'CS', value: 'CSPINE' },
    { tag: 0x00180060, vr: 'DS', value: 120 },
    { tag: 0x00181210, vr: 'SH', value: 'BONE' },
    { tag: 0x00185100, vr: 'CS', value: 'HFS' },
    { tag: 0x00201041, vr: 'DS', value: z },
  ];
  if (plan.storage === 's16') extra.push({ tag: 0x00280120, vr: 'SS', value: outsideHU(plan) + 1024 }); // Pixel Padding Value, C.7.5.1.1.2
  return {
    rows: plan.rows, columns: plan.columns, pixelData, bitsStored: plan.storage === 'u12' ? 12 : 16,
    rescaleIntercept: -1024, rescaleSlope: 1, windowCenter: [plan.window[0], 40], windowWidth: [plan.window[1], 400],
    imagePositionPatient: [plan.firstPosition[0], plan.firstPosition[1], z], imageOrientationPatient: IOP,
    pixelSpacing: plan.pixelSpacing, sliceThickness: plan.sliceThickness, instanceNumber: n,
    sopInstanceUID: uidFrom(plan.seriesInstanceUID, 'instance', n), seriesInstanceUID: plan.seriesInstanceUID,
    studyInstanceUID: plan.studyInstanceUID, frameOfReferenceUID: plan.frameOfReferenceUID,
    patientID: plan.patientID, patientName: `Phantom^${String(plan.index + 1).padStart(4, '0')}`, studyDate: '20260101', seriesNumber: 2,
    seriesDescription: `CSPINE BONE ${plan.sliceThickness}mm`, extra,
  };
}

/**
 * The segmentation's voxel → RAS affine. The mask is stored like RSNA's: i = column, j = rows − 1 − row,
 * k = slices in increasing z (so `mask[:, ::-1, ::-1].transpose(2, 1, 0)` gives the DICOM stack when z falls
 * with slice_number). LPS(i, j, k) = IPP(lowest z) + i·Δc·X + (rows − 1 − j)·Δr·Y + k·spacing·N, with X, Y
 * the IOP row/column cosines and N = X × Y; RAS = diag(−1, −1, 1)·LPS (nifti1.h vs PS3.3 C.7.6.2.1.1).
 */
export function maskAffine(plan: StudyPlan): Affine {
  const X = IOP.slice(0, 3); const Y = IOP.slice(3, 6);
  const N = [X[1] * Y[2] - X[2] * Y[1], X[2] * Y[0] - X[0] * Y[2], X[0] * Y[1] - X[1] * Y[0]];
  const [dr, dc] = plan.pixelSpacing;
  const lowest = plan.zStep < 0 ? plan.slices : 1;
  const p0 = [plan.firstPosition[0], plan.firstPosition[1], sliceZ(plan, lowest)];
  const sign = [-1, -1, 1];
  const rows = [0, 1, 2].map((a) => [
    sign[a] * X[a] * dc,
    -sign[a] * Y[a] * dr,
    sign[a] * N[a] * plan.sliceSpacing,
    sign[a] * (p0[a] + (plan.rows - 1) * dr * Y[a]),
  ]);
  return [...rows, [0, 0, 0, 1]];
}

/** Index in the NIfTI mask (x fastest) of pixel (row, column) of slice_number `n`. */
export function maskIndex(plan: StudyPlan, n: number, row: number, column: number): number {
  const k = plan.zStep < 0 ? plan.slices - n : n - 1;
  return column + plan.columns * ((plan.rows - 1 - row) + plan.rows * k);
}
