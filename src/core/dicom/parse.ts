/**
 * Part 10 parsing over dicom-parser, hardened: files without preamble/meta (raw data sets in implicit or
 * explicit VR little endian), deflated data sets inflated with node's zlib, and every element checked to
 * lie inside the file. Whatever dicom-parser throws (strings, plain objects) becomes a {@link DicomError}.
 */
import * as dicomParser from 'dicom-parser';
import { inflateRawSync } from 'node:zlib';
import { DicomError, describeThrown } from './errors';
import { TS, TS_NAMES } from './uids';

/** A parsed DICOM file: dicom-parser's data set plus what we learned while reading it. */
export interface DicomFile {
  /** dicom-parser data set (elements keyed `xggggeeee`). */
  readonly dataSet: dicomParser.DataSet;
  /** The transfer syntax the data set is encoded in (from the meta header, or detected). */
  readonly transferSyntaxUID: string;
  /** False for raw data sets with no 128-byte preamble and no "DICM" prefix. */
  readonly hasPreamble: boolean;
  /** Non-fatal oddities (dicom-parser warnings plus ours). */
  readonly warnings: string[];
}

const VRS = new Set(['AE', 'AS', 'AT', 'CS', 'DA', 'DS', 'DT', 'FL', 'FD', 'IS', 'LO', 'LT', 'OB', 'OD', 'OF', 'OL', 'OV',
  'OW', 'PN', 'SH', 'SL', 'SQ', 'SS', 'ST', 'SV', 'TM', 'UC', 'UI', 'UL', 'UN', 'UR', 'US', 'UT', 'UV']);

function hasDicmPrefix(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/**
 * PS3.10 7.1 requires the preamble, but older files are raw data sets (PS3.5 Annex A default: implicit VR
 * little endian). Accept one only when it starts like a data set: an even group no later than 0x0008, so a
 * PNG or random bytes renamed .dcm are rejected as NOT_DICOM instead of being parsed as noise.
 */
function detectRawSyntax(bytes: Uint8Array): string | undefined {
  if (bytes.length < 8) return undefined;
  const plausible = (group: number) => group % 2 === 0 && group <= 0x0008;
  const explicit = VRS.has(String.fromCharCode(bytes[4], bytes[5]));
  if (plausible(bytes[0] | (bytes[1] << 8))) return explicit ? TS.ExplicitVRLittleEndian : TS.ImplicitVRLittleEndian;
  // Big endian raw data sets exist too (pydicom's no_meta.dcm); they are always explicit VR.
  if (plausible((bytes[0] << 8) | bytes[1]) && explicit) return TS.ExplicitVRBigEndian;
  return undefined;
}

/** Bytes that begin with a File Meta group element in explicit VR little endian: (0002,eeee) and a VR. */
function startsWithMeta(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0x02 && bytes[1] === 0x00 && VRS.has(String.fromCharCode(bytes[4], bytes[5]));
}

/**
 * The shapes of file meta that writers get wrong but pydicom and DCMTK read (issue 11): a data set that starts
 * straight with the meta group (no 128-byte preamble, no "DICM") is read as Part 10 — its meta states the
 * transfer syntax — and a preamble + "DICM" followed by no meta group is read as the raw data set after it; a meta
 * group without a Transfer Syntax UID leaves the data set's own encoding to decide (implicit or explicit VR).
 */
function tolerateMeta(bytes: Uint8Array): { bytes: Uint8Array; note?: string; syntax?: string } {
  if (!hasDicmPrefix(bytes) && startsWithMeta(bytes)) {
    const framed = new Uint8Array(132 + bytes.length);
    framed.set([0x44, 0x49, 0x43, 0x4d], 128);
    framed.set(bytes, 132);
    return { bytes: framed, note: 'no 128-byte preamble and "DICM" before the file meta; read as if they were there' };
  }
  if (hasDicmPrefix(bytes) && bytes.length > 140 && !(bytes[132] === 0x02 && bytes[133] === 0x00) && detectRawSyntax(bytes.subarray(132))) {
    return { bytes: bytes.subarray(132), note: 'a preamble and "DICM" but no file meta group; the data set after them read on its own' };
  }
  if (hasDicmPrefix(bytes) && bytes.length > 140 && bytes[132] === 0x02 && bytes[133] === 0x00 && !VRS.has(String.fromCharCode(bytes[136], bytes[137]))) {
    // The meta group written in implicit VR (PS3.10 requires explicit): read its transfer syntax, then the data set.
    const meta = metaGroup(bytes, 132, true);
    if (meta?.syntax) return { bytes: bytes.subarray(meta.end), syntax: meta.syntax, note: `the file meta is written in implicit VR; read it, then the data set as ${meta.syntax}` };
  }
  if (hasDicmPrefix(bytes)) {
    const meta = metaGroup(bytes, 132);
    const next = meta?.end ?? 0;
    // A known writer bug: the meta says explicit VR little endian, the data set is implicit VR (pydicom reads it).
    // A meta group without its Transfer Syntax UID: the data set's own encoding decides, as pydicom reads it.
    const found = meta && !meta.syntax && bytes.length >= next + 8 ? detectRawSyntax(bytes.subarray(next)) : undefined;
    if (found) return { bytes: bytes.subarray(next), syntax: found, note: `the file meta has no Transfer Syntax UID (0002,0010); the data set reads as ${TS_NAMES[found] ?? found}` };
    if (meta?.syntax === TS.ExplicitVRLittleEndian && bytes.length >= next + 8 && !VRS.has(String.fromCharCode(bytes[next + 4], bytes[next + 5])) && detectRawSyntax(bytes.subarray(next)) === TS.ImplicitVRLittleEndian) {
      return { bytes: bytes.subarray(next), note: 'the file meta says explicit VR little endian but the data set is implicit VR; read as implicit VR (a writer bug pydicom tolerates too)' };
    }
  }
  return { bytes };
}

/**
 * The meta group at `start` — explicit VR little endian as PS3.10 requires, or in implicit VR (tag, 4-byte
 * length, value) as some writers put it: where it ends and the transfer syntax it states.
 */
function metaGroup(bytes: Uint8Array, start: number, implicit = false): { end: number; syntax?: string } | undefined {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = start;
  let syntax: string | undefined;
  while (pos + 8 <= bytes.length && dv.getUint16(pos, true) === 0x0002) {
    const element = dv.getUint16(pos + 2, true);
    let value: number;
    let length: number;
    if (implicit) {
      value = pos + 8;
      length = dv.getUint32(pos + 4, true);
    } else {
      const vr = String.fromCharCode(bytes[pos + 4], bytes[pos + 5]);
      if (!VRS.has(vr)) return undefined;
      const long = ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'UC', 'UR', 'OD', 'OL', 'OV'].includes(vr);
      if (long && pos + 12 > bytes.length) return undefined;
      length = long ? dv.getUint32(pos + 8, true) : dv.getUint16(pos + 6, true);
      value = pos + (long ? 12 : 8);
    }
    if (value + length > bytes.length) return undefined;
    if (element === 0x0010) syntax = String.fromCharCode(...bytes.subarray(value, value + length)).replace(/\0/g, '').trim();
    pos = value + length;
  }
  return { end: pos, syntax };
}

