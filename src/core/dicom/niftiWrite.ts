/**
 * A small NIfTI-1 writer (single file, magic "n+1", little endian), the counterpart of nifti.ts: enough for
 * label volumes such as RSNA segmentation masks. Field offsets and rules follow nifti1.h; the qform
 * quaternion is derived from the affine as nifti1_io.c's nifti_mat44_to_quatern does, and the same affine is
 * stored as the sform, both with code 1 (NIFTI_XFORM_SCANNER_ANAT), so every reader gets one geometry.
 */
import { gzipSync } from 'node:zlib';
import { DicomError } from './errors';
import type { Affine } from './nifti';

/** Voxel arrays the writer stores (NIfTI datatype codes 2, 256, 4, 512, 8, 16). */
export type NiftiWriteData = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Float32Array;

/** A volume to write. Voxel (i, j, k) is `data[i + dims[0] * (j + dims[1] * k)]` (x fastest, nifti1.h). */
export interface NiftiWriteVolume {
  /** x, y, z sizes (a 3-D volume). */
  dims: [number, number, number];
  data: NiftiWriteData;
  /** Voxel indices → RAS+ mm (row-major 4×4, last row 0 0 0 1); its columns give the voxel sizes. */
  affine: Affine;
  /** intent_code; 1002 = NIFTI_INTENT_LABEL (label values index a list of names). Default 0. */
  intentCode?: number;
  /** descrip (≤ 79 ASCII characters). */
  description?: string;
}

const HEADER_BYTES = 348;
const VOX_OFFSET = 352; // header + the 4-byte extension flag (all zero: no extensions)
const DATATYPES: [new (n: number) => NiftiWriteData, number][] = [
  [Uint8Array, 2], [Int8Array, 256], [Int16Array, 4], [Uint16Array, 512], [Int32Array, 8], [Float32Array, 16],
];

/**
 * nifti_mat44_to_quatern for an affine whose 3×3 part has orthogonal columns: voxel sizes (column norms),
 * qfac (−1 when the columns form a left-handed basis; the third column is then negated) and the
 * quaternion (b, c, d) of the remaining proper rotation, with a ≥ 0.
 */
export function affineToQuaternion(affine: Affine): { b: number; c: number; d: number; qfac: number; pixdim: [number, number, number] } {
  const col = (j: number) => [affine[0][j], affine[1][j], affine[2][j]];
  const cols = [col(0), col(1), col(2)];
  const pixdim = cols.map((v) => Math.hypot(v[0], v[1], v[2])) as [number, number, number];
  if (pixdim.some((p) => !(p > 0))) throw new DicomError('BAD_ARGUMENT', 'NIfTI affine has a zero-length voxel axis');
  const u = cols.map((v, j) => v.map((x) => x / pixdim[j]));
  for (const [a, b] of [[0, 1], [0, 2], [1, 2]]) {
    const dot = u[a][0] * u[b][0] + u[a][1] * u[b][1] + u[a][2] * u[b][2];
    if (Math.abs(dot) > 1e-4) throw new DicomError('BAD_ARGUMENT', `NIfTI affine axes ${a} and ${b} are not orthogonal (cos ${dot.toFixed(5)}); a qform cannot represent shear`);
  }
  const det = u[0][0] * (u[1][1] * u[2][2] - u[1][2] * u[2][1]) - u[1][0] * (u[0][1] * u[2][2] - u[0][2] * u[2][1]) + u[2][0] * (u[0][1] * u[1][2] - u[0][2] * u[1][1]);
  const qfac = det > 0 ? 1 : -1;
  if (qfac < 0) u[2] = u[2].map((x) => -x);
  // r[i][j]: row i, column j of the rotation (columns are u[j]).
  const r = (i: number, j: number) => u[j][i];
  let a = r(0, 0) + r(1, 1) + r(2, 2) + 1;
  let b: number; let c: number; let d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = 0.25 * (r(2, 1) - r(1, 2)) / a;
    c = 0.25 * (r(0, 2) - r(2, 0)) / a;
    d = 0.25 * (r(1, 0) - r(0, 1)) / a;
  } else {
    const xd = 1 + r(0, 0) - (r(1, 1) + r(2, 2));
    const yd = 1 + r(1, 1) - (r(0, 0) + r(2, 2));
    const zd = 1 + r(2, 2) - (r(0, 0) + r(1, 1));
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd); c = 0.25 * (r(0, 1) + r(1, 0)) / b; d = 0.25 * (r(0, 2) + r(2, 0)) / b; a = 0.25 * (r(2, 1) - r(1, 2)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd); b = 0.25 * (r(0, 1) + r(1, 0)) / c; d = 0.25 * (r(1, 2) + r(2, 1)) / c; a = 0.25 * (r(0, 2) - r(2, 0)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd); b = 0.25 * (r(0, 2) + r(2, 0)) / d; c = 0.25 * (r(1, 2) + r(2, 1)) / d; a = 0.25 * (r(1, 0) - r(0, 1)) / d;
    }
    if (a < 0) { b = -b; c = -c; d = -d; }
  }
  return { b, c, d, qfac, pixdim };
}

