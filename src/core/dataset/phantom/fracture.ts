/**
 * Fractures: a plane through part of a vertebra (named groups of its primitives) that removes a gap of bone
 * (the fracture line; the cortex is broken where it crosses it) and optionally displaces the fragment on the
 * plane's positive side. Types follow the common cervical injuries: C1 arch (Jefferson) and lateral mass
 * fractures, C2 odontoid (type II/III) and bilateral pars ("hangman's") fractures, subaxial body splits,
 * teardrop and endplate fractures, laminar, pedicle, articular pillar, transverse process and spinous process
 * ("clay-shoveler's") fractures. Relative frequencies by level follow the RSNA 2022 training labels (C7, C2
 * and C6 most often fractured).
 */
import type { Patient, PlacedLevel } from './anatomy';
import { dirToWorld, norm, toWorld, type Vec3 } from './sdf';
import type { Rng } from '../../util/random';
import { spinTip } from './vertebrae';

/** A fracture in world coordinates. */
export interface Fracture {
  /** Vertebra (C1…C7) and injury type, for the study record. */
  level: string;
  kind: string;
  /** Primitive groups the plane acts on. */
  groups: string[];
  /** A point on the plane and its unit normal (world). */
  p0: Vec3;
  n: Vec3;
  /** Half the width of the fracture line (mm). */
  halfGap: number;
  /** The line only exists within this distance of p0 (Infinity: across the whole group). */
  extent: number;
  /** Displacement of the fragment on the +n side (world mm); [0, 0, 0] for an undisplaced crack. */
  shift: Vec3;
}

interface LocalFracture { kind: string; groups: string[]; p0: Vec3; n: Vec3; extent?: number; shift?: Vec3 }

/** Share of fractured studies in RSNA 2022 per vertebra (C1…C7), used as weights. */
const LEVEL_WEIGHTS = [0.07, 0.14, 0.04, 0.05, 0.08, 0.13, 0.19];

function candidates(l: PlacedLevel, rng: Rng): LocalFracture[][] {
  const { s, bodyA: A, bodyB: B, bodyH: H, canalA: ca, canalB: cb } = l.dims;
  const u = (a: number, b: number) => rng.uniform(a, b);
  const sign = () => (rng.chance(0.5) ? 1 : -1);
  const side = sign();
  const tag = side > 0 ? 'L' : 'R';
  const by = l.shapes.bodyY;
  if (l.name === 'C1') {
    const ant: LocalFracture = { kind: 'anterior arch', groups: ['arch-ant'], p0: [side * u(3, 9) * s, by - 17 * s, 0], n: norm([1, u(-0.5, 0.5), u(-0.2, 0.2)]), extent: 9 * s };
    const post: LocalFracture = { kind: 'posterior arch', groups: ['arch-post'], p0: [-side * u(4, 11) * s, by + 16.5 * s, 0], n: norm([1, u(-0.6, 0.6), u(-0.2, 0.2)]), extent: 9 * s };
    const n = norm([u(-0.3, 0.3), 1, u(-0.3, 0.3)]);
    const lm: LocalFracture = { kind: 'lateral mass', groups: [`lm-${tag}`], p0: [side * 14.5 * s, by - 3 * s + u(-3, 3) * s, -1.5 * s], n, shift: [side * u(0, 1), u(0.5, 2), 0] };
    return [[ant], [post], [{ ...ant, kind: 'Jefferson' }, { ...post, kind: 'Jefferson' }], [lm]];
  }
  const bodySplit: LocalFracture = { kind: 'sagittal body', groups: ['body'], p0: [u(-4, 4) * s, by, 0], n: norm([1, u(-0.35, 0.35), u(-0.15, 0.15)]), shift: [u(0.4, 1.8), 0, u(-0.8, 0.8)] };
  const coronal: LocalFracture = { kind: 'coronal body', groups: ['body'], p0: [0, by + u(-3, 3) * s, 0], n: norm([u(-0.2, 0.2), 1, u(-0.3, 0.3)]), shift: [0, u(0.5, 2), u(-0.8, 0.8)] };
  const lamMid: Vec3 = [side * (ca + 1.5 * s) / 2, (cb * 0.55 + 1 * s + cb + 3.3 * s) / 2, -1.5 * s];
  const lamina: LocalFracture = { kind: 'lamina', groups: [`lamina-${tag}`], p0: lamMid, n: norm([side * (ca + 1.5 * s) + u(-3, 3), -(2.3 * s + cb * 0.45) + u(-3, 3), u(-2, 2)]) };
  const pedDir: Vec3 = [side * (ca + 2.5 * s - (A - 1.5 * s)), cb, 0];
  const pedicle: LocalFracture = { kind: 'pedicle', groups: [`pedicle-${tag}`], p0: [side * (A + ca + 1 * s) / 2, -(cb + 3 * s) / 2, H * 0.2], n: norm([pedDir[0] + u(-2, 2), pedDir[1] + u(-2, 2), u(-2, 2)]) };
  if (l.name === 'C2') {
    const dens: LocalFracture = { kind: 'odontoid type II', groups: ['dens'], p0: [0, -13 * s, H + u(0.5, 2.5) * s], n: norm([u(-0.25, 0.25), u(-0.35, 0.35), 1]), shift: [u(-1, 1), sign() * u(0.8, 2.5), u(0, 0.5)] };
    const type3: LocalFracture = { kind: 'odontoid type III', groups: ['body', 'dens'], p0: [0, by, H - u(2, 5) * s], n: norm([u(-0.3, 0.3), sign() * u(0.3, 0.8), 1]), shift: [u(-0.8, 0.8), u(-1.5, 1.5), 0] };
    const other: LocalFracture = { ...pedicle, groups: [`pedicle-${tag === 'L' ? 'R' : 'L'}`], p0: [-pedicle.p0[0], pedicle.p0[1], pedicle.p0[2]], n: [-pedicle.n[0], pedicle.n[1], pedicle.n[2]] };
    return [[dens], [dens], [type3], [{ ...pedicle, kind: "hangman's" }, { ...other, kind: "hangman's" }], [bodySplit], [lamina]];
  }
  const teardrop: LocalFracture = { kind: 'teardrop', groups: ['body'], p0: [0, by - B * 0.45, -H * 0.35], n: norm([u(-0.2, 0.2), -1, -u(0.7, 1.3)]), shift: [u(-0.5, 0.5), -u(1, 3), -u(0.5, 2)] };
  const endplate: LocalFracture = { kind: 'endplate', groups: ['body'], p0: [0, by, H - u(1.5, 3.5) * s], n: norm([u(-0.2, 0.2), u(-0.4, 0.1), 1]), shift: [u(-0.5, 0.5), -u(0.5, 2), -u(0.3, 1)] };
  const pillar: LocalFracture = { kind: 'articular pillar', groups: [`pillar-${tag}`], p0: [side * (ca + 4 * s), 1.5 * s, u(-3, 3) * s], n: norm([u(-0.3, 0.3), u(-0.5, 0.5), 1]), shift: [0, u(0.5, 2), -u(0, 1)] };
  const root: Vec3 = [0, cb + 2.5 * s, -2 * s];
  const a = (l.dims.spinAngle * Math.PI) / 180;
  const spinous: LocalFracture = { kind: 'spinous process', groups: ['spinous'], p0: spinTip(root, l.dims.spinLen * u(0.45, 0.65), l.dims.spinAngle), n: norm([u(-0.2, 0.2), Math.cos(a) + u(-0.3, 0.3), -Math.sin(a) + u(-0.3, 0.3)]), shift: [u(-1, 1), u(0.5, 2), -u(1, 3)] };
  const tp: LocalFracture = { kind: 'transverse process', groups: [`tp-${tag}`], p0: [side * (A + 5.5 * s + u(-1, 3) * s), -(cb + 0.45 * B), 0], n: norm([1, u(-0.3, 0.3), u(-0.2, 0.2)]) };
  const late = l.name === 'C6' || l.name === 'C7';
  return [[bodySplit], [bodySplit], [coronal], [teardrop], [endplate], [endplate], [lamina], [pedicle], [pillar], [tp], ...(late ? [[spinous], [spinous]] : [])];
}

