/**
 * The slice rasteriser: soft tissue, then every solid the slice cuts, evaluated analytically per pixel at
 * `subsamples` heights through the slab (through-plane partial volume) with coverage edges (in-plane
 * partial volume); then the scanner's blur (a [1 2 1]/4 separable kernel, ~1 pixel FWHM), correlated noise
 * and the reconstruction circle. Also gives the label of every pixel (the vertebra covering ≥ half of it)
 * and, per fracture, the pixels whose bone the fracture changed (for the fracture boxes).
 *
 * Allocation happens once per renderer; a slice reuses the buffers (the returned arrays are overwritten by
 * the next call).
 */
import type { Patient, Structure } from './anatomy';
import type { Fracture } from './fracture';
import { fillNormal, valueNoise3 } from '../../util/random';
import { primDistance as primDistanceExport, type Prim } from './sdf';
import { renderSoftTissue, type PixelGrid, type SoftTissue } from './softTissue';

/** Pixels of one slice that a fracture changed: how many, their bounding box (inclusive) and which. */
export interface FractureHit {
  /** Index into the patient's fracture list. */
  fracture: number;
  count: number;
  c0: number; c1: number; r0: number; r1: number;
  /** Pixel indices (row × columns + column), in scan order. */
  pixels: number[];
}

/** An 8-connected region of changed pixels, by its bounding box (inclusive) and size. */
export interface Region { count: number; c0: number; c1: number; r0: number; r1: number }

/**
 * Split changed pixels into 8-connected regions: a fracture seen in two places of one slice (e.g. both ends
 * of a displaced body split) gets two boxes, each centred on its own part of the bone.
 */
export function regions(pixels: readonly number[], columns: number): Region[] {
  const pending = new Set(pixels);
  const out: Region[] = [];
  for (const start of pixels) {
    if (!pending.delete(start)) continue;
    const region: Region = { count: 0, c0: Infinity, c1: -1, r0: Infinity, r1: -1 };
    const stack = [start];
    while (stack.length) {
      const i = stack.pop()!;
      const r = Math.floor(i / columns); const c = i - r * columns;
      region.count++;
      region.c0 = Math.min(region.c0, c); region.c1 = Math.max(region.c1, c);
      region.r0 = Math.min(region.r0, r); region.r1 = Math.max(region.r1, r);
      for (let dr = -1; dr <= 1; dr++) for (let dc = -1; dc <= 1; dc++) {
        const cc = c + dc;
        if ((dr || dc) && cc >= 0 && cc < columns && pending.delete(i + dr * columns + dc)) stack.push(i + dr * columns + dc);
      }
    }
    out.push(region);
  }
  return out;
}

/** One rendered slice (buffers owned by the renderer). */
export interface RenderedSlice {
  /** HU, rows × columns, row-major. */
  hu: Float32Array;
  /** Mask label per pixel (0 background, 1–7 C1–C7, 8+ T1…). */
  labels: Uint8Array;
  hits: FractureHit[];
}

/** Renderer options. */
export interface RasterOptions {
  /** Samples through the slab thickness (1–4). */
  subsamples: number;
  /** HU outside the reconstruction circle. */
  outsideHU: number;
  /** Noise seed of the study; the slice index is mixed in. */
  noiseSeed: number;
}

const INF = Number.POSITIVE_INFINITY;
// A local binding: under a CommonJS transform (tsx, tests) every use of an imported binding is a property
// read through a getter, which costs ~10 % in the per-pixel loops.
const primDistance = primDistanceExport;
/** Block size (pixels) of the coarse pass that skips empty space. */
const COARSE = 6;

/** Renders the slices of one patient on one pixel grid. */
export class SliceRenderer {
  private readonly n: number;
  private readonly hu: Float32Array;
  private readonly labels: Uint8Array;
  private readonly labelCov: Float32Array;
  private readonly tmp: Float32Array;
  private readonly noise: Float32Array;
  private readonly w: number;
  private readonly fractures: Fracture[];
  private readonly dA = new Float64Array(4);
  private readonly dB = new Float64Array(4);
  private readonly dF = new Float64Array(4);
  private readonly cA = new Float64Array(4);
  private readonly cF = new Float64Array(4);

  constructor(private readonly patient: Patient, private readonly soft: SoftTissue, private readonly grid: PixelGrid, private readonly options: RasterOptions) {
    this.n = grid.rows * grid.columns;
    this.hu = new Float32Array(this.n);
    this.labels = new Uint8Array(this.n);
    this.labelCov = new Float32Array(this.n);
    this.tmp = new Float32Array(this.n);
    this.noise = new Float32Array(this.n);
    this.w = (Math.abs(grid.dx) + Math.abs(grid.dy)) / 2;
    this.fractures = patient.structures.flatMap((s) => s.fractures);
  }

