/**
 * The shapes of one vertebra in its local frame, per level type. Local axes: x towards the patient's left,
 * y posterior, z superior (LPS-like, so an unrotated vertebra needs no axis swap); the origin is the centre
 * of the spinal canal at the mid-height of the vertebral body (C1: of the ring).
 *
 * Sizes are adult means from morphometric CT studies, in mm (e.g. subaxial bodies ~16–20 mm wide and
 * ~15 mm deep, canal ~24 × 15 mm, C1 ring ~45 mm deep, C7 spinous process the longest); the anatomy model
 * scales them per patient. Groups name the parts a fracture can act on ("body", "dens", "lamina-L", …,
 * L/R are the patient's left/right: +x / −x).
 */
import { rod, plate, type Shape, type Vec3 } from './sdf';

/** Vertebra names; index + 1 is the RSNA mask label (1–7 C1–C7, 8+ T1…). */
export const LEVELS = ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'T1', 'T2', 'T3'] as const;
/** One level name. */
export type LevelName = (typeof LEVELS)[number];

/** Per-level dimensions (mm, already scaled for the patient). Half sizes unless named otherwise. */
export interface LevelDims {
  name: LevelName;
  /** Vertebral body half width, half depth, half height. */
  bodyA: number;
  bodyB: number;
  bodyH: number;
  /** Spinal canal half width and half depth. */
  canalA: number;
  canalB: number;
  /** Disc (or joint) height below this level (full height). */
  gapBelow: number;
  /** Spinous process length and downward angle (degrees). */
  spinLen: number;
  spinAngle: number;
  /** Overall patient scale (for the small parts that are not listed above). */
  s: number;
}

/** A vertebra in local coordinates: solids, holes, and the z of its upper/lower contact surfaces. */
export interface VertebraShapes {
  adds: Shape[];
  holes: Shape[];
  /** Local z of the surface that touches the level above (disc or joint). */
  linkTop: number;
  /** Local z of the surface that touches the level below. */
  linkBottom: number;
  /** Local y of the body's centre (C1: of the ring), for discs and fractures. */
  bodyY: number;
}

/** Left/right pairs: +x is the patient's left. */
const SIDES: [number, string][] = [[1, 'L'], [-1, 'R']];

/** C1 (atlas): a ring of anterior and posterior arches joined by the lateral masses; no body. */
export function atlas(d: LevelDims): VertebraShapes {
  const s = d.s;
  const yr = -5 * s; // ring centre, anterior of the canal: the dens takes the front of the ring
  const am = 16.5 * s; const bm = 17 * s; const half = 2.6 * s; const hh = 4.5 * s;
  // Two half rings (anterior and posterior arch) so that a fracture can break one arch only.
  const adds: Shape[] = [
    { kind: 'ring', c: [0, yr, 0], size: [am, bm, hh], r: half, ycut: 0, group: 'arch-ant' },
    { kind: 'ring', c: [0, yr, 0], size: [am, bm, hh * 0.9], r: half * 1.1, axes: [[-1, 0, 0], [0, -1, 0], [0, 0, 1]], ycut: 0, group: 'arch-post' },
    { kind: 'ellipsoid', c: [0, yr - bm - 1.8 * s, 0], size: [4.5 * s, 2.8 * s, 5.5 * s], group: 'arch-ant' }, // anterior tubercle
    { kind: 'ellipsoid', c: [0, yr + bm + 2 * s, -1 * s], size: [4 * s, 3.2 * s, 5 * s], group: 'arch-post' }, // posterior tubercle
  ];
  const holes: Shape[] = [];
  for (const [sx, side] of SIDES) {
    adds.push({ kind: 'ellcyl', c: [sx * 14.5 * s, yr - 3 * s, -1.5 * s], size: [6 * s, 8.5 * s, 7.5 * s], r: 3 * s, group: `lm-${side}` });
    adds.push(rod([sx * 18 * s, yr - 3 * s, -1 * s], [sx * 33 * s, yr - 1 * s, -2 * s], 3.4 * s, 3.4 * s, `tp-${side}`));
    adds.push({ kind: 'ellipsoid', c: [sx * 34 * s, yr - 1 * s, -2 * s], size: [4 * s, 5 * s, 5 * s], group: `tp-${side}` });
    holes.push({ kind: 'ellcyl', c: [sx * 24 * s, yr - 2.5 * s, 0], size: [2.8 * s, 3 * s, 12 * s], r: 0 }); // foramen transversarium
  }
  return { adds, holes, linkTop: 6 * s, linkBottom: -9 * s, bodyY: yr };
}

