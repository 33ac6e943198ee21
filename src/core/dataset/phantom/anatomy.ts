/**
 * One synthetic patient: a curved cervical spine (C1–C7, T1–T3) with discs, placed along a centreline with
 * patient-specific size, lordosis, flexion, lateral tilt and axial rotation, plus the other bones an axial
 * neck CT shows (skull base with condyles and mastoids, mandible, teeth, hyoid, calcified thyroid cartilage,
 * clavicles, first and second ribs). World coordinates are patient LPS mm (DICOM PS3.3 C.7.6.2.1.1).
 */
import { compile, plate, rod, toWorld, norm, cross, type Frame, type Prim, type Shape, type Vec3 } from './sdf';
import type { Fracture } from './fracture';
import { Rng } from '../../util/random';
import { LEVELS, buildVertebra, type LevelDims, type LevelName, type VertebraShapes } from './vertebrae';

/** A rendered solid: bone (cortical shell over cancellous core) or soft (one value: discs, cartilage). */
export interface Structure {
  name: string;
  /** Mask label (1–7 C1–C7, 8+ T1…), 0 for bones that are not in the RSNA masks. */
  label: number;
  kind: 'bone' | 'soft';
  prims: Prim[];
  holes: Prim[];
  /** HU of the shell and of the core (equal for soft structures), shell thickness (mm). */
  cortical: number;
  cancellous: number;
  shell: number;
  /** Fractures (vertebrae only) and, per primitive, the index of the fracture that acts on it (−1: none). */
  fractures: Fracture[];
  primFracture: Int8Array;
  /** World bounding box of the solids. */
  lo: Vec3;
  hi: Vec3;
}

/** One vertebra as placed in the patient. */
export interface PlacedLevel {
  name: LevelName;
  label: number;
  dims: LevelDims;
  shapes: VertebraShapes;
  frame: Frame;
  structure: Structure;
}

/** Tissue values of this patient (HU) and its image noise. */
export interface Tissue {
  cortical: number; cancellous: number; shell: number; disc: number; muscle: number; fat: number;
  csf: number; cord: number; brain: number; lung: number; teeth: number; noise: number;
}

/** A synthetic patient. */
export interface Patient {
  /** Overall scale (1 = average adult). */
  s: number;
  levels: PlacedLevel[];
  /** Everything solid, in drawing order (discs first, then bones). */
  structures: Structure[];
  tissue: Tissue;
  /** Canal centre (x, y) at height z. */
  spineAt(z: number): [number, number];
  /** z of the tip of the dens (the coverage starts above it). */
  zTopOfDens: number;
  /** Skull, sinus and jaw geometry in the C1 frame. */
  head: HeadGeometry;
}

const BASE: Record<LevelName, [number, number, number, number, number, number, number, number]> = {
  //    A     B     H    ca    cb   gapBelow spinLen angle
  C1: [0, 0, 0, 12, 8, 1.5, 0, 0],
  C2: [8.5, 8, 8.5, 12, 8, 4.5, 17, 20],
  C3: [8, 7.5, 6.5, 12, 7.5, 5, 12, 25],
  C4: [8.5, 7.5, 6.5, 12.2, 7.5, 5.5, 12, 28],
  C5: [9, 7.8, 6.5, 12.5, 7.5, 5.5, 14, 28],
  C6: [9.8, 8, 6.8, 12.5, 7.5, 5, 17, 30],
  C7: [10.8, 8.3, 7, 12, 7.5, 4.5, 24, 25],
  T1: [12, 9, 8, 9.5, 7.5, 4, 28, 40],
  T2: [13, 10, 8.8, 8.5, 7.5, 4, 30, 50],
  T3: [13.5, 10.5, 9.2, 8.2, 7.5, 4, 30, 55],
};

function bounds(prims: Prim[]): { lo: Vec3; hi: Vec3 } {
  const lo: Vec3 = [Infinity, Infinity, Infinity];
  const hi: Vec3 = [-Infinity, -Infinity, -Infinity];
  for (const p of prims) for (let k = 0; k < 3; k++) { lo[k] = Math.min(lo[k], p.lo[k]); hi[k] = Math.max(hi[k], p.hi[k]); }
  return { lo, hi };
}

