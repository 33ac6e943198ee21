/**
 * A small, deterministic, CT-like axial neck series written as DICOM: the project's demo data for
 * `npm start` and the E2E tests (the RSNA-layout phantom with labels is a separate, later piece).
 *
 * Anatomy, in patient LPS mm with the image centre at x = y = 0 (+x patient left = image right, +y posterior
 * = image down, IOP 1\0\0\0\1\0): air outside (−1000 HU); a neck ellipse with a subcutaneous fat band
 * (−100) around muscle/soft tissue (~45); an air-filled trachea; a vertebral body (cortical shell ~1200,
 * cancellous ~300) that becomes an intervertebral disc (~90) every 17 mm along z; a posterior ring (neural
 * arch) and spinous process around the spinal canal (CSF ~10, cord ~35); a curved carbon-fibre-like table
 * (shells ~250, foam core ~−850) below; Gaussian noise σ = 8 HU. The neck outline and the body's size vary
 * slowly along z. Instance 1 is the most superior slice and z falls as the Instance Number rises (a common
 * head-first acquisition order), so consumers must sort by position, not trust file order.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DicomError } from '../dicom/errors';
import { encodeCtSlice, uidFrom } from '../dicom/write';
import { mulberry32 } from '../util/random';

/** Options for {@link writeDemoSeries}. */
export interface DemoSeriesOptions {
  /** Number of axial slices (default 40, 1…1000). */
  slices?: number;
  /** Rows = columns (default 256, 32…1024). */
  size?: number;
  /** Noise and UID seed (default 1); the same seed gives byte-identical files. */
  seed?: number;
  /** Store two's complement (Pixel Representation 1, 16 bits) instead of unsigned 12-bit. Default false. */
  signed?: boolean;
}

/** What {@link writeDemoSeries} wrote. */
export interface DemoSeries {
  /** Written files in Instance Number order (`1.dcm`, `2.dcm`, …, like RSNA's `<slice_number>.dcm`). */
  files: string[];
  studyInstanceUID: string;
  seriesInstanceUID: string;
  frameOfReferenceUID: string;
  rows: number;
  columns: number;
  /** Row spacing, column spacing (mm). */
  pixelSpacing: [number, number];
  /** Distance between slice centres (mm) = Slice Thickness. */
  sliceSpacing: number;
  /** Image Position (Patient) of instance 1; instance n is `sliceSpacing·(n−1)` lower in z. */
  firstPosition: [number, number, number];
}

/** Field of view (mm) of every demo image, whatever its matrix size. */
export const DEMO_FOV_MM = 200;
/** Slice thickness and spacing (mm). */
export const DEMO_SLICE_MM = 2.5;
/** Tissue values (HU) before noise. */
export const DEMO_HU = { air: -1000, fat: -100, soft: 45, cortical: 1200, cancellous: 300, disc: 90, csf: 10, cord: 35, tableShell: 250, tableCore: -850 } as const;
/** Points (LPS mm, x and y; any z outside a disc) whose tissue is known; see {@link demoTissue}. */
export const DEMO_LANDMARKS = {
  outsideAir: [-90, -80], subcutaneousFat: [0, -44], softTissue: [-30, 0], trachea: [0, -24],
  vertebralBodyCancellous: [0, 12], canalCord: [0, 30], spinousProcess: [0, 46], tableCore: [0, 70],
} as const;
/** Standard deviation of the added noise (HU). */
export const DEMO_NOISE_HU = 8;
const LEVEL_MM = 17; // one vertebra + disc along z
const DISC_MM = 4;

