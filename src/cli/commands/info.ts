import { TS_NAMES } from '../../core/dicom/uids';
import { loadImage } from '../../core/dicom/load';
import { isSegmentation, readSegmentation } from '../../core/dicom/seg';
import { required } from '../args';
import type { CommandContext } from '../context';

export const infoUsage = 'dicom-ml info FILE [--json]';

/** `dicom-ml info FILE`: the image attributes of ARCHITECTURE's CLI contract. */
export async function info(ctx: CommandContext): Promise<void> {
  const path = required(ctx.positionals[0], 'FILE', infoUsage);
  const image = await loadImage(path);
  const { info: i, file } = image;
  const seg = isSegmentation(image) ? readSegmentation(image) : undefined;
  const out = {
    file: path,
    rows: i.rows,
    columns: i.columns,
    frames: i.frames,
    transferSyntaxUID: i.transferSyntaxUID,
    transferSyntax: TS_NAMES[i.transferSyntaxUID] ?? 'unknown',
    modality: i.modality ?? null,
    photometricInterpretation: i.photometricInterpretation,
    samplesPerPixel: i.samplesPerPixel,
    bitsAllocated: i.bitsAllocated,
    bitsStored: i.bitsStored,
    highBit: i.highBit,
    pixelRepresentation: i.pixelRepresentation,
    rescaleSlope: i.rescaleSlope,
    rescaleIntercept: i.rescaleIntercept,
    // The Modality LUT Sequence replaces the rescale when present: entries, first stored value mapped, bits.
    modalityLut: i.modalityLut ? { entries: i.modalityLut.data.length, firstMapped: i.modalityLut.firstMapped, bits: i.modalityLut.bits, explanation: i.modalityLut.explanation ?? null } : null,
    // PALETTE COLOR: the palette's entries, first stored value mapped, entry width (as stored) and whether it was segmented.
    palette: i.palette ? { entries: i.palette.red.length, firstMapped: i.palette.first, bits: i.palette.bits, descriptorBits: i.palette.descriptorBits, segmented: i.palette.segmented } : null,
    // The VOI LUT Sequence: the file's own display mapping (render --preset file), or why it cannot be applied.
    voiLut: i.voiLut ? { entries: i.voiLut.data.length, firstMapped: i.voiLut.firstMapped, bits: i.voiLut.bits, explanation: i.voiLut.explanation ?? null }
      : i.voiLutProblem ? { problem: i.voiLutProblem } : null,
    windowCenter: i.windowCenter ?? null,
    windowWidth: i.windowWidth ?? null,
    pixelPaddingValue: i.pixelPaddingValue ?? null,
    pixelSpacing: i.pixelSpacing ?? null,
    sliceThickness: i.sliceThickness ?? null,
    imagePositionPatient: i.imagePositionPatient ?? null,
    imageOrientationPatient: i.imageOrientationPatient ?? null,
    instanceNumber: i.instanceNumber ?? null,
    seriesInstanceUID: i.seriesInstanceUID ?? null,
    studyInstanceUID: i.studyInstanceUID ?? null,
    hasPreamble: file.hasPreamble,
    // DICOM SEG: its segments and, per frame, the segment and the source image it was derived from.
    segmentation: seg ? {
      type: seg.type, fractionalType: seg.fractionalType ?? null, maxFractional: seg.maxFractional ?? null,
      segments: seg.segments, frames: seg.frames, referencedSeries: seg.referencedSeries,
    } : null,
    warnings: file.warnings,
  };
  if (ctx.json) {
    ctx.stdout(JSON.stringify(out, null, 2));
    return;
  }
  const width = Math.max(...Object.keys(out).map((k) => k.length));
  for (const [k, v] of Object.entries(out)) {
    if (v === null || (Array.isArray(v) && v.length === 0)) continue;
    if (k === 'segmentation' && seg) {
      const sources = new Set(seg.frames.map((f) => f.source?.sopInstanceUID).filter(Boolean)).size;
      ctx.stdout(`${k.padEnd(width)}  ${seg.type}${seg.fractionalType ? ` (${seg.fractionalType}, max ${seg.maxFractional})` : ''}, ${seg.frames.length} frames on ${sources} source images`);
      for (const g of seg.segments) {
        const what = [g.type, g.category, g.algorithmType].filter(Boolean).join(', ');
        ctx.stdout(`${`segment ${g.number}`.padEnd(width)}  ${g.label}${what ? ` (${what})` : ''}: ${seg.frames.filter((f) => f.segment === g.number).length} frames`);
      }
      continue;
    }
    const shown = Array.isArray(v) ? v.join(k === 'warnings' ? '; ' : ', ')
      : typeof v === 'object' ? Object.entries(v).filter(([, x]) => x !== null).map(([a, x]) => `${a} ${String(x)}`).join(', ') : String(v);
    ctx.stdout(`${k.padEnd(width)}  ${shown}`);
  }
}
