/**
 * Solid primitives as (approximate) signed distance functions, the building blocks of every bone in the
 * phantom. A primitive is described in a parent frame (a vertebra's local axes), compiled once into a
 * world → primitive-local affine plus a world bounding box, then evaluated per pixel without allocation.
 *
 * Distances are in mm, negative inside. They need to be exact only near the surface (within a pixel or a
 * cortical shell), which the ellipse/ellipsoid approximation `k0 (k0 − 1) / k1` (first-order distance to
 * the level set) and the exact rounded-box formula both are.
 */

/** A point or direction in mm. */
export type Vec3 = [number, number, number];

/** An orthonormal frame: origin and axes in world (patient LPS) coordinates. */
export interface Frame {
  o: Vec3;
  x: Vec3;
  y: Vec3;
  z: Vec3;
}

/** Primitive kinds: rounded box, elliptic cylinder (rounded), ellipsoid, elliptic ring (torus-like). */
export type ShapeKind = 'box' | 'ellcyl' | 'ellipsoid' | 'ring';

/** One primitive in its parent frame. */
export interface Shape {
  kind: ShapeKind;
  /** Centre in the parent frame. */
  c: Vec3;
  /** box: half extents; ellcyl: half-axes a, b and half height; ellipsoid: semi-axes; ring: mid-line half-axes a, b and half height. */
  size: Vec3;
  /** box/ellcyl: rounding radius; ring: half thickness of the band. */
  r?: number;
  /** Local axes in the parent frame (default: the parent's). */
  axes?: [Vec3, Vec3, Vec3];
  /** Facet planes: local z' = z + shear · y before the box test. */
  shear?: number;
  /** Keep only local y < ycut (open rings: arches, the mandible, the hyoid). */
  ycut?: number;
  /** Which part of the bone this is (fractures act on groups). */
  group?: string;
  /** Mostly cortical bone (laminae, processes, rami): a dense core instead of cancellous. */
  dense?: boolean;
}

const KIND: Record<ShapeKind, number> = { box: 0, ellcyl: 1, ellipsoid: 2, ring: 3 };

/** A compiled primitive: q = M·p + t maps a world point to local coordinates. */
export interface Prim {
  kind: number;
  m: Float64Array; // 9, row-major
  t: Float64Array; // 3
  a: number; b: number; c: number; r: number; shear: number; ycut: number;
  group: string;
  dense: boolean;
  /** World bounding box. */
  lo: Vec3;
  hi: Vec3;
}

/** Vector helpers: sum, difference, scaling, dot and cross products, normalisation. */
export const add = (a: Vec3, b: Vec3): Vec3 => [a[0] + b[0], a[1] + b[1], a[2] + b[2]];
export const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
export const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];
export const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
export const cross = (a: Vec3, b: Vec3): Vec3 => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
export const norm = (a: Vec3): Vec3 => scale(a, 1 / Math.hypot(a[0], a[1], a[2]));

/** A point of frame `f` (local coordinates `p`) in world coordinates. */
export function toWorld(f: Frame, p: Vec3): Vec3 {
  return [f.o[0] + f.x[0] * p[0] + f.y[0] * p[1] + f.z[0] * p[2], f.o[1] + f.x[1] * p[0] + f.y[1] * p[1] + f.z[1] * p[2], f.o[2] + f.x[2] * p[0] + f.y[2] * p[1] + f.z[2] * p[2]];
}

/** A direction of frame `f` in world coordinates. */
export function dirToWorld(f: Frame, v: Vec3): Vec3 {
  return [f.x[0] * v[0] + f.y[0] * v[1] + f.z[0] * v[2], f.x[1] * v[0] + f.y[1] * v[1] + f.z[1] * v[2], f.x[2] * v[0] + f.y[2] * v[1] + f.z[2] * v[2]];
}

/** Axes with local z along `dir`, local x horizontal (perpendicular to the parent z), y = z × x. */
export function axesAlong(dir: Vec3): [Vec3, Vec3, Vec3] {
  const z = norm(dir);
  const h = cross([0, 0, 1], z);
  const x: Vec3 = Math.hypot(h[0], h[1], h[2]) < 1e-6 ? [1, 0, 0] : norm(h);
  return [x, cross(z, x), z];
}

/**
 * A rod from `p` to `q` (parent frame): elliptic cross-section with half width `rw` (horizontal) and half
 * height `rh`, rounded ends.
 */
export function rod(p: Vec3, q: Vec3, rw: number, rh: number, group: string): Shape {
  const d = sub(q, p);
  const r = 0.85 * Math.min(rw, rh);
  return { kind: 'ellcyl', c: scale(add(p, q), 0.5), size: [rw, rh, Math.hypot(d[0], d[1], d[2]) / 2 + r], r, axes: axesAlong(d), group };
}

/** A plate from `p` to `q` (parent frame): half thickness `ht` (horizontal), half height `hh`, rounded by `r`. */
export function plate(p: Vec3, q: Vec3, ht: number, hh: number, group: string, r = Math.min(ht, hh) * 0.8): Shape {
  const d = sub(q, p);
  return { kind: 'box', c: scale(add(p, q), 0.5), size: [ht, hh, Math.hypot(d[0], d[1], d[2]) / 2 + ht], r, axes: axesAlong(d), group };
}