  /** Render the slab centred at height `z` (mm) with thickness `thickness`; `index` seeds its noise. */
  render(z: number, thickness: number, index: number): RenderedSlice {
    const { hu, labels, labelCov } = this;
    renderSoftTissue(hu, this.grid, z, this.patient, this.soft);
    labels.fill(0);
    labelCov.fill(0);
    const S = Math.max(1, Math.min(4, Math.round(this.options.subsamples)));
    const zs = Array.from({ length: S }, (_, k) => z + thickness * ((k + 0.5) / S - 0.5));
    const hits: FractureHit[] = [];
    for (const st of this.patient.structures) {
      if (st.lo[2] > zs[S - 1] + 3 || st.hi[2] < zs[0] - 3) continue;
      this.structure(st, zs, hits);
    }
    this.blur(hu);
    this.addNoise(index);
    this.circle();
    return { hu, labels, hits: hits.filter((h) => h.count > 0) };
  }

  // Per-structure evaluation state (set by `prepare`, read by `evaluate`).
  private st!: Structure;
  private active: number[] = [];
  private holes: Prim[] = [];
  private m = 0;
  private hm = 0;
  private dU = INF;
  private dOrig = INF;
  private dFrac = INF;
  private dDense = INF;

  /** Select the primitives and holes of `st` that reach the slab [zlo, zhi]. False when none does. */
  private prepare(st: Structure, zlo: number, zhi: number): boolean {
    this.st = st;
    this.m = this.w + 0.5;
    this.hm = st.shell + this.w + 1.5;
    this.active = [];
    for (let j = 0; j < st.prims.length; j++) if (st.prims[j].lo[2] <= zhi + 3 && st.prims[j].hi[2] >= zlo - 3) this.active.push(j);
    this.holes = st.holes.filter((h) => h.lo[2] <= zhi + this.hm && h.hi[2] >= zlo - this.hm);
    return this.active.length > 0;
  }

  /**
   * Distances at (x, y, z) for the prepared structure: `dOrig` (intact bone), `dFrac` (with its fractures),
   * and per fracture g, dA[g] / dF[g] (its group intact / fractured); holes applied to all.
   */
  private evaluate(x: number, y: number, z: number): void {
    const { st, active, m, dA, dB, dF } = this;
    const fr = st.fractures;
    const nf = fr.length;
    let dU = INF;
    let dDense = INF;
    for (let g = 0; g < nf; g++) { dA[g] = INF; dB[g] = INF; }
    for (let a = 0; a < active.length; a++) {
      const j = active[a];
      const p = st.prims[j];
      if (x < p.lo[0] - m || x > p.hi[0] + m || y < p.lo[1] - m || y > p.hi[1] + m) continue;
      const d = primDistance(p, x, y, z);
      if (p.dense && d < dDense) dDense = d;
      const g = st.primFracture[j];
      if (g < 0) { if (d < dU) dU = d; } else if (d < dA[g]) dA[g] = d;
    }
    let dOrig = dU; let dFrac = dU;
    for (let g = 0; g < nf; g++) {
      const f = fr[g];
      const ex = x - f.p0[0]; const ey = y - f.p0[1]; const ez = z - f.p0[2];
      const s = ex * f.n[0] + ey * f.n[1] + ez * f.n[2];
      let d: number;
      if (f.shift[0] !== 0 || f.shift[1] !== 0 || f.shift[2] !== 0) {
        const sx = x - f.shift[0]; const sy = y - f.shift[1]; const sz = z - f.shift[2];
        for (let a = 0; a < active.length; a++) {
          const j = active[a];
          if (st.primFracture[j] !== g) continue;
          const p = st.prims[j];
          if (sx < p.lo[0] - m || sx > p.hi[0] + m || sy < p.lo[1] - m || sy > p.hi[1] + m) continue;
          const dd = primDistance(p, sx, sy, sz);
          if (dd < dB[g]) dB[g] = dd;
        }
        const s2 = s - (f.shift[0] * f.n[0] + f.shift[1] * f.n[1] + f.shift[2] * f.n[2]);
        d = Math.min(Math.max(dA[g], s + f.halfGap), Math.max(dB[g], f.halfGap - s2));
      } else {
        const inside = f.extent === INF || ex * ex + ey * ey + ez * ez < f.extent * f.extent;
        d = inside ? Math.max(dA[g], f.halfGap - Math.abs(s)) : dA[g];
      }
      dF[g] = d;
      if (dA[g] < dOrig) dOrig = dA[g];
      if (d < dFrac) dFrac = d;
    }
    if (dOrig < this.hm || dFrac < this.hm) {
      const hm = this.hm;
      for (const h of this.holes) {
        if (x < h.lo[0] - hm || x > h.hi[0] + hm || y < h.lo[1] - hm || y > h.hi[1] + hm) continue;
        const dh = -primDistance(h, x, y, z);
        if (dh > dOrig) dOrig = dh;
        if (dh > dFrac) dFrac = dh;
        if (dh > dU) dU = dh;
        for (let g = 0; g < nf; g++) { if (dh > dA[g]) dA[g] = dh; if (dh > dF[g]) dF[g] = dh; }
      }
    }
    this.dU = dU; this.dOrig = dOrig; this.dFrac = dFrac; this.dDense = dDense;
  }

