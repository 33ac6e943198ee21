/**
 * `dicom-ml prepare` as a function: RSNA 2022 layout → detection set (ultralytics), classification sets
 * (ImageFolder: whole slices, and vertebra crops) and manifest.jsonl (ARCHITECTURE "Data flow" item 2,
 * "Two-stage design"). The CLI and the extension call {@link prepareRsna}; the benchmark too.
 *
 * Order of work: read the layout and CSVs (rsna.ts) → plan split and classification slices (plan.ts) →
 * refuse an output folder prepared with another configuration → reuse studies with a completion marker
 * whose files are all there → process the rest (study.ts), decoding in the decode pool → pick the vertebra
 * crop negatives across each split and write those not on disk yet (crops.ts) → manifest.jsonl,
 * detect/data.yaml, prepare.json last.
 */
import { availableParallelism } from 'node:os';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { DicomError } from '../../dicom/errors';
import { PRESETS, type Window } from '../../dicom/voi';
import { writeFileAtomic } from '../../io/atomic';
import { CROP_RULES, cropCounts, cropNegatives, writeNegatives, type CropSplitCounts } from './crops';
import {
  clearState, configChanges, dataYaml, FINAL_FILES, outputDirs, readConfig, readMarkers, SET_DIRS, sweepOrphans, writeConfig, writeManifest,
  type DetectOutcome, type ManifestLine, type PrepareConfig, type StudyMarker,
} from './output';
import { makePlan, type NegativeSource, type PlanSplitCounts } from './plan';
import { readRsna } from './rsna';
import { inProcessSource, poolSource, withOneVipsThread, type SliceSource } from './slices';
import type { Split } from './split';
import { lineOrder, processStudy, StudyFailure, type StudySettings } from './study';

/** Options of {@link prepareRsna}; defaults in {@link PREPARE_DEFAULTS}. */
export interface PrepareOptions {
  /** The RSNA layout folder. */
  rsna: string;
  /** Output folder (created). */
  out: string;
  /** Window in HU (default bone 500/2000, the paper's). */
  window?: Window;
  /** Detection image size: longest side, aspect kept (default 512). */
  imgsz?: number;
  /** Classification image size, square (default 224, the paper's). */
  clsImgsz?: number;
  /** Vertebra crop size, square (default 160: about the source resolution of a 1.25 × padded C-spine box). */
  cropImgsz?: number;
  /**
   * Drop vertebra boxes whose longer side is under this many source pixels from the detection labels and the
   * crops (default 0: keep all). Slices grazing an end plate give sliver boxes a small detector never finds.
   */
  minBox?: number;
  /** Fraction of studies for validation (default 0.2). */
  val?: number;
  seed?: number;
  /** Classification negatives per positive, per split, for classify/ and classify-vertebrae/ (default 1 = balanced). */
  negRatio?: number;
  /** Negatives from all studies (default) or only from studies with patient_overall = 0. */
  negFrom?: NegativeSource;
  /** Background (no vertebra) detection slices per labelled slice of a segmented study (default 0). */
  bgRatio?: number;
  /** Decode threads (default: all cores). */
  jobs?: number;
  /** Only the first N studies by UID. */
  limit?: number;
  /** Replace an output folder prepared with another configuration. */
  force?: boolean;
  /** Alignment check: labelled pixels above `boneHU` (default 200) must be ≥ `minBoneFraction` (default 0.5). */
  boneHU?: number;
  minBoneFraction?: number;
  /** PNG zlib level 0…9 (default 1: fast, like OpenCV's default). */
  pngLevel?: number;
  /** 'pool' (worker threads, default) or 'in-process'. */
  decoder?: 'pool' | 'in-process';
  onProgress?: (progress: PrepareProgress) => void;
}

/** Defaults of {@link PrepareOptions}. */
export const PREPARE_DEFAULTS = {
  window: PRESETS.bone, imgsz: 512, clsImgsz: 224, cropImgsz: 160, minBox: 0, val: 0.2, seed: 0, negRatio: 1, negFrom: 'all', bgRatio: 0,
  boneHU: 200, minBoneFraction: 0.5, pngLevel: 1,
} as const;

