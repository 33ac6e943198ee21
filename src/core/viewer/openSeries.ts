/** The series a viewer shows for one opened file: its folder's series, in slice order. */
import { basename } from 'node:path';
import type { ViewerInit } from '../../protocol/viewer';
import { seriesOf } from '../dicom/series';
import type { SliceEntry } from './seriesSource';

/** Slices to serve plus the `viewer/init` message describing them. */
export interface OpenedSeries {
  entries: SliceEntry[];
  init: ViewerInit;
}

/**
 * The series of `path`'s folder that contains it (ordered along the slice normal), starting at the file.
 * Throws the file's own DicomError when the opened file is unreadable; other unreadable files in the
 * folder become warnings.
 */
export async function openSeriesFor(path: string): Promise<OpenedSeries> {
  const { series, index, skipped } = await seriesOf(path);
  const entries: SliceEntry[] = series.slices.map((s) => ({ path: s.path, frame: s.frame, position: s.position }));
  const warnings = [...series.warnings];
  if (skipped.length) {
    warnings.push(`${skipped.length} other file(s) in the folder skipped: ${skipped.slice(0, 3).map((s) => `${basename(s.path)} (${s.reason})`).join('; ')}${skipped.length > 3 ? '; …' : ''}`);
  }
  return {
    entries,
    init: {
      title: basename(path),
      slices: entries.map((e) => ({ name: basename(e.path), frame: e.frame, position: e.position })),
      initialIndex: Math.max(0, index),
      spacing: series.spacing,
      warnings,
    },
  };
}
