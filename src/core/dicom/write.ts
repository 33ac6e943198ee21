/**
 * A small DICOM Part 10 writer (PS3.10 7.1): 128-byte preamble, "DICM", File Meta Information (group 0002,
 * always explicit VR little endian, led by its group length), then the data set in explicit VR little endian
 * with native pixel data. Enough to write CT slices, test fixtures and the demo series; not a general toolkit.
 */
import { createHash, randomUUID } from 'node:crypto';
import { DicomError } from './errors';
import { TS } from './uids';

/** Value representations the writer can encode (PS3.5 6.2). */
export type WriteVR = 'AE' | 'AS' | 'CS' | 'DA' | 'DS' | 'DT' | 'IS' | 'LO' | 'LT' | 'PN' | 'SH' | 'ST' | 'TM' | 'UI' | 'UT'
  | 'US' | 'SS' | 'UL' | 'SL' | 'FL' | 'FD' | 'OB' | 'OW' | 'UN' | 'SQ';

/** One element to write. `tag` is 0xGGGGEEEE. */
export interface WriteElement {
  tag: number;
  vr: WriteVR;
  /**
   * Strings for text VRs (several values: an array, joined with `\`), numbers for DS/IS and binary numeric
   * VRs, bytes or words for OB/OW/UN, items (each a list of elements) for SQ.
   */
  value: string | number | readonly (string | number)[] | Uint8Array | Uint16Array | Int16Array | readonly WriteElement[][];
  /** SQ only: encode the sequence and its items with undefined length and delimiters (PS3.5 7.5.2). */
  undefinedLength?: boolean;
}

/** File Meta Information the caller decides; the rest of group 0002 is filled in. */
export interface WriteMeta {
  sopClassUID: string;
  sopInstanceUID: string;
  /**
   * Transfer Syntax UID the File Meta Information declares (default explicit VR little endian). The data set
   * itself is always written explicit VR little endian, which every encapsulated syntax also uses (PS3.5 A.4).
   */
  transferSyntaxUID?: string;
  /**
   * Bytes appended after the data set, already encoded — e.g. encapsulated Pixel Data (PS3.5 A.4). Must be
   * the highest tag, so the data set's elements must all sort before it.
   */
  trailer?: Uint8Array;
}

/** CT Image Storage (PS3.4 B.5). */
export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

/** Our Implementation Class UID (PS3.7 D.3.3.2), a UUID-derived UID (PS3.5 B.2). */
export const IMPLEMENTATION_CLASS_UID = uidFrom('dicom-ml-workbench', 'implementation');
const IMPLEMENTATION_VERSION = 'DICOMML_0.1';

/** A UID under the UUID root 2.25 (PS3.5 B.2) derived deterministically from `parts` (SHA-256, 128 bits). */
export function uidFrom(...parts: (string | number)[]): string {
  const hash = createHash('sha256').update(parts.join('\u0000')).digest();
  // The 2.25 root requires an integer form of a 128-bit value: no leading zeros, at most 39 digits.
  return `2.25.${BigInt(`0x${hash.subarray(0, 16).toString('hex')}`).toString(10)}`;
}

/** A fresh random UID under 2.25 (PS3.5 B.2), from a version-4 UUID. */
export function newUid(): string {
  return `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString(10)}`;
}