/** Compile `shape` (given in `frame`) for evaluation in world coordinates. */
export function compile(shape: Shape, frame: Frame): Prim {
  const ax = shape.axes ?? [[1, 0, 0], [0, 1, 0], [0, 0, 1]];
  const rows = ax.map((a) => dirToWorld(frame, a)) as [Vec3, Vec3, Vec3];
  const cw = toWorld(frame, shape.c);
  const m = new Float64Array([...rows[0], ...rows[1], ...rows[2]]);
  const t = new Float64Array([-dot(rows[0], cw), -dot(rows[1], cw), -dot(rows[2], cw)]);
  const [a, b, c] = shape.size;
  const r = shape.r ?? 0;
  const shear = shape.shear ?? 0;
  const ext: Vec3 = shape.kind === 'ring' ? [a + r, b + r, c] : [a, b, c + Math.abs(shear) * b];
  const lo: Vec3 = [Infinity, Infinity, Infinity];
  const hi: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (const sx of [-1, 1]) for (const sy of [-1, 1]) for (const sz of [-1, 1]) {
    for (let k = 0; k < 3; k++) {
      // local → world: p = cw + Σ rows[i] · local[i] (rows are the local axes in world coordinates)
      const v = cw[k] + rows[0][k] * sx * ext[0] + rows[1][k] * sy * ext[1] + rows[2][k] * sz * ext[2];
      lo[k] = Math.min(lo[k], v);
      hi[k] = Math.max(hi[k], v);
    }
  }
  return { kind: KIND[shape.kind], m, t, a, b, c, r, shear, ycut: shape.ycut ?? Infinity, group: shape.group ?? '', dense: shape.dense ?? false, lo, hi };
}

/** Approximate signed distance to the ellipse (x/a)² + (y/b)² = 1 in its plane. */
function ellipse2(x: number, y: number, a: number, b: number): number {
  const k0 = Math.sqrt((x * x) / (a * a) + (y * y) / (b * b));
  const k1 = Math.sqrt((x * x) / (a * a * a * a) + (y * y) / (b * b * b * b));
  return k1 > 1e-12 ? (k0 * (k0 - 1)) / k1 : -Math.min(a, b);
}

/** Signed distance (mm) from world point (x, y, z) to primitive `p`. */
export function primDistance(p: Prim, x: number, y: number, z: number): number {
  const m = p.m;
  const qx = m[0] * x + m[1] * y + m[2] * z + p.t[0];
  const qy = m[3] * x + m[4] * y + m[5] * z + p.t[1];
  let qz = m[6] * x + m[7] * y + m[8] * z + p.t[2];
  let d: number;
  switch (p.kind) {
    case 0: { // rounded box
      qz += p.shear * qy;
      const r = p.r;
      const ex = Math.abs(qx) - p.a + r;
      const ey = Math.abs(qy) - p.b + r;
      const ez = Math.abs(qz) - p.c + r;
      const ox = ex > 0 ? ex : 0; const oy = ey > 0 ? ey : 0; const oz = ez > 0 ? ez : 0;
      const inside = Math.max(ex, ey, ez);
      d = Math.sqrt(ox * ox + oy * oy + oz * oz) + (inside < 0 ? inside : 0) - r;
      break;
    }
    case 1: { // elliptic cylinder with rounded rims
      const r = p.r;
      const e = ellipse2(qx, qy, p.a - r, p.b - r);
      const ez = Math.abs(qz) - p.c + r;
      const oe = e > 0 ? e : 0; const oz = ez > 0 ? ez : 0;
      const inside = e > ez ? e : ez;
      d = Math.sqrt(oe * oe + oz * oz) + (inside < 0 ? inside : 0) - r;
      break;
    }
    case 2: { // ellipsoid
      const a2 = p.a * p.a; const b2 = p.b * p.b; const c2 = p.c * p.c;
      const k0 = Math.sqrt((qx * qx) / a2 + (qy * qy) / b2 + (qz * qz) / c2);
      const k1 = Math.sqrt((qx * qx) / (a2 * a2) + (qy * qy) / (b2 * b2) + (qz * qz) / (c2 * c2));
      d = k1 > 1e-12 ? (k0 * (k0 - 1)) / k1 : -Math.min(p.a, p.b, p.c);
      break;
    }
    default: { // elliptic ring band of half thickness r and half height c, rounded
      const rr = 0.7 * Math.min(p.r, p.c);
      const e = Math.abs(ellipse2(qx, qy, p.a, p.b)) - p.r + rr;
      const ez = Math.abs(qz) - p.c + rr;
      const oe = e > 0 ? e : 0; const oz = ez > 0 ? ez : 0;
      const inside = e > ez ? e : ez;
      d = Math.sqrt(oe * oe + oz * oz) + (inside < 0 ? inside : 0) - rr;
    }
  }
  const cut = qy - p.ycut;
  return cut > d ? cut : d;
}
