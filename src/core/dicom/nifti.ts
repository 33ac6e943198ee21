/**
 * NIfTI-1 volumes (.nii, .nii.gz): header, voxel data and the voxel → RAS+ affine, per the NIfTI-1 header
 * (nifti1.h, "3D IMAGE (VOLUME) ORIENTATION AND LOCATION IN SPACE"). Used for RSNA segmentation masks.
 *
 * The 348-byte header is parsed here rather than with nifti-reader-js: that package is ESM-only (the
 * extension bundle is CJS), and we need spec-exact qform handling (qfac from pixdim[0], `a` clamped when
 * b²+c²+d² > 1) and our own one-line errors naming the file. The header is ~40 fields at fixed offsets.
 */
import { gunzip } from 'node:zlib';
import { promisify } from 'node:util';
import { DicomError, describeThrown } from './errors';
import { readInputFile } from '../io/read';

const gunzipAsync = promisify(gunzip);

/** Row-major 4×4 matrix: `m[row][col]`, acting on column vectors `[i, j, k, 1]`. */
export type Affine = number[][];

/** Voxel samples (scaled values are Float32Array, or Float64Array when the file stores float64). */
export type NiftiData = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array;

/** A NIfTI-1 volume. Voxel (i, j, k, t) is `data[i + dims[0] * (j + dims[1] * (k + dims[2] * t))]`. */
export interface NiftiVolume {
  /** Sizes of the used dimensions (dim[1..dim[0]]): x, y, z, then t, … */
  dims: number[];
  /** NIfTI datatype code (2 uint8, 4 int16, 8 int32, 16 float32, 64 float64, 256 int8, 512 uint16, 768 uint32). */
  datatype: number;
  /** Datatype name, e.g. `int16`. */
  datatypeName: string;
  /** Voxel sizes pixdim[1..dim[0]] (mm, then seconds …). */
  pixdim: number[];
  /** scl_slope / scl_inter as stored; applied to `data` only when slope ≠ 0 and not the identity (1, 0). */
  sclSlope: number;
  sclInter: number;
  /** True when `data` holds scaled values (slope·raw + inter). */
  scaled: boolean;
  data: NiftiData;
  /** Voxel indices → RAS+ mm. */
  affine: Affine;
  /** Which rule gave the affine: sform (sform_code > 0), qform (qform_code > 0) or pixdim (scaling only). */
  affineSource: 'sform' | 'qform' | 'pixdim';
  qformCode: number;
  sformCode: number;
  /** True when the file was big-endian (swapped on read). */
  bigEndian: boolean;
}

interface DatatypeSpec {
  name: string;
  bytes: number;
  read: (view: DataView, offset: number, le: boolean) => number;
  make: (n: number) => NiftiData;
}

const DATATYPES: Record<number, DatatypeSpec> = {
  2: { name: 'uint8', bytes: 1, read: (v, o) => v.getUint8(o), make: (n) => new Uint8Array(n) },
  4: { name: 'int16', bytes: 2, read: (v, o, le) => v.getInt16(o, le), make: (n) => new Int16Array(n) },
  8: { name: 'int32', bytes: 4, read: (v, o, le) => v.getInt32(o, le), make: (n) => new Int32Array(n) },
  16: { name: 'float32', bytes: 4, read: (v, o, le) => v.getFloat32(o, le), make: (n) => new Float32Array(n) },
  64: { name: 'float64', bytes: 8, read: (v, o, le) => v.getFloat64(o, le), make: (n) => new Float64Array(n) },
  256: { name: 'int8', bytes: 1, read: (v, o) => v.getInt8(o), make: (n) => new Int8Array(n) },
  512: { name: 'uint16', bytes: 2, read: (v, o, le) => v.getUint16(o, le), make: (n) => new Uint16Array(n) },
  768: { name: 'uint32', bytes: 4, read: (v, o, le) => v.getUint32(o, le), make: (n) => new Uint32Array(n) },
};
const UNSUPPORTED_NAMES: Record<number, string> = {
  1: 'binary', 32: 'complex64', 128: 'rgb24', 1024: 'int64', 1280: 'uint64', 1536: 'float128', 1792: 'complex128', 2048: 'complex256', 2304: 'rgba32',
};

