import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRESETS, voiValue, windowModality, windowToGray8, type VoiFunction } from '../../src/core/dicom/voi';
import { modalityValues, paddingMask, parseWindowSpec } from '../../src/core/dicom/lut';

// PS3.3 C.11.2.1.2.1 worked by hand for c = 500, w = 2000 (the paper's bone window):
// lower edge c − 0.5 − (w−1)/2 = −500, upper edge c − 0.5 + (w−1)/2 = 1499.
test('LINEAR (C.11.2.1.2.1) edges and midpoint for bone 500/2000', () => {
  const { center, width } = PRESETS.bone;
  assert.equal(voiValue(-500, center, width), 0); // x ≤ lower edge → ymin
  assert.equal(voiValue(-1000, center, width), 0);
  assert.equal(voiValue(1500, center, width), 255); // x > upper edge → ymax
  assert.ok(voiValue(1499, center, width) <= 255 && voiValue(1499, center, width) > 254.8);
  // centre − 0.5 maps to exactly the middle of the output range
  assert.equal(voiValue(499.5, center, width), 127.5);
  assert.equal(voiValue(0, center, width), ((0 - 499.5) / 1999 + 0.5) * 255);
});

test('LINEAR with width 1 is a threshold at c − 0.5', () => {
  assert.equal(voiValue(39, 40, 1), 0);
  assert.equal(voiValue(39.5, 40, 1), 0);
  assert.equal(voiValue(40, 40, 1), 255);
});

test('LINEAR_EXACT (C.11.2.1.3.2) and SIGMOID (C.11.2.1.3.1)', () => {
  assert.equal(voiValue(40, 40, 400, 'LINEAR_EXACT'), 127.5);
  assert.equal(voiValue(-160, 40, 400, 'LINEAR_EXACT'), 0);
  assert.equal(voiValue(240, 40, 400, 'LINEAR_EXACT'), 255);
  assert.equal(voiValue(40, 40, 400, 'SIGMOID'), 127.5);
  assert.ok(Math.abs(voiValue(240, 40, 400, 'SIGMOID') - 255 / (1 + Math.exp(-2))) < 1e-9);
});

test('windowToGray8 rounds, clamps and inverts MONOCHROME1', () => {
  const hu = new Float32Array([-2000, -500, 499.5, 1499, 3000]);
  assert.deepEqual([...windowToGray8(hu, PRESETS.bone)], [0, 0, 128, 255, 255]);
  assert.deepEqual([...windowToGray8(hu, PRESETS.bone, { invert: true })], [255, 255, 127, 0, 0]);
});

test('presets are the ones the issue names', () => {
  assert.deepEqual(PRESETS, { bone: { center: 500, width: 2000 }, soft: { center: 40, width: 400 }, lung: { center: -600, width: 1500 }, brain: { center: 40, width: 80 } });
});

test('modality LUT applies float slope/intercept', () => {
  const hu = modalityValues(new Uint16Array([0, 1, 4095]), { rescaleSlope: 0.5, rescaleIntercept: -1024.25 });
  assert.deepEqual([...hu], [-1024.25, -1023.75, 1023.25]);
  const same = modalityValues(new Int16Array([-5, 7]), { rescaleSlope: 1, rescaleIntercept: 0 });
  assert.deepEqual([...same], [-5, 7]);
});

test('padding mask honours Pixel Padding Range Limit in either order (C.7.5.1.1.2)', () => {
  const stored = new Int16Array([-2000, -1999, -1500, 0]);
  assert.deepEqual([...paddingMask(stored, { pixelPaddingValue: -2000 })!], [1, 0, 0, 0]);
  assert.deepEqual([...paddingMask(stored, { pixelPaddingValue: -1500, pixelPaddingRangeLimit: -2000 })!], [1, 1, 1, 0]);
  assert.equal(paddingMask(stored, {}), undefined);
  assert.equal(paddingMask(stored, { pixelPaddingValue: 5 }), undefined);
});

