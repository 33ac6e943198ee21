/** The series a viewer shows for one opened file: its folder's series, in slice order. */
import { basename } from 'node:path';
import type { ViewerInit } from '../../protocol/viewer';
import { isColour } from '../dicom/colour';
import type { SliceIdentity } from '../dicom/seg';
import { seriesOf } from '../dicom/series';
import type { SliceGeometry } from './reformat';
import type { SliceEntry } from './seriesSource';

/** Slices to serve plus the `viewer/init` message describing them. */
export interface OpenedSeries {
  entries: SliceEntry[];
  /** Per entry: the header geometry reformats are built from (reformat.ts SliceGeometry). */
  geometry: SliceGeometry[];
  init: ViewerInit;
  /** Per entry: what a DICOM SEG frame is matched to (seg.ts framesOnSlice). */
  identities: SliceIdentity[];
  /** DICOM SEG files in the folder (other series), candidates for the mask overlays (segOverlay.ts). */
  segmentations: string[];
  /**
   * The Photometric Interpretation of the series' colour images (RGB, YBR_FULL, PALETTE COLOR, …), when any of its
   * files is colour; undefined for a grey series.
   */
  colour?: string;
}

/**
 * The series of `path`'s folder that contains it (ordered along the slice normal), starting at the file.
 * Throws the file's own DicomError when the opened file is unreadable; other unreadable files in the
 * folder become warnings.
 */
export async function openSeriesFor(path: string): Promise<OpenedSeries> {
  const { series, index, skipped, segmentations } = await seriesOf(path);
  let entries: (SliceEntry & { geometry: SliceGeometry; identity: SliceIdentity })[] = series.slices.map((s) => {
    const info = series.entries[s.fileIndex].info;
    const geometry = { imagePositionPatient: info.imagePositionPatient, imageOrientationPatient: info.imageOrientationPatient, pixelSpacing: info.pixelSpacing, rows: info.rows, columns: info.columns };
    const identity: SliceIdentity = { sopInstanceUID: info.sopInstanceUID, ...(info.frames > 1 ? { frame: s.frame + 1 } : { imagePositionPatient: info.imagePositionPatient, imageOrientationPatient: info.imageOrientationPatient }) };
    return { path: s.path, frame: s.frame, position: s.position, geometry, identity };
  });
  let initialIndex = Math.max(0, index);
  // series.ts orders along the slice normal (for axial LPS: feet → head). Radiology viewers page axial
  // stacks head → feet, so an axial series is shown in reverse (the opened file stays the first shown).
  // Multi-frame files keep their stored frame order (their frames share one position here).
  if (series.orderedBy === 'position' && series.normal && Math.abs(series.normal[2]) > 0.5 && series.entries.every((e) => e.info.frames === 1)) {
    const opened = entries[initialIndex];
    entries = entries.slice().reverse();
    initialIndex = entries.indexOf(opened);
  }
  const colourFile = series.entries.find((e) => isColour(e.info));
  const warnings = [...series.warnings];
  if (skipped.length) {
    warnings.push(`${skipped.length} other file(s) in the folder skipped: ${skipped.slice(0, 3).map((s) => `${basename(s.path)} (${s.reason})`).join('; ')}${skipped.length > 3 ? '; …' : ''}`);
  }
  return {
    entries: entries.map(({ path: p, frame, position }) => ({ path: p, frame, position })),
    geometry: entries.map((e) => e.geometry),
    identities: entries.map((e) => e.identity),
    segmentations,
    ...(colourFile ? { colour: colourFile.info.photometricInterpretation } : {}),
    init: {
      title: basename(path),
      slices: entries.map((e) => ({ name: basename(e.path), frame: e.frame, position: e.position })),
      initialIndex,
      spacing: series.spacing,
      warnings,
    },
  };
}

/**
 * Why the viewer runs no model on a colour series: the detector and classifier were trained on grey CT slices
 * windowed from Hounsfield units (the bone window), and RGB samples or palette indices are neither.
 */
export function colourModelsNote(photometricInterpretation: string): string {
  return `not run on a colour series (${photometricInterpretation}): the models take grey CT slices windowed from Hounsfield units.`;
}