/** A structure from shapes in a frame. */
export function makeStructure(name: string, label: number, kind: 'bone' | 'soft', frame: Frame, adds: Shape[], holes: Shape[], hu: { cortical: number; cancellous: number; shell: number }): Structure {
  // Vertebral bodies and the dens have a thin cortex over cancellous bone; the posterior elements of a
  // vertebra are mostly cortical (a dense core).
  const prims = adds.map((sh) => compile({ ...sh, dense: sh.dense ?? (label > 0 && sh.group !== 'body' && sh.group !== 'dens') }, frame));
  return { name, label, kind, prims, holes: holes.map((sh) => compile(sh, frame)), ...hu, fractures: [], primFracture: new Int8Array(prims.length).fill(-1), ...bounds(prims) };
}

/**
 * Sample a patient. `rng` decides everything, so a seed fixes the patient. `origin` is the world point
 * (LPS mm) of the middle of the cervical spine's centreline, where C4/C5 lie.
 */
export function makePatient(rng: Rng, origin: Vec3 = [0, 0, 0]): Patient {
  const s = rng.uniform(0.88, 1.12);
  const tissue: Tissue = {
    cortical: rng.uniform(1000, 1700), cancellous: rng.uniform(255, 400), shell: rng.uniform(0.9, 1.5),
    disc: rng.uniform(70, 105), muscle: rng.uniform(45, 62), fat: rng.uniform(-115, -80), csf: rng.uniform(4, 14),
    cord: rng.uniform(28, 40), brain: rng.uniform(30, 40), lung: rng.uniform(-870, -800), teeth: rng.uniform(2200, 2900),
    noise: rng.uniform(6, 20),
  };
  // Centreline: lordosis (the mid-neck lies anterior of the ends), flexion, lateral tilt and curve.
  const lordosis = rng.uniform(-4, 13) * s; // mm; negative: kyphotic / straightened neck
  const flexion = rng.uniform(-0.22, 0.22); // dy/dz
  const tiltX = rng.uniform(-0.1, 0.1);
  const curveX = rng.uniform(-4, 4);
  const half = 62 * s;
  const Yr = (z: number) => {
    const u = z / half;
    if (u >= -1 && u <= 1) return lordosis * u * u + flexion * z;
    const e = u > 1 ? 1 : -1; // beyond the neck: continue with the slope, curvature reversed (thoracic kyphosis, skull)
    const du = u - e;
    return lordosis * (1 + 2 * e * du - 0.6 * du * du) + flexion * z;
  };
  const Xr = (z: number) => tiltX * z + curveX * Math.sin((Math.PI * Math.max(-1.5, Math.min(1.5, z / half))) / 2);
  const X = (z: number) => origin[0] + Xr(z - origin[2]);
  const Y = (z: number) => origin[1] + Yr(z - origin[2]);
  const spineAt = (z: number): [number, number] => [X(z), Y(z)];
  const slope = (z: number): Vec3 => [(X(z + 0.5) - X(z - 0.5)), (Y(z + 0.5) - Y(z - 0.5)), 1];
  const arcDown = (z0: number, dist: number): number => {
    let z = z0;
    let left = dist;
    while (left > 0) {
      const t = slope(z - 0.125);
      const ds = 0.25 * Math.hypot(t[0], t[1], 1);
      if (ds >= left) return z - (0.25 * left) / ds;
      left -= ds;
      z -= 0.25;
    }
    return z;
  };
  const frameAt = (z: number, yaw: number): Frame => {
    const t = norm(slope(z));
    const x0 = norm([1 - t[0] * t[0], -t[0] * t[1], -t[0] * t[2]]);
    const y0 = cross(t, x0);
    const c = Math.cos(yaw); const sn = Math.sin(yaw);
    const [x, y] = spineAt(z);
    return { o: [x, y, z], x: [c * x0[0] + sn * y0[0], c * x0[1] + sn * y0[1], c * x0[2] + sn * y0[2]], y: [-sn * x0[0] + c * y0[0], -sn * x0[1] + c * y0[1], -sn * x0[2] + c * y0[2]], z: t };
  };

  // Place the levels from C1 down, each at its contact distance below the previous one.
  const headYaw = rng.uniform(-0.15, 0.15);
  const dims = LEVELS.map((name) => {
    const [A, B, H, ca, cb, gap, spinLen, angle] = BASE[name];
    const j = () => s * rng.uniform(0.96, 1.04);
    return { name, bodyA: A * j(), bodyB: B * j(), bodyH: H * j(), canalA: ca * j(), canalB: cb * j(), gapBelow: gap * j(), spinLen: spinLen * j(), spinAngle: angle + rng.uniform(-6, 6), s } satisfies LevelDims;
  });
  const shapes = dims.map((d) => buildVertebra(d));
  const zC1 = origin[2] + 0.92 * half; // C1 above the middle of the centreline, C7 about as far below
  const zs = [zC1];
  for (let i = 1; i < LEVELS.length; i++) zs.push(arcDown(zs[i - 1], -shapes[i - 1].linkBottom + dims[i - 1].gapBelow + shapes[i].linkTop));
  const hu = { cortical: tissue.cortical, cancellous: tissue.cancellous, shell: tissue.shell };
  const levels: PlacedLevel[] = LEVELS.map((name, i) => {
    const yaw = i <= 1 ? headYaw * (i === 0 ? 1 : 0.4) + rng.uniform(-0.03, 0.03) : rng.uniform(-0.06, 0.06);
    const frame = frameAt(zs[i], yaw);
    const structure = makeStructure(name, i + 1, 'bone', frame, shapes[i].adds, shapes[i].holes, hu);
    return { name, label: i + 1, dims: dims[i], shapes: shapes[i], frame, structure };
  });
  const discs: Structure[] = [];
  for (let i = 1; i + 1 < levels.length; i++) discs.push(disc(levels[i], levels[i + 1], tissue.disc));
  const others = otherBones(levels, s, tissue, rng);
  const c2 = levels[1];
  const zTopOfDens = toWorld(c2.frame, [0, -13 * s, c2.dims.bodyH + 15.5 * s])[2];
  return { s, levels, structures: [...discs, ...levels.map((l) => l.structure), ...others.structures], tissue, spineAt, zTopOfDens, head: others.head };
}