/** Which tissue is at (x, y, z) in LPS mm, noise-free. Shared by the writer and the tests. */
export function demoTissue(x: number, y: number, z: number): keyof typeof DEMO_HU {
  // Plain products throughout: this runs once per pixel, and Math.hypot or `**` made it ~15× slower.
  // Table: curved top surface under the patient, shells 1.5 mm, foam core between.
  const tableTop = 66 - 0.001 * x * x; // a cradle: edges rise towards the patient
  if (x > -95 && x < 95 && y >= tableTop && y < tableTop + 8) {
    return y < tableTop + 1.5 || y >= tableTop + 6.5 ? 'tableShell' : 'tableCore';
  }
  const a = 60 + 4 * Math.sin((2 * Math.PI * z) / 80); // neck half-width varies slowly with z
  const b = 50;
  const nx = x / a;
  const ny = (y - 5) / b;
  const r2 = nx * nx + ny * ny;
  if (r2 > 1) return 'air';
  const inner = 1 - 7 / b; // a 7 mm fat band inside the skin
  if (r2 > inner * inner) return 'fat';
  if (x * x + (y + 24) * (y + 24) < 64) return 'air'; // trachea, r = 8
  // Spinal canal and cord.
  const canal2 = x * x + (y - 30) * (y - 30);
  if (canal2 < 5 * 5) return 'cord';
  if (canal2 < 8 * 8) return 'csf';
  // Neural arch: ring around the canal, behind the body; spinous process further back.
  if (canal2 < 12.5 * 12.5 && y > 24) return canal2 < 9.5 * 9.5 || canal2 > 11 * 11 ? 'cortical' : 'cancellous';
  if (x > -3 && x < 3 && y >= 38 && y < 47) return Math.abs(x) > 1.5 || y > 45.5 ? 'cortical' : 'cancellous';
  // Vertebral body with pedicles and transverse processes, or a disc between two bodies.
  const disc = ((z % LEVEL_MM) + LEVEL_MM) % LEVEL_MM < DISC_MM;
  const scale = 1 + 0.04 * Math.cos((2 * Math.PI * z) / 60);
  const bb = 10 * scale;
  const bx = x / (13 * scale);
  const by = (y - 12) / bb;
  const rb2 = bx * bx + by * by;
  if (rb2 <= 1) {
    if (disc) return 'disc';
    const shell = 1 - 1.5 / bb; // 1.5 mm cortical shell
    return rb2 > shell * shell ? 'cortical' : 'cancellous';
  }
  if (!disc) {
    const ax = x < 0 ? -x : x;
    if (ax >= 7 && ax < 11.5 && y >= 18 && y < 27) return boneBox(ax, y, 7, 11.5, 18, 27); // pedicles
    if (ax >= 13 && ax < 27 && y >= 14 && y < 20) return boneBox(ax, y, 13, 27, 14, 20); // transverse processes
  }
  return 'soft';
}

/** A bony box: cortical within 1.2 mm of its edges, cancellous inside. */
function boneBox(x: number, y: number, x0: number, x1: number, y0: number, y1: number): 'cortical' | 'cancellous' {
  const edge = Math.min(x - x0, x1 - x, y - y0, y1 - y);
  return edge < 1.2 ? 'cortical' : 'cancellous';
}


function checkInt(name: string, v: number, lo: number, hi: number): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new DicomError('BAD_ARGUMENT', `${name} must be an integer in ${lo}…${hi} (got ${v})`);
  return v;
}

/** Geometry of the demo series for `size` × `size` images (IPP of instance 1, spacings). */
export function demoGeometry(size: number): { pixelSpacing: [number, number]; firstPosition: [number, number, number] } {
  const ps = DEMO_FOV_MM / size;
  const corner = -DEMO_FOV_MM / 2 + ps / 2; // centre of the first pixel; the image centre is x = y = 0
  return { pixelSpacing: [ps, ps], firstPosition: [corner, corner, 0] };
}

/**
 * HU of one slice (row-major, size × size) at height `z` mm, with noise from `seed` and `index`.
 * Returns Int16Array values in −1024…3071 (what the 12-bit unsigned storage with intercept −1024 can hold).
 */
