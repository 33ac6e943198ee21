import { basename } from 'node:path';
import { scanSeries } from '../../core/dicom/series';
import { required } from '../args';
import type { CommandContext } from '../context';

export const seriesUsage = 'dicom-ml series DIR [--recursive] [--json]';

/**
 * `dicom-ml series DIR`: the series found in a folder, in slice order, with spacing, gaps, duplicates and the
 * files that were skipped (and why) — the check to run on a folder before preparing or viewing it.
 */
export async function series(ctx: CommandContext): Promise<void> {
  const dir = required(ctx.positionals[0], 'DIR', seriesUsage);
  const scan = await scanSeries(dir, { recursive: Boolean(ctx.options.recursive) });
  const out = {
    dir,
    series: scan.series.map((s) => ({
      seriesInstanceUID: s.seriesInstanceUID,
      studyInstanceUID: s.studyInstanceUID ?? null,
      modality: s.modality ?? null,
      files: s.entries.length,
      slices: s.slices.length,
      rows: s.entries[0]?.info.rows ?? null,
      columns: s.entries[0]?.info.columns ?? null,
      orderedBy: s.orderedBy,
      normal: s.normal ?? null,
      spacing: s.spacing ?? null,
      first: s.slices.length ? basename(s.slices[0].path) : null,
      last: s.slices.length ? basename(s.slices[s.slices.length - 1].path) : null,
      gaps: s.gaps,
      duplicates: s.duplicates.map(([a, b]) => [basename(s.entries[a].path), basename(s.entries[b].path)]),
      warnings: s.warnings,
    })),
    skipped: scan.skipped.map((k) => ({ file: k.path, code: k.code, reason: k.reason })),
  };
  if (ctx.json) {
    ctx.stdout(JSON.stringify(out, null, 2));
    return;
  }
  if (!out.series.length) ctx.stdout(`${dir}: no DICOM image series`);
  for (const s of out.series) {
    ctx.stdout(`${s.seriesInstanceUID}  ${s.modality ?? '?'}  ${s.slices} slices (${s.files} files) ${s.columns}×${s.rows}  ordered by ${s.orderedBy}${s.spacing !== null ? `, spacing ${s.spacing.toFixed(3)} mm` : ''}  ${s.first} … ${s.last}`);
    for (const w of s.warnings) ctx.stdout(`  warning: ${w}`);
  }
  for (const k of out.skipped) ctx.stdout(`skipped ${k.file}: ${k.reason}`);
}
