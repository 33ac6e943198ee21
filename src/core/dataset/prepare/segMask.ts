/**
 * A DICOM SEG as the vertebra ground truth of a study (issue 11 item 4), where a dataset ships
 * `segmentations/<StudyUID>.dcm` instead of the NIfTI mask: its segments named C1…C7 (label, or the segmented
 * property type's meaning: "C1", "C1 vertebra", "Vertebra C1"…; T1…T12 become 8…19 as in the RSNA masks) become
 * labels 1…7 of a label volume laid out on the study's own slices, so the rest of prepare (boxes, crops, the bone
 * check) and the viewer's ground truth run unchanged.
 *
 * A frame lands on the slice it was derived from (Source Image Sequence), else on the slice at its plane position
 * (seg.ts framesOnSlice). FRACTIONAL frames count where the value is at least half the maximum. Where segments
 * overlap, the later frame wins. Nothing is resampled: a SEG on another pixel grid is refused with the reason.
 */
import { formatUserError } from '../../dicom/errors';
import { loadImage } from '../../dicom/load';
import { framesOnSlice, readSegmentation, segmentFrame, type Segment } from '../../dicom/seg';
import type { LabelVolume, MaskMapping, SliceGeometry } from './maskMap';

/** RSNA mask label of a segment: C1…C7 → 1…7, T1…T12 → 8…19, anything else undefined. */
export function vertebraLabel(segment: Segment): number | undefined {
  for (const text of [segment.label, segment.type, segment.description]) {
    const m = text ? /(?:^|[^A-Za-z0-9])([CT])\s?(\d{1,2})(?![0-9])/i.exec(text) : null;
    if (!m) continue;
    const n = Number(m[2]);
    if (m[1].toUpperCase() === 'C' && n >= 1 && n <= 7) return n;
    if (m[1].toUpperCase() === 'T' && n >= 1 && n <= 12) return 7 + n;
  }
  return undefined;
}

/** The SEG's vertebrae as a label volume over `geometry` (slice_number order) with its one mapping, or why not. */
export async function segLabelVolume(path: string, geometry: readonly SliceGeometry[]): Promise<{ volume: LabelVolume; mapping: MaskMapping; notes: string[]; rows: number; columns: number } | { reason: string; notes?: string[] }> {
  if (geometry.length === 0) return { reason: 'no slices' };
  const { rows, columns } = geometry[0];
  const notes: string[] = [];
  try {
    const image = await loadImage(path);
    const seg = readSegmentation(image);
    if (seg.rows !== rows || seg.columns !== columns) return { reason: `the SEG is ${seg.rows}×${seg.columns}, the slices ${rows}×${columns} (resampling a SEG is not supported)` };
    const labelOf = new Map<number, number>();
    for (const s of seg.segments) {
      const label = vertebraLabel(s);
      if (label !== undefined) labelOf.set(s.number, label);
    }
    const ignored = seg.segments.filter((s) => s.number > 0 && !labelOf.has(s.number)).map((s) => `${s.number} "${s.label}"`);
    if (ignored.length > 0) notes.push(`segments not named after a vertebra, ignored: ${ignored.join(', ')}`);
    if (labelOf.size === 0) return { reason: `no segment is named C1…C7 or T1…T12 (segments: ${seg.segments.map((s) => `"${s.label}"`).join(', ')})`, notes };
    const labels = new Uint8Array(rows * columns * geometry.length);
    const placed = new Set<number>();
    for (let k = 0; k < geometry.length; k++) {
      const g = geometry[k];
      for (const frame of framesOnSlice(seg, { sopInstanceUID: g.sopInstanceUID, imagePositionPatient: g.imagePositionPatient, imageOrientationPatient: g.imageOrientationPatient })) {
        const label = frame.segment !== undefined ? labelOf.get(frame.segment) : undefined;
        if (seg.type !== 'LABELMAP' && label === undefined) { placed.add(frame.index); continue; }
        const values = await segmentFrame(image, seg, frame.index);
        const out = labels.subarray(k * rows * columns, (k + 1) * rows * columns);
        for (let i = 0; i < values.length; i++) {
          const v = values[i];
          if (seg.type === 'LABELMAP') { const l = labelOf.get(v); if (l !== undefined) out[i] = l; } else if (v >= 0.5) out[i] = label as number;
        }
        placed.add(frame.index);
      }
    }
    const unplaced = seg.frames.length - placed.size;
    if (placed.size === 0) return { reason: `none of the SEG's ${seg.frames.length} frames references a slice of the study (by SOP Instance UID or plane position)`, notes };
    if (unplaced > 0) notes.push(`${unplaced} of ${seg.frames.length} SEG frames reference no slice of the study, ignored`);
    notes.push(`DICOM SEG (${seg.type.toLowerCase()}): ${placed.size} frames on ${geometry.length} slices, segments ${[...labelOf.values()].sort((a, b) => a - b).join(', ')}`);
    const mapping: MaskMapping = {
      method: 'seg-reference',
      slices: geometry.map((_, k) => ({ base: [0, 0, k], dcol: [1, 0, 0], drow: [0, 1, 0] })),
      sliceAxis: 2,
    };
    return { volume: { dims: [columns, rows, geometry.length], labels }, mapping, notes, rows, columns };
  } catch (err) {
    return { reason: `segmentation unreadable: ${formatUserError(err)}`, notes };
  }
}