/** Progress of a run, for a progress bar. */
export interface PrepareProgress {
  phase: 'plan' | 'studies' | 'finalize';
  studies: number;
  studiesDone: number;
  /** Slices to decode (an estimate until every segmented study has been mapped). */
  slices: number;
  slicesDone: number;
  elapsedMs: number;
  etaMs?: number;
  /** Set when a study has just finished (or was found finished by an earlier run). */
  finished?: { study: string; images: number; detect: DetectOutcome; reused: boolean };
  /** Set when a study has just failed. */
  failed?: { study: string; reason: string };
}

/** Class balance of one split. */
export interface SplitBalance {
  studies: number;
  detectImages: number;
  detectBoxes: number;
  detectBackground: number;
  /** classify/ (whole slices). */
  normal: number;
  fracture: number;
  /** classify-vertebrae/: crops written, and the normal crops they were sampled from. */
  cropNormal: number;
  cropFracture: number;
  cropNormalPool: number;
}

/** prepare.json: what a run produced. */
export interface PrepareSummary {
  complete: true;
  out: string;
  rsna: string;
  options: Record<string, unknown>;
  images: number;
  balance: Record<Split, SplitBalance>;
  plan: Record<Split, PlanSplitCounts>;
  /** classify-vertebrae/: the rules it was made with, and counts per split and vertebra. */
  crops: { rules: typeof CROP_RULES; splits: Record<Split, CropSplitCounts> };
  studies: { planned: number; done: number; reused: number; skipped: number };
  detect: { segmented: number; written: number; skipped: number; affine: number; zRule: number; affineMatchesRule: number };
  /** Studies left out entirely, and studies whose detection images were not written. */
  skipped: { study: string; stage: 'study' | 'detect'; reason: string }[];
  warnings: string[];
  timings: { planMs: number; studiesMs: number; finalizeMs: number; totalMs: number; slicesDecoded: number; imagesWritten: number; imagesPerSecond: number };
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new DicomError('BAD_ARGUMENT', what);
}

const within = (parent: string, child: string) => {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !rel.startsWith(sep) && rel !== '..');
};

