/**
 * Deterministic randomness for generated data and seeded splits: every draw comes from a seeded generator,
 * so the same seed gives byte-identical output on every machine (Math.random is never used).
 */
import { createHash } from 'node:crypto';

/** A 32-bit seed derived from any list of parts (SHA-256, first 4 bytes). Stable across platforms. */
export function seedFrom(...parts: (string | number)[]): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32LE(0);
}

/** mulberry32: a small, fast, seeded PRNG; returns a generator of uniforms in [0, 1). */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded PRNG (mulberry32) with the draws the anatomy model needs. */
export class Rng {
  private readonly draw: () => number;
  constructor(seed: number) { this.draw = mulberry32(seed); }

  /** Uniform in [0, 1). */
  next(): number {
    return this.draw();
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number { return lo + (hi - lo) * this.next(); }

  /** Integer in lo…hi inclusive. */
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }

  /** True with probability p. */
  chance(p: number): boolean { return this.next() < p; }

  /** Normal deviate (Box–Muller), mean `mean`, standard deviation `sd`. */
  normal(mean = 0, sd = 1): number {
    const u = 1 - this.next();
    return mean + sd * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** One of `items`, optionally weighted. */
  pick<T>(items: readonly T[], weights?: readonly number[]): T {
    if (!weights) return items[Math.floor(this.next() * items.length)];
    const total = weights.reduce((a, b) => a + b, 0);
    let x = this.next() * total;
    for (let i = 0; i < items.length; i++) {
      x -= weights[i];
      if (x < 0) return items[i];
    }
    return items[items.length - 1];
  }
}

const TABLE_BITS = 12;
/** Standard normal quantiles at (i + 0.5) / 4096: a lookup turns one random integer into a normal deviate. */
const NORMAL_TABLE = (() => {
  const n = 1 << TABLE_BITS;
  const t = new Float32Array(n);
  for (let i = 0; i < n; i++) t[i] = inverseNormal((i + 0.5) / n);
  return t;
})();

/** Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9). */
function inverseNormal(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const q = Math.min(p, 1 - p);
  let x: number;
  if (q > 0.02425) {
    const u = p - 0.5;
    const r = u * u;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * u / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  } else {
    const u = Math.sqrt(-2 * Math.log(q));
    x = (((((c[0] * u + c[1]) * u + c[2]) * u + c[3]) * u + c[4]) * u + c[5]) / ((((d[0] * u + d[1]) * u + d[2]) * u + d[3]) * u + 1);
    if (p > 0.5) x = -x;
  }
  return x;
}

/**
 * Fill `out` with standard normal deviates, fast: a xorshift32 stream (Marsaglia 2003), two 12-bit table
 * lookups per draw (the tails are cut at ±3.5σ, which CT noise never resolves anyway).
 */
export function fillNormal(out: Float32Array, seed: number): void {
  let x = (seed >>> 0) || 0x9e3779b9;
  for (let k = 0; k < 8; k++) { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; } // decorrelate nearby seeds
  const mask = (1 << TABLE_BITS) - 1;
  const n = out.length;
  for (let i = 0; i < n; i += 2) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = NORMAL_TABLE[x & mask];
    if (i + 1 < n) out[i + 1] = NORMAL_TABLE[(x >>> 16) & mask];
  }
}

/** A lattice value in [−1, 1) for integer point (i, j, k) and `seed` (integer hash, no state). */
function lattice(i: number, j: number, k: number, seed: number): number {
  let h = Math.imul(i, 0x27d4eb2d) ^ Math.imul(j, 0x165667b1) ^ Math.imul(k, 0x9e3779b1) ^ seed;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 2147483648 - 1;
}

/**
 * Smooth 3-D value noise in about [−1, 1] (trilinear blend of hashed lattice values with a smoothstep fade,
 * lattice spacing 1): the irregular texture of trabecular bone, without the stripes of sums of sines.
 */
export function valueNoise3(x: number, y: number, z: number, seed: number): number {
  const i = Math.floor(x); const j = Math.floor(y); const k = Math.floor(z);
  const fx = x - i; const fy = y - j; const fz = z - k;
  const u = fx * fx * (3 - 2 * fx); const v = fy * fy * (3 - 2 * fy); const w = fz * fz * (3 - 2 * fz);
  const a = lattice(i, j, k, seed) + u * (lattice(i + 1, j, k, seed) - lattice(i, j, k, seed));
  const b = lattice(i, j + 1, k, seed) + u * (lattice(i + 1, j + 1, k, seed) - lattice(i, j + 1, k, seed));
  const c = lattice(i, j, k + 1, seed) + u * (lattice(i + 1, j, k + 1, seed) - lattice(i, j, k + 1, seed));
  const d = lattice(i, j + 1, k + 1, seed) + u * (lattice(i + 1, j + 1, k + 1, seed) - lattice(i, j + 1, k + 1, seed));
  const e = a + v * (b - a);
  const f = c + v * (d - c);
  return e + w * (f - e);
}
