/**
 * A series as a volume, and the two multiplanar reformats along the volume's own axes that clinical MPR
 * shows next to an axial stack. Pure arithmetic with no imports, so the webview bundles it for the
 * browser and the unit tests run it in plain Node.
 *
 * Frames:
 * - voxel (k, r, c): DICOM index coordinates, continuous, integer = pixel centre. k: slice in display
 *   order, r: row (image y), c: column (image x).
 * - patient: LPS millimetres (PS3.3 C.7.6.2.1.1: x towards the patient's left, y posterior, z head).
 *   Pixel (r, c) of slice k has its centre at IPP_k + c·Δc·rowCosines + r·Δr·columnCosines, with
 *   rowCosines = IOP[0..2] (the direction of increasing c), columnCosines = IOP[3..5], Δc =
 *   PixelSpacing[1], Δr = PixelSpacing[0]. Between slices, IPP is interpolated linearly in k, so positions
 *   along the normal may be non-uniform.
 * - reformat (u, v): index coordinates of a reformat image, integer = pixel centre, u right, v down.
 *   To draw at (u, v) through viewTransform.ts, use its pixelCentre(u, v).
 */

/** A vector in patient LPS coordinates. */
export type Vec3 = readonly [number, number, number];

/** The geometry attributes of one slice (Image Plane Module, PS3.3 C.7.6.2); absent when missing. */
export interface SliceGeometry {
  /** Image Position (Patient) (0020,0032): centre of the first pixel, mm. */
  imagePositionPatient?: readonly number[];
  /** Image Orientation (Patient) (0020,0037): row cosines then column cosines. */
  imageOrientationPatient?: readonly number[];
  /** Pixel Spacing (0028,0030): [row spacing Δr, column spacing Δc], mm. */
  pixelSpacing?: readonly number[];
  rows: number;
  columns: number;
}

/** Which parts of the geometry were not known and were assumed (see {@link volumeGeometry}). */
export interface AssumedGeometry {
  /** Axial identity IOP [1,0,0, 0,1,0] was assumed: orientation labels are unknown. */
  orientation: boolean;
  /** 1 mm × 1 mm pixels were assumed. */
  pixelSpacing: boolean;
  /** Positions along the normal are the slice index (1 mm apart, increasing with k). */
  positions: boolean;
}

/** A series as a volume. Voxel arrays that go with it are `Float32Array | Int16Array, slices×rows×columns`. */
export interface VolumeGeometry {
  slices: number;
  rows: number;
  columns: number;
  /** Unit direction of increasing column c (IOP[0..2], orthonormalised). */
  rowCosines: Vec3;
  /** Unit direction of increasing row r (IOP[3..5], orthonormalised against rowCosines). */
  columnCosines: Vec3;
  /** rowCosines × columnCosines. */
  normal: Vec3;
  /** Δr, mm between rows (PixelSpacing[0]). */
  rowSpacing: number;
  /** Δc, mm between columns (PixelSpacing[1]). */
  columnSpacing: number;
  /** IPP of each slice (synthesised when assumed), `slices` entries. */
  origins: readonly Vec3[];
  /** IPP · normal of each slice (mm), strictly monotonic: increasing or decreasing with k. */
  positions: Float64Array;
  /** Median distance between neighbouring slices (mm); 1 with a single slice. */
  sliceSpacing: number;
  /** Every distance between neighbouring slices is within 1% of the median. */
  uniform: boolean;
  assumed: AssumedGeometry;
  /** Why something was assumed, readable by a user; empty when the geometry was complete. */
  notes: string[];
}

/** A continuous voxel position (k, r, c); see the module's frames. */
export interface Voxel {
  k: number;
  r: number;
  c: number;
}

/**
 * `'sagittal'`: the plane through a fixed column c (u = r, v along the slices); `'coronal'`: the plane
 * through a fixed row r (u = c, v along the slices). Named for an axial stack; for another stack they are
 * the same planes and the labels say where they lie.
 */
export type ReformatKind = 'sagittal' | 'coronal';

/** Patient directions at the four edges of an image: one to three of L R A P S I, strongest first. */
export interface AxisLabels {
  top: string;
  bottom: string;
  left: string;
  right: string;
}