/**
 * Give the patient fractures: with probability `rate` the study is positive, with 1–3 fractured vertebrae
 * (neighbours more likely), one injury pattern each. `minGap` (mm) keeps fracture lines at least that wide,
 * so they stay visible at coarse pixel sizes. Returns the fractures; the vertebra structures are updated.
 */
export function addFractures(patient: Patient, rng: Rng, rate: number, minGap: number): Fracture[] {
  if (!rng.chance(rate)) return [];
  const count = rng.pick([1, 2, 3], [0.6, 0.28, 0.12]);
  const chosen = new Set<number>();
  while (chosen.size < count) {
    const near = [...chosen].flatMap((i) => [i - 1, i + 1]).filter((i) => i >= 0 && i < 7 && !chosen.has(i));
    chosen.add(near.length && rng.chance(0.6) ? rng.pick(near) : rng.pick([0, 1, 2, 3, 4, 5, 6], LEVEL_WEIGHTS));
  }
  const all: Fracture[] = [];
  for (const i of [...chosen].sort((a, b) => a - b)) {
    const level = patient.levels[i];
    const pattern = rng.pick(candidates(level, rng));
    for (const f of pattern) {
      const st = level.structure;
      const gap = Math.max(rng.uniform(0.8, 1.8) * level.dims.s, minGap);
      const world: Fracture = {
        level: level.name, kind: f.kind, groups: f.groups,
        p0: toWorld(level.frame, f.p0), n: norm(dirToWorld(level.frame, f.n)), halfGap: gap / 2,
        extent: f.extent ?? Infinity, shift: dirToWorld(level.frame, f.shift ?? [0, 0, 0]),
      };
      const k = st.fractures.length;
      st.fractures.push(world);
      st.prims.forEach((p, j) => { if (f.groups.includes(p.group)) st.primFracture[j] = k; });
      // A displaced fragment can leave the structure's box: widen it by the shift.
      for (let c = 0; c < 3; c++) { st.lo[c] -= Math.abs(world.shift[c]); st.hi[c] += Math.abs(world.shift[c]); }
      all.push(world);
    }
  }
  return all;
}