const LONG_LENGTH = new Set<WriteVR>(['OB', 'OW', 'UN', 'SQ', 'UT']); // PS3.5 7.1.2: 2 reserved bytes + 32-bit length
const TEXT_VRS = new Set<WriteVR>(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UI', 'UT']);
const MAX_CHARS: Partial<Record<WriteVR, number>> = { AE: 16, AS: 4, CS: 16, DA: 8, DS: 16, IS: 12, LO: 64, SH: 16, TM: 16, UI: 64, DT: 26 };
const NUMERIC: Partial<Record<WriteVR, [number, (v: DataView, o: number, x: number) => void]>> = {
  US: [2, (v, o, x) => v.setUint16(o, x, true)],
  SS: [2, (v, o, x) => v.setInt16(o, x, true)],
  UL: [4, (v, o, x) => v.setUint32(o, x, true)],
  SL: [4, (v, o, x) => v.setInt32(o, x, true)],
  FL: [4, (v, o, x) => v.setFloat32(o, x, true)],
  FD: [8, (v, o, x) => v.setFloat64(o, x, true)],
};

function tagName(tag: number): string {
  const h = tag.toString(16).toUpperCase().padStart(8, '0');
  return `(${h.slice(0, 4)},${h.slice(4)})`;
}

function bad(tag: number, why: string): DicomError {
  return new DicomError('BAD_ARGUMENT', `cannot write ${tagName(tag)}: ${why}`);
}

/** A Decimal String (PS3.5 6.2: at most 16 characters) for `x`, as precise as fits. */
export function formatDS(x: number): string {
  if (!Number.isFinite(x)) throw new DicomError('BAD_ARGUMENT', `DS value ${x} is not a finite number`);
  const plain = String(x);
  if (plain.length <= 16 && !plain.includes('e')) return plain;
  for (let p = 15; p >= 1; p--) {
    const s = String(Number(x.toPrecision(p)));
    if (s.length <= 16) return s;
  }
  throw new DicomError('BAD_ARGUMENT', `DS value ${x} does not fit in 16 characters`);
}

function textValue(el: WriteElement): string {
  const values = (Array.isArray(el.value) ? el.value : [el.value]) as (string | number)[];
  const strings = values.map((v) => {
    if (el.vr === 'DS') {
      if (typeof v !== 'number') throw bad(el.tag, 'DS values must be numbers');
      return formatDS(v);
    }
    if (el.vr === 'IS') {
      if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1) throw bad(el.tag, `IS value ${v} is not a 32-bit integer`);
      return String(v);
    }
    if (typeof v !== 'string') throw bad(el.tag, `${el.vr} values must be strings`);
    if (el.vr === 'UI' && !/^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/.test(v)) throw bad(el.tag, `"${v}" is not a valid UID (PS3.5 9.1)`);
    return v;
  });
  const max = MAX_CHARS[el.vr];
  const long = max === undefined ? undefined : strings.find((s) => s.length > max);
  if (long !== undefined) throw bad(el.tag, `${el.vr} value "${long}" is longer than ${max} characters`);
  const joined = strings.join('\\');
  if (/[^\x20-\x7e\r\n\t\f\x1b]/.test(joined)) throw bad(el.tag, 'only ASCII text is supported (no Specific Character Set handling)');
  return joined;
}

/** The value bytes of one element, padded to even length (PS3.5 7.1.1: UI with NUL, other text with space). */
function valueBytes(el: WriteElement): Uint8Array {
  if (TEXT_VRS.has(el.vr)) {
    const s = textValue(el);
    const out = new Uint8Array(s.length + (s.length % 2));
    for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    if (s.length % 2) out[s.length] = el.vr === 'UI' ? 0x00 : 0x20;
    return out;
  }
  const numeric = NUMERIC[el.vr];
  if (numeric) {
    const values = (Array.isArray(el.value) ? el.value : [el.value]) as unknown[];
    const [size, set] = numeric;
    const out = new Uint8Array(values.length * size);
    const view = new DataView(out.buffer);
    values.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(el.tag, `${el.vr} value ${String(v)} is not a number`);
      set(view, i * size, v);
    });
    return out;
  }
  const v = el.value;
  if (el.vr === 'OW') {
    if (!(v instanceof Uint16Array || v instanceof Int16Array)) throw bad(el.tag, 'OW values must be a Uint16Array or Int16Array');
    return wordsLittleEndian(v);
  }
  if (!(v instanceof Uint8Array)) throw bad(el.tag, `${el.vr} values must be a Uint8Array`);
  if (v.length % 2 === 0) return v;
  const padded = new Uint8Array(v.length + 1); // PS3.5 7.1.1: OB/UN padded with a single trailing NUL
  padded.set(v);
  return padded;
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function wordsLittleEndian(words: Uint16Array | Int16Array): Uint8Array {
  const bytes = new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
  if (HOST_LITTLE_ENDIAN) return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 2) { out[i] = bytes[i + 1]; out[i + 1] = bytes[i]; }
  return out;
}

