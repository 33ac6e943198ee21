/**
 * The Image Pixel module (PS3.3 C.7.6.3) and the attributes that turn stored values into pictures
 * (Modality LUT C.11.1, VOI LUT C.11.2, Image Plane C.7.6.2), read once and validated at the boundary.
 */
import type { DataSet } from 'dicom-parser';
import { DicomError } from './errors';
import type { DicomFile } from './parse';
import { readPalette, type Palette } from './palette';
import { TS } from './uids';
import type { VoiLut } from './voi';

/** Geometry and pixel format of one image (all frames share it). */
export interface ImageInfo {
  transferSyntaxUID: string;
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  /** PS3.3 C.7.6.3.1.3: 0 = colour-by-pixel (RGBRGB…), 1 = colour-by-plane (RR…GG…BB…). */
  planarConfiguration: number;
  photometricInterpretation: string;
  bitsAllocated: number;
  /**
   * Float Pixel Data (7FE0,0008, OF: 32) or Double Float Pixel Data (7FE0,0009, OD: 64) instead of Pixel Data:
   * the values are the samples themselves (parametric maps), never masked or sign-extended.
   */
  floatPixels?: 32 | 64;
  bitsStored: number;
  highBit: number;
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  rescaleType?: string;
  /**
   * Modality LUT Sequence (0028,3000) item, PS3.3 C.11.1: stored values below `firstMapped` take `data[0]`, above
   * the last entry `data[n − 1]`, else `data[stored − firstMapped]`. When present it replaces Rescale Slope/Intercept.
   */
  modalityLut?: { firstMapped: number; bits: number; data: Uint16Array; explanation?: string };
  /**
   * VOI LUT Sequence (0028,3010) first item, PS3.3 C.11.2: the file's own display mapping from modality values to
   * 0…2^bits − 1 (voi.ts voiLutToGray8). Preferred over the window as the file's VOI, as pydicom's apply_voi_lut.
   */
  voiLut?: VoiLut & { explanation?: string };
  /** Why the file's VOI LUT Sequence cannot be applied (then `voiLut` is absent). */
  voiLutProblem?: string;
  /** PALETTE COLOR only (PS3.3 C.7.6.3.1.5, C.7.9): the Red/Green/Blue palettes, validated (palette.ts). */
  palette?: Palette;
  /** First VOI window in the file (C.11.2.1.2), when present. */
  windowCenter?: number;
  windowWidth?: number;
  /** VOI LUT Function (C.11.2.1.3): LINEAR (default), LINEAR_EXACT or SIGMOID. */
  voiLutFunction: string;
  /** Pixel Padding Value / Range Limit (C.7.5.1.1.2), in stored-value space. */
  pixelPaddingValue?: number;
  pixelPaddingRangeLimit?: number;
  modality?: string;
  sopInstanceUID?: string;
  seriesInstanceUID?: string;
  studyInstanceUID?: string;
  instanceNumber?: number;
  imagePositionPatient?: [number, number, number];
  imageOrientationPatient?: [number, number, number, number, number, number];
  /** Row spacing, column spacing in mm (C.7.6.2.1.1 order: between rows, between columns). */
  pixelSpacing?: [number, number];
  sliceThickness?: number;
}

/**
 * The first item of a LUT sequence (Modality LUT C.11.1, VOI LUT C.11.2), or undefined. LUT Descriptor: entries
 * (0 = 65536), first input value mapped (SS when Pixel Representation is 1), bits per entry (`allowedBits`; entries
 * are 16-bit words in LUT Data (US or OW) either way, as pydicom reads them). A LUT that cannot be applied is a
 * DicomError naming the sequence and why.
 */
function readLut(ds: DataSet, tag: string, name: string, allowedBits: readonly number[], littleEndian: boolean, pixelRepresentation: number, fileName?: string): (VoiLut & { explanation?: string }) | undefined {
  const item = ds.elements[tag]?.items?.[0]?.dataSet;
  if (!item) return undefined;
  const d = (i: number) => num(item, 'x00283002', i);
  const [n0, first0, bits] = [d(0), d(1), d(2)];
  if (n0 === undefined || first0 === undefined || bits === undefined) throw new DicomError('MALFORMED', `${name}: LUT Descriptor (0028,3002) needs 3 values`, fileName);
  if (!allowedBits.includes(bits)) throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', `${name}: ${bits} bits per entry (${allowedBits.length > 2 ? '8 or 10–16' : '8 or 16'} are defined)`, fileName);
  const n = n0 === 0 ? 65536 : n0;
  const firstMapped = pixelRepresentation === 1 && first0 > 0x7fff ? first0 - 0x10000 : first0;
  const el = item.elements.x00283006;
  if (!el || el.length < 2 * n) throw new DicomError('MALFORMED', `${name}: LUT Data (0028,3006) holds ${el?.length ?? 0} bytes for ${n} entries of 16 bits`, fileName);
  const bytes = item.byteArray.subarray(el.dataOffset, el.dataOffset + 2 * n);
  const data = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const v = littleEndian ? bytes[2 * i] | (bytes[2 * i + 1] << 8) : (bytes[2 * i] << 8) | bytes[2 * i + 1];
    data[i] = bits === 8 ? v & 0xff : v;
  }
  const explanation = item.string('x00283003')?.trim();
  return { firstMapped, bits, data, ...(explanation ? { explanation } : {}) };
}

