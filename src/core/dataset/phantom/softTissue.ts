/**
 * The soft tissue of one axial slice: air outside, the neck outline (widening into the head above C1 and the
 * shoulders below C6) with a subcutaneous fat band, muscle, fat planes and the carotid spaces, the airway
 * (pharynx → larynx → trachea), oesophagus, thyroid gland, lung apices, brain inside the skull, the spinal
 * canal (CSF) with the cord, and the CT table under the patient. Every region is an ellipse in the slice,
 * painted in order with partial-volume edges (coverage of the pixel), so there are no hard staircase edges.
 */
import type { Patient } from './anatomy';
import type { Rng } from '../../util/random';
import { toWorld } from './sdf';

/** The pixel grid of a slice: pixel (r, c) is at x = x0 + c·dx, y = y0 + r·dy (IOP 1\0\0\0\1\0). */
export interface PixelGrid {
  rows: number;
  columns: number;
  x0: number;
  y0: number;
  dx: number;
  dy: number;
}

/** Per-patient soft-tissue parameters. */
export interface SoftTissue {
  neckA: number; neckB: number; fat: number; airway: number; collapsed: number; apex: number;
  oesophagusAir: boolean; tableY: number; tableX: number;
}

/** Sample the soft-tissue parameters of a patient (the table height is set later by the study). */
export function sampleSoftTissue(rng: Rng): SoftTissue {
  return {
    neckA: rng.uniform(0.9, 1.2), neckB: rng.uniform(0.9, 1.15), fat: rng.uniform(3, 12), airway: rng.uniform(0.75, 1.2),
    collapsed: rng.chance(0.25) ? rng.uniform(0.3, 0.6) : 1, apex: rng.uniform(-5, 18), oesophagusAir: rng.chance(0.3), tableY: 0, tableX: 0,
  };
}

interface Ellipse { cx: number; cy: number; a: number; b: number; hu: number; /** keep y > ymin only */ ymin?: number }

const smooth = (e0: number, e1: number, x: number) => {
  const t = Math.min(1, Math.max(0, (x - e0) / (e1 - e0)));
  return t * t * (3 - 2 * t);
};
const lerp = (a: number, b: number, t: number) => a + (b - a) * t;

/** Linear interpolation in a table of (z, value) sorted by descending z, clamped at the ends. */
function interp(table: readonly [number, number][], z: number): number {
  if (z >= table[0][0]) return table[0][1];
  for (let i = 1; i < table.length; i++) {
    const [z1, v1] = table[i];
    if (z >= z1) {
      const [z0, v0] = table[i - 1];
      return v1 + ((v0 - v1) * (z - z1)) / (z0 - z1);
    }
  }
  return table[table.length - 1][1];
}

/**
 * The body outline (skin) at height z: the neck, reaching forward to the chin and lips at the level of the
 * jaw, back over the occiput above C1, and out to the shoulders below C6. Also places the table.
 */
export function outlineAt(p: Patient, st: SoftTissue, z: number): Ellipse {
  const s = p.s;
  const zl = p.levels.map((l) => l.frame.o[2]);
  const [sx, sy] = p.spineAt(z);
  const jawZ = toWorld(p.head.frame, [0, p.head.jawY, p.head.jawZ])[2];
  const jaw = smooth(jawZ - 22 * s, jawZ - 6 * s, z);
  const head = smooth(zl[0] - 5 * s, zl[0] + 30 * s, z);
  const shoulders = 1 - smooth(zl[7] - 25 * s, zl[5] + 5 * s, z);
  let front = -66 * st.neckB * s; // canal centre to the anterior / posterior skin at mid-neck
  let back = 52 * st.neckB * s;
  let a = 57 * st.neckA * s;
  front = lerp(front, p.head.jawY - 56 * s, jaw);
  a = lerp(a, Math.max(a, 62 * s), jaw);
  front = lerp(front, -98 * s, head);
  back = lerp(back, p.head.skullC[1] + p.head.skullR[1] * 0.88 + 8 * s, head);
  a = lerp(a, 74 * s, head);
  a += 95 * s * shoulders ** 1.3;
  back += 12 * s * shoulders;
  front -= 20 * s * shoulders;
  return { cx: sx, cy: sy + (front + back) / 2, a, b: (back - front) / 2, hu: 0 };
}