/** The disc between two levels: an elliptic cylinder from the upper body's lower endplate to the lower's upper one. */
function disc(upper: PlacedLevel, lower: PlacedLevel, hu: number): Structure {
  const a = toWorld(upper.frame, [0, upper.shapes.bodyY, -upper.dims.bodyH]);
  const b = toWorld(lower.frame, [0, lower.shapes.bodyY, lower.dims.bodyH]);
  const axis: Vec3 = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
  const len = Math.hypot(axis[0], axis[1], axis[2]);
  const z = norm(axis);
  const xw = norm(cross(upper.frame.y, z));
  const frame: Frame = { o: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2, (a[2] + b[2]) / 2], x: xw, y: cross(z, xw), z };
  const A = 0.97 * (upper.dims.bodyA + lower.dims.bodyA) / 2;
  const B = 0.97 * (upper.dims.bodyB + lower.dims.bodyB) / 2;
  return makeStructure(`disc ${upper.name}/${lower.name}`, 0, 'soft', frame, [{ kind: 'ellcyl', c: [0, 0, 0], size: [A, B, len / 2 + 0.8], r: 1.2 }], [], { cortical: hu, cancellous: hu, shell: 0 });
}

/** Head geometry in the C1 frame (mm), shared by the bones and the soft tissue (brain, sinuses, face). */
export interface HeadGeometry {
  /** The head's frame: C1's origin, tilted only partly with C1 (the head is held near neutral). */
  frame: Frame;
  /** Occipital bowl: ellipsoid centre and semi-axes, wall thickness; kept posterior of y = bowlFront. */
  skullC: Vec3; skullR: Vec3; skullT: number; bowlFront: number;
  /** Maxillary sinuses (±x) and the nasal cavity: centre and semi-axes of their air. */
  sinusC: Vec3; sinusR: Vec3; nasalC: Vec3; nasalR: Vec3;
  /** Centre line of the dental arches (y) and the mandible body's centre height (z). */
  jawY: number; jawZ: number;
}