/** Size, aspect and orientation of a reformat image. */
export interface ReformatLayout {
  kind: ReformatKind;
  /** Output columns (u): rows of the stack for sagittal, columns for coronal. */
  width: number;
  /** Output rows (v): one per slice spacing along the stack, see {@link reformatLayout}. */
  height: number;
  /** mm per output column: Δr (sagittal) or Δc (coronal). */
  spacingX: number;
  /** mm per output row along the normal. */
  spacingY: number;
  /** Position along the normal (mm, IPP·normal) of output row v = 0. */
  topPosition: number;
  /** Change of position along the normal per output row down: ±spacingY. */
  positionStep: number;
  /** Patient directions of the edges; null when the orientation was assumed. */
  labels: AxisLabels | null;
  /** Which voxel index a reformat of this kind holds fixed: c for sagittal, r for coronal. */
  fixed: 'c' | 'r';
  /** How many planes there are (the allowed `index` values are 0…planes − 1). */
  planes: number;
}

const ORIENTATION_TOLERANCE = 1e-3;
const POSITION_EPSILON_MM = 1e-3;
const AXIAL: readonly number[] = [1, 0, 0, 0, 1, 0];

const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const normalise = (a: Vec3): Vec3 => scale(a, 1 / Math.hypot(a[0], a[1], a[2]));

function finiteArray(v: readonly number[] | undefined, length: number): v is readonly number[] {
  return Array.isArray(v) && v.length === length && v.every((x) => typeof x === 'number' && Number.isFinite(x));
}

/** Two (near) unit, (near) orthogonal cosines, as C.7.6.2.1.1 requires; tolerant of string rounding. */
function validOrientation(iop: readonly number[] | undefined): iop is readonly number[] {
  if (!finiteArray(iop, 6)) return false;
  const a: Vec3 = [iop[0], iop[1], iop[2]];
  const b: Vec3 = [iop[3], iop[4], iop[5]];
  return Math.abs(Math.hypot(...a) - 1) < 1e-2 && Math.abs(Math.hypot(...b) - 1) < 1e-2 && Math.abs(dot(a, b)) < 1e-2;
}