/** A counting semaphore: at most `n` tasks at once. */
function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    if (active >= n) await new Promise<void>((r) => waiting.push(r));
    active++;
    try {
      return await task();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

/** Options that decide the output (stored in .prepare/config.json), defaults applied and validated. */
interface OutputOptions {
  window: Window; imgsz: number; clsImgsz: number; cropImgsz: number; minBox: number; val: number; seed: number; negRatio: number; negFrom: NegativeSource;
  bgRatio: number; limit: number | null; boneHU: number; minBoneFraction: number; pngLevel: number;
}

/** Apply defaults and validate at the boundary; every refusal names the option and the value. */
function resolveOptions(options: PrepareOptions): { output: OutputOptions; jobs: number } {
  const d = PREPARE_DEFAULTS;
  const o: OutputOptions = {
    window: options.window ?? { ...d.window }, imgsz: options.imgsz ?? d.imgsz, clsImgsz: options.clsImgsz ?? d.clsImgsz,
    cropImgsz: options.cropImgsz ?? d.cropImgsz, minBox: options.minBox ?? d.minBox,
    val: options.val ?? d.val, seed: options.seed ?? d.seed, negRatio: options.negRatio ?? d.negRatio, negFrom: options.negFrom ?? d.negFrom,
    bgRatio: options.bgRatio ?? d.bgRatio, limit: options.limit ?? null, boneHU: options.boneHU ?? d.boneHU,
    minBoneFraction: options.minBoneFraction ?? d.minBoneFraction, pngLevel: options.pngLevel ?? d.pngLevel,
  };
  const jobs = options.jobs ?? availableParallelism();
  check(Number.isInteger(o.imgsz) && o.imgsz >= 32 && o.imgsz <= 4096, `imgsz must be a whole number in 32…4096 (got ${o.imgsz})`);
  check(Number.isInteger(o.clsImgsz) && o.clsImgsz >= 16 && o.clsImgsz <= 4096, `cls imgsz must be a whole number in 16…4096 (got ${o.clsImgsz})`);
  check(Number.isInteger(o.cropImgsz) && o.cropImgsz >= 16 && o.cropImgsz <= 4096, `crop imgsz must be a whole number in 16…4096 (got ${o.cropImgsz})`);
  check(Number.isInteger(o.minBox) && o.minBox >= 0 && o.minBox <= 65535, `min box must be a whole number of pixels in 0…65535 (got ${o.minBox})`);
  check(o.val >= 0 && o.val <= 1, `val must be a fraction in [0, 1] (got ${o.val})`);
  check(Number.isInteger(o.seed) && o.seed >= 0, `seed must be a whole number ≥ 0 (got ${o.seed})`);
  check(Number.isFinite(o.negRatio) && o.negRatio >= 0, `neg ratio must be a number ≥ 0 (got ${o.negRatio})`);
  check(Number.isFinite(o.bgRatio) && o.bgRatio >= 0, `bg ratio must be a number ≥ 0 (got ${o.bgRatio})`);
  check(o.negFrom === 'all' || o.negFrom === 'healthy', `neg from must be all or healthy (got ${String(o.negFrom)})`);
  check(Number.isInteger(jobs) && jobs >= 1 && jobs <= 64, `jobs must be a whole number in 1…64 (got ${jobs})`);
  check(o.limit === null || (Number.isInteger(o.limit) && o.limit >= 1), `limit must be a whole number ≥ 1 (got ${o.limit})`);
  check(Number.isInteger(o.pngLevel) && o.pngLevel >= 0 && o.pngLevel <= 9, `png level must be 0…9 (got ${o.pngLevel})`);
  check(o.minBoneFraction >= 0 && o.minBoneFraction <= 1, `minBoneFraction must be in [0, 1] (got ${o.minBoneFraction})`);
  check(Number.isFinite(o.boneHU), `boneHU must be a number (got ${o.boneHU})`);
  check(Number.isFinite(o.window.center) && o.window.width >= 1, `window must have a finite centre and a width ≥ 1 (got ${o.window.center}/${o.window.width})`);
  return { output: o, jobs };
}

/** Prepare the datasets; resolves with prepare.json's content. Throws DicomError on bad options or input. */
export async function prepareRsna(options: PrepareOptions): Promise<PrepareSummary> {
  const t0 = Date.now();
  const { output: o, jobs } = resolveOptions(options);
  const rsna = resolve(options.rsna);
  const out = resolve(options.out);
  if (within(join(rsna, 'train_images'), out) || within(join(rsna, 'segmentations'), out) || out === rsna) {
    throw new DicomError('BAD_ARGUMENT', 'the output folder must not be the RSNA folder or inside train_images/ or segmentations/ (sources are never written)', out);
  }
  const progress = (p: Omit<PrepareProgress, 'elapsedMs'>) => options.onProgress?.({ ...p, elapsedMs: Date.now() - t0 });

  // 1. Layout and plan.
  const data = await readRsna(rsna);
  const plan = makePlan(data, { val: o.val, seed: o.seed, negRatio: o.negRatio, negFrom: o.negFrom, limit: o.limit ?? undefined });
  const config: PrepareConfig = { version: 1, rsna, options: { ...o }, plan: plan.fingerprint };

  // 2. The output folder: ours with the same config, ours with another (refused unless --force), or new.
  const before = await readConfig(out);
  const changes = before ? configChanges(before, config) : [];
  const present = before ? [] : (await Promise.all(SET_DIRS.map(async (d) => ((await exists(join(out, d))) ? `${d}/` : '')))).filter(Boolean);
  const foreign = present.length > 0;
  if ((changes.length > 0 || foreign) && !options.force) {
    throw new DicomError('BAD_ARGUMENT', foreign
      ? `holds ${present.join(' and ')} not written by dicom-ml prepare; use another --out, or --force to replace ${present.length > 1 ? 'them' : 'it'}`
      : `was prepared with another configuration (${changes.join('; ')}); use another --out, or --force to replace it`, out);
  }
  if (changes.length > 0 || foreign) {
    await clearState(out);
    await Promise.all([...SET_DIRS, ...FINAL_FILES].map((p) => rm(join(out, p), { recursive: true, force: true })));
  }
  await Promise.all(FINAL_FILES.map((p) => rm(join(out, p), { force: true })));
  await mkdir(out, { recursive: true });
  await writeConfig(out, config);
  await Promise.all(outputDirs().map((d) => mkdir(join(out, d), { recursive: true })));
  const planMs = Date.now() - t0;

  // 3. Reuse finished studies whose files are all still there.
  const markers = await readMarkers(out);
  const finished = new Map<string, StudyMarker>();
  for (const p of plan.studies) {
    const m = markers.get(p.study.uid);
    if (!m || m.split !== p.split) continue;
    const present = await Promise.all(m.lines.flatMap((l) => [l.image, ...(l.labels ? [l.labels] : [])]).map((f) => exists(join(out, f))));
    if (present.every(Boolean)) finished.set(p.study.uid, m);
  }
  const todo = plan.studies.filter((p) => !finished.has(p.study.uid));

  // 4. Process the rest.
  const settings: StudySettings = { out, window: o.window, imgsz: o.imgsz, clsImgsz: o.clsImgsz, bgRatio: o.bgRatio, seed: o.seed, boneHU: o.boneHU, minBoneFraction: o.minBoneFraction, pngLevel: o.pngLevel, cropImgsz: o.cropImgsz, minBox: o.minBox };
  const source: SliceSource = options.decoder === 'in-process' ? inProcessSource() : poolSource(jobs);
  const perStudy = new Map<string, { done: number; total: number }>();
  for (const p of todo) perStudy.set(p.study.uid, { done: 0, total: p.classify.size + (p.study.segmentation ? Math.ceil(p.study.slices.length / 2) : 0) });
  const sums = () => {
    let done = 0;
    let total = 0;
    for (const v of perStudy.values()) { done += v.done; total += v.total; }
    return { done, total };
  };
  let studiesDone = 0;
  const t1 = Date.now();
  let lastTick = 0;
  const tick = (extra: Partial<PrepareProgress> = {}) => {
    const { done, total } = sums();
    const now = Date.now();
    if (!extra.finished && !extra.failed && now - lastTick < 100) return;
    lastTick = now;
    const rate = done / Math.max(1, now - t1);
    progress({ phase: 'studies', studies: plan.studies.length, studiesDone, slices: total, slicesDone: done, etaMs: done > 0 ? (total - done) / rate : undefined, ...extra });
  };
  for (const [uid, m] of finished) {
    studiesDone++;
    tick({ finished: { study: uid, images: m.lines.length, detect: m.detect, reused: true } });
  }
  const failures: { study: string; reason: string }[] = [];
  let slicesDecoded = 0;
  const runtime = {
    source,
    limit: limiter(source.parallel),
    onSlice: (study: string, done: number, total: number) => {
      const v = perStudy.get(study);
      if (v) { if (done > v.done) slicesDecoded++; v.done = done; v.total = total; }
      tick();
    },
  };
  const runStudy = limiter(3);
  let studiesMs = 0;
  let t2 = 0;
  let negatives: ManifestLine[] = [];
  let negativesWritten = 0;
  try {
    await withOneVipsThread(async () => {
      await Promise.all(todo.map((p) => runStudy(async () => {
        try {
          const m = await processStudy(p, settings, runtime);
          finished.set(p.study.uid, m);
          studiesDone++;
          tick({ finished: { study: p.study.uid, images: m.lines.length, detect: m.detect, reused: false } });
        } catch (err) {
          if (!(err instanceof StudyFailure)) throw err;
          failures.push({ study: p.study.uid, reason: err.message });
          const v = perStudy.get(p.study.uid);
          if (v) v.total = v.done;
          studiesDone++;
          tick({ failed: { study: p.study.uid, reason: err.message } });
        }
      })));
      studiesMs = Date.now() - t1;
      t2 = Date.now();
      progress({ phase: 'finalize', studies: plan.studies.length, studiesDone, slices: sums().total, slicesDone: sums().done });
      // 5. Vertebra crop negatives: sampled across each split's finished studies, so only now; a file already
      // there (a rerun after a kill) has the bytes it would get again.
      negatives = cropNegatives(plan, finished, { negRatio: o.negRatio, negFrom: o.negFrom, seed: o.seed, cropImgsz: o.cropImgsz });
      negativesWritten = await writeNegatives(negatives, { out, window: o.window, size: o.cropImgsz, level: o.pngLevel, source, limit: runtime.limit, exists: (rel) => exists(join(out, rel)) });
    });
  } finally {
    await source.close();
  }

  // 6. Final files, last: manifest, data.yaml, prepare.json.
  const negativesOf = new Map<string, ManifestLine[]>();
  for (const l of negatives) negativesOf.set(l.study, [...(negativesOf.get(l.study) ?? []), l]);
  const lines: ManifestLine[] = plan.studies.flatMap((p) => [...(finished.get(p.study.uid)?.lines ?? []), ...(negativesOf.get(p.study.uid) ?? [])].sort(lineOrder));
  const keep = new Set(lines.flatMap((l) => [l.image, ...(l.labels ? [l.labels] : [])]));
  await sweepOrphans(out, keep);
  await writeManifest(out, lines);
  const hasVal = lines.some((l) => l.set === 'detect' && l.split === 'val');
  await writeFileAtomic(join(out, 'detect', 'data.yaml'), dataYaml(join(out, 'detect'), hasVal));

  const balance = {} as Record<Split, SplitBalance>;
  for (const split of ['train', 'val'] as const) {
    const mine = lines.filter((l) => l.split === split);
    const detect = mine.filter((l) => l.set === 'detect');
    const whole = mine.filter((l) => l.set === 'classify');
    const crops = mine.filter((l) => l.set === 'classify-vertebrae');
    balance[split] = {
      studies: plan.studies.filter((p) => p.split === split && finished.has(p.study.uid)).length,
      detectImages: detect.length,
      detectBoxes: detect.reduce((n, l) => n + (l.boxes?.length ?? 0), 0),
      detectBackground: detect.filter((l) => (l.boxes?.length ?? 0) === 0).length,
      normal: whole.filter((l) => l.label === 'normal').length,
      fracture: whole.filter((l) => l.label === 'fracture').length,
      cropNormal: crops.filter((l) => l.label === 'normal').length,
      cropFracture: crops.filter((l) => l.label === 'fracture').length,
      cropNormalPool: 0,
    };
  }
  const cropSplits = cropCounts(plan, finished, lines, o.negFrom);
  for (const split of ['train', 'val'] as const) balance[split].cropNormalPool = Object.values(cropSplits[split].levels).reduce((n, v) => n + v.pool, 0);
  const done = [...finished.values()];
  const segmented = done.filter((m) => m.detect.status !== 'none');
  const skipped: PrepareSummary['skipped'] = [
    ...plan.excluded.map((e) => ({ study: e.study, stage: 'study' as const, reason: e.reason })),
    ...failures.map((f) => ({ study: f.study, stage: 'study' as const, reason: f.reason })),
    ...segmented.filter((m) => m.detect.status === 'skipped').map((m) => ({ study: m.study, stage: 'detect' as const, reason: m.detect.reason ?? '' })),
  ].sort((a, b) => a.study.localeCompare(b.study));
  const imagesWritten = todo.reduce((n, p) => n + (finished.get(p.study.uid)?.lines.length ?? 0), 0) + negativesWritten;
  const finalizeMs = Date.now() - t2;
  const summary: PrepareSummary = {
    complete: true, out, rsna, options: { ...o, jobs, decoder: options.decoder ?? 'pool' },
    images: lines.length, balance, plan: plan.counts, crops: { rules: CROP_RULES, splits: cropSplits },
    studies: { planned: plan.studies.length, done: finished.size, reused: plan.studies.length - todo.length, skipped: plan.excluded.length + failures.length },
    detect: {
      segmented: segmented.length,
      written: segmented.filter((m) => m.detect.status === 'written').length,
      skipped: segmented.filter((m) => m.detect.status === 'skipped').length,
      affine: segmented.filter((m) => m.detect.status === 'written' && m.detect.method === 'affine').length,
      zRule: segmented.filter((m) => m.detect.status === 'written' && m.detect.method === 'z-rule').length,
      affineMatchesRule: segmented.filter((m) => m.detect.affineMatchesRule).length,
    },
    skipped, warnings: data.warnings,
    timings: { planMs, studiesMs, finalizeMs, totalMs: Date.now() - t0, slicesDecoded, imagesWritten, imagesPerSecond: imagesWritten / Math.max(1e-3, studiesMs / 1000) },
  };
  summary.timings.totalMs = Date.now() - t0;
  await writeFileAtomic(join(out, 'prepare.json'), `${JSON.stringify(summary, null, 2)}\n`);
  return summary;
}

/** Lines of manifest.jsonl (for tests and tools). */
export async function readManifest(out: string): Promise<ManifestLine[]> {
  const { readFile } = await import('node:fs/promises');
  const text = await readFile(join(out, 'manifest.jsonl'), 'utf8');
  return text.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as ManifestLine);
}

/** Every file under the image and label folders of `out`, relative paths. */
export async function listOutputFiles(out: string): Promise<string[]> {
  const files: string[] = [];
  for (const dir of outputDirs()) for (const name of await readdir(join(out, dir)).catch(() => [] as string[])) files.push(`${dir}/${name}`);
  return files.sort();
}