/** Skull base, face, mandible and teeth (C1 frame), hyoid and thyroid cartilage (C3/C5), clavicles and ribs (T1/T2). */
function otherBones(levels: PlacedLevel[], s: number, tissue: Tissue, rng: Rng): { structures: Structure[]; head: HeadGeometry } {
  const [c1, , c3, , c5, , , t1, t2] = levels.map((l) => l.frame);
  const bone = { cortical: tissue.cortical + 100, cancellous: tissue.cancellous + 50, shell: tissue.shell * 1.8 };
  const out: Structure[] = [];
  const pitch = rng.uniform(-0.12, 0.12);
  const hz = norm([0.3 * c1.z[0], 0.3 * c1.z[1] + pitch, 0.7 + 0.3 * c1.z[2]]);
  const hx = norm(cross(c1.y, hz));
  const hf: Frame = { o: c1.o, x: hx, y: cross(hz, hx), z: hz };
  const head: HeadGeometry = {
    frame: hf,
    skullC: [0, 8 * s, 76 * s], skullR: [68 * s, 78 * s, 62 * s], skullT: 6.5 * s, bowlFront: -22 * s,
    sinusC: [24 * s, -62 * s, 24 * s], sinusR: [12 * s, 14 * s, 15 * s], nasalC: [0, -66 * s, 22 * s], nasalR: [5.5 * s, 22 * s, 14 * s],
    jawY: -52 * s, jawZ: (-36 + rng.uniform(-5, 5)) * s,
  };
  // Skull base: the occipital bowl (its floor at the foramen magnum, ~14 mm above C1), occipital condyles on
  // C1's lateral masses, mastoid processes, the clivus and the petrous ridges.
  const { skullC, skullR, skullT: t, jawY, jawZ: zm } = head;
  const flip: [Vec3, Vec3, Vec3] = [[-1, 0, 0], [0, -1, 0], [0, 0, 1]]; // keeps y > centre − ycut
  const skull: Shape[] = [
    { kind: 'ellipsoid', c: skullC, size: skullR, axes: flip, ycut: skullC[1] - head.bowlFront },
    rod([0, -21 * s, 16 * s], [0, -36 * s, 48 * s], 11 * s, 5 * s, 'clivus'),
  ];
  const condyles: Shape[] = [];
  for (const sx of [1, -1]) {
    condyles.push({ kind: 'ellipsoid', c: [sx * 12 * s, -8 * s, 11 * s], size: [5 * s, 8 * s, 4 * s] });
    skull.push({ kind: 'ellipsoid', c: [sx * 48 * s, -2 * s, 17 * s], size: [9 * s, 11 * s, 15 * s] });
    skull.push(rod([sx * 44 * s, -4 * s, 26 * s], [sx * 14 * s, -28 * s, 34 * s], 7 * s, 6 * s, 'petrous'));
  }
  out.push(makeStructure('occipital condyles', 0, 'bone', c1, condyles, [], bone));
  out.push(makeStructure('skull', 0, 'bone', hf, skull, [
    { kind: 'ellipsoid', c: skullC, size: [skullR[0] - t, skullR[1] - t, skullR[2] - t] },
    { kind: 'ellcyl', c: [0, -1 * s, 16 * s], size: [15 * s, 18 * s, 8 * s], r: 0 },
  ], bone));
  // Face: hard palate, the walls of the maxillary sinuses, upper teeth; the mandible with its rami and the
  // lower teeth (mouth closed: the occlusal plane near C2).
  const face: Shape[] = [{ kind: 'box', c: [0, jawY - 12 * s, 3 * s], size: [20 * s, 22 * s, 2 * s], r: 1.5 * s }];
  const walls: Shape[] = [];
  for (const sx of [1, -1]) {
    const c: Vec3 = [sx * head.sinusC[0], head.sinusC[1], head.sinusC[2]];
    face.push({ kind: 'ellipsoid', c, size: [head.sinusR[0] + 1.8 * s, head.sinusR[1] + 1.8 * s, head.sinusR[2] + 1.8 * s] });
    walls.push({ kind: 'ellipsoid', c, size: head.sinusR });
  }
  out.push(makeStructure('maxilla', 0, 'bone', hf, face, walls, bone));
  const mandible: Shape[] = [{ kind: 'ring', c: [0, jawY, zm], size: [40 * s, 38 * s, 12 * s], r: 4.5 * s, ycut: 12 * s }];
  for (const sx of [1, -1]) mandible.push({ ...plate([sx * 40 * s, jawY + 14 * s, zm - 4 * s], [sx * 46 * s, -14 * s, 22 * s], 2.5 * s, 11 * s, 'ramus'), dense: true });
  out.push(makeStructure('mandible', 0, 'bone', hf, mandible, [], bone));
  const teeth = { cortical: tissue.teeth, cancellous: tissue.teeth * 0.75, shell: 1.2 };
  out.push(makeStructure('lower teeth', 0, 'bone', hf, [{ kind: 'ring', c: [0, jawY - 2 * s, zm + 17 * s], size: [33 * s, 32 * s, 5 * s], r: 3.5 * s, ycut: 5 * s }], [], teeth));
  out.push(makeStructure('upper teeth', 0, 'bone', hf, [{ kind: 'ring', c: [0, jawY - 3 * s, -7 * s], size: [33 * s, 33 * s, 5.5 * s], r: 3.5 * s, ycut: 3 * s }], [], teeth));
  // Hyoid (C3 level) and a partly calcified thyroid cartilage shield (C5 level): unlabelled dense distractors.
  out.push(makeStructure('hyoid', 0, 'bone', c3, [{ kind: 'ring', c: [0, -38 * s, -2 * s], size: [16 * s, 12 * s, 3 * s], r: 1.8 * s, ycut: 3 * s }], [], bone));
  const calc = rng.uniform(120, 450);
  out.push(makeStructure('thyroid cartilage', 0, 'bone', c5, [{ kind: 'ring', c: [0, -38 * s, 2 * s], size: [19 * s, 15 * s, 11 * s], r: 1.3 * s, ycut: -2 * s }], [], { cortical: calc, cancellous: 90, shell: 0.8 }));
  // Clavicles and the first two ribs (T1/T2 frames), when the field of view reaches them.
  const clav: Shape[] = [];
  for (const sx of [1, -1]) {
    clav.push(rod([sx * 20 * s, -68 * s, -18 * s], [sx * 70 * s, -60 * s, -4 * s], 6 * s, 5.5 * s, 'clavicle'));
    clav.push(rod([sx * 70 * s, -60 * s, -4 * s], [sx * 135 * s, -15 * s, 4 * s], 5.5 * s, 5 * s, 'clavicle'));
  }
  out.push(makeStructure('clavicles', 0, 'bone', t1, clav, [], bone));
  for (const [f, name, k] of [[t1, 'first ribs', 1], [t2, 'second ribs', 1.25]] as const) {
    const ribs: Shape[] = [];
    for (const sx of [1, -1]) {
      const pts: Vec3[] = [[sx * 12 * s, 4 * s, 0], [sx * 26 * s * k, 9 * s, -2 * s], [sx * 50 * s * k, 2 * s, -8 * s], [sx * 60 * s * k, -30 * s, -18 * s], [sx * 42 * s * k, -62 * s, -30 * s]];
      for (let i = 0; i + 1 < pts.length; i++) ribs.push(rod(pts[i], pts[i + 1], 5 * s, 3.2 * s, 'rib'));
    }
    out.push(makeStructure(name, 0, 'bone', f, ribs, [], bone));
  }
  return { structures: out, head };
}