/** C2 (axis): body with the dens rising into C1's ring, big laminae and a large bifid spinous process. */
export function axis(d: LevelDims): VertebraShapes {
  const { s, bodyA: A, bodyB: B, bodyH: H, canalA: ca, canalB: cb } = d;
  const by = -(cb + B);
  const adds: Shape[] = [
    { kind: 'ellcyl', c: [0, by, 0], size: [A, B, H], r: 2 * s, group: 'body' },
    { kind: 'ellipsoid', c: [0, by - B + 1.5 * s, -H + 1 * s], size: [A * 0.55, 2.5 * s, 3 * s], group: 'body' }, // anteroinferior lip
    { kind: 'ellcyl', c: [0, -13 * s, H + 7 * s], size: [4.7 * s, 4.9 * s, 8.5 * s], r: 4 * s, group: 'dens' },
  ];
  const holes: Shape[] = [{ kind: 'ellcyl', c: [0, 0, 0], size: [ca, cb, H + 1 * s], r: 0 }];
  for (const [sx, side] of SIDES) {
    adds.push({ kind: 'box', c: [sx * (ca + 1.5 * s), by + 5 * s, H - 1 * s], size: [5 * s, 6.5 * s, 3.5 * s], r: 2 * s, group: `pillar-${side}` });
    adds.push(rod([sx * (A - 1 * s), -(cb + 1 * s), H * 0.3], [sx * (ca + 2.5 * s), 1.5 * s, -H * 0.3], 3 * s, 4.5 * s, `pedicle-${side}`));
    adds.push({ kind: 'box', c: [sx * (ca + 3 * s), 3 * s, -H - 1 * s], size: [4 * s, 4.5 * s, 4.5 * s], r: 1.8 * s, shear: 0.55, group: `pillar-${side}` });
    adds.push(plate([sx * (ca + 1 * s), cb * 0.6 + 1.5 * s, -2.5 * s], [0, cb + 4 * s, -3.5 * s], 2.2 * s, 6 * s, `lamina-${side}`));
    adds.push(rod([sx * (A + 0.5 * s), by + 2 * s, 0], [sx * (A + 8 * s), by + 4 * s, -2 * s], 2.5 * s, 3 * s, `tp-${side}`));
    holes.push({ kind: 'ellcyl', c: [sx * (A + 3.5 * s), by + 3 * s, 0], size: [2.3 * s, 2.3 * s, 6 * s], r: 0 });
  }
  spinous(adds, [0, cb + 3.5 * s, -3.5 * s], d.spinLen, d.spinAngle, 3.2 * s, 5 * s, 4.5 * s);
  return { adds, holes, linkTop: H + 2.5 * s, linkBottom: -H, bodyY: by };
}

/** C3–C7: body with uncinate processes, pedicles, articular pillars, laminae, spinous process, transverse processes with foramina. */
export function subaxial(d: LevelDims): VertebraShapes {
  const { s, bodyA: A, bodyB: B, bodyH: H, canalA: ca, canalB: cb } = d;
  const by = -(cb + B);
  const c7 = d.name === 'C7';
  const adds: Shape[] = [
    { kind: 'ellcyl', c: [0, by, 0], size: [A, B, H], r: 1.5 * s, group: 'body' },
    { kind: 'ellipsoid', c: [0, by - B + 1.5 * s, -H + 0.5 * s], size: [A * 0.6, 2 * s, 2 * s], group: 'body' },
  ];
  const holes: Shape[] = [{ kind: 'ellcyl', c: [0, 0, 0], size: [ca, cb, 3 * H], r: 0 }];
  const fx = A + 5.5 * s; // foramen transversarium, lateral to the body
  const fy = -(cb + 0.45 * B);
  const pillarH = H + d.gapBelow / 2 - 0.8 * s;
  for (const [sx, side] of SIDES) {
    adds.push(rod([sx * (A - 1.2 * s), by - B * 0.5, H - 0.3 * s], [sx * (A - 1.2 * s), by + B * 0.6, H - 0.3 * s], 1.1 * s, 1.8 * s, 'body')); // uncinate process
    adds.push(rod([sx * (A - 1.5 * s), -(cb + 1.5 * s), H * 0.25], [sx * (ca + 2.5 * s), -1.5 * s, H * 0.15], 2.2 * s, 3.2 * s, `pedicle-${side}`));
    adds.push({ kind: 'box', c: [sx * (ca + 4 * s), 1.5 * s, -0.5 * s], size: [4.2 * s, 4.8 * s, pillarH], r: 1.8 * s, shear: 0.55, group: `pillar-${side}` });
    adds.push(plate([sx * (ca + 1.5 * s), cb * 0.55 + 1 * s, -1 * s], [0, cb + 3.3 * s, -2 * s], 1.5 * s, H * 0.75, `lamina-${side}`));
    if (c7) {
      // C7: long transverse process from the pillar; small (often absent) foramen.
      adds.push(rod([sx * (ca + 2 * s), -3 * s, 0], [sx * (ca + 14 * s), -5 * s, -1 * s], 3 * s, 3 * s, `tp-${side}`));
      adds.push(rod([sx * (A - 1 * s), fy - 2.5 * s, 0], [sx * (fx + 5 * s), fy - 1 * s, -1 * s], 1.6 * s, 2.2 * s, `tp-${side}`));
      holes.push({ kind: 'ellcyl', c: [sx * fx, fy + 0.5 * s, 0], size: [1.6 * s, 1.8 * s, 8 * s], r: 0 });
    } else {
      adds.push(rod([sx * (A - 1 * s), fy - 3.5 * s, 0], [sx * (fx + 7 * s), fy - 2.5 * s, -1 * s], 2 * s, 2.5 * s, `tp-${side}`)); // anterior root + tubercle
      adds.push(rod([sx * (ca + 0.5 * s), fy + 4.5 * s, 0.5 * s], [sx * (fx + 6.5 * s), fy + 3 * s, -1 * s], 2 * s, 2.5 * s, `tp-${side}`)); // posterior root + tubercle
      adds.push(rod([sx * (fx + 6.5 * s), fy - 3 * s, -1 * s], [sx * (fx + 6.5 * s), fy + 3 * s, -1 * s], 1.8 * s, 2.2 * s, `tp-${side}`)); // intertubercular lamella
      holes.push({ kind: 'ellcyl', c: [sx * fx, fy, 0], size: [2.6 * s, 2.9 * s, 8 * s], r: 0 });
    }
  }
  spinous(adds, [0, cb + 2.5 * s, -2 * s], d.spinLen, d.spinAngle, 1.7 * s, 3.2 * s, c7 ? 0 : 3 * s);
  if (c7) adds.push({ kind: 'ellipsoid', c: spinTip([0, cb + 2.5 * s, -2 * s], d.spinLen, d.spinAngle), size: [3.5 * s, 3 * s, 4 * s], group: 'spinous' });
  return { adds, holes, linkTop: H, linkBottom: -H, bodyY: by };
}

