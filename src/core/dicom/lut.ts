/**
 * Modality LUT (PS3.3 C.11.1): stored values → modality units (HU for CT) with the Modality LUT Sequence when the
 * file has one, else Rescale Slope/Intercept; and the padding mask (C.7.5.1.1.2).
 */
import type { ImageInfo } from './image';
import type { StoredPixels } from './pixels';
import type { VoiFunction, VoiLut, Window } from './voi';
import { PRESETS, isPresetName } from './voi';

/** Stored values → Float32 modality values: the Modality LUT, else value · slope + intercept (float arithmetic, as pydicom). */
export function modalityValues(stored: StoredPixels, info: Pick<ImageInfo, 'rescaleSlope' | 'rescaleIntercept' | 'modalityLut'>): Float32Array {
  const out = new Float32Array(stored.length);
  const lut = info.modalityLut;
  if (lut) {
    // PS3.3 C.11.1.1.1 (as pydicom's apply_modality_lut): clamp to the LUT's first and last entries.
    const last = lut.data.length - 1;
    for (let i = 0; i < stored.length; i++) {
      const k = stored[i] - lut.firstMapped;
      out[i] = lut.data[k < 0 ? 0 : k > last ? last : k];
    }
    return out;
  }
  const slope = info.rescaleSlope;
  const intercept = info.rescaleIntercept;
  if (slope === 1 && intercept === 0) {
    out.set(stored);
    return out;
  }
  for (let i = 0; i < stored.length; i++) out[i] = stored[i] * slope + intercept;
  return out;
}

/**
 * Pixels that are padding (outside the scanned field of view): equal to Pixel Padding Value, or between it
 * and Pixel Padding Range Limit inclusive. Returns undefined when the file declares no padding.
 */
export function paddingMask(stored: StoredPixels, info: Pick<ImageInfo, 'pixelPaddingValue' | 'pixelPaddingRangeLimit'>): Uint8Array | undefined {
  const value = info.pixelPaddingValue;
  if (value === undefined) return undefined;
  const limit = info.pixelPaddingRangeLimit ?? value;
  const lo = Math.min(value, limit);
  const hi = Math.max(value, limit);
  const mask = new Uint8Array(stored.length);
  let any = false;
  for (let i = 0; i < stored.length; i++) {
    if (stored[i] >= lo && stored[i] <= hi) {
      mask[i] = 1;
      any = true;
    }
  }
  return any ? mask : undefined;
}

/** The file's own window, when it has one. */
export function fileWindow(info: Pick<ImageInfo, 'windowCenter' | 'windowWidth'>): Window | undefined {
  return info.windowCenter !== undefined && info.windowWidth !== undefined ? { center: info.windowCenter, width: info.windowWidth } : undefined;
}

/**
 * The file's own VOI (PS3.3 C.11.2): its VOI LUT Sequence when it has one (preferred, as pydicom's apply_voi_lut),
 * else its window. Throws a readable Error when the file has neither, or a VOI LUT that cannot be applied.
 */
export function fileVoi(info: Pick<ImageInfo, 'windowCenter' | 'windowWidth' | 'voiLut' | 'voiLutProblem'>): Window | VoiLut {
  if (info.voiLut) return info.voiLut;
  if (info.voiLutProblem) throw new Error(`the file's VOI LUT Sequence cannot be applied: ${info.voiLutProblem}`);
  const w = fileWindow(info);
  if (!w) throw new Error('the file has no Window Center/Width (0028,1050/1051) and no VOI LUT Sequence (0028,3010)');
  return w;
}

/** The VOI function declared by the file, restricted to the three PS3.3 defines. */
export function voiFunction(info: Pick<ImageInfo, 'voiLutFunction'>): VoiFunction {
  const fn = info.voiLutFunction;
  return fn === 'LINEAR_EXACT' || fn === 'SIGMOID' ? fn : 'LINEAR';
}

/**
 * Parse a window spec: a preset name (`bone`, `soft`, `lung`, `brain`), `file` for the file's own window,
 * or `C,W` numbers. Throws a readable Error on anything else.
 */
export function parseWindowSpec(spec: string, info?: Pick<ImageInfo, 'windowCenter' | 'windowWidth'>): Window {
  const s = spec.trim().toLowerCase();
  if (isPresetName(s)) return { ...PRESETS[s] };
  if (s === 'file') {
    const w = info && fileWindow(info);
    if (!w) throw new Error('the file has no Window Center/Width (0028,1050/1051)');
    return w;
  }
  const m = /^(-?\d+(?:\.\d+)?)\s*,\s*(\d+(?:\.\d+)?)$/.exec(s);
  if (!m) throw new Error(`window "${spec}" is not C,W numbers or a preset (${Object.keys(PRESETS).join(', ')}, file)`);
  const width = Number(m[2]);
  if (!(width >= 1)) throw new Error(`window width ${m[2]} must be at least 1`);
  return { center: Number(m[1]), width };
}