const HEADER_BYTES = 348;
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Read a .nii or .nii.gz file (gzip is recognised by its magic, not the name). Errors name the file. */
export async function readNifti(path: string): Promise<NiftiVolume> {
  let bytes: Uint8Array = await readInputFile(path);
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (err) {
      const truncated = /unexpected end/i.test(describeThrown(err));
      throw new DicomError(truncated ? 'TRUNCATED' : 'MALFORMED', `gzip stream ${truncated ? 'is truncated' : 'does not inflate'} (${describeThrown(err)})`, path, { cause: err });
    }
  }
  return parseNifti(bytes, path);
}

/** Parse NIfTI-1 bytes (already gunzipped). Throws {@link DicomError} MALFORMED / TRUNCATED / UNSUPPORTED_PIXEL_FORMAT. */
export function parseNifti(bytes: Uint8Array, file?: string): NiftiVolume {
  const fail = (code: 'MALFORMED' | 'TRUNCATED' | 'UNSUPPORTED_PIXEL_FORMAT', why: string) => new DicomError(code, why, file);
  if (bytes.length < HEADER_BYTES) throw fail('TRUNCATED', `NIfTI header truncated: ${bytes.length} bytes, a NIfTI-1 header has ${HEADER_BYTES}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // sizeof_hdr must read 348; read the other way round it means the file is byte-swapped (nifti1.h).
  let le = true;
  if (view.getInt32(0, true) !== HEADER_BYTES) {
    if (view.getInt32(0, false) === HEADER_BYTES) le = false;
    else if (view.getInt32(0, true) === 540 || view.getInt32(0, false) === 540) throw fail('UNSUPPORTED_PIXEL_FORMAT', 'NIfTI-2 files are not supported (only NIfTI-1)');
    else throw fail('MALFORMED', `not a NIfTI-1 file (sizeof_hdr is ${view.getInt32(0, true)}, expected 348)`);
  }
  const magic = String.fromCharCode(bytes[344], bytes[345], bytes[346]);
  if (magic === 'ni1') throw fail('UNSUPPORTED_PIXEL_FORMAT', 'two-file NIfTI (.hdr/.img, magic "ni1") is not supported; convert to a single .nii');
  if (magic !== 'n+1' || bytes[347] !== 0) throw fail('MALFORMED', `not a NIfTI-1 file (bad magic "${magic.replace(/[^\x20-\x7e]/g, '?')}" at byte 344, expected "n+1")`);
  const i16 = (o: number) => view.getInt16(o, le);
  const f32 = (o: number) => view.getFloat32(o, le);

  const rank = i16(40);
  if (rank < 1 || rank > 7) throw fail('MALFORMED', `dim[0] = ${rank}, expected 1…7`);
  const dims: number[] = [];
  for (let d = 1; d <= rank; d++) {
    const n = i16(40 + 2 * d);
    if (n < 1) throw fail('MALFORMED', `dim[${d}] = ${n}, expected ≥ 1`);
    dims.push(n);
  }
  const datatype = i16(70);
  const spec = DATATYPES[datatype];
  if (!spec) throw fail('UNSUPPORTED_PIXEL_FORMAT', `NIfTI datatype ${datatype}${UNSUPPORTED_NAMES[datatype] ? ` (${UNSUPPORTED_NAMES[datatype]})` : ''} is not supported (uint8, int8, int16, uint16, int32, uint32, float32, float64)`);
  const bitpix = i16(72);
  if (bitpix !== spec.bytes * 8) throw fail('MALFORMED', `bitpix ${bitpix} does not match datatype ${spec.name} (${spec.bytes * 8})`);
  const pixdimAll = Array.from({ length: 8 }, (_, d) => f32(76 + 4 * d));
  const voxOffset = f32(108);
  if (!Number.isInteger(voxOffset) || voxOffset < HEADER_BYTES) throw fail('MALFORMED', `vox_offset ${voxOffset} is not an integer ≥ ${HEADER_BYTES}`);
  const sclSlope = f32(112);
  const sclInter = f32(116);
  const qformCode = i16(252);
  const sformCode = i16(254);

  const count = dims.reduce((a, b) => a * b, 1);
  const need = voxOffset + count * spec.bytes;
  if (bytes.length < need) throw fail('TRUNCATED', `NIfTI data truncated: ${dims.join('×')} ${spec.name} voxels need ${need} bytes from offset ${voxOffset}, the file has ${bytes.length}`);
  const data = readVoxels(bytes, view, voxOffset, count, spec, le);

  const scale = Number.isFinite(sclSlope) && sclSlope !== 0 && !(sclSlope === 1 && (sclInter === 0 || !Number.isFinite(sclInter)));
  let out: NiftiData = data;
  if (scale) {
    const inter = Number.isFinite(sclInter) ? sclInter : 0;
    const scaled = datatype === 64 ? new Float64Array(count) : new Float32Array(count);
    for (let i = 0; i < count; i++) scaled[i] = data[i] * sclSlope + inter;
    out = scaled;
  }

  let affine: Affine;
  let affineSource: NiftiVolume['affineSource'];
  if (sformCode > 0) {
    affineSource = 'sform';
    affine = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => f32(280 + 16 * r + 4 * c)));
    affine.push([0, 0, 0, 1]);
  } else if (qformCode > 0) {
    affineSource = 'qform';
    affine = qformAffine(f32(256), f32(260), f32(264), [f32(268), f32(272), f32(276)], pixdimAll);
  } else {
    affineSource = 'pixdim'; // nifti1.h method 1: x = pixdim[1]·i, y = pixdim[2]·j, z = pixdim[3]·k
    const p = (d: number) => (rank >= d ? pixdimAll[d] : 1);
    affine = [[p(1), 0, 0, 0], [0, p(2), 0, 0], [0, 0, p(3), 0], [0, 0, 0, 1]];
  }
  return {
    dims, datatype, datatypeName: spec.name, pixdim: pixdimAll.slice(1, rank + 1), sclSlope, sclInter, scaled: scale,
    data: out, affine, affineSource, qformCode, sformCode, bigEndian: !le,
  };
}

function readVoxels(bytes: Uint8Array, view: DataView, offset: number, count: number, spec: DatatypeSpec, le: boolean): NiftiData {
  const data = spec.make(count);
  if (le === HOST_LITTLE_ENDIAN) {
    // Copy, then view: the data may start at an offset that is not a multiple of the sample size.
    new Uint8Array(data.buffer).set(bytes.subarray(offset, offset + count * spec.bytes));
  } else {
    for (let i = 0; i < count; i++) data[i] = spec.read(view, offset + i * spec.bytes, le);
  }
  return data;
}

/**
 * nifti1.h method 2: R from the quaternion (b, c, d), a = √(1 − b² − c² − d²) (0 when rounding makes it
 * negative); x = R · [pixdim1·i, pixdim2·j, qfac·pixdim3·k] + qoffset, qfac = pixdim[0] < 0 ? −1 : 1.
 */
export function qformAffine(b: number, c: number, d: number, offset: [number, number, number], pixdim: readonly number[]): Affine {
  let a = 1 - (b * b + c * c + d * d);
  if (a < 1e-7) { // nifti_quatern_to_mat44: a 180° rotation; renormalise (b, c, d)
    const n = Math.hypot(b, c, d);
    a = 0;
    b /= n; c /= n; d /= n;
  } else a = Math.sqrt(a);
  const R = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const qfac = pixdim[0] < 0 ? -1 : 1;
  // nifti_quatern_to_mat44 treats non-positive voxel sizes as 1 (a warning in the reference code).
  const size = [1, 2, 3].map((i) => (pixdim[i] > 0 ? pixdim[i] : 1));
  size[2] *= qfac;
  return [
    [R[0][0] * size[0], R[0][1] * size[1], R[0][2] * size[2], offset[0]],
    [R[1][0] * size[0], R[1][1] * size[1], R[1][2] * size[2], offset[1]],
    [R[2][0] * size[0], R[2][1] * size[1], R[2][2] * size[2], offset[2]],
    [0, 0, 0, 1],
  ];
}

/**
 * RAS+ (NIfTI) ↔ LPS+ (DICOM): negate x and y. Its own inverse. For an affine, negates the first two rows
 * (diag(−1, −1, 1, 1) · A), so the result maps voxels to the other convention.
 */
export function flipRasLps(affine: Affine): Affine {
  return affine.map((row, r) => (r < 2 ? row.map((v) => -v) : [...row]));
}

/** A point in RAS+ as LPS+ or back (negate x and y). */
export function flipPointRasLps(p: readonly [number, number, number]): [number, number, number] {
  return [-p[0], -p[1], p[2]];
}

/** Apply a 4×4 affine to voxel indices (i, j, k): the mm position it maps to. */
export function applyAffine(affine: Affine, i: number, j: number, k: number): [number, number, number] {
  const row = (r: number) => affine[r][0] * i + affine[r][1] * j + affine[r][2] * k + affine[r][3];
  return [row(0), row(1), row(2)];
}
