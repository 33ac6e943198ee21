/**
 * Segmentation mask → DICOM slices, through geometry (ARCHITECTURE "Data flow" item 1):
 *
 * - affine: each slice pixel centre in LPS (PS3.3 C.7.6.2.1.1: IPP + c·Δc·row cosines + r·Δr·column
 *   cosines, Δc = Pixel Spacing[1], Δr = Pixel Spacing[0]) → RAS+ (negate x, y) → voxel indices through the
 *   inverse NIfTI affine → nearest voxel. Never an assumed axis order.
 * - cross-check of that affine against the DICOM stack: an orientation in the header at all, the slice
 *   direction along one mask axis, the slice count along it (same spacing ⇒ same count), the stack's
 *   corners inside the mask grid; and the direction of z along the slice axis is reported.
 * - z-rule (fallback when the affine disagrees): what public RSNA 2022 solutions do, sort by
 *   slice_number, then mask[c, R−1−r, S−1−k] when z falls as slice_number rises, mask[c, R−1−r, k] when it
 *   rises (`[:, ::-1, ::-1].transpose(2, 1, 0)` / `[:, ::-1].transpose(2, 1, 0)`).
 *
 * Both become the same shape, a per-slice affine map of pixel (r, c) to continuous voxel indices, so the
 * sampling and box code has one path; the alignment itself is verified from the data by the caller (labelled
 * pixels on bone).
 */
import type { NiftiVolume } from '../../dicom/nifti';

/** Geometry of one slice, in slice_number order. */
export interface SliceGeometry {
  number: number;
  rows: number;
  columns: number;
  sopInstanceUID?: string;
  imagePositionPatient?: [number, number, number];
  imageOrientationPatient?: [number, number, number, number, number, number];
  /** Row spacing, column spacing (mm). */
  pixelSpacing?: [number, number];
}

type Vec3 = [number, number, number];

/** Voxel indices (continuous) of pixel (r, c) = base + c·dcol + r·drow. */
export interface SliceMap {
  base: Vec3;
  dcol: Vec3;
  drow: Vec3;
}

/** How a mask is mapped onto a study's slices. */
export interface MaskMapping {
  /** affine / z-rule: a NIfTI mask; seg-reference: a DICOM SEG whose frames name (or lie on) the slices (segMask.ts). */
  method: 'affine' | 'z-rule' | 'seg-reference';
  /** One map per slice, in slice_number order. */
  slices: SliceMap[];
  /** Mask axis (0-based) the slices run along, and whether the index rises with patient z (superior). */
  sliceAxis: number;
  indexRisesWithZ?: boolean;
}

/** Outcome of trying one method: a mapping, or why not. */
export interface MappingAttempt {
  mapping?: MaskMapping;
  /** Why the method was refused (the affine disagreeing with the DICOM geometry, dims not matching, …). */
  why?: string;
  /** Facts worth reporting (slice axis, z direction, resampled grid). */
  notes: string[];
}

/** A label volume as bytes (labels 0…255), x fastest like NIfTI. */
export interface LabelVolume {
  dims: Vec3;
  labels: Uint8Array;
}

/** The labels of a NIfTI volume as a byte volume (non-integer samples rounded; others clamped to 0…255). */
export function labelVolume(vol: NiftiVolume): LabelVolume {
  const extra = vol.dims.slice(3).reduce((a, b) => a * b, 1);
  if (vol.dims.length < 3 || extra !== 1) throw new Error(`the mask is not a 3-D volume (dims ${vol.dims.join('×')})`);
  const dims: Vec3 = [vol.dims[0], vol.dims[1], vol.dims[2]];
  if (vol.data instanceof Uint8Array) return { dims, labels: vol.data };
  const labels = new Uint8Array(vol.data.length);
  for (let i = 0; i < labels.length; i++) {
    const v = Math.round(vol.data[i]);
    labels[i] = v > 0 && v < 256 ? v : 0;
  }
  return { dims, labels };
}