/** Encode a NIfTI-1 single-file volume (.nii bytes, uncompressed). */
export function encodeNifti(volume: NiftiWriteVolume): Uint8Array {
  const { dims, data, affine } = volume;
  if (dims.length !== 3 || dims.some((n) => !Number.isInteger(n) || n < 1 || n > 32767)) {
    throw new DicomError('BAD_ARGUMENT', `NIfTI dims ${dims.join('×')} must be three integers in 1…32767 (dim[] is int16)`);
  }
  const count = dims[0] * dims[1] * dims[2];
  if (data.length !== count) throw new DicomError('BAD_ARGUMENT', `NIfTI data has ${data.length} voxels, dims ${dims.join('×')} need ${count}`);
  const type = DATATYPES.find(([ctor]) => data instanceof ctor);
  if (!type) throw new DicomError('BAD_ARGUMENT', 'NIfTI data must be a Uint8/Int8/Int16/Uint16/Int32/Float32 array');
  const { b, c, d, qfac, pixdim } = affineToQuaternion(affine);
  const out = new Uint8Array(VOX_OFFSET + data.byteLength);
  const v = new DataView(out.buffer);
  v.setInt32(0, HEADER_BYTES, true);
  out[38] = 'r'.charCodeAt(0); // regular: unused by NIfTI, "r" by convention (nifti1.h)
  [3, dims[0], dims[1], dims[2], 1, 1, 1, 1].forEach((n, i) => v.setInt16(40 + 2 * i, n, true));
  v.setInt16(68, volume.intentCode ?? 0, true);
  v.setInt16(70, type[1], true);
  v.setInt16(72, data.BYTES_PER_ELEMENT * 8, true);
  [qfac, pixdim[0], pixdim[1], pixdim[2], 0, 0, 0, 0].forEach((p, i) => v.setFloat32(76 + 4 * i, p, true)); // pixdim[0] = qfac
  v.setFloat32(108, VOX_OFFSET, true);
  v.setFloat32(112, 1, true); // scl_slope 1, scl_inter 0: stored values are the labels
  v.setFloat32(116, 0, true);
  out[123] = 2; // xyzt_units: NIFTI_UNITS_MM
  let max = 0;
  for (let i = 0; i < data.length; i++) if (data[i] > max) max = data[i];
  v.setFloat32(124, max, true); // cal_max / cal_min: the display range
  const descrip = (volume.description ?? '').slice(0, 79);
  if (/[^\x20-\x7e]/.test(descrip)) throw new DicomError('BAD_ARGUMENT', 'NIfTI description must be printable ASCII');
  for (let i = 0; i < descrip.length; i++) out[148 + i] = descrip.charCodeAt(i);
  v.setInt16(252, 1, true); // qform_code: NIFTI_XFORM_SCANNER_ANAT
  v.setInt16(254, 1, true); // sform_code
  [b, c, d, affine[0][3], affine[1][3], affine[2][3]].forEach((q, i) => v.setFloat32(256 + 4 * i, q, true));
  for (let row = 0; row < 3; row++) for (let col = 0; col < 4; col++) v.setFloat32(280 + 16 * row + 4 * col, affine[row][col], true);
  out.set([0x6e, 0x2b, 0x31, 0x00], 344); // magic "n+1\0"
  // Bytes 348…351: extension flag, zero (no extensions). Then the voxels, little endian.
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) out.set(bytes, VOX_OFFSET);
  else {
    const size = data.BYTES_PER_ELEMENT;
    for (let i = 0; i < bytes.length; i += size) for (let k = 0; k < size; k++) out[VOX_OFFSET + i + k] = bytes[i + size - 1 - k];
  }
  return out;
}

/** Encode as .nii.gz (gzip, deterministic: zlib writes no timestamp). */
export function encodeNiftiGz(volume: NiftiWriteVolume, level = 6): Uint8Array {
  return gzipSync(encodeNifti(volume), { level });
}