/** T1–T3: bigger bodies, a rounder canal, long posterolateral transverse processes, a steep spinous process. */
export function thoracic(d: LevelDims): VertebraShapes {
  const { s, bodyA: A, bodyB: B, bodyH: H, canalA: ca, canalB: cb } = d;
  const by = -(cb + B);
  const adds: Shape[] = [{ kind: 'ellcyl', c: [0, by, 0], size: [A, B, H], r: 2 * s, group: 'body' }];
  const holes: Shape[] = [{ kind: 'ellcyl', c: [0, 0, 0], size: [ca, cb, 3 * H], r: 0 }];
  for (const [sx, side] of SIDES) {
    adds.push(rod([sx * (ca - 2.5 * s), -(cb + 1 * s), H * 0.2], [sx * (ca + 1.5 * s), 3 * s, H * 0.1], 2.8 * s, 4.5 * s, `pedicle-${side}`));
    adds.push({ kind: 'box', c: [sx * (ca + 2.5 * s), 4.5 * s, 0], size: [3.5 * s, 3.5 * s, H + d.gapBelow / 2 - 0.8 * s], r: 1.5 * s, shear: 0.2, group: `pillar-${side}` });
    adds.push(rod([sx * (ca + 2 * s), 4 * s, 0], [sx * (ca + 17 * s), 9 * s, -2 * s], 3.5 * s, 4 * s, `tp-${side}`));
    adds.push({ kind: 'ellipsoid', c: [sx * (ca + 17 * s), 9 * s, -2 * s], size: [4 * s, 4.5 * s, 5 * s], group: `tp-${side}` });
    adds.push(plate([sx * (ca + 1.5 * s), 6 * s, -1 * s], [0, cb + 4.5 * s, -3 * s], 2 * s, 6 * s, `lamina-${side}`));
  }
  spinous(adds, [0, cb + 4 * s, -3 * s], d.spinLen, d.spinAngle, 2.2 * s, 3.5 * s, 0);
  return { adds, holes, linkTop: H, linkBottom: -H, bodyY: by };
}

/** Where a spinous process of length `len` pointing `angle`° below posterior ends. */
export function spinTip(root: Vec3, len: number, angle: number): Vec3 {
  const a = (angle * Math.PI) / 180;
  return [root[0], root[1] + len * Math.cos(a), root[2] - len * Math.sin(a)];
}

/** A spinous process from `root`, bifid (two tubercles `bifid` mm apart each side) when bifid > 0. */
function spinous(adds: Shape[], root: Vec3, len: number, angle: number, rw: number, rh: number, bifid: number): void {
  const tip = spinTip(root, len, angle);
  if (bifid <= 0) {
    adds.push(rod(root, tip, rw, rh, 'spinous'));
    return;
  }
  const fork = spinTip(root, len * 0.7, angle);
  adds.push(rod(root, fork, rw, rh, 'spinous'));
  for (const sx of [1, -1]) adds.push(rod(fork, [sx * bifid, tip[1], tip[2]], rw * 0.9, rh * 0.8, 'spinous'));
}

/** The builder for a level. */
export function buildVertebra(d: LevelDims): VertebraShapes {
  if (d.name === 'C1') return atlas(d);
  if (d.name === 'C2') return axis(d);
  return d.name.startsWith('C') ? subaxial(d) : thoracic(d);
}
