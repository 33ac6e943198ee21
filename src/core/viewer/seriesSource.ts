/**
 * Serves slices of a series to a viewer: loads (and caches) files on demand and turns one frame into the
 * protocol's {@link ViewerSlice}. Pure core — the host only forwards requests here.
 */
import { basename } from 'node:path';
import type { ViewerColour, ViewerSlice } from '../../protocol/viewer';
import { isColour } from '../dicom/colour';
import type { DecodePool } from '../dicom/decodePool';
import type { ImageInfo } from '../dicom/image';
import { loadImage, loadStored, type LoadedImage } from '../dicom/load';
import { packColour, packValues, type PackedValues } from '../dicom/pack';
import { fileWindow, modalityValues, voiFunction } from '../dicom/lut';
import { TS_NAMES } from '../dicom/uids';
import { paddingRange } from '../dicom/voi';

/** One slice of a series: a file and a frame in it. */
export interface SliceEntry {
  path: string;
  frame: number;
  position?: number;
}

/** Exact ArrayBuffer of a typed array (a view may sit at an offset inside a bigger buffer). */
export function exactBuffer(view: ArrayBufferView): ArrayBuffer {
  if (view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer) return view.buffer;
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice().buffer;
}

/** How a {@link SeriesSource} decodes. */
export interface SeriesSourceOptions {
  /** Parsed files kept in memory when decoding in this thread (default 8). */
  cacheSize?: number;
  /**
   * Decode in these worker threads instead of this one: the VS Code extension host is shared by every
   * extension, and a JPEG 2000 slice takes ~70 ms to decode.
   */
  pool?: DecodePool;
}

/** Loads slices of `entries` on request (in a decode pool, or here keeping the last parsed files). */
export class SeriesSource {
  private readonly cache = new Map<string, Promise<LoadedImage>>();
  private readonly cacheSize: number;
  private readonly pool?: DecodePool;

  constructor(readonly entries: readonly SliceEntry[], options: SeriesSourceOptions = {}) {
    this.cacheSize = options.cacheSize ?? 8;
    this.pool = options.pool;
  }

  private image(path: string): Promise<LoadedImage> {
    let p = this.cache.get(path);
    if (p) {
      this.cache.delete(path);
      this.cache.set(path, p); // most recently used last
      return p;
    }
    p = loadImage(path);
    p.catch(() => this.cache.delete(path));
    this.cache.set(path, p);
    while (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    return p;
  }

  /**
   * Modality values and display attributes of slice `index` — or, for a colour image, its 8-bit RGB (`colour`) and
   * palette indices; throws DicomError naming the file.
   */
  async getSlice(index: number): Promise<ViewerSlice> {
    const entry = this.entries[index];
    if (!entry) throw new RangeError(`slice ${index} out of range (0…${this.entries.length - 1})`);
    let info: ImageInfo;
    let packed: PackedValues;
    let rgb: Uint8Array | undefined;
    if (this.pool) {
      const slice = await this.pool.decodeSlice(entry.path, { frame: entry.frame, values: false, packed: true });
      info = slice.info;
      packed = slice.packed as PackedValues;
      rgb = slice.rgb;
    } else {
      const image = await this.image(entry.path);
      info = image.info;
      const stored = await loadStored(image, entry.frame);
      if (isColour(info)) ({ values: packed, rgb } = packColour(stored, info));
      else packed = packValues(modalityValues(stored, info));
    }
    if (isColour(info)) {
      if (!rgb) throw new Error(`${basename(entry.path)}: the decoder sent no RGB for a ${info.photometricInterpretation} slice`);
      const colour: ViewerColour = { photometricInterpretation: info.photometricInterpretation, rgb: exactBuffer(rgb), bitsStored: info.bitsStored };
      // No window, padding or units: the webview draws `colour.rgb` as it is.
      return {
        index, rows: info.rows, columns: info.columns, values: exactBuffer(packed.data), valueType: packed.type, invert: false, voiFunction: 'LINEAR', units: '',
        pixelSpacing: info.pixelSpacing, imagePositionPatient: info.imagePositionPatient, imageOrientationPatient: info.imageOrientationPatient,
        file: basename(entry.path), frame: entry.frame, instanceNumber: info.instanceNumber, transferSyntax: TS_NAMES[info.transferSyntaxUID] ?? info.transferSyntaxUID, colour,
      };
    }
    const pad = info.samplesPerPixel === 1 ? paddingRange(info) : undefined;
    return {
      index,
      rows: info.rows,
      columns: info.columns,
      values: exactBuffer(packed.data),
      valueType: packed.type,
      ...(pad ? { paddingRange: pad } : {}),
      invert: info.photometricInterpretation === 'MONOCHROME1',
      voiFunction: voiFunction(info),
      fileWindow: fileWindow(info),
      ...(info.voiLut ? { fileLut: { firstMapped: info.voiLut.firstMapped, bits: info.voiLut.bits, data: exactBuffer(info.voiLut.data) } } : {}),
      ...(info.voiLutProblem ? { fileVoiProblem: info.voiLutProblem } : {}),
      units: info.modality === 'CT' || info.rescaleType === 'HU' ? 'HU' : '',
      pixelSpacing: info.pixelSpacing,
      imagePositionPatient: info.imagePositionPatient,
      imageOrientationPatient: info.imageOrientationPatient,
      file: basename(entry.path),
      frame: entry.frame,
      instanceNumber: info.instanceNumber,
      transferSyntax: TS_NAMES[info.transferSyntaxUID] ?? info.transferSyntaxUID,
    };
  }
}

