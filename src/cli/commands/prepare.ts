import { parseWindowSpec } from '../../core/dicom/lut';
import type { Window } from '../../core/dicom/voi';
import { prepareRsna, PREPARE_DEFAULTS, type PrepareProgress, type PrepareSummary } from '../../core/dataset/prepare/prepare';
import { floatOption, ranged, UsageError } from '../args';
import type { CommandContext } from '../context';

export const prepareUsage = 'dicom-ml prepare --rsna DIR --out DIR [--window C,W|bone] [--imgsz N] [--cls-imgsz N] [--crop-imgsz N] [--min-box PX] [--val F] [--seed S] [--neg-ratio R] [--neg-from all|healthy] [--bg-ratio F] [--jobs N] [--limit N] [--png-level 0-9] [--force] [--json]';

/** Options of `prepare` for the COMMANDS table of src/cli/main.ts. */
export const prepareOptions: Record<string, { type: 'string' | 'boolean' }> = {
  rsna: { type: 'string' }, out: { type: 'string' }, window: { type: 'string' }, imgsz: { type: 'string' }, 'cls-imgsz': { type: 'string' },
  'crop-imgsz': { type: 'string' }, 'min-box': { type: 'string' },
  val: { type: 'string' }, seed: { type: 'string' }, 'neg-ratio': { type: 'string' }, 'neg-from': { type: 'string' }, 'bg-ratio': { type: 'string' },
  jobs: { type: 'string' }, limit: { type: 'string' }, 'png-level': { type: 'string' }, force: { type: 'boolean' },
};

