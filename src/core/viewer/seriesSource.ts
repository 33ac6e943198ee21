/**
 * Serves slices of a series to a viewer: loads (and caches) files on demand and turns one frame into the
 * protocol's {@link ViewerSlice}. Pure core — the host only forwards requests here.
 */
import { basename } from 'node:path';
import type { ViewerSlice } from '../../protocol/viewer';
import { loadImage, loadStored, type LoadedImage } from '../dicom/load';
import { fileWindow, modalityValues, paddingMask, voiFunction } from '../dicom/lut';
import { TS_NAMES } from '../dicom/uids';

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

/** Loads slices of `entries` on request, keeping the last `cacheSize` parsed files. */
export class SeriesSource {
  private readonly cache = new Map<string, Promise<LoadedImage>>();

  constructor(readonly entries: readonly SliceEntry[], private readonly cacheSize = 8) {}

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
    const image = await this.image(entry.path);
    const stored = await loadStored(image, entry.frame);
    const { info } = image;
    const values = info.samplesPerPixel === 1 ? modalityValues(stored, info) : luminance(stored, info.rows * info.columns);
    const pad = info.samplesPerPixel === 1 ? paddingMask(stored, info) : undefined;
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
      file: basename(entry.path),
      frame: entry.frame,
      instanceNumber: info.instanceNumber,
      transferSyntax: TS_NAMES[info.transferSyntaxUID] ?? info.transferSyntaxUID,
    };
  }
}

/** Colour images are shown as luminance (ITU-R BT.601) in this grey viewer. */
function luminance(rgb: ArrayLike<number>, pixels: number): Float32Array {
  const out = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) out[i] = 0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2];
  return out;
}
