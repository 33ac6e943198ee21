/**
 * Pixels of the prepared images: decode a slice to modality values (HU) — in the decode pool's worker
 * threads, or in-process — window it to 8-bit grey once, and encode that one grey image at every size
 * the slice is needed at (detection 512, classification 224) with sharp.
 */
import { DecodePool } from '../../dicom/decodePool';
import { DicomError } from '../../dicom/errors';
import type { ImageInfo } from '../../dicom/image';
import { loadImage, loadModality } from '../../dicom/load';
import { voiFunction } from '../../dicom/lut';
import { voiValue, type VoiFunction, type Window } from '../../dicom/voi';

/** A decoded slice: modality values (HU for CT), rows×columns Float32, and its attributes. */
export interface DecodedValues {
  values: Float32Array;
  info: ImageInfo;
}

/** Where decoded slices come from. */
export interface SliceSource {
  /** Decode frame 0 of `path`; rejects with a DicomError naming the file. */
  decode(path: string): Promise<DecodedValues>;
  /** Slices decoded at once that keep every thread busy. */
  readonly parallel: number;
  close(): Promise<void>;
}

/** Decode in worker threads (src/core/dicom/decodePool.ts), `jobs` of them. */
export function poolSource(jobs: number): SliceSource {
  const pool = new DecodePool({ size: jobs });
  return {
    parallel: 2 * pool.size + 2,
    decode: async (path) => {
      const s = await pool.decode(path, 0);
      return { values: s.values, info: s.info };
    },
    close: () => pool.close(),
  };
}

/** Decode on the calling thread (no workers: tests, or where worker threads cannot start). */
export function inProcessSource(): SliceSource {
  return {
    parallel: 2,
    decode: async (path) => {
      const image = await loadImage(path);
      return { values: await loadModality(image, 0), info: image.info };
    },
    close: async () => undefined,
  };
}

/** Grey value of one modality value: voi.ts's voiValue arithmetic for LINEAR, MONOCHROME1 inverted. */
function grayOf(x: number, win: Window, fn: VoiFunction, invert: boolean): number {
  let y: number;
  if (fn !== 'LINEAR') y = Math.round(voiValue(x, win.center, win.width, fn));
  else {
    const w = Math.max(1, win.width);
    const c5 = win.center - 0.5;
    if (w === 1) y = x <= c5 ? 0 : 255;
    else if (x <= c5 - (w - 1) / 2) y = 0;
    else if (x > c5 + (w - 1) / 2) y = 255;
    else y = Math.round(((x - c5) / (w - 1) + 0.5) * 255);
  }
  return invert ? 255 - y : y;
}

const lutCache = new Map<string, { lo: number; lut: Uint8Array }>();

/**
 * A lookup table value → grey when every modality value is an integer in a known range (Rescale Slope 1,
 * integer intercept, ≤ 16 stored bits: CT as stored), padding folded in; else undefined.
 */
function windowLut(info: ImageInfo, win: Window, fn: VoiFunction, invert: boolean): { lo: number; lut: Uint8Array } | undefined {
  if (info.rescaleSlope !== 1 || !Number.isInteger(info.rescaleIntercept) || info.bitsStored > 16) return undefined;
  const signed = info.pixelRepresentation === 1;
  const lo = (signed ? -(2 ** (info.bitsStored - 1)) : 0) + info.rescaleIntercept;
  const size = 2 ** info.bitsStored;
  const key = [lo, size, win.center, win.width, fn, invert, info.pixelPaddingValue, info.pixelPaddingRangeLimit].join();
  let hit = lutCache.get(key);
  if (hit) return hit;
  const lut = new Uint8Array(size);
  for (let i = 0; i < size; i++) lut[i] = grayOf(lo + i, win, fn, invert);
  if (info.pixelPaddingValue !== undefined) {
    const a = info.pixelPaddingValue + info.rescaleIntercept;
    const b = (info.pixelPaddingRangeLimit ?? info.pixelPaddingValue) + info.rescaleIntercept;
    for (let v = Math.max(lo, Math.min(a, b)); v <= Math.min(lo + size - 1, Math.max(a, b)); v++) lut[v - lo] = 0;
  }
  if (lutCache.size > 64) lutCache.clear();
  lutCache.set(key, hit = { lo, lut });
  return hit;
}

/**
 * Window modality values to 8-bit grey exactly as render.ts's renderSlice does (the file's VOI function,
 * MONOCHROME1 inverted, padding black), from the values alone: Pixel Padding Value/Range Limit
 * (PS3.3 C.7.5.1.1.2, stored-value space) are mapped through the same rescale the values went through.
 * CT as stored (integer values) goes through a cached lookup table; anything else is computed per pixel.
 */
export function windowSlice(values: Float32Array, info: ImageInfo, win: Window): Uint8Array {
  if (info.samplesPerPixel !== 1) throw new DicomError('UNSUPPORTED_PIXEL_FORMAT', `${info.photometricInterpretation} colour slice: a CT slice has one sample per pixel`);
  const invert = info.photometricInterpretation === 'MONOCHROME1';
  const fn = voiFunction(info);
  const out = new Uint8Array(values.length);
  const table = windowLut(info, win, fn, invert);
  if (table) {
    const { lo, lut } = table;
    for (let i = 0; i < values.length; i++) out[i] = lut[(values[i] - lo) | 0]; // | 0: a small-integer index is V8's fast path
    return out;
  }
  for (let i = 0; i < values.length; i++) out[i] = grayOf(values[i], win, fn, invert);
  if (info.pixelPaddingValue !== undefined) {
    const f = (s: number) => Math.fround(s * info.rescaleSlope + info.rescaleIntercept);
    const a = f(info.pixelPaddingValue);
    const b = f(info.pixelPaddingRangeLimit ?? info.pixelPaddingValue);
    const pmin = Math.min(a, b);
    const pmax = Math.max(a, b);
    for (let i = 0; i < values.length; i++) if (values[i] >= pmin && values[i] <= pmax) out[i] = 0;
  }
  return out;
}

/**
 * Run `task` with libvips using one thread per image (restored after): prepare encodes many images at once,
 * and per-image threads then only add scheduling (measured: 512² PNG 2.5 → 2.0 ms CPU, same wall time).
 */
export async function withOneVipsThread<T>(task: () => Promise<T>): Promise<T> {
  const { default: sharp } = await import('sharp');
  const before = sharp.concurrency();
  sharp.concurrency(1);
  try {
    return await task();
  } finally {
    sharp.concurrency(before);
  }
}

/** Output size for a detection image: the longest side `imgsz`, aspect kept (what ultralytics does too). */
export function fitSize(rows: number, columns: number, imgsz: number): { width: number; height: number } {
  const s = imgsz / Math.max(rows, columns);
  return { width: Math.max(1, Math.round(columns * s)), height: Math.max(1, Math.round(rows * s)) };
}

/**
 * Encode a rows×columns grey image as an 8-bit grey PNG of `width`×`height` (sharp; resized with its
 * default Lanczos-3 kernel when the size differs). `level`: zlib compression 0…9.
 */
export async function encodeGrayPng(gray: Uint8Array, rows: number, columns: number, width: number, height: number, level: number): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  let pipeline = sharp(gray, { raw: { width: columns, height: rows, channels: 1 } });
  if (width !== columns || height !== rows) pipeline = pipeline.resize(width, height, { fit: 'fill' });
  // Without 'b-w' sharp writes a 3-channel sRGB PNG; a grey slice stays an 8-bit grey PNG.
  return pipeline.toColourspace('b-w').png({ compressionLevel: level, adaptiveFiltering: false }).toBuffer();
}
