/**
 * From decoded JPEG component planes to interleaved samples, the way the IJG library does it by default:
 * fancy (triangular) upsampling for 2:1 horizontal and 2:1×2:1 chroma (jdsample.c h2v1/h2v2_fancy_upsample,
 * context rows replicated at the image edges as jdmainct.c does), plain replication for other integral
 * ratios (int_upsample), then YCbCr→RGB with jdcolor.c's integer tables.
 */
import { DicomError } from '../errors';

/** One decoded component: its sampling factors, real size and padded plane (stride samples per row). */
export interface DctComponent {
  h: number;
  v: number;
  /** Real (downsampled) size: ceil(X·h/hmax) × ceil(Y·v/vmax). */
  width: number;
  height: number;
  stride: number;
  plane: Uint16Array;
}

/** Upsample one component to width×height (T.81 A.1.1 sampling), as IJG's default upsampler. */
function upsample(c: DctComponent, width: number, height: number, hmax: number, vmax: number): Uint16Array {
  const out = new Uint16Array(width * height);
  const fh = hmax / c.h, fv = vmax / c.v;
  const at = (x: number, y: number) => c.plane[Math.min(y, c.height - 1) * c.stride + Math.min(x, c.width - 1)];
  if (fh === 1 && fv === 1) {
    for (let y = 0; y < height; y++) out.set(c.plane.subarray(y * c.stride, y * c.stride + width), y * width);
    return out;
  }
  if (fh === 2 && (fv === 1 || fv === 2)) {
    const row = new Uint16Array(2 * c.width);
    for (let y = 0; y < height; y++) {
      const iy = fv === 2 ? y >> 1 : y;
      const near = (x: number) => at(x, iy);
      if (fv === 1) {
        // h2v1: 3/4 nearer + 1/4 further, rounding alternately +1/+2 (jdsample.c h2v1_fancy_upsample).
        for (let x = 0; x < c.width; x++) {
          const v3 = near(x) * 3;
          row[2 * x] = x === 0 ? near(0) : (v3 + near(x - 1) + 1) >> 2;
          row[2 * x + 1] = x === c.width - 1 ? near(x) : (v3 + near(x + 1) + 2) >> 2;
        }
      } else {
        // h2v2: column sums with the row above (even output rows) or below (odd), then 3:1 across.
        const other = y & 1 ? Math.min(iy + 1, c.height - 1) : Math.max(iy - 1, 0);
        const sum = (x: number) => near(Math.max(0, Math.min(x, c.width - 1))) * 3 + at(Math.max(0, Math.min(x, c.width - 1)), other);
        for (let x = 0; x < c.width; x++) {
          const t = sum(x);
          row[2 * x] = x === 0 ? (t * 4 + 8) >> 4 : (t * 3 + sum(x - 1) + 8) >> 4;
          row[2 * x + 1] = x === c.width - 1 ? (t * 4 + 7) >> 4 : (t * 3 + sum(x + 1) + 7) >> 4;
        }
      }
      out.set(row.subarray(0, width), y * width);
    }
    return out;
  }
  if (!Number.isInteger(fh) || !Number.isInteger(fv)) {
    throw new DicomError('DECODE_FAILED', `JPEG: sampling ratio ${hmax}:${c.h} × ${vmax}:${c.v} is not integral`);
  }
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) out[y * width + x] = at(Math.floor(x / fh), Math.floor(y / fv));
  return out;
}

/**
 * Interleave the components into width×height×n samples (Uint8Array for 8-bit, Uint16Array for 12-bit);
 * with `ycc`, convert YCbCr to RGB as jdcolor.c ycc_rgb_convert (16-bit fixed point, clamped).
 */
export function toOutput(comps: DctComponent[], width: number, height: number, hmax: number, vmax: number, precision: number, ycc: boolean): Uint8Array | Uint16Array {
  const n = comps.length;
  const planes = comps.map((c) => upsample(c, width, height, hmax, vmax));
  const count = width * height;
  const out = precision <= 8 ? new Uint8Array(count * n) : new Uint16Array(count * n);
  if (!ycc) {
    for (let k = 0; k < n; k++) {
      const p = planes[k];
      for (let i = 0; i < count; i++) out[i * n + k] = p[i];
    }
    return out;
  }
  const max = (1 << precision) - 1, center = 1 << (precision - 1);
  const fix = (x: number) => Math.floor(x * 65536 + 0.5);
  const half = 1 << 15;
  const clamp = (v: number) => (v < 0 ? 0 : v > max ? max : v);
  const [yp, cb, cr] = planes;
  for (let i = 0; i < count; i++) {
    const y = yp[i], b = cb[i] - center, r = cr[i] - center;
    out[3 * i] = clamp(y + ((fix(1.402) * r + half) >> 16));
    out[3 * i + 1] = clamp(y + ((-fix(0.34414) * b + half - fix(0.71414) * r) >> 16));
    out[3 * i + 2] = clamp(y + ((fix(1.772) * b + half) >> 16));
  }
  return out;
}