export function demoSliceHU(z: number, size: number, seed: number, index: number): Int16Array {
  const { pixelSpacing: [ps], firstPosition: [x0, y0] } = demoGeometry(size);
  const rand = mulberry32((Math.imul(seed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
  const out = new Int16Array(size * size);
  let spare = Number.NaN;
  for (let row = 0; row < size; row++) {
    const y = y0 + row * ps;
    for (let col = 0; col < size; col++) {
      const x = x0 + col * ps;
      let noise = spare; // Box–Muller gives two independent normal deviates per pair of uniforms
      if (Number.isNaN(noise)) {
        const radius = Math.sqrt(-2 * Math.log(1 - rand())) * DEMO_NOISE_HU;
        const angle = 2 * Math.PI * rand();
        noise = radius * Math.cos(angle);
        spare = radius * Math.sin(angle);
      } else spare = Number.NaN;
      const hu = Math.round(DEMO_HU[demoTissue(x, y, z)] + noise);
      out[row * size + col] = Math.min(3071, Math.max(-1024, hu));
    }
  }
  return out;
}

/**
 * Write the demo series to `outDir` (created if missing) as `1.dcm` … `N.dcm`, explicit VR little endian,
 * Rescale Intercept −1024 / Slope 1, windows 500/2000 (the paper's) then 40/400 (soft tissue).
 */
export async function writeDemoSeries(outDir: string, options: DemoSeriesOptions = {}): Promise<DemoSeries> {
  const slices = checkInt('slices', options.slices ?? 40, 1, 1000);
  const size = checkInt('size', options.size ?? 256, 32, 1024);
  const seed = checkInt('seed', options.seed ?? 1, 0, 2 ** 32 - 1);
  const signed = options.signed ?? false;
  const { pixelSpacing, firstPosition } = demoGeometry(size);
  const uid = (role: string) => uidFrom('dicom-ml-workbench demo series', seed, size, slices, signed ? 's' : 'u', role);
  const studyInstanceUID = uid('study');
  const seriesInstanceUID = uid('series');
  const frameOfReferenceUID = uid('frame of reference');
  await mkdir(outDir, { recursive: true });
  const files: string[] = [];
  const write = async (i: number) => {
    const z = firstPosition[2] - i * DEMO_SLICE_MM;
    const hu = demoSliceHU(z, size, seed, i);
    const pixelData = signed ? new Int16Array(hu.length) : new Uint16Array(hu.length);
    for (let p = 0; p < hu.length; p++) pixelData[p] = hu[p] + 1024; // stored = (HU − intercept) / slope
    const bytes = encodeCtSlice({
      rows: size, columns: size, pixelData, bitsStored: signed ? 16 : 12,
      rescaleIntercept: -1024, rescaleSlope: 1, windowCenter: [500, 40], windowWidth: [2000, 400],
      imagePositionPatient: [firstPosition[0], firstPosition[1], z],
      imageOrientationPatient: [1, 0, 0, 0, 1, 0],
      pixelSpacing, sliceThickness: DEMO_SLICE_MM, instanceNumber: i + 1,
      sopInstanceUID: uid(`instance ${i + 1}`), seriesInstanceUID, studyInstanceUID, frameOfReferenceUID,
      patientID: `DEMO-${seed}`, patientName: 'Demo^Neck', studyDate: '20260101', seriesNumber: 1,
      seriesDescription: 'Synthetic neck CT (demo)',
      extra: [{ tag: 0x00180015, vr: 'CS', value: 'NECK' }, { tag: 0x00185100, vr: 'CS', value: 'HFS' }],
    });
    const path = join(outDir, `${i + 1}.dcm`);
    await writeFile(path, bytes);
    files[i] = path;
  };
  // A few files in flight: encoding is synchronous, so more would only hold more buffers.
  for (let i = 0; i < slices; i += 4) {
    await Promise.all(Array.from({ length: Math.min(4, slices - i) }, (_, k) => write(i + k)));
  }
  return { files, studyInstanceUID, seriesInstanceUID, frameOfReferenceUID, rows: size, columns: size, pixelSpacing, sliceSpacing: DEMO_SLICE_MM, firstPosition };
}