const sub = (a: readonly number[], b: readonly number[]): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const scale = (a: readonly number[], s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
const fmt = (v: readonly number[]) => `(${v.map((x) => x.toFixed(1)).join(', ')})`;

/** Inverse of a 4×4 affine with last row 0 0 0 1, or undefined when singular. */
export function invertAffine(m: readonly (readonly number[])[]): number[][] | undefined {
  const [a, b, c] = [m[0], m[1], m[2]];
  const det = a[0] * (b[1] * c[2] - b[2] * c[1]) - a[1] * (b[0] * c[2] - b[2] * c[0]) + a[2] * (b[0] * c[1] - b[1] * c[0]);
  if (!Number.isFinite(det) || Math.abs(det) < 1e-12) return undefined;
  const r = [
    [(b[1] * c[2] - b[2] * c[1]) / det, (a[2] * c[1] - a[1] * c[2]) / det, (a[1] * b[2] - a[2] * b[1]) / det],
    [(b[2] * c[0] - b[0] * c[2]) / det, (a[0] * c[2] - a[2] * c[0]) / det, (a[2] * b[0] - a[0] * b[2]) / det],
    [(b[0] * c[1] - b[1] * c[0]) / det, (a[1] * c[0] - a[0] * c[1]) / det, (a[0] * b[1] - a[1] * b[0]) / det],
  ];
  const t = [a[3], b[3], c[3]];
  return [...r.map((row) => [...row, -(row[0] * t[0] + row[1] * t[1] + row[2] * t[2])]), [0, 0, 0, 1]];
}

const linear = (m: number[][], v: readonly number[]): Vec3 => [0, 1, 2].map((i) => m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2]) as Vec3;
const point = (m: number[][], v: readonly number[]): Vec3 => linear(m, v).map((x, i) => x + m[i][3]) as Vec3;
const lpsToRas = (v: readonly number[]): Vec3 => [-v[0], -v[1], v[2]];

/** Voxel indices of pixel (r, c) under a slice map. */
export function voxelAt(m: SliceMap, r: number, c: number): Vec3 {
  return [0, 1, 2].map((i) => m.base[i] + c * m.dcol[i] + r * m.drow[i]) as Vec3;
}