function header(tag: number, vr: WriteVR | undefined, length: number): Uint8Array {
  const long = vr === undefined || LONG_LENGTH.has(vr);
  const out = new Uint8Array(vr === undefined ? 8 : long ? 12 : 8);
  const view = new DataView(out.buffer);
  view.setUint16(0, tag >>> 16, true);
  view.setUint16(2, tag & 0xffff, true);
  if (vr === undefined) { // item and delimitation tags carry no VR (PS3.5 7.5)
    view.setUint32(4, length, true);
    return out;
  }
  out[4] = vr.charCodeAt(0);
  out[5] = vr.charCodeAt(1);
  if (long) view.setUint32(8, length, true);
  else {
    if (length > 0xffff) throw bad(tag, `${vr} value of ${length} bytes exceeds the 16-bit length field`);
    view.setUint16(6, length, true);
  }
  return out;
}

const UNDEFINED = 0xffffffff;
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d; // Item Delimitation Item
const SEQUENCE_END = 0xfffee0dd; // Sequence Delimitation Item

/** Encode elements (any order; sorted here, duplicates rejected) as explicit VR little endian chunks. */
function encodeElements(elements: readonly WriteElement[]): Uint8Array[] {
  const sorted = [...elements].sort((a, b) => a.tag - b.tag);
  const out: Uint8Array[] = [];
  sorted.forEach((el, i) => {
    if (!Number.isInteger(el.tag) || el.tag < 0 || el.tag > 0xffffffff) throw new DicomError('BAD_ARGUMENT', `tag ${el.tag} is not a 32-bit integer`);
    if (i > 0 && sorted[i - 1].tag === el.tag) throw bad(el.tag, 'the element is given twice');
    if (el.vr !== 'SQ') {
      const value = valueBytes(el);
      out.push(header(el.tag, el.vr, value.length), value);
      return;
    }
    if (!Array.isArray(el.value)) throw bad(el.tag, 'SQ values must be a list of items');
    const items = el.value as WriteElement[][];
    const nested: Uint8Array[] = [];
    for (const item of items) {
      const body = encodeElements(item);
      if (el.undefinedLength) nested.push(header(ITEM, undefined, UNDEFINED), ...body, header(ITEM_END, undefined, 0));
      else nested.push(header(ITEM, undefined, byteLength(body)), ...body);
    }
    if (el.undefinedLength) out.push(header(el.tag, 'SQ', UNDEFINED), ...nested, header(SEQUENCE_END, undefined, 0));
    else out.push(header(el.tag, 'SQ', byteLength(nested)), ...nested);
  });
  return out;
}

function byteLength(chunks: readonly Uint8Array[]): number {
  return chunks.reduce((n, b) => n + b.length, 0);
}

function encodeToBytes(elements: readonly WriteElement[]): Uint8Array {
  const chunks = encodeElements(elements);
  const out = new Uint8Array(byteLength(chunks));
  let offset = 0;
  for (const c of chunks) { out.set(c, offset); offset += c.length; }
  return out;
}

/**
 * Encode a complete Part 10 file: preamble, "DICM", File Meta Information with its group length
 * (PS3.10 7.1), then `dataSet` (elements of group 0002 in it are rejected) in explicit VR little endian.
 */
export function encodePart10(dataSet: readonly WriteElement[], meta: WriteMeta): Uint8Array {
  const misplaced = dataSet.find((el) => el.tag >>> 16 === 0x0002);
  if (misplaced) throw bad(misplaced.tag, 'group 0002 belongs to the File Meta Information, not the data set');
  const metaBody = encodeToBytes([
    { tag: 0x00020001, vr: 'OB', value: new Uint8Array([0x00, 0x01]) },
    { tag: 0x00020002, vr: 'UI', value: meta.sopClassUID },
    { tag: 0x00020003, vr: 'UI', value: meta.sopInstanceUID },
    { tag: 0x00020010, vr: 'UI', value: meta.transferSyntaxUID ?? TS.ExplicitVRLittleEndian },
    { tag: 0x00020012, vr: 'UI', value: IMPLEMENTATION_CLASS_UID },
    { tag: 0x00020013, vr: 'SH', value: IMPLEMENTATION_VERSION },
  ]);
  const groupLength = encodeToBytes([{ tag: 0x00020000, vr: 'UL', value: metaBody.length }]);
  const body = encodeToBytes(dataSet);
  const trailer = meta.trailer ?? new Uint8Array(0);
  const out = new Uint8Array(132 + groupLength.length + metaBody.length + body.length + trailer.length);
  out.set([0x44, 0x49, 0x43, 0x4d], 128);
  out.set(groupLength, 132);
  out.set(metaBody, 132 + groupLength.length);
  out.set(body, 132 + groupLength.length + metaBody.length);
  out.set(trailer, 132 + groupLength.length + metaBody.length + body.length);
  return out;
}

