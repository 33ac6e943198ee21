/**
 * VOI LUT functions (PS3.3 C.11.2.1.2 and C.11.2.1.3) and the window presets. Pure arithmetic with no
 * imports, so the webview draws with exactly the code the CLI renders with.
 */

/** A display window in modality units (HU for CT). */
export interface Window {
  center: number;
  width: number;
}

/** VOI LUT Function (0028,1056). */
export type VoiFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

/** Named windows: bone 500/2000 is the paper's preprocessing window. */
export const PRESETS = {
  bone: { center: 500, width: 2000 },
  soft: { center: 40, width: 400 },
  lung: { center: -600, width: 1500 },
  brain: { center: 40, width: 80 },
} as const satisfies Record<string, Window>;

export type PresetName = keyof typeof PRESETS;

export function isPresetName(name: string): name is PresetName {
  return Object.prototype.hasOwnProperty.call(PRESETS, name);
}

/**
 * Map one modality value to 0…ymax (ymin = 0).
 * LINEAR, C.11.2.1.2.1:   x ≤ c − 0.5 − (w−1)/2 → ymin;  x > c − 0.5 + (w−1)/2 → ymax;
 *                         else ((x − (c − 0.5)) / (w−1) + 0.5) · (ymax − ymin) + ymin.  (w ≥ 1)
 * LINEAR_EXACT, C.11.2.1.3.2: x ≤ c − w/2 → ymin;  x > c + w/2 → ymax;  else ((x − c)/w + 0.5) · (ymax − ymin) + ymin.
 * SIGMOID, C.11.2.1.3.1:  (ymax − ymin) / (1 + exp(−4 (x − c) / w)) + ymin.
 */
export function voiValue(x: number, center: number, width: number, fn: VoiFunction = 'LINEAR', ymax = 255): number {
  if (fn === 'LINEAR_EXACT') {
    if (x <= center - width / 2) return 0;
    if (x > center + width / 2) return ymax;
    return ((x - center) / width + 0.5) * ymax;
  }
  if (fn === 'SIGMOID') return ymax / (1 + Math.exp((-4 * (x - center)) / width));
  const w = Math.max(1, width);
  if (w === 1) return x <= center - 0.5 ? 0 : ymax; // limit of the linear ramp as w → 1
  if (x <= center - 0.5 - (w - 1) / 2) return 0;
  if (x > center - 0.5 + (w - 1) / 2) return ymax;
  return ((x - (center - 0.5)) / (w - 1) + 0.5) * ymax;
}

/**
 * Window modality values into 8-bit grey (rounded), inverting for MONOCHROME1 (C.7.6.3.1.2: minimum
 * value shown white). `out`: rows×columns bytes, optional to reuse a buffer.
 *
 * Byte for byte `Math.round(voiValue(x, …))` per value (inverted: 255 − that). LINEAR, the common case,
 * runs as one loop with the constants hoisted (same operations in the same order, so the same doubles),
 * and integer values inside the ramp (CT: integer HU) read a table of the ramp's rounded values.
 */
export function windowToGray8(values: ArrayLike<number>, win: Window, options: { fn?: VoiFunction; invert?: boolean; out?: Uint8Array } = {}): Uint8Array {
  const out = options.out ?? new Uint8Array(values.length);
  const fn = options.fn ?? 'LINEAR';
  const invert = options.invert ?? false;
  if (fn === 'LINEAR' && Math.max(1, win.width) > 1 && Number.isFinite(win.center) && Number.isFinite(win.width)) {
    linearToGray8(values, win, invert, out);
    return out;
  }
  for (let i = 0; i < values.length; i++) {
    const y = Math.round(voiValue(values[i], win.center, win.width, fn));
    out[i] = invert ? 255 - y : y;
  }
  return out;
}

/** A VOI LUT (PS3.3 C.11.2.1.1): input values from `firstMapped`, entries of `bits` bits (output 0…2^bits − 1). */
export interface VoiLut {
  firstMapped: number;
  bits: number;
  data: Uint16Array;
}

/**
 * Modality values through a VOI LUT to 8-bit grey, inverting for MONOCHROME1: inputs below `firstMapped` take the
 * first entry, beyond the table the last, else entry ⌊x − firstMapped⌋ (pydicom's apply_voi: the index is cast to
 * an unsigned integer); the entry's 0…2^bits − 1 range is scaled to 0…255 and rounded.
 */
export function voiLutToGray8(values: ArrayLike<number>, lut: VoiLut, options: { invert?: boolean; out?: Uint8Array } = {}): Uint8Array {
  const out = options.out ?? new Uint8Array(values.length);
  const n = lut.data.length;
  const scale = 255 / (2 ** lut.bits - 1);
  const table = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const y = Math.min(255, Math.round(lut.data[i] * scale));
    table[i] = options.invert ? 255 - y : y;
  }
  for (let i = 0; i < values.length; i++) {
    const d = values[i] - lut.firstMapped;
    out[i] = table[d < 0 || Number.isNaN(d) ? 0 : d >= n ? n - 1 : Math.floor(d)];
  }
  return out;
}