/** Inflate a deflated data set (PS3.5 A.5: raw deflate after the meta header). */
function inflater(byteArray: Uint8Array, position: number): Uint8Array {
  let inflated: Buffer;
  try {
    inflated = inflateRawSync(byteArray.subarray(position));
  } catch (err) {
    throw new DicomError('MALFORMED', `deflated data set does not inflate (${describeThrown(err)})`, undefined, { cause: err });
  }
  const full = new Uint8Array(position + inflated.length);
  full.set(byteArray.subarray(0, position), 0);
  full.set(inflated, position);
  return full;
}

function classify(message: string): 'TRUNCATED' | 'MALFORMED' {
  // "buffer overrun" (parseDicomDataSet*) and the byteStream's "'position' cannot be greater than or equal to
  // 'byteArray' length" are what dicom-parser says when an element runs past the end of a cut file.
  return /past end|overread|overrun|beyond|end of buffer|not enough|exceed|'byteArray' length/i.test(message) ? 'TRUNCATED' : 'MALFORMED';
}

/** PS3.10 7.1: with a preamble, (0002,0000) UL at byte 132 gives the meta header's length; is the file shorter? */
function metaTruncated(bytes: Uint8Array): string | undefined {
  if (bytes.length < 144) return `file ends inside the File Meta Information (${bytes.length} bytes)`;
  const isGroupLength = bytes[132] === 0x02 && bytes[133] === 0 && bytes[134] === 0 && bytes[135] === 0 && bytes[136] === 0x55 && bytes[137] === 0x4c;
  const needed = 144 + (bytes[140] | (bytes[141] << 8) | (bytes[142] << 16)) + bytes[143] * 0x1000000;
  return isGroupLength && bytes.length < needed ? `file ends inside the File Meta Information (${bytes.length} bytes, its group length needs ${needed})` : undefined;
}

/**
 * Every element, recursively, must lie inside its byte array; returns the first that does not. `skipTag` is
 * the header-only stop tag, whose value was deliberately not read.
 */
