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
  // OpenCV's vector loop covers x < rowLen rounded down to 16 bytes (v_uint8 on SSE), then 8 (v_uint16 lanes)
  // when at least 8 remain; the scalar FixedPtCast covers the rest.
  let simdEnd = rowLen - (rowLen % 16);
  if (rowLen - simdEnd >= 8) simdEnd += 8;
  // Source rows only move down: two horizontal-pass buffers, recomputed when the row pair moves.
  let r0 = new Int32Array(rowLen);
  let r1 = new Int32Array(rowLen);
  let have0 = -1;
  let have1 = -1;
  const out = new Uint8Array(dh * rowLen);
  for (let dy = 0; dy < dh; dy++) {
    const sy0 = ys.ofs[dy];
    const sy1 = sy0 + 1 < height ? sy0 + 1 : sy0;
    if (have0 !== sy0) {
      if (have1 === sy0) {
        [r0, r1] = [r1, r0];
        have0 = sy0;
        have1 = -1;
      } else {
        hpass(src, sy0 * width * channels, width, channels, xs, r0);
        have0 = sy0;
      }
    }
    if (have1 !== sy1) {
      if (sy1 === sy0) r1.set(r0);
      else hpass(src, sy1 * width * channels, width, channels, xs, r1);
      have1 = sy1;
    }
    vpass(r0, r1, ys.a0[dy], ys.a1[dy], out, dy * rowLen, rowLen, simdEnd);
  }
  return out;
}

/** Horizontal pass of one source row (starting at `base`) into `row`: a0·src[sx] + a1·src[sx + 1] per channel. */
function hpass(src: Uint8Array, base: number, width: number, channels: number, xs: { ofs: Int32Array; a0: Int32Array; a1: Int32Array }, row: Int32Array): void {
  const n = xs.ofs.length;
  if (channels === 1) {
    for (let dx = 0; dx < n; dx++) {
      const sx = xs.ofs[dx];
      const nx = sx + 1 < width ? sx + 1 : sx;
      row[dx] = src[base + sx] * xs.a0[dx] + src[base + nx] * xs.a1[dx];
    }
    return;
  }
  for (let dx = 0; dx < n; dx++) {
    const sx = xs.ofs[dx];
    const nx = sx + 1 < width ? sx + 1 : sx;
    for (let c = 0; c < channels; c++) row[dx * channels + c] = src[base + sx * channels + c] * xs.a0[dx] + src[base + nx * channels + c] * xs.a1[dx];
  }
}

/** Vertical pass: OpenCV's SIMD rounding for x < simdEnd, its scalar FixedPtCast after. */
function vpass(s0: Int32Array, s1: Int32Array, b0: number, b1: number, out: Uint8Array, o: number, rowLen: number, simdEnd: number): void {
  for (let x = 0; x < simdEnd; x++) {
    const v = ((((s0[x] >> 4) * b0) >> 16) + (((s1[x] >> 4) * b1) >> 16) + 2) >> 2;
    out[o + x] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  for (let x = simdEnd; x < rowLen; x++) {
    const v = (b0 * s0[x] + b1 * s1[x] + (1 << 21)) >> 22;
    out[o + x] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
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