/** Ramps longer than this (integers between the edges) are computed per value rather than tabled. */
const MAX_RAMP_TABLE = 1 << 16;

/** voiValue's LINEAR branch (w > 1) inlined: x ≤ lo → 0, x > hi → 255, else the rounded ramp. */
function linearToGray8(values: ArrayLike<number>, win: Window, invert: boolean, out: Uint8Array): void {
  const w = Math.max(1, win.width);
  const c5 = win.center - 0.5;
  const w1 = w - 1;
  const lo = c5 - w1 / 2;
  const hi = c5 + w1 / 2;
  const black = invert ? 255 : 0;
  const white = invert ? 0 : 255;
  // Integers k with lo < k ≤ hi: the table holds their grey values, indexed by k − first.
  const first = Math.floor(lo) + 1;
  const count = Math.floor(hi) - first + 1;
  const table = count > 0 && count <= MAX_RAMP_TABLE ? new Uint8Array(count) : undefined;
  if (table) {
    for (let j = 0; j < count; j++) {
      const y = Math.round(((first + j - c5) / w1 + 0.5) * 255);
      table[j] = invert ? 255 - y : y;
    }
  }
  const n = values.length;
  for (let i = 0; i < n; i++) {
    const x = values[i];
    if (x <= lo) out[i] = black;
    else if (x > hi) out[i] = white;
    else {
      // (x | 0) === x: an integer (within int32), so x − first is exact and indexes the table.
      if (table !== undefined && (x | 0) === x) out[i] = table[x - first];
      else {
        const y = Math.round(((x - c5) / w1 + 0.5) * 255);
        out[i] = invert ? 255 - y : y; // NaN (neither edge) lands here and stores 0, as before
      }
    }
  }
}

/**
 * The pixel attributes windowing a slice depends on (a structural subset of image.ts's ImageInfo, so this
 * file keeps no imports).
 */
export interface WindowedAttributes {
  photometricInterpretation: string;
  voiLutFunction?: string;
  rescaleSlope: number;
  rescaleIntercept: number;
  pixelPaddingValue?: number;
  pixelPaddingRangeLimit?: number;
  /** A Modality LUT Sequence (image.ts): padding is then not mapped into modality values (see paddingRange). */
  modalityLut?: unknown;
}

/**
 * Window a monochrome slice's modality values to 8-bit grey as render.ts's renderSlice does — the file's
 * VOI function (LINEAR unless LINEAR_EXACT or SIGMOID), or a VOI LUT in place of the window, MONOCHROME1 inverted,
 * padding black — from the
 * values alone: Pixel Padding Value/Range Limit (PS3.3 C.7.5.1.1.2, stored-value space) are mapped through
 * the same Float32 rescale the values went through. `values`: rows×columns Float32.
 */
export function windowModality(values: Float32Array, attrs: WindowedAttributes, win: Window | VoiLut, out?: Uint8Array): Uint8Array {
  const fn: VoiFunction = attrs.voiLutFunction === 'LINEAR_EXACT' || attrs.voiLutFunction === 'SIGMOID' ? attrs.voiLutFunction : 'LINEAR';
  const invert = attrs.photometricInterpretation === 'MONOCHROME1';
  const gray = 'data' in win ? voiLutToGray8(values, win, { invert, out }) : windowToGray8(values, win, { fn, invert, out });
  const pad = paddingRange(attrs);
  if (pad) {
    const [pmin, pmax] = pad;
    for (let i = 0; i < values.length; i++) if (values[i] >= pmin && values[i] <= pmax) gray[i] = 0;
  }
  return gray;
}

/**
 * Pixel Padding Value / Range Limit (PS3.3 C.7.5.1.1.2) carried into modality units, as [min, max]: the
 * stored padding values go through the same Float32 rescale as the pixels, so comparing modality values
 * against this range marks exactly the padded pixels. Undefined when the file declares no padding.
 */
export function paddingRange(attrs: Pick<WindowedAttributes, 'rescaleSlope' | 'rescaleIntercept' | 'pixelPaddingValue' | 'pixelPaddingRangeLimit' | 'modalityLut'>): [number, number] | undefined {
  // Through a Modality LUT other stored values may land on the same modality values: no exact range then.
  if (attrs.pixelPaddingValue === undefined || attrs.modalityLut) return undefined;
  const f = (s: number) => Math.fround(s * attrs.rescaleSlope + attrs.rescaleIntercept);
  const a = f(attrs.pixelPaddingValue);
  const b = f(attrs.pixelPaddingRangeLimit ?? attrs.pixelPaddingValue);
  return [Math.min(a, b), Math.max(a, b)];
}