  private structure(st: Structure, zs: number[], hits: FractureHit[]): void {
    const { grid, w } = this;
    const S = zs.length;
    if (!this.prepare(st, zs[0], zs[S - 1])) return;
    const m = this.m;
    const fr = st.fractures;
    const nf = fr.length;
    const base = nf ? this.fractures.indexOf(fr[0]) : 0;
    const localHits: FractureHit[] = fr.map((_, k) => ({ fracture: base + k, count: 0, c0: INF, c1: -1, r0: INF, r1: -1, pixels: [] }));
    let x0 = INF; let x1 = -INF; let y0 = INF; let y1 = -INF;
    for (const j of this.active) {
      const p = st.prims[j];
      x0 = Math.min(x0, p.lo[0]); x1 = Math.max(x1, p.hi[0]); y0 = Math.min(y0, p.lo[1]); y1 = Math.max(y1, p.hi[1]);
    }
    for (const f of fr) { x0 -= Math.abs(f.shift[0]); x1 += Math.abs(f.shift[0]); y0 -= Math.abs(f.shift[1]); y1 += Math.abs(f.shift[1]); }
    const c0 = Math.max(0, Math.floor((x0 - m - grid.x0) / grid.dx));
    const c1 = Math.min(grid.columns - 1, Math.ceil((x1 + m - grid.x0) / grid.dx));
    const r0 = Math.max(0, Math.floor((y0 - m - grid.y0) / grid.dy));
    const r1 = Math.min(grid.rows - 1, Math.ceil((y1 + m - grid.y0) / grid.dy));
    if (c0 > c1 || r0 > r1) return;
    // Coarse pass: a block whose centre is far outside the solid (at the slab centre) is skipped whole.
    // The distances are ~1-Lipschitz; 1.5 × the block's half diagonal plus the slab half-height and the
    // pixel ramp keep the skip conservative.
    const B = COARSE;
    const zc = (zs[0] + zs[S - 1]) / 2;
    const far = 1.5 * (B / 2) * Math.hypot(grid.dx, grid.dy) + (zs[S - 1] - zs[0]) / 2 + w + 0.5;
    const { dA, dF, cA, cF } = this;
    const soft = st.kind === 'soft';
    for (let br = r0; br <= r1; br += B) {
      for (let bc = c0; bc <= c1; bc += B) {
        const rEnd = Math.min(r1, br + B - 1);
        const cEnd = Math.min(c1, bc + B - 1);
        this.evaluate(grid.x0 + ((bc + cEnd) / 2) * grid.dx, grid.y0 + ((br + rEnd) / 2) * grid.dy, zc);
        if (this.dOrig > far && this.dFrac > far) continue;
        for (let r = br; r <= rEnd; r++) {
          const y = grid.y0 + r * grid.dy;
          for (let c = bc; c <= cEnd; c++) {
            const x = grid.x0 + c * grid.dx;
            let F = 0; let H = 0; let L = 0;
            for (let g = 0; g < nf; g++) { cA[g] = 0; cF[g] = 0; }
            for (let k = 0; k < S; k++) {
              const z = zs[k];
              this.evaluate(x, y, z);
              const { dOrig, dFrac, dU } = this;
              if (dOrig >= m && dFrac >= m) continue;
              const fFrac = cover(dFrac, w);
              if (fFrac > 0) {
                F += fFrac;
                H += fFrac * (soft ? st.cortical : this.boneHU(st, dFrac, this.dDense <= dFrac + 0.05, x, y, z));
              }
              const fOrig = cover(dOrig, w);
              L += fFrac > fOrig ? fFrac : fOrig;
              for (let g = 0; g < nf; g++) {
                cA[g] += cover(Math.min(dU, dA[g]), w);
                cF[g] += cover(Math.min(dU, dF[g]), w);
              }
            }
            if (L === 0) continue;
            const i = r * grid.columns + c;
            if (F > 0) this.hu[i] = this.hu[i] * (1 - F / S) + H / S;
            if (st.label > 0 && L / S >= 0.5 && L > this.labelCov[i]) {
              this.labels[i] = st.label;
              this.labelCov[i] = L;
            }
            for (let g = 0; g < nf; g++) {
              if ((cA[g] / S >= 0.5) === (cF[g] / S >= 0.5)) continue;
              const h = localHits[g];
              h.count++;
              h.pixels.push(i);
              if (c < h.c0) h.c0 = c;
              if (c > h.c1) h.c1 = c;
              if (r < h.r0) h.r0 = r;
              if (r > h.r1) h.r1 = r;
            }
          }
        }
      }
    }
    hits.push(...localHits);
  }