function median(values: number[]): number {
  const s = [...values].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Build the volume geometry of slices already in display order along the normal.
 *
 * Throws RangeError when the slices cannot form one volume: no slices, rows/columns that are not
 * positive integers or differ between slices, well-formed orientations or pixel spacings that differ
 * between slices.
 *
 * Missing geometry falls back, recorded in `assumed` and `notes` (a value that is malformed — wrong
 * length, not finite, cosines not unit and orthogonal — counts as missing; a field is used only when
 * every slice has it):
 * - orientation → axial identity [1,0,0, 0,1,0], labels null;
 * - pixel spacing → 1 mm × 1 mm;
 * - positions (IPP missing, or not strictly monotonic along the normal, e.g. duplicates or the frames of a
 *   multi-frame file that share one position) → slice index k as the position, 1 mm apart, starting at
 *   slice 0's IPP when it has one.
 */
export function volumeGeometry(slices: readonly SliceGeometry[]): VolumeGeometry {
  if (slices.length === 0) throw new RangeError('a volume needs at least one slice');
  const { rows, columns } = slices[0];
  for (const [i, s] of slices.entries()) {
    if (!(Number.isInteger(s.rows) && s.rows > 0 && Number.isInteger(s.columns) && s.columns > 0)) {
      throw new RangeError(`slice ${i}: rows and columns must be positive integers, got ${s.rows}×${s.columns}`);
    }
    if (s.rows !== rows || s.columns !== columns) {
      throw new RangeError(`slice ${i} is ${s.rows}×${s.columns} but slice 0 is ${rows}×${columns}: not one volume`);
    }
  }
  const notes: string[] = [];
  const assumed: AssumedGeometry = { orientation: false, pixelSpacing: false, positions: false };

  // Orientation: one for all slices (C.7.6.2.1.1), orthonormalised so that patient → voxel inverts exactly.
  let iop = AXIAL;
  if (slices.every((s) => validOrientation(s.imageOrientationPatient))) {
    iop = slices[0].imageOrientationPatient as readonly number[];
    for (const [i, s] of slices.entries()) {
      const other = s.imageOrientationPatient as readonly number[];
      if (other.some((x, j) => Math.abs(x - iop[j]) > ORIENTATION_TOLERANCE)) {
        throw new RangeError(`slice ${i} has Image Orientation (Patient) ${other.join('\\')} but slice 0 has ${iop.join('\\')}: not one volume`);
      }
    }
  } else {
    assumed.orientation = true;
    notes.push('Image Orientation (Patient) is missing or malformed: an axial orientation was assumed, so patient directions are unknown.');
  }
  const rowCosines = normalise([iop[0], iop[1], iop[2]]);
  const b: Vec3 = [iop[3], iop[4], iop[5]];
  const columnCosines = normalise(sub(b, scale(rowCosines, dot(b, rowCosines))));
  const normal = cross(rowCosines, columnCosines);

  // Pixel Spacing [Δr, Δc].
  let rowSpacing = 1;
  let columnSpacing = 1;
  if (slices.every((s) => finiteArray(s.pixelSpacing, 2) && s.pixelSpacing[0] > 0 && s.pixelSpacing[1] > 0)) {
    const ps = slices[0].pixelSpacing as readonly number[];
    [rowSpacing, columnSpacing] = ps;
    for (const [i, s] of slices.entries()) {
      const other = s.pixelSpacing as readonly number[];
      if (Math.abs(other[0] - ps[0]) > 1e-3 * ps[0] || Math.abs(other[1] - ps[1]) > 1e-3 * ps[1]) {
        throw new RangeError(`slice ${i} has Pixel Spacing ${other.join('\\')} but slice 0 has ${ps.join('\\')}: not one volume`);
      }
    }
  } else {
    assumed.pixelSpacing = true;
    notes.push('Pixel Spacing is missing or malformed: 1 mm square pixels were assumed.');
  }

  // Positions along the normal.
  let origins: Vec3[] = [];
  let positions = new Float64Array(slices.length);
  if (slices.every((s) => finiteArray(s.imagePositionPatient, 3))) {
    origins = slices.map((s) => {
      const p = s.imagePositionPatient as readonly number[];
      return [p[0], p[1], p[2]] as Vec3;
    });
    positions = Float64Array.from(origins, (o) => dot(o, normal));
    const steps = Array.from({ length: slices.length - 1 }, (_, i) => positions[i + 1] - positions[i]);
    const increasing = steps.every((d) => d > POSITION_EPSILON_MM);
    const decreasing = steps.every((d) => d < -POSITION_EPSILON_MM);
    if (!increasing && !decreasing) {
      assumed.positions = true;
      notes.push('Image Position (Patient) is not strictly monotonic along the slice normal (duplicates or out of order): slice index used as position, 1 mm apart.');
    }
  } else {
    assumed.positions = true;
    notes.push('Image Position (Patient) is missing or malformed: slice index used as position, 1 mm apart.');
  }
  if (assumed.positions) {
    const p0 = slices[0].imagePositionPatient;
    const start: Vec3 = finiteArray(p0, 3) ? [p0[0], p0[1], p0[2]] : [0, 0, 0];
    origins = slices.map((_, k) => add(start, scale(normal, k)));
    positions = Float64Array.from(origins, (o) => dot(o, normal));
  }
  const gaps = Array.from({ length: slices.length - 1 }, (_, i) => Math.abs(positions[i + 1] - positions[i]));
  const sliceSpacing = gaps.length > 0 ? median(gaps) : 1;
  const uniform = gaps.every((g) => Math.abs(g - sliceSpacing) <= 0.01 * sliceSpacing);

  return {
    slices: slices.length, rows, columns, rowCosines, columnCosines, normal, rowSpacing, columnSpacing,
    origins, positions, sliceSpacing, uniform, assumed, notes,
  };
}

/** The pair of slices that k interpolates (or extrapolates) between, and the weight of the second. */
function bracket(g: VolumeGeometry, k: number): { k0: number; k1: number; w: number } {
  if (g.slices === 1) return { k0: 0, k1: 0, w: 0 };
  const k0 = Math.min(Math.max(Math.floor(k), 0), g.slices - 2);
  return { k0, k1: k0 + 1, w: k - k0 };
}

/** Position along the normal (mm) of continuous slice k; linear between slices, extrapolated outside. */
export function positionAtSlice(g: VolumeGeometry, k: number): number {
  if (g.slices === 1) return g.positions[0] + k * g.sliceSpacing;
  const { k0, k1, w } = bracket(g, k);
  return g.positions[k0] + w * (g.positions[k1] - g.positions[k0]);
}

/** Continuous slice k at a position along the normal (mm); the inverse of {@link positionAtSlice}. */
export function sliceAtPosition(g: VolumeGeometry, position: number): number {
  const p = g.positions;
  const n = g.slices;
  if (n === 1) return (position - p[0]) / g.sliceSpacing;
  const dir = p[n - 1] > p[0] ? 1 : -1;
  const t = dir * position;
  // Last k0 in 0…n−2 with dir·p[k0] ≤ t (0 below the first slice, n−2 beyond the last: extrapolation).
  let lo = 0;
  let hi = n - 2;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (dir * p[mid] <= t) lo = mid;
    else hi = mid - 1;
  }
  return lo + (position - p[lo]) / (p[lo + 1] - p[lo]);
}

