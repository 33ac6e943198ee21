/**
 * OpenCV's `cv2.resize(..., interpolation=INTER_LINEAR)` for 8-bit images, bit for bit — what ultralytics'
 * LetterBox uses before a detector sees an image (ultralytics/data/augment.py LetterBox.apply_image), so our
 * detector input equals the one `YOLO.predict` builds from the same prepared PNG.
 *
 * OpenCV 4 (imgproc/src/resize.cpp, resizeGeneric_ with HResizeLinear / VResizeLinear for CV_8U):
 * - source coordinate fx = float((dx + 0.5) · scale − 0.5), sx = floor(fx), clamped at both borders with
 *   the fraction zeroed; weights (1 − fx, fx) in float, fixed point ×2048 rounded to nearest even
 *   (INTER_RESIZE_COEF_BITS = 11, saturate_cast<short>);
 * - horizontal pass: integer sums S = a0·src[sx] + a1·src[sx + 1];
 * - vertical pass as the SIMD kernel VResizeLinearVec_32s8u computes it (every full vector of the row, which
 *   is all of it for widths that are multiples of 16 bytes): ((((S0 >> 4)·b0) >> 16) + (((S1 >> 4)·b1) >> 16)
 *   + 2) >> 2, saturated to 0…255. The scalar tail (FixedPtCast, (b0·S0 + b1·S1 + 2²¹) >> 22) can differ by 1
 *   on rows whose byte width is not a multiple of 16; that is reproduced too.
 * A 2× downscale in both axes is INTER_AREA in OpenCV (resize.cpp: "INTER_AREA (fast) is equal to
 * INTER_LINEAR" for iscale 2): handled as the 2×2 mean, rounded like OpenCV's fast area path.
 */

const COEF_SCALE = 2048;

/** Round half to even, like cvRound on x86 (`_mm_cvtss_si32`). */
function roundEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Offsets and fixed-point weights along one axis (float32 arithmetic as OpenCV's `float fx`). */
function axis(src: number, dst: number): { ofs: Int32Array; a0: Int32Array; a1: Int32Array } {
  const scale = src / dst;
  const ofs = new Int32Array(dst);
  const a0 = new Int32Array(dst);
  const a1 = new Int32Array(dst);
  for (let d = 0; d < dst; d++) {
    let fx = Math.fround((d + 0.5) * scale - 0.5);
    let sx = Math.floor(fx);
    fx = Math.fround(fx - sx);
    if (sx < 0) {
      fx = 0;
      sx = 0;
    }
    if (sx >= src - 1) {
      fx = 0;
      sx = src - 1;
    }
    ofs[d] = sx;
    a0[d] = roundEven(Math.fround(Math.fround(1 - fx) * COEF_SCALE));
    a1[d] = roundEven(Math.fround(fx * COEF_SCALE));
  }
  return { ofs, a0, a1 };
}

/**
 * Resize an 8-bit image (`channels` interleaved) from width×height to dw×dh like cv2 INTER_LINEAR.
 * `src`: height×width×channels bytes. Returns dh×dw×channels bytes.
 */
export function resizeLinear8(src: Uint8Array, width: number, height: number, channels: number, dw: number, dh: number): Uint8Array {
  if (src.length !== width * height * channels) throw new Error(`resize: ${src.length} bytes is not ${width}×${height}×${channels}`);
  if (dw === width && dh === height) return src.slice();
  if (width === 2 * dw && height === 2 * dh) return halve(src, width, height, channels);
  const xs = axis(width, dw);
  const ys = axis(height, dh);
  const rowLen = dw * channels;
  // Horizontal pass per source row, computed once per row that is used.
  const hrows = new Map<number, Int32Array>();
  const hrow = (sy: number): Int32Array => {
    let row = hrows.get(sy);
    if (row) return row;
    row = new Int32Array(rowLen);
    const base = sy * width * channels;
    for (let dx = 0; dx < dw; dx++) {
      const sx = xs.ofs[dx];
      const nx = sx + 1 < width ? sx + 1 : sx;
      for (let c = 0; c < channels; c++) {
        row[dx * channels + c] = src[base + sx * channels + c] * xs.a0[dx] + src[base + nx * channels + c] * xs.a1[dx];
      }
    }
    hrows.set(sy, row);
    return row;
  };
  const out = new Uint8Array(dh * rowLen);
  // OpenCV's vector loop covers x < rowLen rounded down to 16 bytes (v_uint8 on SSE), then 8 (v_uint16 lanes)
  // when at least 8 remain; the scalar FixedPtCast covers the rest.
  let simdEnd = rowLen - (rowLen % 16);
  if (rowLen - simdEnd >= 8) simdEnd += 8;
  for (let dy = 0; dy < dh; dy++) {
    const sy = ys.ofs[dy];
    const s0 = hrow(sy);
    const s1 = hrow(sy + 1 < height ? sy + 1 : sy);
    const b0 = ys.a0[dy];
    const b1 = ys.a1[dy];
    const o = dy * rowLen;
    for (let x = 0; x < rowLen; x++) {
      let v: number;
      if (x < simdEnd) v = (((((s0[x] >> 4) * b0) >> 16) + (((s1[x] >> 4) * b1) >> 16) + 2) >> 2);
      else v = (b0 * s0[x] + b1 * s1[x] + (1 << 21)) >> 22;
      out[o + x] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

/** 2×2 mean with rounding ((sum + 2) >> 2), OpenCV's fast INTER_AREA for an exact 2× downscale. */
function halve(src: Uint8Array, width: number, height: number, channels: number): Uint8Array {
  const dw = width / 2;
  const dh = height / 2;
  const out = new Uint8Array(dw * dh * channels);
  const stride = width * channels;
  for (let y = 0; y < dh; y++) {
    for (let x = 0; x < dw; x++) {
      for (let c = 0; c < channels; c++) {
        const i = 2 * y * stride + 2 * x * channels + c;
        out[(y * dw + x) * channels + c] = (src[i] + src[i + channels] + src[i + stride] + src[i + stride + channels] + 2) >> 2;
      }
    }
  }
  return out;
}
