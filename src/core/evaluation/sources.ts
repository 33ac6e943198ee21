/**
 * Where an evaluated image came from: the prepared dataset's manifest.jsonl (ARCHITECTURE "Data flow" 2)
 * maps each PNG to its study, slice and source DICOM — what lets a panel open the slice behind an error.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { ManifestLine } from '../dataset/prepare/output';

/** The source of one image, as predictions.jsonl carries it. */
export interface ImageSource {
  study: string;
  slice: number;
  dicom: string;
  vertebra?: string;
  /** classify-vertebrae: the crop square and the vertebra box in slice pixels. */
  crop?: ManifestLine['crop'];
  box?: ManifestLine['box'];
}

/**
 * Find manifest.jsonl in `from` or a parent folder (up to 3 levels: data.yaml sits in OUT/detect/, crops in
 * OUT/classify-vertebrae/), keyed by absolute image path. Empty when there is none (foreign datasets).
 */
export async function loadSources(from: string): Promise<{ manifest?: string; byImage: Map<string, ImageSource> }> {
  let dir = resolve(from);
  for (let i = 0; i < 4; i++) {
    const file = join(dir, 'manifest.jsonl');
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      const byImage = new Map<string, ImageSource>();
      text.split('\n').forEach((l, n) => {
        if (!l.trim()) return;
        let m: ManifestLine;
        try {
          m = JSON.parse(l) as ManifestLine;
        } catch {
          throw new Error(`${file}:${n + 1}: not JSON`);
        }
        byImage.set(join(dir, m.image), { study: m.study, slice: m.slice, dicom: m.dicom, ...(m.vertebra ? { vertebra: m.vertebra, crop: m.crop, box: m.box } : {}) });
      });
      return { manifest: file, byImage };
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return { byImage: new Map() };
}