/** One CT image (or a multi-frame stack of same-sized frames) to write. Tags per PS3.3 A.3 (CT Image IOD). */
export interface CtSlice {
  rows: number;
  columns: number;
  /** Stored values, frames × rows × columns, row-major. Int16Array ⇒ Pixel Representation 1 (signed). */
  pixelData: Uint16Array | Int16Array;
  /** Number of Frames (0028,0008), written only when > 1. Default 1. */
  frames?: number;
  /** Bits Stored (High Bit = Bits Stored − 1). Default 16. Every value must fit. */
  bitsStored?: number;
  rescaleSlope?: number;
  rescaleIntercept?: number;
  /** One window or several (first = default); the two lists must be the same length. */
  windowCenter?: number | number[];
  windowWidth?: number | number[];
  /** LPS mm of the first transmitted pixel's centre (C.7.6.2.1.1). */
  imagePositionPatient?: [number, number, number];
  /** Row then column direction cosines. */
  imageOrientationPatient?: [number, number, number, number, number, number];
  /** Between rows, between columns (mm). */
  pixelSpacing?: [number, number];
  sliceThickness?: number;
  instanceNumber?: number;
  sopInstanceUID: string;
  seriesInstanceUID: string;
  studyInstanceUID: string;
  frameOfReferenceUID?: string;
  patientID?: string;
  patientName?: string;
  /** Default 'CT'. */
  modality?: string;
  seriesNumber?: number;
  seriesDescription?: string;
  /** YYYYMMDD. */
  studyDate?: string;
  /** Default CT Image Storage. */
  sopClassUID?: string;
  /** Any further elements (must not repeat the ones above). */
  extra?: WriteElement[];
}

function checkPixels(slice: CtSlice, frames: number, bitsStored: number): void {
  const { rows, columns, pixelData } = slice;
  for (const [name, v] of [['rows', rows], ['columns', columns], ['frames', frames]] as const) {
    if (!Number.isInteger(v) || v < 1 || v > 0xffff) throw new DicomError('BAD_ARGUMENT', `${name} ${v} is not an integer in 1…65535`);
  }
  if (!Number.isInteger(bitsStored) || bitsStored < 1 || bitsStored > 16) throw new DicomError('BAD_ARGUMENT', `bitsStored ${bitsStored} is not in 1…16`);
  if (pixelData.length !== rows * columns * frames) {
    throw new DicomError('BAD_ARGUMENT', `pixelData has ${pixelData.length} values, expected ${rows}×${columns}×${frames} = ${rows * columns * frames}`);
  }
  const signed = pixelData instanceof Int16Array;
  const lo = signed ? -(2 ** (bitsStored - 1)) : 0;
  const hi = signed ? 2 ** (bitsStored - 1) - 1 : 2 ** bitsStored - 1;
  for (let i = 0; i < pixelData.length; i++) {
    const v = pixelData[i];
    if (v < lo || v > hi) throw new DicomError('BAD_ARGUMENT', `pixel ${i} = ${v} does not fit Bits Stored ${bitsStored} (${lo}…${hi})`);
  }
}

