/**
 * A slice's values as the viewer sends them to its webview: grey (luminance of colour), Int16 when that is
 * exact, split into byte planes and deflated (raw, level 1). A code-server webview receives ~11 MB/s on
 * this 2-core machine, so bytes are the scroll rate: a 512² CT slice crosses as ~190 KB instead of 1 MB of
 * Float32. Runs in the decode workers (decodeWorker.ts) or, without a pool, here.
 */
import { deflateRawSync } from 'node:zlib';
import type { ImageInfo } from './image';
import { toBytePlanes } from './bytePlanes';
import { paletteRgb8 } from './palette';

export type PackedType = 'int16' | 'float32';

/** Deflated byte planes of the values, and the values' type. */
export interface PackedValues {
  data: Uint8Array;
  type: PackedType;
}

/** The values as Int16 when every one is a whole number in Int16's range (exactly the same numbers), else undefined. */
export function asInt16(values: Float32Array): Int16Array | undefined {
  const out = new Int16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== (v | 0) || v < -32768 || v > 32767) return undefined;
    out[i] = v;
  }
  return out;
}

/**
 * Colour images are shown as luminance (ITU-R BT.601) in this grey viewer — PALETTE COLOR indices through their
 * palette (8-bit display values) first, never as if the indices were intensities; grey values pass through.
 */
export function greyValues(values: ArrayLike<number>, info: Pick<ImageInfo, 'samplesPerPixel' | 'rows' | 'columns'> & Partial<Pick<ImageInfo, 'palette'>>): Float32Array {
  if (info.palette) {
    const { red, green, blue } = paletteRgb8(info.palette);
    const last = red.length - 1;
    const out = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) {
      const k0 = values[i] - info.palette.first;
      const k = k0 < 0 ? 0 : k0 > last ? last : k0;
      out[i] = 0.299 * red[k] + 0.587 * green[k] + 0.114 * blue[k];
    }
    return out;
  }
  if (info.samplesPerPixel === 1) return values instanceof Float32Array ? values : Float32Array.from(values);
  const pixels = info.rows * info.columns;
  const out = new Float32Array(pixels);
  for (let i = 0; i < pixels; i++) out[i] = 0.299 * values[i * 3] + 0.587 * values[i * 3 + 1] + 0.114 * values[i * 3 + 2];
  return out;
}

/** Pack grey modality values for the webview. */
export function packValues(values: Float32Array): PackedValues {
  const int16 = asInt16(values);
  const typed = int16 ?? values;
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  return { data: deflateRawSync(toBytePlanes(bytes, typed.BYTES_PER_ELEMENT), { level: 1 }), type: int16 ? 'int16' : 'float32' };
}