/** The Modality LUT Sequence (0028,3000): 8- or 16-bit entries. */
function readModalityLut(ds: DataSet, littleEndian: boolean, pixelRepresentation: number, fileName?: string): ImageInfo['modalityLut'] {
  return readLut(ds, 'x00283000', 'Modality LUT Sequence', [8, 16], littleEndian, pixelRepresentation, fileName);
}

/**
 * The VOI LUT Sequence (0028,3010), first item: 8 or 10–16 bits per entry (PS3.3 C.11.2.1.1). It only changes how the
 * image is shown, so a broken one does not make the image unreadable: its problem is kept and said when the file's
 * own VOI is asked for (lut.ts fileVoi).
 */
function readVoiLut(ds: DataSet, littleEndian: boolean, pixelRepresentation: number, fileName?: string): Pick<ImageInfo, 'voiLut' | 'voiLutProblem'> {
  try {
    const lut = readLut(ds, 'x00283010', 'VOI LUT Sequence', [8, 10, 11, 12, 13, 14, 15, 16], littleEndian, pixelRepresentation, fileName);
    return lut ? { voiLut: lut } : {};
  } catch (err) {
    return { voiLutProblem: (err as Error).message };
  }
}

/**
 * Value `index` of a binary numeric attribute (US, SS, UL), undefined when absent or when the value holds fewer
 * values; implicit VR files carry no VR, so US is the default.
 */
export function num(ds: DataSet, tag: string, index = 0): number | undefined {
  const el = ds.elements[tag];
  if (!el || el.length < (el.vr === 'UL' ? 4 : 2) * (index + 1)) return undefined;
  const v = el.vr === 'SS' ? ds.int16(tag, index) : el.vr === 'UL' ? ds.uint32(tag, index) : ds.uint16(tag, index);
  return v === undefined || Number.isNaN(v) ? undefined : v;
}

/** A multi-valued decimal string (DS/IS), all `count` values finite, else undefined. */
export function numbers(ds: DataSet, tag: string, count: number): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const v = ds.floatString(tag, i);
    if (v === undefined || !Number.isFinite(v)) return undefined;
    out.push(v);
  }
  return out;
}

function decimal(ds: DataSet, tag: string): number | undefined {
  const v = ds.floatString(tag, 0);
  return v === undefined || !Number.isFinite(v) ? undefined : v;
}

function text(ds: DataSet, tag: string): string | undefined {
  const s = ds.string(tag);
  return s === undefined ? undefined : s.replace(/\0/g, '').trim() || undefined;
}