  /**
   * Cortical shell within `shell` mm of the surface, cancellous (with a trabecular texture) deeper; a dense
   * part (`dense`: posterior elements, rami) keeps a core between the two.
   */
  private boneHU(st: Structure, d: number, dense: boolean, x: number, y: number, z: number): number {
    const t = (-d - st.shell) / 0.8 + 0.5;
    if (t <= 0) return st.cortical;
    // Trabecular texture: two octaves of value noise (~1.5 mm and ~0.7 mm), ±25 % of the core value.
    const seed = this.options.noiseSeed;
    const tex = 0.17 * valueNoise3(x * 0.7, y * 0.7, z * 0.7, seed) + 0.09 * valueNoise3(x * 1.5, y * 1.5, z * 1.5, seed ^ 0x5bd1e995);
    const core = (dense ? Math.max(st.cancellous + 300, 0.75 * st.cortical) : st.cancellous) * (1 + tex);
    return t >= 1 ? core : st.cortical + (core - st.cortical) * t;
  }

  /** [1 2 1]/4 along rows, then along columns (edges replicate). */
  private blur(a: Float32Array): void {
    const { rows, columns } = this.grid;
    const t = this.tmp;
    for (let r = 0; r < rows; r++) {
      const o = r * columns;
      for (let c = 0; c < columns; c++) {
        const l = a[o + (c > 0 ? c - 1 : c)]; const rr = a[o + (c + 1 < columns ? c + 1 : c)];
        t[o + c] = 0.25 * l + 0.5 * a[o + c] + 0.25 * rr;
      }
    }
    for (let r = 0; r < rows; r++) {
      const up = (r > 0 ? r - 1 : r) * columns; const dn = (r + 1 < rows ? r + 1 : r) * columns; const o = r * columns;
      for (let c = 0; c < columns; c++) a[o + c] = 0.25 * t[up + c] + 0.5 * t[o + c] + 0.25 * t[dn + c];
    }
  }

  /** Gaussian noise with the patient's σ, blurred like the image so it has CT's grainy correlation. */
  private addNoise(index: number): void {
    const noise = this.noise;
    fillNormal(noise, (Math.imul(this.options.noiseSeed, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
    this.blur(noise);
    const k = this.patient.tissue.noise / 0.375; // the [1 2 1]/4 ⊗ [1 2 1]/4 kernel keeps 0.375 of σ
    for (let i = 0; i < this.n; i++) this.hu[i] += k * noise[i];
  }

  /** Outside the reconstruction circle (diameter = the field of view) the scanner writes a fixed value. */
  private circle(): void {
    const { rows, columns } = this.grid;
    const cr = (rows - 1) / 2; const R = Math.min(rows, columns) / 2;
    for (let r = 0; r < rows; r++) {
      const dy = r - cr;
      const half = dy * dy < R * R ? Math.sqrt(R * R - dy * dy) : -1; // inside: |c − cc| ≤ half
      const lo = Math.max(0, Math.ceil((columns - 1) / 2 - half));
      const hi = Math.min(columns, Math.floor((columns - 1) / 2 + half) + 1);
      const o = r * columns;
      if (hi <= lo) { this.hu.fill(this.options.outsideHU, o, o + columns); continue; }
      this.hu.fill(this.options.outsideHU, o, o + lo);
      this.hu.fill(this.options.outsideHU, o + hi, o + columns);
    }
  }
}

/** Share of a pixel of size `w` covered by a solid whose surface is `d` mm away (negative inside). */
function cover(d: number, w: number): number {
  if (d <= -0.5 * w) return 1;
  if (d >= 0.5 * w) return 0;
  return 0.5 - d / w;
}