/** Image Position (Patient) of continuous slice k: linear in k between slices, extrapolated outside. */
function originAtSlice(g: VolumeGeometry, k: number): Vec3 {
  if (g.slices === 1) return add(g.origins[0], scale(g.normal, k * g.sliceSpacing));
  const { k0, k1, w } = bracket(g, k);
  return add(g.origins[k0], scale(sub(g.origins[k1], g.origins[k0]), w));
}

/** Voxel (k, r, c) → patient LPS mm: IPP(k) + c·Δc·rowCosines + r·Δr·columnCosines (C.7.6.2.1.1). */
export function voxelToPatient(g: VolumeGeometry, v: Voxel): Vec3 {
  const o = originAtSlice(g, v.k);
  return add(o, add(scale(g.rowCosines, v.c * g.columnSpacing), scale(g.columnCosines, v.r * g.rowSpacing)));
}

/** Patient LPS mm → continuous voxel (k, r, c); the inverse of {@link voxelToPatient}, may lie outside. */
export function patientToVoxel(g: VolumeGeometry, p: Vec3): Voxel {
  const k = sliceAtPosition(g, dot(p, g.normal));
  const d = sub(p, originAtSlice(g, k));
  return { k, r: dot(d, g.columnCosines) / g.rowSpacing, c: dot(d, g.rowCosines) / g.columnSpacing };
}

/**
 * Patient direction letters of a unit vector, strongest component first (PS3.3 C.7.6.1.1.1 composes
 * oblique directions from several letters the same way), in LPS (C.7.6.2.1.1): +x L, −x R, +y P, −y A,
 * +z S, −z I (the standard's Patient Orientation writes H/F; viewers write S/I). Components under 0.25
 * (about 15° of obliquity) are left out, so a 20° oblique stack reads e.g. "SA".
 */
export function orientationLabel(v: Vec3): string {
  const letters: [string, string][] = [['L', 'R'], ['P', 'A'], ['S', 'I']];
  return [0, 1, 2]
    .filter((i) => Math.abs(v[i]) >= 0.25)
    .sort((i, j) => Math.abs(v[j]) - Math.abs(v[i]))
    .map((i) => letters[i][v[i] > 0 ? 0 : 1])
    .join('');
}

function edgeLabels(right: Vec3, down: Vec3): AxisLabels {
  return { top: orientationLabel(scale(down, -1)), bottom: orientationLabel(down), left: orientationLabel(scale(right, -1)), right: orientationLabel(right) };
}

/** Labels of the stack's own slices as stored (c right, r down); null when the orientation was assumed. */
export function sliceLabels(g: VolumeGeometry): AxisLabels | null {
  return g.assumed.orientation ? null : edgeLabels(g.rowCosines, g.columnCosines);
}

/**
 * Which way the reformat's v axis runs: +1 when positions along the normal increase downwards. Chosen from
 * the normal's strongest patient axis so the screen reads as radiologists expect: S at the top (I down)
 * for a z-dominant normal (an axial stack, whatever its slice order), A at the top (P down) for y, R at
 * the top (L down) for x.
 */
function downSign(g: VolumeGeometry): 1 | -1 {
  const n = g.normal;
  const i = [0, 1, 2].reduce((best, j) => (Math.abs(n[j]) > Math.abs(n[best]) ? j : best), 0);
  const preferredDown = i === 2 ? -1 : 1; // LPS: −z is inferior, +y posterior, +x left
  return Math.sign(n[i]) * preferredDown > 0 ? 1 : -1;
}

/**
 * Size, spacing and orientation of a reformat. Horizontal: the stack's rows (sagittal) or columns
 * (coronal) in stored order, so it runs the same way as the axial view's r or c axis (for a standard
 * axial stack: sagittal anterior on the left, coronal patient right on the left — the radiological
 * convention). Vertical: along the normal, superior at the top for an axial stack (see downSign).
 *
 * Output rows: the slices' span divided into round(span / median spacing) equal steps, so both end slices
 * are hit exactly and spacingY is within half a step of the median spacing; a uniform stack gets exactly
 * one row per slice. A single slice gives one row of spacingY = 1 (unknown).
 */
