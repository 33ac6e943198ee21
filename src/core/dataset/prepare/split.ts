/**
 * Seeded, order-independent randomness for the dataset plan: the study split (by study, never by slice —
 * slices of one patient on both sides leak) and undersampling of negatives. Every draw is seeded by
 * (seed, purpose, key), so a study's outcome does not depend on which other studies are processed first.
 */
import { createHash } from 'node:crypto';
import { mulberry32 } from '../../util/random';

/** Which side of the split. */
export type Split = 'train' | 'val';

/** A uniform [0, 1) generator (mulberry32) seeded from `seed` and any salt (hashed with SHA-256). */
export function seededRandom(seed: number, ...salt: (string | number)[]): () => number {
  const h = createHash('sha256').update([seed, ...salt].join('\u0000')).digest();
  return mulberry32(h.readUInt32LE(0));
}

/** Fisher–Yates shuffle in place. */
export function shuffle<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
  return items;
}

/** `k` distinct indices of 0…n−1 (partial Fisher–Yates), in ascending order. */
export function sampleIndices(n: number, k: number, rand: () => number): number[] {
  k = Math.max(0, Math.min(n, k));
  if (k === n) return Array.from({ length: n }, (_, i) => i);
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(rand() * (n - i));
    const t = pool[i]; pool[i] = pool[j]; pool[j] = t;
  }
  return Array.from(pool.subarray(0, k)).sort((a, b) => a - b);
}

/** A study to split and the stratum it belongs to (studies of one stratum are spread over both sides). */
export interface SplitItem {
  uid: string;
  stratum: string;
}

/**
 * Assign studies to train/val: round(n·val) studies to val (at least one when val > 0 and n ≥ 2; never
 * all unless val = 1, a holdout set), spread proportionally over the strata (systematic sampling over the strata, each shuffled). Seeded.
 */
export function splitStudies(items: readonly SplitItem[], val: number, seed: number): Map<string, Split> {
  const n = items.length;
  let target = Math.round(n * val);
  if (val > 0 && n >= 2) target = Math.max(1, target);
  if (target >= n && n >= 1) target = val >= 1 ? n : n - 1;
  const strata = new Map<string, string[]>();
  for (const it of items) {
    const list = strata.get(it.stratum) ?? [];
    list.push(it.uid);
    strata.set(it.stratum, list);
  }
  const ordered: string[] = [];
  for (const key of [...strata.keys()].sort()) {
    ordered.push(...shuffle((strata.get(key) as string[]).sort(), seededRandom(seed, 'split', key)));
  }
  const u = seededRandom(seed, 'split-offset')();
  const out = new Map<string, Split>();
  ordered.forEach((uid, i) => {
    const isVal = n > 0 && Math.floor(((i + 1) * target) / n + u) > Math.floor((i * target) / n + u);
    out.set(uid, isVal ? 'val' : 'train');
  });
  return out;
}