test('window specs: presets, C,W, file; bad specs are readable errors', () => {
  assert.deepEqual(parseWindowSpec('Bone'), { center: 500, width: 2000 });
  assert.deepEqual(parseWindowSpec('-600,1500'), { center: -600, width: 1500 });
  assert.deepEqual(parseWindowSpec('file', { windowCenter: 40, windowWidth: 350 }), { center: 40, width: 350 });
  assert.throws(() => parseWindowSpec('file', {}), /no Window Center/);
  assert.throws(() => parseWindowSpec('40,0'), /at least 1/);
  assert.throws(() => parseWindowSpec('wide'), /not C,W numbers or a preset/);
});

/** The reference: Math.round(voiValue(…)) per value, as windowToGray8 computed it before its fast path. */
function referenceGray8(values: ArrayLike<number>, center: number, width: number, fn: VoiFunction = 'LINEAR', invert = false): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const y = Math.round(voiValue(values[i], center, width, fn));
    out[i] = invert ? 255 - y : y;
  }
  return out;
}

test('windowToGray8 fast path (hoisted LINEAR, integer ramp table) equals voiValue + Math.round byte for byte', () => {
  // Every integer in −3000…5000 (past both edges of each window), and the same count of random floats,
  // for windows with integer, half-integer and fractional centres/widths, odd and even widths, both polarities.
  const ints = new Float32Array(8001).map((_, i) => i - 3000);
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const floats = new Float64Array(8001).map(() => (rand() - 0.3) * 8000);
  const f32 = Float32Array.from(floats);
  const specials = [NaN, Infinity, -Infinity, -0, 0, 0.5, -0.5, 2 ** 31, -(2 ** 31) - 1, 1e300, -1e300];
  const windows = [[500, 2000], [40, 400], [-600, 1500], [40, 80], [40.5, 81], [0, 2], [0.25, 1.5], [1023.7, 3.3], [-1024, 65536], [100, 200000], [7, 1.0000001]];
  for (const [center, width] of windows) {
    for (const invert of [false, true]) {
      for (const [name, values] of [['integers', ints], ['float64', floats], ['float32', f32], ['specials', specials]] as const) {
        const fast = windowToGray8(values, { center, width }, { invert });
        assert.deepEqual(fast, referenceGray8(values, center, width, 'LINEAR', invert), `${name} ${center}/${width} invert=${invert}`);
      }
    }
  }
  // Non-LINEAR functions and width 1 keep the per-value path; same bytes all the same.
  for (const fn of ['LINEAR_EXACT', 'SIGMOID'] as const) assert.deepEqual(windowToGray8(ints, { center: 40, width: 400 }, { fn }), referenceGray8(ints, 40, 400, fn));
  assert.deepEqual(windowToGray8(ints, { center: 40, width: 1 }), referenceGray8(ints, 40, 1));
  assert.deepEqual(windowToGray8(ints, { center: 40, width: 0.5 }), referenceGray8(ints, 40, 0.5));
  const out = new Uint8Array(ints.length);
  assert.equal(windowToGray8(ints, PRESETS.bone, { out }), out, 'writes into the given buffer');
});

test('windowModality: the file VOI function, MONOCHROME1 inverted, padding (mapped through the rescale) black', () => {
  const values = new Float32Array([-2000, -1024, -500, 0, 499.5, 1500]);
  const base = { photometricInterpretation: 'MONOCHROME2', rescaleSlope: 1, rescaleIntercept: -1024 };
  assert.deepEqual(windowModality(values, base, PRESETS.bone), referenceGray8(values, 500, 2000));
  assert.deepEqual(windowModality(values, { ...base, photometricInterpretation: 'MONOCHROME1' }, PRESETS.bone), referenceGray8(values, 500, 2000, 'LINEAR', true));
  assert.deepEqual(windowModality(values, { ...base, voiLutFunction: 'SIGMOID' }, PRESETS.bone), referenceGray8(values, 500, 2000, 'SIGMOID'));
  // Pixel Padding Value 0 and Range Limit 524 (stored) → −1024…−500 HU black, even inverted.
  const padded = windowModality(values, { ...base, photometricInterpretation: 'MONOCHROME1', pixelPaddingValue: 524, pixelPaddingRangeLimit: 0 }, PRESETS.bone);
  assert.deepEqual([...padded.subarray(0, 4)], [255, 0, 0, 255 - referenceGray8([0], 500, 2000)[0]]);
});