function findOverrun(dataSet: dicomParser.DataSet, size: number, depth = 0, skipTag?: string): string | undefined {
  if (depth > 64) return 'sequences nested more than 64 deep';
  for (const [tag, el] of Object.entries(dataSet.elements)) {
    if (el.length === undefined || el.dataOffset === undefined || tag === skipTag) continue;
    if (el.length < 0 || el.dataOffset + el.length > size) {
      return `element (${tag.slice(1, 5)},${tag.slice(5)}) declares ${el.length} bytes at offset ${el.dataOffset}, past the end of the data (${size} bytes)`;
    }
    for (const item of el.items ?? []) {
      if (item.dataSet) {
        const inner = findOverrun(item.dataSet, size, depth + 1);
        if (inner) return inner;
      }
    }
  }
  return undefined;
}

/** Options for {@link parseDicom}. */
export interface ParseOptions {
  /**
   * Stop at Pixel Data (7FE0,0010): its element is present (so readImageInfo sees an image) but its value is
   * neither read nor checked, so `bytes` may be just the file's head. Pixels cannot be decoded from the result.
   */
  headerOnly?: boolean;
}

/** Parse a DICOM file's bytes. Throws {@link DicomError} (NOT_DICOM, TRUNCATED, MALFORMED). */
export function parseDicom(bytes: Uint8Array, file?: string, options: ParseOptions = {}): DicomFile {
  const untilTag = options.headerOnly ? 'x7fe00010' : undefined;
  if (bytes.length === 0) throw new DicomError('NOT_DICOM', 'file is empty (0 bytes)', file);
  // dicom-parser uses Buffer.copy on node when given a Buffer; a plain Uint8Array view keeps one path.
  const given = bytes instanceof Uint8Array && !Buffer.isBuffer(bytes) ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tolerated = tolerateMeta(given);
  const byteArray = tolerated.bytes;
  const hasPreamble = hasDicmPrefix(byteArray);
  let rawSyntax: string | undefined;
  if (!hasPreamble) {
    rawSyntax = tolerated.syntax ?? detectRawSyntax(byteArray);
    if (!rawSyntax) {
      throw new DicomError('NOT_DICOM', bytes.length < 132
        ? `not a DICOM file (${bytes.length} bytes, too short for a Part 10 header and not a data set)`
        : 'not a DICOM file (no "DICM" prefix at byte 128 and no data set at byte 0)', file);
    }
  }
  let dataSet: dicomParser.DataSet;
  try {
    dataSet = dicomParser.parseDicom(byteArray, {
      ...(rawSyntax ? { TransferSyntaxUID: rawSyntax } : {}),
      ...(untilTag ? { untilTag } : {}),
      inflater,
    } as dicomParser.ParseDicomOptions);
  } catch (thrown) {
    if (thrown instanceof DicomError) throw thrown.withFile(file ?? '');
    const message = describeThrown(thrown).replace(/^\w+[.:]\w+:\s*/, ''); // drop dicom-parser's "module.function:"
    const meta = hasPreamble ? metaTruncated(byteArray) : undefined;
    if (meta) throw new DicomError('TRUNCATED', meta, file, { cause: thrown });
    const code = classify(message);
    throw new DicomError(code, code === 'TRUNCATED' ? `file ends early: ${message}` : message, file, { cause: thrown });
  }
  const transferSyntaxUID = (dataSet.string('x00020010') ?? rawSyntax ?? TS.ImplicitVRLittleEndian).replace(/\0/g, '').trim();
  const size = dataSet.byteArray.length;
  const overrun = findOverrun(dataSet, size, 0, untilTag);
  if (overrun) throw new DicomError('TRUNCATED', overrun, file);
  if (!hasPreamble && Object.keys(dataSet.elements).length < 2) {
    throw new DicomError('NOT_DICOM', 'not a DICOM file (no "DICM" prefix and fewer than two elements)', file);
  }
  const warnings = [...(dataSet.warnings ?? []), ...(tolerated.note ? [tolerated.note] : [])];
  // PS3.5 7.5.2: an undefined-length item or sequence must end with its delimiter; one that runs to the end of
  // the file has swallowed everything after it (often Pixel Data), so say that rather than "no Pixel Data".
  const unclosed = warnings.find((w) => /^eof encountered before finding (item|sequence) delimit/.test(w));
  if (unclosed) throw new DicomError('MALFORMED', `a sequence of undefined length is never closed: ${unclosed.replace(/^eof/, 'end of file')}`, file);
  if (!hasPreamble && !tolerated.syntax) warnings.push(`no Part 10 preamble/meta header; read as ${rawSyntax === TS.ImplicitVRLittleEndian ? 'implicit VR little endian' : rawSyntax === TS.ExplicitVRBigEndian ? 'explicit VR big endian' : 'explicit VR little endian'}`);
  return { dataSet, transferSyntaxUID, hasPreamble: hasPreamble && byteArray === given, warnings };
}
