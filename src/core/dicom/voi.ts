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
 */
export function windowToGray8(values: ArrayLike<number>, win: Window, options: { fn?: VoiFunction; invert?: boolean; out?: Uint8Array } = {}): Uint8Array {
  const out = options.out ?? new Uint8Array(values.length);
  const fn = options.fn ?? 'LINEAR';
  const invert = options.invert ?? false;
  for (let i = 0; i < values.length; i++) {
    const y = Math.round(voiValue(values[i], win.center, win.width, fn));
    out[i] = invert ? 255 - y : y;
  }
  return out;
}