/** Read and validate the image attributes. Throws NO_PIXEL_DATA / UNSUPPORTED_PIXEL_FORMAT / MALFORMED. */
export function readImageInfo(file: DicomFile, fileName?: string): ImageInfo {
  const ds = file.dataSet;
  if (!ds.elements.x7fe00010 && !ds.elements.x7fe00008 && !ds.elements.x7fe00009) {
    throw new DicomError('NO_PIXEL_DATA', 'no Pixel Data (7FE0,0010): not an image', fileName);
  }
  const rows = num(ds, 'x00280010');
  const columns = num(ds, 'x00280011');
  const floatPixels = ds.elements.x7fe00010 ? undefined : ds.elements.x7fe00008 ? 32 : ds.elements.x7fe00009 ? 64 : undefined;
  const bitsAllocated = num(ds, 'x00280100') ?? floatPixels;
  if (!rows || !columns) throw new DicomError('MALFORMED', `Rows/Columns missing or zero (${rows ?? '-'}×${columns ?? '-'})`, fileName);
  if (!bitsAllocated) throw new DicomError('MALFORMED', 'Bits Allocated (0028,0100) missing', fileName);
  if (floatPixels && bitsAllocated !== floatPixels) {
    throw new DicomError('MALFORMED', `${floatPixels === 32 ? 'Float' : 'Double Float'} Pixel Data needs Bits Allocated ${floatPixels}, the file says ${bitsAllocated}`, fileName);
  }
  if (!floatPixels && ![1, 8, 16, 32].includes(bitsAllocated)) {
    throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', `Bits Allocated ${bitsAllocated} is not supported (1, 8, 16 or 32)`, fileName);
  }
  const bitsStored = num(ds, 'x00280101') ?? bitsAllocated;
  if (bitsStored < 1 || bitsStored > bitsAllocated) throw new DicomError('MALFORMED', `Bits Stored ${bitsStored} outside 1…${bitsAllocated}`, fileName);
  const highBit = num(ds, 'x00280102') ?? bitsStored - 1;
  if (highBit < bitsStored - 1 || highBit >= bitsAllocated) throw new DicomError('MALFORMED', `High Bit ${highBit} inconsistent with Bits Stored ${bitsStored}/Allocated ${bitsAllocated}`, fileName);
  const samplesPerPixel = num(ds, 'x00280002') ?? 1;
  if (bitsAllocated === 1 && samplesPerPixel !== 1) throw new DicomError('MALFORMED', `Bits Allocated 1 (bit-packed) needs one sample per pixel, the file says ${samplesPerPixel}`, fileName);
  if (bitsAllocated === 1 && file.transferSyntaxUID === TS.ExplicitVRBigEndian && ds.elements.x7fe00010?.vr === 'OW') {
    // pixels.ts un-swaps the words (PS3.5 A.3, as DCMTK writes and GDCM reads); say where pydicom differs.
    const note = 'bit-packed Pixel Data in OW under explicit VR big endian: its 16-bit words are un-swapped (as DCMTK and GDCM do); pydicom 3.0.1 does not, so its pixel_array has each pair of bytes exchanged';
    if (!file.warnings.includes(note)) file.warnings.push(note);
  }
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3) throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', `Samples per Pixel ${samplesPerPixel} is not supported (1 or 3)`, fileName);
  const photometricInterpretation = text(ds, 'x00280004') ?? (samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2');
  if (photometricInterpretation === 'PALETTE COLOR' && samplesPerPixel !== 1) throw new DicomError('MALFORMED', `PALETTE COLOR needs one sample per pixel, the file says ${samplesPerPixel}`, fileName);
  const frames = Math.max(1, Math.trunc(decimal(ds, 'x00280008') ?? 1));
  const pixelRepresentation = num(ds, 'x00280103') ?? 0;
  const slope = decimal(ds, 'x00281053');
  const intercept = decimal(ds, 'x00281052');
  const wc = decimal(ds, 'x00281050');
  const ww = decimal(ds, 'x00281051');
  const modalityLut = readModalityLut(ds, file.transferSyntaxUID !== TS.ExplicitVRBigEndian, pixelRepresentation, fileName);
  const palette = photometricInterpretation === 'PALETTE COLOR' ? readPalette(ds, file.transferSyntaxUID !== TS.ExplicitVRBigEndian, pixelRepresentation, fileName) : undefined;
  const toStored = (v: number | undefined) => {
    if (v === undefined) return undefined;
    // In implicit VR files dicom-parser reads US/SS as unsigned; padding follows Pixel Representation.
    return pixelRepresentation === 1 && v > 0x7fff && bitsAllocated <= 16 ? v - 0x10000 : v;
  };
  const ipp = numbers(ds, 'x00200032', 3);
  const iop = numbers(ds, 'x00200037', 6);
  const spacing = numbers(ds, 'x00280030', 2);
  const instance = decimal(ds, 'x00200013');
  return {
    transferSyntaxUID: file.transferSyntaxUID,
    rows, columns, frames, samplesPerPixel,
    planarConfiguration: num(ds, 'x00280006') ?? 0,
    photometricInterpretation,
    bitsAllocated, bitsStored, highBit, pixelRepresentation,
    ...(floatPixels ? { floatPixels } : {}),
    rescaleSlope: slope !== undefined && slope !== 0 ? slope : 1,
    rescaleIntercept: intercept ?? 0,
    rescaleType: text(ds, 'x00281054'),
    ...(modalityLut ? { modalityLut } : {}),
    ...readVoiLut(ds, file.transferSyntaxUID !== TS.ExplicitVRBigEndian, pixelRepresentation, fileName),
    ...(palette ? { palette } : {}),
    windowCenter: ww !== undefined && ww > 0 ? wc : undefined,
    windowWidth: wc !== undefined && ww !== undefined && ww > 0 ? ww : undefined,
    voiLutFunction: (text(ds, 'x00281056') ?? 'LINEAR').toUpperCase(),
    pixelPaddingValue: toStored(num(ds, 'x00280120')),
    pixelPaddingRangeLimit: toStored(num(ds, 'x00280121')),
    modality: text(ds, 'x00080060'),
    sopInstanceUID: text(ds, 'x00080018'),
    seriesInstanceUID: text(ds, 'x0020000e'),
    studyInstanceUID: text(ds, 'x0020000d'),
    instanceNumber: instance !== undefined ? Math.trunc(instance) : undefined,
    imagePositionPatient: ipp as ImageInfo['imagePositionPatient'],
    imageOrientationPatient: iop as ImageInfo['imageOrientationPatient'],
    pixelSpacing: spacing as ImageInfo['pixelSpacing'],
    sliceThickness: decimal(ds, 'x00180050'),
  };
}
