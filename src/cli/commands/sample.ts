import { writeDataset, type DatasetProgress } from '../../core/dataset/phantom/writer';
import type { SliceSyntax } from '../../core/dicom/encode/part10';
import { intOption, UsageError } from '../args';
import type { CommandContext } from '../context';

/** One-line usage of `dicom-ml sample` (for --help and usage errors). */
export const sampleUsage = 'dicom-ml sample --out DIR [--studies N] [--seed S] [--size N] [--slices MIN-MAX] '
  + '[--syntax native|rle|jpeg-lossless] [--fracture-rate F] [--segmentation-rate F] [--json]';

/**
 * Defaults, and why:
 * - 8 studies: enough to see every kind of variation (slice direction, storage, fractures at several
 *   levels, some studies without a mask) in a minute or two on a laptop.
 * - 512 × 512: what RSNA 2022 and the paper use (YOLO imgsz 512), so boxes and pixel spacings are realistic;
 *   pass --size 256 for a 4× smaller, faster set.
 * - 100–400 slices: the spacing then follows the real 0.5–1.25 mm choices (RSNA studies have ~100–800).
 * - JPEG lossless SV1: how most RSNA 2022 slices are stored, so readers meet the real decoding path
 *   (and it is ~2× smaller on disk than native).
 */
export const SAMPLE_DEFAULTS = { studies: 8, seed: 1, size: 512, slices: [100, 400] as [number, number], syntax: 'jpeg-lossless' as SliceSyntax, fractureRate: 0.5, segmentationRate: 0.6 };

const SYNTAXES: readonly SliceSyntax[] = ['native', 'rle', 'jpeg-lossless'];

function rateOption(name: string, value: string | boolean | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const v = Number(value);
  if (typeof value !== 'string' || !/^\s*(\d+\.?\d*|\.\d+)\s*$/.test(value) || !(v >= 0 && v <= 1)) throw new UsageError(`--${name} must be a number from 0 to 1, got "${String(value)}"`);
  return v;
}

function slicesOption(value: string | boolean | undefined): [number, number] {
  if (value === undefined) return SAMPLE_DEFAULTS.slices;
  const m = typeof value === 'string' ? /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(value) : null;
  if (!m) throw new UsageError(`--slices must be N or MIN-MAX (e.g. 100-300), got "${String(value)}"`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 16 || hi > 2000 || lo > hi) throw new UsageError(`--slices must lie within 16…2000 with MIN ≤ MAX, got "${value}"`);
  return [lo, hi];
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s % 60)).padStart(2, '0')}`;
}

/** `dicom-ml sample`: a synthetic RSNA 2022-layout cervical-spine CT data set (see core/dataset/phantom). */
export async function sample(ctx: CommandContext): Promise<void> {
  const out = ctx.options.out;
  if (typeof out !== 'string' || !out) throw new UsageError(`--out DIR is required\nusage: ${sampleUsage}`);
  const studies = intOption('studies', ctx.options.studies as string | undefined, SAMPLE_DEFAULTS.studies)!;
  const seed = intOption('seed', ctx.options.seed as string | undefined, SAMPLE_DEFAULTS.seed)!;
  const size = intOption('size', ctx.options.size as string | undefined, SAMPLE_DEFAULTS.size)!;
  const slices = slicesOption(ctx.options.slices);
  const syntax = (ctx.options.syntax ?? SAMPLE_DEFAULTS.syntax) as SliceSyntax;
  const fractureRate = rateOption('fracture-rate', ctx.options['fracture-rate'], SAMPLE_DEFAULTS.fractureRate);
  const segmentationRate = rateOption('segmentation-rate', ctx.options['segmentation-rate'], SAMPLE_DEFAULTS.segmentationRate);
  if (studies < 1 || studies > 100000) throw new UsageError(`--studies must be 1…100000, got ${studies}`);
  if (seed > 2 ** 32 - 1) throw new UsageError(`--seed must be 0…${2 ** 32 - 1}, got ${seed}`);
  if (size < 32 || size > 1024) throw new UsageError(`--size must be 32…1024, got ${size}`);
  if (!SYNTAXES.includes(syntax)) throw new UsageError(`--syntax must be one of ${SYNTAXES.join(', ')}, got "${String(syntax)}"`);

  const started = performance.now();
  // A redrawn bar needs the raw stream, so it is drawn only when stderr is a terminal; otherwise (logs, CI,
  // tests) one plain line per study goes through ctx.stderr.
  const tty = Boolean(process.stderr.isTTY) && !ctx.json;
  let lastDraw = 0;
  const onProgress = (p: DatasetProgress) => {
    const elapsed = (performance.now() - started) / 1000;
    if (p.record) {
      if (tty) process.stderr.write('\r\x1b[2K');
      const r = p.record;
      const what = p.skipped ? 'already complete, skipped' : `${r.slices} slices, ${r.rows}×${r.columns}, ${r.sliceSpacing} mm, fractures ${r.labels.map((v, i) => (v ? `C${i + 1}` : '')).filter(Boolean).join(' ') || 'none'}${r.hasSegmentation ? ', mask' : ''}`;
      if (!ctx.json) ctx.stderr(`study ${p.study}/${p.studies} ${r.studyInstanceUID}: ${what}`);
      return;
    }
    if (!tty || performance.now() - lastDraw < 100) return;
    lastDraw = performance.now();
    const frac = p.total ? p.done / p.total : 1;
    const eta = frac > 0 ? (elapsed / frac) * (1 - frac) : Number.NaN;
    const width = 30;
    const bar = '█'.repeat(Math.round(frac * width)).padEnd(width, '░');
    process.stderr.write(`\r\x1b[2K${bar} ${(frac * 100).toFixed(0).padStart(3)}%  study ${p.study}/${p.studies} slice ${p.slice}/${p.slices}  ${formatSeconds(elapsed)} elapsed, ETA ${formatSeconds(eta)}`);
  };
  const result = await writeDataset(out, { studies, seed, size, slices, syntax, fractureRate, segmentationRate, subsamples: 2 }, onProgress);
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  const positives = result.records.filter((r) => r.patientOverall).length;
  const summary = {
    out, studies, written: result.written, skipped: result.skipped, positives,
    boxes: result.records.reduce((n, r) => n + r.boxes.length, 0),
    segmentations: result.records.filter((r) => r.hasSegmentation).length,
    slices: result.records.reduce((n, r) => n + r.slices, 0), size, syntax, seed, seconds,
  };
  if (ctx.json) ctx.stdout(JSON.stringify(summary));
  else ctx.stderr(`wrote ${summary.written} studies (${summary.skipped} already complete) to ${out} in ${seconds} s: ${positives} with fractures, ${summary.boxes} fracture boxes, ${summary.segmentations} segmentations`);
}
