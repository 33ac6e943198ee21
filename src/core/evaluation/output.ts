/**
 * The evaluation files other tools read (ARCHITECTURE "Data flow" 5): `metrics.json` (one document) and
 * `predictions.jsonl` (one JSON object per image), both written atomically. Non-finite numbers (the +∞ first
 * threshold of a ROC curve) are written as null: JSON has no infinity.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic';

/** JSON with non-finite numbers as null and typed arrays as arrays. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) return null;
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
    return v;
  }, indent);
}

/** Write OUT/metrics.json and OUT/predictions.jsonl. Returns their paths. */
export async function writeEvaluation(out: string, metrics: unknown, lines: readonly unknown[]): Promise<{ metrics: string; predictions: string }> {
  const m = join(out, 'metrics.json');
  const p = join(out, 'predictions.jsonl');
  await writeFileAtomic(p, lines.map((l) => `${toJson(l)}\n`).join(''));
  await writeFileAtomic(m, `${toJson(metrics, 2)}\n`);
  return { metrics: m, predictions: p };
}

/** A one-line text progress bar for stderr. */
export function progressText(label: string, done: number, total: number, startedMs: number, unit: string, width = 24): string {
  const f = total > 0 ? Math.min(1, done / total) : 0;
  const fill = Math.round(f * width);
  const secs = (Date.now() - startedMs) / 1000;
  const rate = secs > 0 ? done / secs : 0;
  const eta = rate > 0 ? Math.round((total - done) / rate) : undefined;
  return `${label} [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(Math.round(f * 100)).padStart(3)}%  ${done}/${total} ${unit}  ${rate.toFixed(1)} ${unit}/s  ETA ${eta === undefined ? '?' : `${eta}s`}`;
}