/** The data set (no meta) of a CT image, validated: sizes match, values fit Bits Stored, UIDs are UIDs. */
export function ctDataSet(slice: CtSlice): WriteElement[] {
  const frames = slice.frames ?? 1;
  const bitsStored = slice.bitsStored ?? 16;
  checkPixels(slice, frames, bitsStored);
  const centers = slice.windowCenter === undefined ? undefined : ([] as number[]).concat(slice.windowCenter);
  const widths = slice.windowWidth === undefined ? undefined : ([] as number[]).concat(slice.windowWidth);
  if ((centers === undefined) !== (widths === undefined) || (centers && widths && centers.length !== widths.length)) {
    throw new DicomError('BAD_ARGUMENT', 'windowCenter and windowWidth must be given together, with as many values each');
  }
  const els: (WriteElement | undefined)[] = [
    { tag: 0x00080008, vr: 'CS', value: ['ORIGINAL', 'PRIMARY', 'AXIAL'] },
    { tag: 0x00080016, vr: 'UI', value: slice.sopClassUID ?? CT_IMAGE_STORAGE },
    { tag: 0x00080018, vr: 'UI', value: slice.sopInstanceUID },
    slice.studyDate !== undefined ? { tag: 0x00080020, vr: 'DA', value: slice.studyDate } : undefined,
    { tag: 0x00080060, vr: 'CS', value: slice.modality ?? 'CT' },
    slice.seriesDescription !== undefined ? { tag: 0x0008103e, vr: 'LO', value: slice.seriesDescription } : undefined,
    { tag: 0x00100010, vr: 'PN', value: slice.patientName ?? '' },
    { tag: 0x00100020, vr: 'LO', value: slice.patientID ?? '' },
    slice.sliceThickness !== undefined ? { tag: 0x00180050, vr: 'DS', value: slice.sliceThickness } : undefined,
    { tag: 0x0020000d, vr: 'UI', value: slice.studyInstanceUID },
    { tag: 0x0020000e, vr: 'UI', value: slice.seriesInstanceUID },
    slice.seriesNumber !== undefined ? { tag: 0x00200011, vr: 'IS', value: slice.seriesNumber } : undefined,
    slice.instanceNumber !== undefined ? { tag: 0x00200013, vr: 'IS', value: slice.instanceNumber } : undefined,
    slice.imagePositionPatient ? { tag: 0x00200032, vr: 'DS', value: slice.imagePositionPatient } : undefined,
    slice.imageOrientationPatient ? { tag: 0x00200037, vr: 'DS', value: slice.imageOrientationPatient } : undefined,
    slice.frameOfReferenceUID !== undefined ? { tag: 0x00200052, vr: 'UI', value: slice.frameOfReferenceUID } : undefined,
    { tag: 0x00280002, vr: 'US', value: 1 },
    { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    frames > 1 ? { tag: 0x00280008, vr: 'IS', value: frames } : undefined,
    { tag: 0x00280010, vr: 'US', value: slice.rows },
    { tag: 0x00280011, vr: 'US', value: slice.columns },
    slice.pixelSpacing ? { tag: 0x00280030, vr: 'DS', value: slice.pixelSpacing } : undefined,
    { tag: 0x00280100, vr: 'US', value: 16 },
    { tag: 0x00280101, vr: 'US', value: bitsStored },
    { tag: 0x00280102, vr: 'US', value: bitsStored - 1 },
    { tag: 0x00280103, vr: 'US', value: slice.pixelData instanceof Int16Array ? 1 : 0 },
    centers ? { tag: 0x00281050, vr: 'DS', value: centers } : undefined,
    widths ? { tag: 0x00281051, vr: 'DS', value: widths } : undefined,
    { tag: 0x00281052, vr: 'DS', value: slice.rescaleIntercept ?? 0 },
    { tag: 0x00281053, vr: 'DS', value: slice.rescaleSlope ?? 1 },
    { tag: 0x00281054, vr: 'LO', value: 'HU' },
    { tag: 0x7fe00010, vr: 'OW', value: slice.pixelData },
  ];
  return [...els.filter((e): e is WriteElement => e !== undefined), ...(slice.extra ?? [])];
}

/** A complete Part 10 CT file (explicit VR little endian). Throws DicomError BAD_ARGUMENT on invalid input. */
export function encodeCtSlice(slice: CtSlice): Uint8Array {
  return encodePart10(ctDataSet(slice), { sopClassUID: slice.sopClassUID ?? CT_IMAGE_STORAGE, sopInstanceUID: slice.sopInstanceUID });
}