/** The ellipses inside the body at height z, in painting order (the skin and fat band come after). */
function features(p: Patient, st: SoftTissue, z: number): Ellipse[] {
  const s = p.s;
  const t = p.tissue;
  const L = p.levels;
  const zl = L.map((l) => l.frame.o[2]);
  const [sx, sy] = p.spineAt(z);
  // Anterior surface of the vertebral bodies (y) at this height, from C2 down.
  const front = sy + interp(L.slice(1).map((l) => [l.frame.o[2], l.shapes.bodyY - l.dims.bodyB] as [number, number]), z);
  const list: Ellipse[] = [];
  if (z < zl[0] + 10 * s) {
    for (const k of [1, -1]) {
      list.push({ cx: sx + k * 20 * s, cy: sy + 22 * s, a: 6 * s, b: 3 * s, hu: t.fat }); // between the paraspinal muscles
      list.push({ cx: sx + k * 38 * s, cy: sy + 8 * s, a: 9 * s, b: 7 * s, hu: t.fat * 0.8 }); // posterior cervical space
      list.push({ cx: sx + k * 28 * s, cy: front - 3 * s, a: 13 * s, b: 8 * s, hu: t.fat * 0.7 }); // carotid space
      list.push({ cx: sx + k * 24 * s, cy: front - 4 * s, a: 3.5 * s, b: 3.5 * s, hu: 38 }); // common/internal carotid
      list.push({ cx: sx + k * 33 * s, cy: front - 2 * s, a: 6 * s, b: 4.5 * s, hu: 36 }); // internal jugular vein
    }
    list.push({ cx: sx, cy: sy + 32 * s, a: 2.5 * s, b: 6 * s, hu: t.fat * 0.6 }); // nuchal midline
  }
  // Airway: half-width, half-depth and distance in front of the vertebral bodies, by level.
  const key = (i: number) => zl[i];
  const aw = interp([[key(0) + 25 * s, 10], [key(0), 14], [key(1), 16], [key(2), 15], [key(3), 13], [key(4), 7], [key(5), 8], [key(6), 8.5], [key(7), 9]], z) * s * st.airway;
  const ad = interp([[key(0) + 25 * s, 5], [key(0), 7], [key(1), 8], [key(2), 7], [key(3), 8], [key(4), 9], [key(5), 8], [key(6), 8], [key(7), 8.5]], z) * s;
  const gap = interp([[key(1), 4], [key(2), 4.5], [key(3), 6], [key(4), 11], [key(5), 14], [key(6), 16], [key(7), 18]], z) * s;
  const airDepth = ad * (z > key(4) ? st.collapsed : 1);
  const airY = front - gap - airDepth;
  if (z < key(4) + 4 * s) {
    list.push({ cx: sx, cy: front - 5 * s, a: 7 * s, b: 3.8 * s, hu: 42 }); // oesophagus
    if (st.oesophagusAir) list.push({ cx: sx + 1 * s, cy: front - 5 * s, a: 2.5 * s, b: 1.2 * s, hu: -900 });
  }
  if (z < key(5) + 8 * s && z > key(7) - 12 * s) {
    for (const k of [1, -1]) list.push({ cx: sx + k * (aw + 9 * s), cy: airY + 3 * s, a: 7.5 * s, b: 11 * s, hu: 95 }); // thyroid lobes
  }
  if (z < zl[0] + 45 * s) list.push({ cx: sx, cy: airY, a: aw, b: airDepth, hu: -1000 });
  // Lung apices.
  const apexZ = zl[7] + st.apex * s;
  if (z < apexZ) {
    const k = Math.sqrt(Math.max(0, 1 - ((z - (apexZ - 70 * s)) / (70 * s)) ** 2));
    for (const side of [1, -1]) list.push({ cx: sx + side * 40 * s, cy: sy - 14 * s, a: 20 * s * k, b: 28 * s * k, hu: t.lung });
  }
  // Head (head frame, tilt ignored for the soft tissue): brain in the occipital bowl, air in the sinuses and the
  // nasal cavity.
  const h = p.head;
  const section = (c: [number, number, number], r: [number, number, number], hu: number, ymin?: number) => {
    const w = toWorld(h.frame, c);
    const dz = (z - w[2]) / r[2];
    if (dz <= -1 || dz >= 1) return;
    const k = Math.sqrt(1 - dz * dz);
    list.push({ cx: w[0], cy: w[1], a: r[0] * k, b: r[1] * k, hu, ymin: ymin === undefined ? undefined : sy + ymin });
  };
  section(h.skullC, [h.skullR[0] - h.skullT, h.skullR[1] - h.skullT, h.skullR[2] - h.skullT], t.brain, h.bowlFront);
  for (const k of [1, -1]) section([k * h.sinusC[0], h.sinusC[1], h.sinusC[2]], h.sinusR, -950);
  section(h.nasalC, h.nasalR, -950);
  // Spinal canal: CSF, then the cord; the dural sac narrows into the thoracic spine.
  const thoracic = 1 - smooth(zl[7], zl[6], z); // 1 below T1, 0 above C7
  list.push({ cx: sx, cy: sy, a: (10.5 - 3 * thoracic) * s, b: 6.5 * s, hu: t.csf });
  list.push({ cx: sx, cy: sy - 0.5 * s, a: (6.5 - 1.3 * thoracic) * s, b: 4.3 * s, hu: t.cord });
  return list;
}

/** Signed distance (mm, ≈) from (x, y) to an ellipse centred at the origin with semi-axes 1/√ia2, 1/√ib2. */
function ellipseDistance(x: number, y: number, ia2: number, ib2: number): number {
  const xx = x * x * ia2;
  const yy = y * y * ib2;
  const k0 = Math.sqrt(xx + yy);
  return k0 < 1e-9 ? -1e9 : (k0 * (k0 - 1)) / Math.sqrt(xx * ia2 + yy * ib2);
}

