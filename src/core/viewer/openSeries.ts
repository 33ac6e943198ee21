/** The series a viewer shows for one opened file: its folder's series, in slice order. */
import { basename } from 'node:path';
import type { ViewerInit } from '../../protocol/viewer';
import { loadImage } from '../dicom/load';
import type { SliceEntry } from './seriesSource';

/** Slices to serve plus the `viewer/init` message describing them. */
export interface OpenedSeries {
  entries: SliceEntry[];
  init: ViewerInit;
}

/** TEMPORARY until series.ts lands: the opened file's frames only. */
export async function openSeriesFor(path: string): Promise<OpenedSeries> {
  const image = await loadImage(path);
  const entries = Array.from({ length: image.info.frames }, (_, frame) => ({ path, frame }));
  return {
    entries,
    init: { title: basename(path), slices: entries.map((e) => ({ name: basename(e.path), frame: e.frame })), initialIndex: 0, warnings: [] },
  };
}
