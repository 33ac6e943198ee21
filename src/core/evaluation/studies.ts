/**
 * Per-study scores from a vertebra-crop classifier's evaluation: each study's crops (slice, vertebra,
 * fracture probability) fused into C1–C7 and patient probabilities by the RSNA fusion (metrics/rsna.ts, max
 * over a vertebra's slices), with the study-level truth the crop labels give (a vertebra is fractured when
 * any of its crops is labelled so) and the RSNA 2022 metric over the studies. Whole-slice evaluations have no
 * vertebra per image: nothing to fuse.
 */
import { fuseStudy, rsnaScore, type RsnaTruth, type SliceResult } from '../metrics/rsna';
import type { ClassifyPrediction } from './evalFolder';

export interface StudyScores {
  study: string;
  /** Fused fracture probability C1…C7 (null: no crop of that vertebra in the evaluation). */
  vertebrae: (number | null)[];
  patient: number;
  /** Truth from the crop labels, C1…C7 (null: no crop), and the patient (any). */
  truth: (0 | 1 | null)[];
  truthPatient: 0 | 1;
}

const VERTEBRA = /^C([1-7])$/;

/** Studies with their fused scores and the RSNA metric (undefined when no image names a vertebra and a study). */
export function studyFusion(lines: readonly ClassifyPrediction[], positive = 1): { studies: StudyScores[]; rsna?: number } | undefined {
  const byStudy = new Map<string, ClassifyPrediction[]>();
  for (const l of lines) {
    if (!l.study || l.slice === undefined || !l.vertebra || !VERTEBRA.test(l.vertebra)) continue;
    const list = byStudy.get(l.study) ?? [];
    list.push(l);
    byStudy.set(l.study, list);
  }
  if (!byStudy.size) return undefined;
  const studies: StudyScores[] = [];
  for (const [study, crops] of [...byStudy].sort((a, b) => a[0].localeCompare(b[0]))) {
    const slices = new Map<number, SliceResult>();
    const truth: (0 | 1 | null)[] = Array(7).fill(null);
    for (const c of crops) {
      const v = Number(VERTEBRA.exec(c.vertebra as string)?.[1]) - 1;
      const s = slices.get(c.slice as number) ?? { slice: c.slice as number, vertebrae: [] };
      s.vertebrae.push({ vertebra: v, conf: 1, fracture: c.probability });
      slices.set(c.slice as number, s);
      truth[v] = c.label === positive ? 1 : (truth[v] ?? 0);
    }
    const fused = fuseStudy(study, [...slices.values()]);
    studies.push({
      study, patient: fused.patient, truth, truthPatient: truth.some((t) => t === 1) ? 1 : 0,
      vertebrae: fused.vertebrae.map((v, i) => (truth[i] === null ? null : v.probability)),
    });
  }
  const truthRows: RsnaTruth[] = studies.map((s) => ({ study: s.study, patient_overall: s.truthPatient, C: s.truth.map((t) => t ?? 0) }));
  const preds = studies.map((s) => ({ study: s.study, vertebrae: s.vertebrae.map((v) => v ?? 0.5), patient: s.patient }));
  return { studies, rsna: rsnaScore(truthRows, preds).score };
}
