// The viewer's coordinate owners: src/core/viewer/viewTransform.ts (image ↔ screen: fit, zoom, pan) and
// src/core/viewer/reformat.ts (voxel ↔ patient, sagittal/coronal reformats and the linked crosshair).
// Volumes are synthetic: each voxel holds one patient coordinate of its own centre, computed straight from
// PS3.3 C.7.6.2.1.1 (IPP + c·Δc·rowCosines + r·Δr·columnCosines), so a reformat pixel's value says where
// it really came from, independently of the mapping under test.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  DEFAULT_ZOOM_LIMITS, canvasTransform, createView, fitScale, imageToScreen, pan, pixelAt, pixelCentre, reset,
  screenToImage, zoomAt, zoomTo, type View, type ViewState,
} from '../../src/core/viewer/viewTransform';
import {
  orientationLabel, patientToVoxel, positionAtSlice, reformatImage, reformatLayout, reformatToVoxel, sliceAtPosition,
  sliceLabels, volumeGeometry, voxelToPatient, voxelToReformat, type ReformatKind, type SliceGeometry, type Vec3,
} from '../../src/core/viewer/reformat';

const close = (actual: number, expected: number, tol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} ≠ ${expected} (±${tol})`);

// A fixed-seed LCG so failures reproduce.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('viewTransform', () => {
  // 100×50 pixels of 1×2 mm: 100 mm square, in a 400×300 viewport → 3 CSS px per mm at fit.
  const view = createView({ width: 100, height: 50, spacingX: 1, spacingY: 2 }, { width: 400, height: 300 });

  test('fit keeps the physical aspect and centres the image', () => {
    assert.equal(fitScale(view.image, view.viewport), 3);
    const s = reset();
    const tl = imageToScreen(view, s, { x: 0, y: 0 });
    const br = imageToScreen(view, s, { x: 100, y: 50 });
    assert.deepEqual(tl, { x: 50, y: 0 });
    assert.deepEqual(br, { x: 350, y: 300 }); // 300×300 CSS px: square, as the 100 mm × 100 mm image is
  });

  test('screenToImage inverts imageToScreen at any zoom and pan', () => {
    const rand = rng(1);
    for (let i = 0; i < 200; i++) {
      const s: ViewState = { zoom: 0.25 + rand() * 31.75, panX: (rand() - 0.5) * 2000, panY: (rand() - 0.5) * 2000 };
      const p = { x: rand() * 120 - 10, y: rand() * 70 - 10 };
      const q = screenToImage(view, s, imageToScreen(view, s, p));
      close(q.x, p.x, 1e-9, 'x');
      close(q.y, p.y, 1e-9, 'y');
    }
  });

  test('zoomAt keeps the image point under the cursor fixed, also when clamped', () => {
    const rand = rng(2);
    let s = reset();
    for (let i = 0; i < 100; i++) {
      const cursor = { x: rand() * 400, y: rand() * 300 };
      const before = screenToImage(view, s, cursor);
      const factor = rand() < 0.5 ? 1.1 + rand() * 3 : 1 / (1.1 + rand() * 3);
      s = zoomAt(view, s, cursor, factor);
      assert.ok(s.zoom >= DEFAULT_ZOOM_LIMITS.min && s.zoom <= DEFAULT_ZOOM_LIMITS.max);
      const after = imageToScreen(view, s, before);
      close(after.x, cursor.x, 1e-7, 'cursor x');
      close(after.y, cursor.y, 1e-7, 'cursor y');
    }
  });

  test('zoom is clamped to the limits and the factor is validated', () => {
    const at = { x: 10, y: 20 };
    assert.equal(zoomAt(view, reset(), at, 1000).zoom, 32);
    assert.equal(zoomAt(view, reset(), at, 0.001).zoom, 0.25);
    const s = zoomAt(view, reset(), at, 2);
    assert.equal(s.zoom, 2);
    for (const bad of [0, -2, Number.NaN, Infinity]) assert.throws(() => zoomAt(view, reset(), at, bad), RangeError);
    assert.throws(() => zoomTo(view, { zoom: 100, panX: 0, panY: 0 }, 2), /outside the limits/);
    // zoomTo defaults to the viewport centre: with no pan, the image centre stays there.
    const z = zoomTo(view, reset(), 4);
    assert.deepEqual(imageToScreen(view, z, { x: 50, y: 25 }), { x: 200, y: 150 });
  });

  test('createView rejects bad sizes and limits', () => {
    const image = { width: 10, height: 10, spacingX: 1, spacingY: 1 };
    assert.throws(() => createView(image, { width: 0, height: 100 }), /viewport width/);
    assert.throws(() => createView({ ...image, spacingY: Number.NaN }, { width: 100, height: 100 }), /spacingY/);
    assert.throws(() => createView(image, { width: 100, height: 100 }, { min: 2, max: 8 }), /min ≤ 1 ≤ max/);
    assert.throws(() => createView(image, { width: 100, height: 100 }, { min: 0, max: 8 }), /minimum zoom/);
  });

  test('pan moves every image point by the drag, reset returns to fit', () => {
    const s = pan(zoomAt(view, reset(), { x: 100, y: 100 }, 3), 17, -9);
    const base = zoomAt(view, reset(), { x: 100, y: 100 }, 3);
    const a = imageToScreen(view, base, { x: 33, y: 44 });
    const b = imageToScreen(view, s, { x: 33, y: 44 });
    close(b.x - a.x, 17, 1e-9, 'dx');
    close(b.y - a.y, -9, 1e-9, 'dy');
    assert.deepEqual(reset(), { zoom: 1, panX: 0, panY: 0 });
    assert.throws(() => pan(s, Number.NaN, 0), RangeError);
  });

  test('canvasTransform draws where imageToScreen says, scaled by devicePixelRatio', () => {
    const s: ViewState = { zoom: 2.5, panX: 31, panY: -12 };
    for (const dpr of [1, 2]) {
      const t = canvasTransform(view, s, { devicePixelRatio: dpr });
      for (const p of [{ x: 0, y: 0 }, { x: 100, y: 50 }, { x: 12.5, y: 40 }]) {
        const q = imageToScreen(view, s, p);
        close(t.scaleX * p.x + t.offsetX, q.x * dpr, 1e-9, 'x');
        close(t.scaleY * p.y + t.offsetY, q.y * dpr, 1e-9, 'y');
      }
      assert.equal(t.scaleY / t.scaleX, 2); // 1×2 mm pixels are twice as tall
    }
    assert.equal(canvasTransform(view, s).smoothing, true);
    assert.equal(canvasTransform(view, s, { interpolation: 'nearest' }).smoothing, false);
  });

  test('pixel centres and hit testing use pixel-edge coordinates', () => {
    const v: View = createView({ width: 4, height: 3, spacingX: 1, spacingY: 1 }, { width: 40, height: 30 });
    assert.deepEqual(pixelCentre(2, 1), { x: 2.5, y: 1.5 });
    assert.deepEqual(pixelAt(v, { x: 3.99, y: 0 }), { column: 3, row: 0 });
    assert.equal(pixelAt(v, { x: 4, y: 0 }), undefined);
    assert.equal(pixelAt(v, { x: -0.01, y: 1 }), undefined);
    // The screen centre of pixel (0, 0) at fit: 10 CSS px per pixel.
    assert.deepEqual(imageToScreen(v, reset(), pixelCentre(0, 0)), { x: 5, y: 5 });
  });
});

// ---------------------------------------------------------------------------------------------------------
// Synthetic stacks

const deg = Math.PI / 180;
function rotate(v: Vec3, ax: number, ay: number): Vec3 {
  // Rx(ax) then Ry(ay): a stack oblique about two axes.
  const [x, y, z] = v;
  const y1 = y * Math.cos(ax) - z * Math.sin(ax);
  const z1 = y * Math.sin(ax) + z * Math.cos(ax);
  return [x * Math.cos(ay) + z1 * Math.sin(ay), y1, -x * Math.sin(ay) + z1 * Math.cos(ay)];
}

interface Stack {
  slices: SliceGeometry[];
  /** One volume per patient axis: voxel = that LPS coordinate of its centre. Float32Array, slices×rows×columns. */
  coord: [Float32Array, Float32Array, Float32Array];
}

/** Slices at `offsets` (mm) along the normal, each shifted in-plane by `shift`·k mm along the rows (tilt). */
function makeStack(o: { rows: number; columns: number; spacing: [number, number]; row: Vec3; col: Vec3; offsets: number[]; origin: Vec3; shift?: number }): Stack {
  const n: Vec3 = [o.row[1] * o.col[2] - o.row[2] * o.col[1], o.row[2] * o.col[0] - o.row[0] * o.col[2], o.row[0] * o.col[1] - o.row[1] * o.col[0]];
  const [dr, dc] = o.spacing;
  const plane = o.rows * o.columns;
  const coord: Stack['coord'] = [0, 1, 2].map(() => new Float32Array(o.offsets.length * plane)) as Stack['coord'];
  const slices = o.offsets.map((d, k): SliceGeometry => {
    const ipp: Vec3 = [0, 1, 2].map((i) => o.origin[i] + d * n[i] + (o.shift ?? 0) * k * o.row[i]) as unknown as Vec3;
    for (let r = 0; r < o.rows; r++) {
      for (let c = 0; c < o.columns; c++) {
        for (let i = 0; i < 3; i++) coord[i][k * plane + r * o.columns + c] = ipp[i] + c * dc * o.row[i] + r * dr * o.col[i];
      }
    }
    return { imagePositionPatient: [...ipp], imageOrientationPatient: [...o.row, ...o.col], pixelSpacing: [dr, dc], rows: o.rows, columns: o.columns };
  });
  return { slices, coord };
}

/** The same stack in the opposite slice order (and its volumes). */
function reversed(s: Stack, rows: number, columns: number): Stack {
  const plane = rows * columns;
  const n = s.slices.length;
  const flip = (v: Float32Array) => {
    const out = new Float32Array(v.length);
    for (let k = 0; k < n; k++) out.set(v.subarray(k * plane, (k + 1) * plane), (n - 1 - k) * plane);
    return out;
  };
  return { slices: [...s.slices].reverse(), coord: s.coord.map(flip) as Stack['coord'] };
}

const OBLIQUE = {
  rows: 9,
  columns: 11,
  spacing: [0.8, 0.55] as [number, number], // [Δr, Δc]: non-square pixels
  row: rotate([1, 0, 0], 20 * deg, 20 * deg),
  col: rotate([0, 1, 0], 20 * deg, 20 * deg),
  offsets: [0, 1.25, 2.5, 4.5, 5.75, 7, 10, 11.25], // non-uniform, median 1.25
  origin: [-40.5, 12.25, 300.75] as Vec3,
  shift: 0.1,
};
const headFirst = makeStack(OBLIQUE); // normal ≈ +z: positions increase, feet → head
const feetFirst = reversed(headFirst, OBLIQUE.rows, OBLIQUE.columns);

describe('volume geometry', () => {
  test('voxel centres map to the patient coordinates of C.7.6.2.1.1, and back', () => {
    for (const stack of [headFirst, feetFirst]) {
      const g = volumeGeometry(stack.slices);
      assert.deepEqual(g.assumed, { orientation: false, pixelSpacing: false, positions: false });
      assert.equal(g.uniform, false);
      close(g.sliceSpacing, 1.25, 1e-9, 'median spacing');
      for (const [k, r, c] of [[0, 0, 0], [3, 4, 7], [7, 8, 10], [5, 2, 9]]) {
        const p = voxelToPatient(g, { k, r, c });
        const i = k * OBLIQUE.rows * OBLIQUE.columns + r * OBLIQUE.columns + c;
        for (let a = 0; a < 3; a++) close(p[a], stack.coord[a][i], 1e-4, `axis ${a} of (${k},${r},${c})`);
      }
      const rand = rng(3);
      for (let i = 0; i < 100; i++) {
        const v = { k: rand() * 9 - 0.5, r: rand() * 10 - 0.5, c: rand() * 12 - 0.5 };
        const back = patientToVoxel(g, voxelToPatient(g, v));
        close(back.k, v.k, 1e-9, 'k');
        close(back.r, v.r, 1e-9, 'r');
        close(back.c, v.c, 1e-9, 'c');
        close(sliceAtPosition(g, positionAtSlice(g, v.k)), v.k, 1e-9, 'k via position');
      }
    }
  });

  test('missing geometry falls back to unit spacing and the slice index, and says so', () => {
    const g = volumeGeometry([{ rows: 2, columns: 3 }, { rows: 2, columns: 3 }, { rows: 2, columns: 3 }]);
    assert.deepEqual(g.assumed, { orientation: true, pixelSpacing: true, positions: true });
    assert.deepEqual([...g.positions], [0, 1, 2]);
    assert.equal(g.notes.length, 3);
    assert.deepEqual(voxelToPatient(g, { k: 2, r: 1, c: 2 }), [2, 1, 2]);
    assert.equal(sliceLabels(g), null);
    assert.equal(reformatLayout(g, 'sagittal').labels, null);
    // Frames of a multi-frame file share one position: not a usable stack position, index used instead.
    const iop = [1, 0, 0, 0, 1, 0];
    const same = volumeGeometry([0, 1].map(() => ({ rows: 2, columns: 2, imagePositionPatient: [5, 5, 5], imageOrientationPatient: iop, pixelSpacing: [0.5, 0.5] })));
    assert.equal(same.assumed.positions, true);
    assert.equal(same.assumed.orientation, false);
    assert.match(same.notes[0], /not strictly monotonic/);
    assert.deepEqual(voxelToPatient(same, { k: 1, r: 0, c: 0 }), [5, 5, 6]); // slice 0's IPP + 1 mm along the normal
  });

  test('slices that cannot form one volume are refused with the reason', () => {
    const a = headFirst.slices[0];
    assert.throws(() => volumeGeometry([]), /at least one slice/);
    assert.throws(() => volumeGeometry([a, { ...a, rows: 10 }]), /not one volume/);
    assert.throws(() => volumeGeometry([a, { ...headFirst.slices[1], imageOrientationPatient: [1, 0, 0, 0, 1, 0] }]), /Image Orientation/);
    assert.throws(() => volumeGeometry([a, { ...headFirst.slices[1], pixelSpacing: [1, 1] }]), /Pixel Spacing/);
  });

  test('orientation labels: LPS letters, strongest first (C.7.6.1.1.1)', () => {
    assert.equal(orientationLabel([1, 0, 0]), 'L');
    assert.equal(orientationLabel([-1, 0, 0]), 'R');
    assert.equal(orientationLabel([0, -1, 0]), 'A');
    assert.equal(orientationLabel([0, 0, 1]), 'S');
    assert.equal(orientationLabel(rotate([0, 0, -1], 20 * deg, 0)), 'IP'); // −z tilted towards +y
    const axial = volumeGeometry([{ rows: 2, columns: 2, imageOrientationPatient: [1, 0, 0, 0, 1, 0] }]);
    assert.deepEqual(sliceLabels(axial), { top: 'A', bottom: 'P', left: 'R', right: 'L' });
  });
});

describe('reformats', () => {
  const kinds: ReformatKind[] = ['sagittal', 'coronal'];

  test('each reformat pixel holds the volume at the patient point the mapping gives', () => {
    for (const stack of [headFirst, feetFirst]) {
      const g = volumeGeometry(stack.slices);
      for (const kind of kinds) {
        const layout = reformatLayout(g, kind);
        for (const index of [0, 3, layout.planes - 1]) {
          const images = stack.coord.map((vol) => reformatImage(vol, g, kind, index));
          for (let v = 0; v < layout.height; v++) {
            for (let u = 0; u < layout.width; u++) {
              const p = voxelToPatient(g, reformatToVoxel(g, kind, index, { u, v }));
              for (let a = 0; a < 3; a++) close(images[a][v * layout.width + u], p[a], 2e-4, `${kind} ${index} (${u},${v}) axis ${a}`);
            }
          }
        }
      }
    }
  });

  test('superior at the top whichever way the slices are ordered; both orders give the same image', () => {
    const g1 = volumeGeometry(headFirst.slices);
    const g2 = volumeGeometry(feetFirst.slices);
    for (const kind of kinds) {
      const l1 = reformatLayout(g1, kind);
      const l2 = reformatLayout(g2, kind);
      assert.deepEqual({ ...l1, labels: null }, { ...l2, labels: null });
      const z1 = reformatImage(headFirst.coord[2], g1, kind, 4);
      const z2 = reformatImage(feetFirst.coord[2], g2, kind, 4);
      for (let i = 0; i < z1.length; i++) close(z1[i], z2[i], 2e-4, `${kind} pixel ${i}`);
      // z (towards the head) falls from the top row to the bottom row in every column.
      const w = l1.width;
      for (let u = 0; u < w; u++) assert.ok(z1[u] > z1[(l1.height - 1) * w + u], `${kind} column ${u}: top is not superior`);
      assert.equal(l1.labels?.top[0], 'S');
      assert.equal(l1.labels?.bottom[0], 'I');
      assert.equal(l2.labels?.top[0], 'S');
    }
  });

  test('aspect: spacingX is the in-plane spacing, spacingY the median slice step, both ends hit', () => {
    const g = volumeGeometry(headFirst.slices);
    const sag = reformatLayout(g, 'sagittal');
    const cor = reformatLayout(g, 'coronal');
    assert.equal(sag.spacingX, 0.8); // Δr = PixelSpacing[0]
    assert.equal(cor.spacingX, 0.55); // Δc = PixelSpacing[1]
    assert.deepEqual([sag.width, cor.width, sag.planes, cor.planes], [9, 11, 11, 9]);
    // Span 11.25 mm over round(11.25 / 1.25) = 9 steps → 10 rows of 1.25 mm.
    assert.equal(sag.height, 10);
    close(sag.spacingY, 1.25, 1e-12, 'spacingY');
    // Physically: neighbouring reformat pixels are spacingX / spacingY apart in the patient.
    for (const [kind, l] of [['sagittal', sag], ['coronal', cor]] as const) {
      const p = (u: number, v: number) => voxelToPatient(g, reformatToVoxel(g, kind, 2, { u, v }));
      const dist = (a: Vec3, b: Vec3) => Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
      close(dist(p(3, 4), p(4, 4)), l.spacingX, 1e-9, `${kind} horizontal`);
      const down: Vec3 = p(3, 5).map((x, i) => x - p(3, 4)[i]) as unknown as Vec3;
      close(Math.abs(down[0] * g.normal[0] + down[1] * g.normal[1] + down[2] * g.normal[2]), l.spacingY, 1e-9, `${kind} vertical`);
    }
    // Top and bottom rows are the end slices exactly.
    assert.equal(reformatToVoxel(g, 'sagittal', 0, { u: 0, v: 0 }).k, 7);
    close(reformatToVoxel(g, 'sagittal', 0, { u: 0, v: 9 }).k, 0, 1e-12, 'bottom k');
  });

  test('a uniform stack gets one row per slice, exactly its values (Int16)', () => {
    const iop = [1, 0, 0, 0, 1, 0];
    const n = 5;
    const rows = 3;
    const columns = 4;
    // Head → feet: z falls with k, so row v is slice v.
    const slices = Array.from({ length: n }, (_, k) => ({ rows, columns, imagePositionPatient: [0, 0, 100 - 2.5 * k], imageOrientationPatient: iop, pixelSpacing: [0.7, 0.7] }));
    const vol = Int16Array.from({ length: n * rows * columns }, (_, i) => i * 7 - 100);
    const g = volumeGeometry(slices);
    assert.equal(g.uniform, true);
    const cor = reformatLayout(g, 'coronal');
    assert.equal(cor.height, n);
    assert.equal(cor.spacingY, 2.5);
    const img = reformatImage(vol, g, 'coronal', 1);
    for (let v = 0; v < n; v++) for (let c = 0; c < columns; c++) assert.equal(img[v * columns + c], vol[v * rows * columns + 1 * columns + c]);
    // Feet → head: the same rows, read bottom-up.
    const up = volumeGeometry([...slices].reverse());
    assert.equal(reformatToVoxel(up, 'coronal', 1, { u: 0, v: 0 }).k, n - 1);
  });

  test('standard axial labels: sagittal S top, A left; coronal S top, R left (radiological)', () => {
    const iop = [1, 0, 0, 0, 1, 0];
    for (const dz of [2, -2]) {
      const g = volumeGeometry([0, 1, 2].map((k) => ({ rows: 4, columns: 4, imagePositionPatient: [0, 0, dz * k], imageOrientationPatient: iop })));
      assert.deepEqual(reformatLayout(g, 'sagittal').labels, { top: 'S', bottom: 'I', left: 'A', right: 'P' });
      assert.deepEqual(reformatLayout(g, 'coronal').labels, { top: 'S', bottom: 'I', left: 'R', right: 'L' });
    }
  });

  test('the crosshair links both ways: voxel → (u, v) → voxel round trips in both slice orders', () => {
    for (const stack of [headFirst, feetFirst]) {
      const g = volumeGeometry(stack.slices);
      const rand = rng(4);
      for (const kind of kinds) {
        for (let i = 0; i < 50; i++) {
          const voxel = { k: rand() * 7, r: rand() * 8, c: rand() * 10 };
          const { u, v, index } = voxelToReformat(g, kind, voxel);
          assert.equal(index, kind === 'sagittal' ? voxel.c : voxel.r);
          const back = reformatToVoxel(g, kind, index, { u, v });
          close(back.k, voxel.k, 1e-9, 'k');
          close(back.r, voxel.r, 1e-12, 'r');
          close(back.c, voxel.c, 1e-12, 'c');
        }
      }
    }
  });

  test('reformatImage validates its inputs', () => {
    const g = volumeGeometry(headFirst.slices);
    assert.throws(() => reformatImage(new Float32Array(5), g, 'sagittal', 0), /values but the geometry/);
    assert.throws(() => reformatImage(headFirst.coord[0], g, 'sagittal', 11), /integer in 0…10/);
    assert.throws(() => reformatImage(headFirst.coord[0], g, 'coronal', 1.5), /integer in 0…8/);
  });
});