/** Map through the NIfTI affine, cross-checked against the DICOM stack (see the file comment). */
export function affineMapping(vol: NiftiVolume, geometry: readonly SliceGeometry[]): MappingAttempt {
  const notes: string[] = [];
  const refuse = (why: string): MappingAttempt => ({ why, notes });
  if (vol.affineSource === 'pixdim') return refuse('the NIfTI header has no orientation (qform_code = sform_code = 0)');
  const inv = invertAffine(vol.affine);
  if (!inv) return refuse('the NIfTI affine is singular');
  if (geometry.length === 0) return refuse('no slices');
  const { rows, columns } = geometry[0];
  const slices: SliceMap[] = [];
  for (const g of geometry) {
    if (!g.imagePositionPatient || !g.imageOrientationPatient || !g.pixelSpacing) return refuse(`slice ${g.number} lacks Image Position/Orientation (Patient) or Pixel Spacing`);
    if (g.rows !== rows || g.columns !== columns) return refuse(`slice ${g.number} is ${g.rows}×${g.columns}, slice ${geometry[0].number} ${rows}×${columns}`);
    const iop = g.imageOrientationPatient;
    slices.push({
      base: point(inv, lpsToRas(g.imagePositionPatient)),
      dcol: linear(inv, lpsToRas(scale(iop.slice(0, 3), g.pixelSpacing[1]))),
      drow: linear(inv, lpsToRas(scale(iop.slice(3, 6), g.pixelSpacing[0]))),
    });
  }
  const dims = vol.dims;
  const S = slices.length;
  // Slice direction: the mean step between consecutive slices in voxel units, or the in-plane normal for one slice.
  const first = slices[0];
  const last = slices[S - 1];
  let step: Vec3;
  if (S > 1) step = scale(sub(last.base, first.base), 1 / (S - 1));
  else {
    const d = first.dcol;
    const e = first.drow;
    step = [d[1] * e[2] - d[2] * e[1], d[2] * e[0] - d[0] * e[2], d[0] * e[1] - d[1] * e[0]];
  }
  const mags = step.map(Math.abs);
  const axis = mags.indexOf(Math.max(...mags));
  const off = Math.hypot(...mags.filter((_, i) => i !== axis));
  if (!(mags[axis] > 0)) return refuse('all slices map to the same place in the mask');
  // An oblique stack (gantry tilt, a resampled mask) still maps pixel by pixel; only the count check needs an axis.
  const oblique = off > 0.05 * mags[axis];
  const drift = Math.max(Math.abs(first.dcol[axis]) * columns, Math.abs(first.drow[axis]) * rows);
  if (oblique || drift > 0.5) notes.push(`the slices lie obliquely in the mask grid (step ${fmt(step)} voxels per slice, ${drift.toFixed(1)} voxels of in-plane drift along axis ${axis + 1})`);
  const sameSpacing = S > 1 && !oblique && Math.abs(mags[axis] - 1) < 0.02;
  if (sameSpacing && dims[axis] !== S) return refuse(`slice count: the mask has ${dims[axis]} along its slice axis ${axis + 1}, the series ${S} slices at the same spacing`);
  if (!sameSpacing && !oblique && S > 1) notes.push(`the mask is resampled (${mags[axis].toFixed(3)} voxels per slice along axis ${axis + 1})`);
  // Extent: every corner pixel of the first and last slice inside the grid (one voxel of slack).
  for (const [m, g] of [[first, geometry[0]], [last, geometry[S - 1]]] as const) {
    for (const [r, c] of [[0, 0], [0, columns - 1], [rows - 1, 0], [rows - 1, columns - 1]]) {
      const v = voxelAt(m, r, c);
      if (v.some((x, i) => x < -1 || x > dims[i])) {
        return refuse(`extent: pixel (row ${r}, column ${c}) of slice ${g.number} maps to voxel ${fmt(v)}, outside the mask's 0…${dims.map((d) => d - 1).join('/0…')}`);
      }
    }
  }
  const z0 = geometry[0].imagePositionPatient?.[2] ?? 0;
  const z1 = geometry[S - 1].imagePositionPatient?.[2] ?? 0;
  const indexRisesWithZ = S > 1 && z1 !== z0 ? (step[axis] > 0) === (z1 > z0) : undefined;
  if (indexRisesWithZ !== undefined) notes.push(`slices run along mask axis ${axis + 1}, index ${indexRisesWithZ ? 'rising' : 'falling'} with z${axis === 2 && !indexRisesWithZ ? ' (unlike the RSNA convention)' : ''}`);
  return { mapping: { method: 'affine', slices, sliceAxis: axis, indexRisesWithZ }, notes };
}

/** The public-notebook z-rule (see the file comment); needs dims = columns × rows × slices and IPP z. */
export function zRuleMapping(vol: NiftiVolume, geometry: readonly SliceGeometry[]): MappingAttempt {
  const notes: string[] = [];
  const S = geometry.length;
  if (S === 0) return { why: 'no slices', notes };
  const { rows: R, columns: C } = geometry[0];
  const d = vol.dims;
  if (d.length < 3 || d[0] !== C || d[1] !== R || d[2] !== S) return { why: `the z-rule needs mask dims columns×rows×slices = ${C}×${R}×${S}, the mask is ${d.join('×')}`, notes };
  if (geometry.some((g) => g.rows !== R || g.columns !== C)) return { why: 'the slices differ in size', notes };
  const z0 = geometry[0].imagePositionPatient?.[2];
  const z1 = geometry[S - 1].imagePositionPatient?.[2];
  let falls = true;
  if (S > 1) {
    if (z0 === undefined || z1 === undefined || z0 === z1) return { why: 'the z-rule needs Image Position (Patient) z to tell the direction', notes };
    falls = z1 < z0;
  }
  notes.push(`z ${falls ? 'falls' : 'rises'} as slice_number rises: ${falls ? 'mask[c, R−1−r, S−1−k]' : 'mask[c, R−1−r, k]'}`);
  const slices = geometry.map((_, k): SliceMap => ({ base: [0, R - 1, falls ? S - 1 - k : k], dcol: [1, 0, 0], drow: [0, -1, 0] }));
  return { mapping: { method: 'z-rule', slices, sliceAxis: 2, indexRisesWithZ: true }, notes };
}

