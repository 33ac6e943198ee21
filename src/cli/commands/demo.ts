import { writeDemoSeries } from '../../core/dataset/demoSeries';
import { intOption, UsageError } from '../args';
import type { CommandContext } from '../context';

export const demoUsage = 'dicom-ml demo --out DIR [--slices N] [--size N] [--seed S] [--json]';

/** `dicom-ml demo`: a small deterministic synthetic CT neck series (the `npm start` and E2E data). */
export async function demo(ctx: CommandContext): Promise<void> {
  const out = ctx.options.out;
  if (typeof out !== 'string' || !out) throw new UsageError(`--out DIR is required\nusage: ${demoUsage}`);
  const slices = intOption('slices', ctx.options.slices as string | undefined, 40)!;
  const size = intOption('size', ctx.options.size as string | undefined, 256)!;
  const seed = intOption('seed', ctx.options.seed as string | undefined, 1)!;
  if (slices < 1 || slices > 1000) throw new UsageError(`--slices must be 1…1000, got ${slices}`);
  if (size < 32 || size > 1024) throw new UsageError(`--size must be 32…1024, got ${size}`);
  const series = await writeDemoSeries(out, { slices, size, seed });
  const summary = { out, files: series.files.length, rows: series.rows, columns: series.columns, seriesInstanceUID: series.seriesInstanceUID, sliceSpacing: series.sliceSpacing };
  if (ctx.json) ctx.stdout(JSON.stringify(summary));
  else ctx.stderr(`wrote ${series.files.length} slices of ${series.rows}×${series.columns} to ${out}`);
}
