/**
 * The dataset plan, decided before any pixel is decoded: which studies go to train and val (by study,
 * stratified by segmentation/fracture boxes), which slices are classification positives (a fracture box
 * in train_bounding_boxes.csv, as in the paper) and which negatives are kept (undersampled per split to
 * --neg-ratio × positives, seeded). Detection slices depend on the masks and are decided per study.
 */
import { createHash } from 'node:crypto';
import type { ClassLabel } from './output';
import type { FractureBox, RsnaDataset, RsnaStudy } from './rsna';
import { sampleIndices, seededRandom, splitStudies, type Split } from './split';

/** Where classification negatives come from. */
export type NegativeSource = 'all' | 'healthy';

/** What the plan needs from the options. */
export interface PlanOptions {
  val: number;
  seed: number;
  negRatio: number;
  negFrom: NegativeSource;
  /** Only the first `limit` studies (by UID); undefined = all. */
  limit?: number;
}

/** One study's share of the plan. */
export interface StudyPlan {
  study: RsnaStudy;
  split: Split;
  /** Classification slices: slice number → label. */
  classify: Map<number, ClassLabel>;
}

/** Per-split counts known from the plan. */
export interface PlanSplitCounts {
  studies: number;
  segmented: number;
  positives: number;
  negativePool: number;
  negatives: number;
}

/** The whole plan. */
export interface DatasetPlan {
  studies: StudyPlan[];
  /** Studies left out before any work, with the reason (no images, missing slices, …). */
  excluded: { study: string; reason: string }[];
  counts: Record<Split, PlanSplitCounts>;
  /** SHA-256 of everything that decides the output; a rerun with another fingerprint is refused. */
  fingerprint: string;
}

/** Build the plan for `data` (pure: same input, same plan). */
export function makePlan(data: RsnaDataset, options: PlanOptions): DatasetPlan {
  const excluded = data.missing.map((m) => ({ study: m.study, reason: m.reason }));
  let studies = data.studies;
  if (options.limit !== undefined) studies = studies.slice(0, options.limit);
  const usable: RsnaStudy[] = [];
  for (const s of studies) {
    if (s.problems.length > 0) excluded.push({ study: s.uid, reason: s.problems.join('; ') });
    else usable.push(s);
  }
  const split = splitStudies(usable.map((s) => ({ uid: s.uid, stratum: `${s.segmentation ? 'seg' : 'noseg'}/${s.fractures.size > 0 ? 'boxes' : s.patientOverall ? 'fracture' : 'normal'}` })), options.val, options.seed);
  const plans: StudyPlan[] = usable.map((study) => ({ study, split: split.get(study.uid) as Split, classify: new Map() }));
  const counts = {} as Record<Split, PlanSplitCounts>;
  for (const side of ['train', 'val'] as const) {
    const mine = plans.filter((p) => p.split === side);
    let positives = 0;
    const pool: { plan: StudyPlan; slice: number }[] = [];
    for (const p of mine) {
      for (const sl of p.study.slices) {
        if (p.study.fractures.has(sl.number)) {
          p.classify.set(sl.number, 'fracture');
          positives++;
        } else if (options.negFrom === 'all' || p.study.patientOverall === 0) pool.push({ plan: p, slice: sl.number });
      }
    }
    const want = Math.round(positives * options.negRatio);
    const chosen = sampleIndices(pool.length, want, seededRandom(options.seed, 'negatives', side));
    for (const i of chosen) pool[i].plan.classify.set(pool[i].slice, 'normal');
    counts[side] = { studies: mine.length, segmented: mine.filter((p) => p.study.segmentation).length, positives, negativePool: pool.length, negatives: chosen.length };
  }
  const hash = createHash('sha256');
  for (const p of plans) {
    const boxes: [number, FractureBox[]][] = [...p.study.fractures.entries()].sort((a, b) => a[0] - b[0]);
    hash.update(JSON.stringify([p.study.uid, p.split, p.study.slices.length, p.study.slices.at(-1)?.number, p.study.segmentation ?? null, [...p.classify.entries()].sort((a, b) => a[0] - b[0]), boxes]));
    hash.update('\n');
  }
  excluded.sort((a, b) => a.study.localeCompare(b.study));
  return { studies: plans, excluded, counts, fingerprint: hash.digest('hex') };
}