/** The same mapping with the mask's slice axis reversed (a diagnosis for labels inverted in z). */
export function flipSliceAxis(mapping: MaskMapping, dims: readonly number[]): MaskMapping {
  const a = mapping.sliceAxis;
  const flip = (v: Vec3, origin: boolean): Vec3 => v.map((x, i) => (i !== a ? x : origin ? dims[a] - 1 - x : -x)) as Vec3;
  return { ...mapping, slices: mapping.slices.map((m) => ({ base: flip(m.base, true), dcol: flip(m.dcol, false), drow: flip(m.drow, false) })), indexRisesWithZ: mapping.indexRisesWithZ === undefined ? undefined : !mapping.indexRisesWithZ };
}

/** True when two mappings pick the same voxel for every corner of every slice. */
export function sameMapping(a: MaskMapping, b: MaskMapping, rows: number, columns: number): boolean {
  if (a.slices.length !== b.slices.length) return false;
  for (let k = 0; k < a.slices.length; k++) {
    for (const [r, c] of [[0, 0], [0, columns - 1], [rows - 1, 0], [rows - 1, columns - 1]]) {
      const va = voxelAt(a.slices[k], r, c);
      const vb = voxelAt(b.slices[k], r, c);
      if (va.some((x, i) => Math.floor(x + 0.5) !== Math.floor(vb[i] + 0.5))) return false;
    }
  }
  return true;
}

/**
 * Per-column and per-row parts of the flat voxel index when every voxel axis follows either the column or
 * the row alone (axis-aligned slices: every RSNA mask), else undefined. −1 marks outside the grid.
 */
function separable(volume: LabelVolume, map: SliceMap, rows: number, columns: number): { col: Int32Array; row: Int32Array } | undefined {
  const [d0, d1] = volume.dims;
  const strides = [1, d0, d0 * d1];
  const EPS = 1e-9;
  const col = new Int32Array(columns);
  const row = new Int32Array(rows);
  for (let a = 0; a < 3; a++) {
    const byCol = Math.abs(map.dcol[a]) > EPS;
    const byRow = Math.abs(map.drow[a]) > EPS;
    if (byCol && byRow) return undefined;
    const dim = volume.dims[a];
    // +0.5 then floor: nearest voxel, with voxel v covering [v − 0.5, v + 0.5).
    if (byCol) {
      for (let c = 0; c < columns; c++) {
        const i = Math.floor(map.base[a] + c * map.dcol[a] + 0.5);
        col[c] = col[c] < 0 || i < 0 || i >= dim ? -1 : col[c] + i * strides[a];
      }
    } else {
      for (let r = 0; r < rows; r++) {
        const i = Math.floor(map.base[a] + r * map.drow[a] + 0.5);
        row[r] = row[r] < 0 || i < 0 || i >= dim ? -1 : row[r] + i * strides[a];
      }
    }
  }
  return { col, row };
}

/**
 * Nearest-voxel labels at every pixel centre of one slice (0 outside the grid): `out` rows×columns bytes,
 * row-major like the DICOM pixels.
 */
export function sampleSlice(volume: LabelVolume, map: SliceMap, rows: number, columns: number, out = new Uint8Array(rows * columns)): Uint8Array {
  const labels = volume.labels;
  const sep = separable(volume, map, rows, columns);
  if (sep) {
    const { col, row } = sep;
    // Columns running along the mask's x axis, all inside: each row is one contiguous run of voxels.
    const contiguous = col[0] >= 0 && col.every((v, c) => v === col[0] + c);
    for (let r = 0; r < rows; r++) {
      const o = r * columns;
      const base = row[r];
      if (base < 0) { out.fill(0, o, o + columns); continue; }
      if (contiguous) { out.set(labels.subarray(base + col[0], base + col[0] + columns), o); continue; }
      for (let c = 0; c < columns; c++) {
        const off = col[c];
        out[o + c] = off < 0 ? 0 : labels[base + off];
      }
    }
    return out;
  }
  const [d0, d1, d2] = volume.dims;
  const [bx, by, bz] = map.base;
  const [cx, cy, cz] = map.dcol;
  const [rx, ry, rz] = map.drow;
  for (let r = 0, o = 0; r < rows; r++) {
    const x0 = bx + r * rx + 0.5;
    const y0 = by + r * ry + 0.5;
    const z0 = bz + r * rz + 0.5;
    for (let c = 0; c < columns; c++, o++) {
      const i = Math.floor(x0 + c * cx);
      const j = Math.floor(y0 + c * cy);
      const k = Math.floor(z0 + c * cz);
      out[o] = i >= 0 && i < d0 && j >= 0 && j < d1 && k >= 0 && k < d2 ? labels[i + d0 * (j + d1 * k)] : 0;
    }
  }
  return out;
}

