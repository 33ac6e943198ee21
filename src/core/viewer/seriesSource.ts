/**
 * Serves slices of a series to a viewer: loads (and caches) files on demand and turns one frame into the
 * protocol's {@link ViewerSlice}. Pure core — the host only forwards requests here.
 */
import { basename } from 'node:path';
import type { ViewerSlice } from '../../protocol/viewer';
import type { DecodePool } from '../dicom/decodePool';
import type { ImageInfo } from '../dicom/image';
import { loadImage, loadStored, type LoadedImage } from '../dicom/load';
import { fileWindow, modalityValues, paddingMask, voiFunction } from '../dicom/lut';
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

  /** Modality values and display attributes of slice `index`; throws DicomError naming the file. */
  async getSlice(index: number): Promise<ViewerSlice> {
    const entry = this.entries[index];
    if (!entry) throw new RangeError(`slice ${index} out of range (0…${this.entries.length - 1})`);
    let info: ImageInfo;
    let values: Float32Array;
    let pad: Uint8Array | undefined;
    if (this.pool) {
      const slice = await this.pool.decodeSlice(entry.path, { frame: entry.frame });
      info = slice.info;
      const decoded = slice.values as Float32Array;
      values = info.samplesPerPixel === 1 ? decoded : luminance(decoded, info.rows * info.columns);
      pad = info.samplesPerPixel === 1 ? modalityPaddingMask(values, info) : undefined;
    } else {
      const image = await this.image(entry.path);
      const stored = await loadStored(image, entry.frame);
      info = image.info;
      values = info.samplesPerPixel === 1 ? modalityValues(stored, info) : luminance(stored, info.rows * info.columns);
      pad = info.samplesPerPixel === 1 ? paddingMask(stored, info) : undefined;
    }
    return {
      index,
      rows: info.rows,
      columns: info.columns,
      values: exactBuffer(values),
      padding: pad ? exactBuffer(pad) : undefined,
      invert: info.photometricInterpretation === 'MONOCHROME1',
      voiFunction: voiFunction(info),
      fileWindow: fileWindow(info),
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

/** 1 where a modality value lies in the padding range (voi.ts paddingRange); undefined when none does. */
function modalityPaddingMask(values: Float32Array, info: ImageInfo): Uint8Array | undefined {
  const range = paddingRange(info);
  if (!range) return undefined;
  const mask = new Uint8Array(values.length);
  let any = false;
  for (let i = 0; i < values.length; i++) {
    if (values[i] >= range[0] && values[i] <= range[1]) {
      mask[i] = 1;
      any = true;
    }
  }
  return any ? mask : undefined;
}

/** Colour images are shown as luminance (ITU-R BT.601) in this grey viewer. */
function luminance(rgb: ArrayLike<number>, pixels: number): Float32Array {
  const out = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) out[i] = 0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2];
  return out;
}