/** Coverage of a pixel of size w by a region whose boundary is d mm away (negative inside). */
function cover(d: number, w: number): number {
  return d <= -0.5 * w ? 1 : d >= 0.5 * w ? 0 : 0.5 - d / w;
}

/** Paint one ellipse with partial-volume edges over the rows/columns it can touch. */
function paint(out: Float32Array, grid: PixelGrid, e: Ellipse, w: number): void {
  const { rows, columns, x0, y0, dx, dy } = grid;
  if (!(e.a > 0.2 && e.b > 0.2)) return;
  const c0 = Math.max(0, Math.floor((e.cx - e.a - w - x0) / dx));
  const c1 = Math.min(columns - 1, Math.ceil((e.cx + e.a + w - x0) / dx));
  const r0 = Math.max(0, Math.floor((Math.max(e.cy - e.b, e.ymin ?? -Infinity) - w - y0) / dy));
  const r1 = Math.min(rows - 1, Math.ceil((e.cy + e.b + w - y0) / dy));
  const ia2 = 1 / (e.a * e.a); const ib2 = 1 / (e.b * e.b);
  for (let r = r0; r <= r1; r++) {
    const y = y0 + r * dy;
    const cut = e.ymin === undefined ? 1 : cover(e.ymin - y, w);
    if (cut === 0) continue;
    let i = r * columns + c0;
    for (let c = c0; c <= c1; c++, i++) {
      const f = cover(ellipseDistance(x0 + c * dx - e.cx, y - e.cy, ia2, ib2), w) * cut;
      if (f > 0) out[i] += f * (e.hu - out[i]);
    }
  }
}

/**
 * Paint the soft tissue of height `z` into `out` (HU, rows × columns, row-major): muscle, the inner
 * features, then the subcutaneous fat band and the skin (everything outside it is air), then the table.
 */
export function renderSoftTissue(out: Float32Array, grid: PixelGrid, z: number, p: Patient, st: SoftTissue): void {
  const { rows, columns, x0, y0, dx, dy } = grid;
  const w = (Math.abs(dx) + Math.abs(dy)) / 2;
  const t = p.tissue;
  const o = outlineAt(p, st, z);
  const fat = st.fat * p.s * (1 + 0.8 * (1 - smooth(p.levels[7].frame.o[2] - 20 * p.s, p.levels[5].frame.o[2], z)));
  out.fill(t.muscle);
  for (const e of features(p, st, z)) paint(out, grid, e, w);
  // Skin and fat band, row by row: outside the grown outline → air; inside the shrunk inner ellipse → as is.
  const ia = o.a - fat; const ib = o.b - 1.3 * fat; const icy = o.cy + 0.15 * fat;
  const oa2 = 1 / (o.a * o.a); const ob2 = 1 / (o.b * o.b); const ia2 = 1 / (ia * ia); const ib2 = 1 / (ib * ib);
  for (let r = 0; r < rows; r++) {
    const y = y0 + r * dy;
    const row = r * columns;
    const yo = (y - o.cy) / (o.b + w);
    if (yo <= -1 || yo >= 1) { out.fill(-1000, row, row + columns); continue; }
    const outer = (o.a + w) * Math.sqrt(1 - yo * yo);
    const yi = (y - icy) / (ib - 2 * w);
    const inner = ib > 2 * w && yi > -1 && yi < 1 ? (ia - 2 * w) * Math.sqrt(1 - yi * yi) : -1;
    for (let c = 0; c < columns; c++) {
      const x = x0 + c * dx - o.cx;
      const ax = x < 0 ? -x : x;
      if (ax < inner) continue;
      const i = row + c;
      if (ax > outer) { out[i] = -1000; continue; }
      const fb = 1 - cover(ellipseDistance(x, y - icy, ia2, ib2), w); // share of the fat band
      const v = out[i] + fb * (t.fat - out[i]);
      const fs = cover(ellipseDistance(x, y - o.cy, oa2, ob2), w); // share inside the skin
      out[i] = -1000 + fs * (v + 1000);
    }
  }
  // The table: a curved carbon-fibre cradle (thin dense shells around a foam core) under the patient.
  const rTop = Math.max(0, Math.floor((st.tableY - 60 - w - y0) / dy));
  const rBottom = Math.min(rows - 1, Math.ceil((st.tableY + 12 + w - y0) / dy));
  for (let r = rTop; r <= rBottom; r++) {
    const y = y0 + r * dy;
    let i = r * columns;
    for (let c = 0; c < columns; c++, i++) {
      const x = x0 + c * dx - st.tableX;
      if (x < -220 || x > 220) continue;
      const d = y - (st.tableY - 0.0008 * x * x);
      if (d < -0.5 * w || d > 12 + 0.5 * w) continue;
      const hu = d < 1.6 || d > 10.4 ? 280 : -880;
      out[i] += Math.min(cover(-d, w), cover(d - 12, w)) * (hu - out[i]);
    }
  }
}