/** One vertebra's extent on a slice, in source pixels (x1/y1 inclusive). */
export interface LabelBox {
  /** Mask label 1…7 (C1…C7); the YOLO class is label − 1. */
  label: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Pixels with this label on the slice. */
  pixels: number;
}

/** Extent of each label 1…`maxLabel` present on a sampled slice, sorted by label. */
export function labelBoxes(labels: Uint8Array, rows: number, columns: number, maxLabel = 7): LabelBox[] {
  const x0 = new Int32Array(maxLabel + 1).fill(columns);
  const y0 = new Int32Array(maxLabel + 1).fill(rows);
  const x1 = new Int32Array(maxLabel + 1).fill(-1);
  const y1 = new Int32Array(maxLabel + 1).fill(-1);
  const count = new Int32Array(maxLabel + 1);
  const visit = (o: number) => {
    const l = labels[o];
    if (l === 0 || l > maxLabel) return;
    const r = Math.floor(o / columns);
    const c = o - r * columns;
    count[l]++;
    if (c < x0[l]) x0[l] = c;
    if (c > x1[l]) x1[l] = c;
    if (r < y0[l]) y0[l] = r;
    if (r > y1[l]) y1[l] = r;
  };
  // Most of a slice is background: test four labels at a time and look closer only at non-zero words.
  const n = rows * columns;
  let o = 0;
  if (labels.byteOffset % 4 === 0) {
    const words = new Uint32Array(labels.buffer, labels.byteOffset, n >> 2);
    for (let w = 0; w < words.length; w++) {
      if (words[w] === 0) continue;
      for (let b = w << 2, e = b + 4; b < e; b++) visit(b);
    }
    o = words.length << 2;
  }
  for (; o < n; o++) visit(o);
  const out: LabelBox[] = [];
  for (let l = 1; l <= maxLabel; l++) if (count[l] > 0) out.push({ label: l, x0: x0[l], y0: y0[l], x1: x1[l], y1: y1[l], pixels: count[l] });
  return out;
}

/**
 * Labelled pixels (any label > 0) of one slice under `map`, and how many of them have a modality value above
 * `boneHU`, sampling every `step`-th row and column: the alignment statistic, without a label image.
 */
export function boneCount(volume: LabelVolume, map: SliceMap, hu: ArrayLike<number>, rows: number, columns: number, boneHU: number, step = 1): { labelled: number; onBone: number } {
  let labelled = 0;
  let onBone = 0;
  const labels = volume.labels;
  const sep = separable(volume, map, rows, columns);
  const [d0, d1, d2] = volume.dims;
  for (let r = 0; r < rows; r += step) {
    const base = sep ? sep.row[r] : 0;
    if (base < 0) continue;
    for (let c = 0; c < columns; c += step) {
      let l: number;
      if (sep) {
        const off = sep.col[c];
        l = off < 0 ? 0 : labels[base + off];
      } else {
        const v = voxelAt(map, r, c);
        const i = Math.floor(v[0] + 0.5);
        const j = Math.floor(v[1] + 0.5);
        const k = Math.floor(v[2] + 0.5);
        l = i >= 0 && i < d0 && j >= 0 && j < d1 && k >= 0 && k < d2 ? labels[i + d0 * (j + d1 * k)] : 0;
      }
      if (l === 0) continue;
      labelled++;
      if (hu[r * columns + c] > boneHU) onBone++;
    }
  }
  return { labelled, onBone };
}
