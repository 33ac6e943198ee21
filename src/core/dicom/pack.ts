/**
 * A slice's values as the viewer sends them to its webview: modality values, Int16 when that is exact, split into
 * byte planes and deflated (raw, level 1); a colour slice as 8-bit RGB, deflated ({@link packColour}). A
 * code-server webview receives ~11 MB/s on this 2-core machine, so bytes are the scroll rate: a 512² CT slice
 * crosses as ~190 KB instead of 1 MB of Float32. Runs in the decode workers (decodeWorker.ts) or, without a pool, here.
 */
import { deflateRawSync } from 'node:zlib';
import { frameRgb8 } from './colour';
import type { ImageInfo } from './image';
import { toBytePlanes } from './bytePlanes';
import type { StoredPixels } from './pixels';

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

/** Pack grey modality values for the webview. */
export function packValues(values: Float32Array): PackedValues {
  const int16 = asInt16(values);
  const typed = int16 ?? values;
  const bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  return { data: deflateRawSync(toBytePlanes(bytes, typed.BYTES_PER_ELEMENT), { level: 1 }), type: int16 ? 'int16' : 'float32' };
}

/** A colour slice packed for the webview: its display pixels and, for PALETTE COLOR, its palette indices. */
export interface PackedColour {
  /** frameRgb8 of the frame (rows×columns×3 interleaved 8-bit RGB), deflated (raw, level 1). */
  rgb: Uint8Array;
  /** PALETTE COLOR: the stored indices (rows×columns) packed as {@link packValues}; else no values. */
  values: PackedValues;
}

/**
 * Pack one decoded colour frame (what `decodeFrame` returns: RGB samples — YBR already converted — or palette
 * indices) for the viewer. RGB is not made into grey: the webview draws these pixels as they are.
 */
export function packColour(stored: StoredPixels, info: Pick<ImageInfo, 'samplesPerPixel' | 'photometricInterpretation' | 'bitsStored' | 'palette' | 'rows' | 'columns'>): PackedColour {
  const rgb = frameRgb8(stored, info);
  const indices = new Float32Array(info.photometricInterpretation === 'PALETTE COLOR' ? info.rows * info.columns : 0);
  for (let i = 0; i < indices.length; i++) indices[i] = stored[i];
  return { rgb: deflateRawSync(rgb, { level: 1 }), values: packValues(indices) };
}