export function reformatLayout(g: VolumeGeometry, kind: ReformatKind): ReformatLayout {
  let first = g.positions[0];
  let last = g.positions[g.slices - 1];
  if (first > last) [first, last] = [last, first];
  const span = last - first;
  const steps = g.slices === 1 ? 0 : Math.max(1, Math.round(span / g.sliceSpacing));
  const spacingY = steps === 0 ? g.sliceSpacing : span / steps;
  const down = downSign(g);
  const sagittal = kind === 'sagittal';
  return {
    kind,
    width: sagittal ? g.rows : g.columns,
    height: steps + 1,
    spacingX: sagittal ? g.rowSpacing : g.columnSpacing,
    spacingY,
    topPosition: down > 0 ? first : last,
    positionStep: down * spacingY,
    labels: g.assumed.orientation ? null : edgeLabels(sagittal ? g.columnCosines : g.rowCosines, scale(g.normal, down)),
    fixed: sagittal ? 'c' : 'r',
    planes: sagittal ? g.columns : g.rows,
  };
}

/**
 * Voxel (k, r, c) → the reformat's (u, v) and the plane it lies in (`index`: c for sagittal, r for
 * coronal; continuous, round it to pick the plane). Links the axial crosshair into the reformat.
 */
export function voxelToReformat(g: VolumeGeometry, kind: ReformatKind, voxel: Voxel): { u: number; v: number; index: number } {
  const layout = reformatLayout(g, kind);
  const v = (positionAtSlice(g, voxel.k) - layout.topPosition) / layout.positionStep;
  return kind === 'sagittal' ? { u: voxel.r, v, index: voxel.c } : { u: voxel.c, v, index: voxel.r };
}

/**
 * The reformat's (u, v) on plane `index` → voxel (k, r, c), k continuous (round it to pick the axial
 * slice). Links a click in the reformat back to the axial view.
 */
export function reformatToVoxel(g: VolumeGeometry, kind: ReformatKind, index: number, p: { u: number; v: number }): Voxel {
  const layout = reformatLayout(g, kind);
  const k = sliceAtPosition(g, layout.topPosition + p.v * layout.positionStep);
  return kind === 'sagittal' ? { k, r: p.u, c: index } : { k, r: index, c: p.u };
}

/**
 * Resample a reformat: output pixel (u, v) is the volume at {@link reformatToVoxel}(u, v), linear between
 * the two neighbouring slices (exact at the slices themselves), nearest in-plane (it lies on the grid).
 * `volume`: Float32Array | Int16Array, slices×rows×columns (modality values, e.g. HU).
 * `index`: the fixed column (sagittal) or row (coronal), an integer in 0…planes − 1.
 * Returns Float32Array, height×width of {@link reformatLayout}.
 */
export function reformatImage(volume: Float32Array | Int16Array, g: VolumeGeometry, kind: ReformatKind, index: number): Float32Array {
  const { rows, columns, slices } = g;
  const plane = rows * columns;
  if (volume.length !== slices * plane) {
    throw new RangeError(`volume has ${volume.length} values but the geometry is ${slices}×${rows}×${columns} = ${slices * plane}`);
  }
  const layout = reformatLayout(g, kind);
  if (!(Number.isInteger(index) && index >= 0 && index < layout.planes)) {
    throw new RangeError(`${kind} index must be an integer in 0…${layout.planes - 1}, got ${index}`);
  }
  const { width, height } = layout;
  // Sagittal: u walks rows (stride columns) at column index; coronal: u walks columns at row index.
  const base = kind === 'sagittal' ? index : index * columns;
  const stride = kind === 'sagittal' ? columns : 1;
  const out = new Float32Array(width * height);
  for (let v = 0; v < height; v++) {
    // Clamp: rounding may put the end rows a hair outside the stack.
    const k = Math.min(Math.max(sliceAtPosition(g, layout.topPosition + v * layout.positionStep), 0), slices - 1);
    let k0 = Math.floor(k);
    let w = k - k0;
    if (k0 >= slices - 1) [k0, w] = [slices - 1, 0];
    const k1 = w === 0 ? k0 : k0 + 1;
    const a = k0 * plane + base;
    const b = k1 * plane + base;
    const row = v * width;
    if (w === 0) {
      for (let u = 0; u < width; u++) out[row + u] = volume[a + u * stride];
    } else {
      for (let u = 0; u < width; u++) out[row + u] = volume[a + u * stride] + w * (volume[b + u * stride] - volume[a + u * stride]);
    }
  }
  return out;
}