const duration = (ms: number) => {
  const s = Math.round(ms / 1000);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

/** One line of progress: bar, slices, studies, rate, ETA. */
export function progressLine(p: PrepareProgress, width = 24): string {
  const f = p.slices > 0 ? Math.min(1, p.slicesDone / p.slices) : 0;
  const fill = Math.round(f * width);
  const rate = p.elapsedMs > 0 ? (p.slicesDone / p.elapsedMs) * 1000 : 0;
  const eta = p.phase === 'finalize' ? 'writing manifest' : `ETA ${p.etaMs === undefined ? '?' : duration(p.etaMs)}`;
  return `prepare [${'#'.repeat(fill)}${'.'.repeat(width - fill)}] ${String(Math.round(f * 100)).padStart(3)}%  ${p.slicesDone}/${p.slices} slices  ${p.studiesDone}/${p.studies} studies  ${rate.toFixed(1)} slices/s  ${eta}`;
}

/**
 * The class balance per split, as a small table for people: detection, classify/ (whole slices: normal,
 * fracture) and classify-vertebrae/ (crops: normal of the pool sampled from, fracture).
 */
export function balanceTable(summary: PrepareSummary): string[] {
  const head = ['split', 'studies', 'detect imgs', 'boxes', 'background', 'normal', 'fracture', 'fracture %', 'crop normal/pool', 'crop fracture'];
  const rows = (['train', 'val'] as const).map((s) => {
    const b = summary.balance[s];
    const n = b.normal + b.fracture;
    return [s, b.studies, b.detectImages, b.detectBoxes, b.detectBackground, b.normal, b.fracture, n ? ((100 * b.fracture) / n).toFixed(1) : '-', `${b.cropNormal}/${b.cropNormalPool}`, b.cropFracture].map(String);
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
}

/**
 * `dicom-ml prepare`: RSNA 2022 layout → detect/ (ultralytics), classify/ and classify-vertebrae/
 * (ImageFolder: whole slices, vertebra crops), manifest.jsonl and prepare.json in --out. Progress on stderr (a redrawn bar on a terminal, else a line per study); the class
 * balance per split at the end; `--json` prints prepare.json on stdout. Rerunning finishes only what is missing.
 */
export async function prepare(ctx: CommandContext): Promise<void> {
  const rsna = ctx.options.rsna;
  const out = ctx.options.out;
  if (typeof rsna !== 'string' || !rsna) throw new UsageError(`--rsna DIR is required\nusage: ${prepareUsage}`);
  if (typeof out !== 'string' || !out) throw new UsageError(`--out DIR is required\nusage: ${prepareUsage}`);
  if (ctx.positionals.length > 0) throw new UsageError(`unexpected argument "${ctx.positionals[0]}"\nusage: ${prepareUsage}`);
  let window: Window | undefined;
  if (ctx.options.window !== undefined) {
    try {
      window = parseWindowSpec(String(ctx.options.window));
    } catch (err) {
      throw new UsageError(`--window: ${(err as Error).message}`);
    }
  }
  const negFrom = ctx.options['neg-from'] ?? PREPARE_DEFAULTS.negFrom;
  if (negFrom !== 'all' && negFrom !== 'healthy') throw new UsageError(`--neg-from must be all or healthy, got "${String(negFrom)}"`);
  const options = {
    rsna, out, window,
    imgsz: ranged('imgsz', ctx.options.imgsz, PREPARE_DEFAULTS.imgsz, 32, 4096),
    clsImgsz: ranged('cls-imgsz', ctx.options['cls-imgsz'], PREPARE_DEFAULTS.clsImgsz, 16, 4096),
    cropImgsz: ranged('crop-imgsz', ctx.options['crop-imgsz'], PREPARE_DEFAULTS.cropImgsz, 16, 4096),
    minBox: ranged('min-box', ctx.options['min-box'], PREPARE_DEFAULTS.minBox, 0, 65535),
    val: floatOption('val', ctx.options.val, PREPARE_DEFAULTS.val, 0, 1),
    seed: ranged('seed', ctx.options.seed, PREPARE_DEFAULTS.seed, 0, 2 ** 32 - 1),
    negRatio: floatOption('neg-ratio', ctx.options['neg-ratio'], PREPARE_DEFAULTS.negRatio, 0, 1000),
    negFrom: negFrom as 'all' | 'healthy',
    bgRatio: floatOption('bg-ratio', ctx.options['bg-ratio'], PREPARE_DEFAULTS.bgRatio, 0, 1000),
    jobs: ranged('jobs', ctx.options.jobs, undefined, 1, 64),
    limit: ranged('limit', ctx.options.limit, undefined, 1, 1e9),
    pngLevel: ranged('png-level', ctx.options['png-level'], PREPARE_DEFAULTS.pngLevel, 0, 9),
    force: Boolean(ctx.options.force),
  };

  const tty = Boolean(process.stderr.isTTY);
  let drawn = false;
  const onProgress = (p: PrepareProgress) => {
    if (tty) {
      process.stderr.write(`\r${progressLine(p)}\x1b[K`);
      drawn = true;
      if (!p.failed) return;
      process.stderr.write('\n');
      drawn = false;
    }
    if (p.finished && !tty) {
      const d = p.finished.detect;
      const detect = d.status === 'written' ? `, detect via ${d.method} (bone ${Math.round((d.boneFraction ?? 0) * 100)}%)` : d.status === 'skipped' ? `, detect SKIPPED: ${d.reason}` : '';
      ctx.stderr(`[${p.studiesDone}/${p.studies}] ${p.finished.study}: ${p.finished.images} images${p.finished.reused ? ' (done before)' : ''}${detect}  ETA ${p.etaMs === undefined ? '?' : duration(p.etaMs)}`);
    }
    if (p.failed) ctx.stderr(`[${p.studiesDone}/${p.studies}] ${p.failed.study}: SKIPPED: ${p.failed.reason}`);
  };
  let summary: PrepareSummary;
  try {
    summary = await prepareRsna({ ...options, onProgress });
  } finally {
    if (drawn) process.stderr.write('\n');
  }
  if (ctx.json) ctx.stdout(JSON.stringify(summary));
  for (const line of balanceTable(summary)) ctx.stderr(line);
  for (const s of summary.skipped.slice(0, 20)) ctx.stderr(`skipped ${s.stage === 'detect' ? 'detection of ' : ''}${s.study}: ${s.reason}`);
  if (summary.skipped.length > 20) ctx.stderr(`… and ${summary.skipped.length - 20} more skipped (prepare.json lists all)`);
  for (const w of summary.warnings) ctx.stderr(`warning: ${w}`);
  const t = summary.timings;
  ctx.stderr(`wrote ${summary.images} images (${t.imagesWritten} this run, ${t.imagesPerSecond.toFixed(1)} images/s) to ${summary.out} in ${duration(t.totalMs)}; ${summary.detect.written}/${summary.detect.segmented} segmented studies in the detection set`);
}
