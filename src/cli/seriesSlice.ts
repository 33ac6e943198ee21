/** `render DIR --slice N`: the N-th slice of the folder's series, ordered along the slice normal. */
import { basename } from 'node:path';
import { loadImage, type LoadedImage } from '../core/dicom/load';
import { scanSeries } from '../core/dicom/series';
import { UsageError } from './args';
import type { CommandContext } from './context';

/**
 * Pick the series of `dir` (the one with the most slices when there are several — said on stderr) and
 * return its `slice`-th slice. Files that are not DICOM images are skipped with a note.
 */
export async function resolveSeriesSlice(dir: string, slice: number, ctx: CommandContext): Promise<{ image: LoadedImage; frame: number }> {
  const { series, skipped } = await scanSeries(dir);
  if (!series.length) {
    const why = skipped.length ? ` (${skipped.length} file(s) skipped, e.g. ${basename(skipped[0].path)}: ${skipped[0].reason})` : '';
    throw new UsageError(`${dir}: no DICOM image series in this folder${why}`, 1);
  }
  const chosen = series.reduce((a, b) => (b.slices.length > a.slices.length ? b : a));
  if (series.length > 1) ctx.stderr(`note: ${dir} holds ${series.length} series; using ${chosen.seriesInstanceUID} (${chosen.slices.length} slices)`);
  const ref = chosen.slices[slice];
  if (!ref) throw new UsageError(`${dir}: --slice ${slice} out of range (the series has ${chosen.slices.length} slices, numbered from 0)`, 1);
  return { image: await loadImage(ref.path), frame: ref.frame };
}
