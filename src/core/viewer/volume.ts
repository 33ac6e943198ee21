/**
 * The series as one volume for reformats (slices × rows × columns modality values), decoded once in the decode
 * pool and kept as Int16 when every value is a whole number in −32768…32767 (CT in HU: half the memory of
 * Float32, so a 1000-slice 512² series stays near its raw size), else Float32.
 */
import type { ViewerReformat } from '../../protocol/viewer';
import { isColour } from '../dicom/colour';
import type { DecodePool } from '../dicom/decodePool';
import { DicomError } from '../dicom/errors';
import { reformatImage, reformatLayout, volumeGeometry, voxelToReformat, type ReformatKind, type SliceGeometry, type VolumeGeometry } from './reformat';
import type { SliceEntry } from './seriesSource';

/** A reformat image and how it lines up with the axial slices (the protocol's ViewerReformat, values as an array). */
export type ReformatResult = Omit<ViewerReformat, 'values' | 'invert' | 'voiFunction'> & { values: Float32Array };

export class SeriesVolume {
  private data?: Promise<Int16Array | Float32Array>;
  readonly geometry: VolumeGeometry;

  constructor(private readonly entries: readonly SliceEntry[], slices: readonly SliceGeometry[], private readonly pool: DecodePool) {
    this.geometry = volumeGeometry(slices);
  }

  /** Decode every slice (once); rejects with the first slice that fails, naming its file. */
  load(onProgress?: (done: number, total: number) => void): Promise<Int16Array | Float32Array> {
    this.data ??= this.decodeAll(onProgress);
    this.data.catch(() => { this.data = undefined; });
    return this.data;
  }

  private async decodeAll(onProgress?: (done: number, total: number) => void): Promise<Int16Array | Float32Array> {
    const { slices, rows, columns } = this.geometry;
    const plane = rows * columns;
    let vol: Int16Array | Float32Array = new Int16Array(slices * plane);
    let done = 0;
    const one = async (k: number) => {
      const e = this.entries[k];
      const s = await this.pool.decodeSlice(e.path, { frame: e.frame, values: true });
      const v = s.values as Float32Array;
      // RGB samples and palette indices are no grey values: a reformat of them would be a picture of numbers.
      if (isColour(s.info)) throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', `${s.info.photometricInterpretation} image: sagittal and coronal reformats are built from grey values; a colour series is shown slice by slice only`, e.path);
      if (s.info.rows !== rows || s.info.columns !== columns || v.length < plane) throw new Error(`${e.path}: ${s.info.columns}×${s.info.rows}, the series is ${columns}×${rows}`);
      if (vol instanceof Int16Array && !fitsInt16(v, plane)) vol = Float32Array.from(vol);
      vol.set(v.subarray(0, plane), k * plane);
      onProgress?.(++done, slices);
    };
    // A few slices in flight keep the pool's threads busy without flooding it.
    let next = 0;
    const workers = Array.from({ length: 4 }, async () => {
      while (next < slices) await one(next++);
    });
    await Promise.all(workers);
    return vol;
  }

  /** The reformat through column (sagittal) or row (coronal) `index` of the axial slices. */
  async reformat(kind: ReformatKind, index: number): Promise<ReformatResult> {
    const vol = await this.load();
    const g = this.geometry;
    const layout = reformatLayout(g, kind);
    const i = Math.max(0, Math.min(layout.planes - 1, Math.round(index)));
    const values = reformatImage(vol, g, kind, i);
    const rowOfSlice = Array.from({ length: g.slices }, (_, k) => voxelToReformat(g, kind, { k, r: 0, c: 0 }).v);
    return {
      kind, index: i, planes: layout.planes, width: layout.width, height: layout.height, values,
      spacing: [layout.spacingX, layout.spacingY], labels: layout.labels, rowOfSlice, notes: g.notes,
    };
  }
}

function fitsInt16(v: Float32Array, n: number): boolean {
  for (let i = 0; i < n; i++) {
    const x = v[i];
    if (x !== Math.round(x) || x < -32768 || x > 32767) return false;
  }
  return true;
}
