import { stat } from 'node:fs/promises';
import { loadImage, loadStored, type LoadedImage } from '../../core/dicom/load';
import { fileVoi, modalityValues, parseWindowSpec } from '../../core/dicom/lut';
import { encodePng, renderSlice } from '../../core/dicom/render';
import { PRESETS, isPresetName, type VoiLut, type Window } from '../../core/dicom/voi';
import { windowSlice } from '../../core/dataset/prepare/slices';
import { InferenceEngine, type SliceFindings } from '../../core/inference/engine';
import { overlayPng } from '../../core/inference/overlay';
import { writeFileAtomic } from '../../core/io/atomic';
import { intOption, required, UsageError } from '../args';
import type { CommandContext } from '../context';
import { resolveSeriesSlice } from '../seriesSlice';
import { modelPaths } from './infer';

export const renderUsage = 'dicom-ml render FILE|DIR --out F.png [--slice N] [--window C,W | --preset bone|soft|lung|brain|file (the file\'s own: its VOI LUT Sequence, else its window)] [--overlay boxes,gradcam] [--detector M.onnx] [--classifier M.onnx]  (colour images — RGB, YBR, PALETTE COLOR through its palette — give an RGB PNG, not windowed)';

/**
 * `dicom-ml render`: one slice windowed to 8-bit PNG. FILE: `--slice` is the frame (multi-frame files);
 * DIR: `--slice` indexes the folder's series ordered along the slice normal. Default window: bone 500/2000
 * (the paper's, and the viewer's default), so renders match what the editor shows.
 */
export async function render(ctx: CommandContext): Promise<void> {
  const target = required(ctx.positionals[0], 'FILE or DIR', renderUsage);
  const out = ctx.options.out;
  if (typeof out !== 'string' || !out) throw new UsageError(`--out F.png is required\nusage: ${renderUsage}`);
  const overlay = parseOverlay(ctx);
  if (ctx.options.window !== undefined && ctx.options.preset !== undefined) throw new UsageError('give --window or --preset, not both');
  const slice = intOption('slice', ctx.options.slice as string | undefined, 0)!;
  const isDir = await stat(target).then((s) => s.isDirectory(), () => false);
  let image: LoadedImage;
  let frame: number;
  if (isDir) {
    ({ image, frame } = await resolveSeriesSlice(target, slice, ctx));
  } else {
    image = await loadImage(target);
    if (slice >= image.info.frames) throw new UsageError(`${target}: --slice ${slice} out of range (the file has ${image.info.frames} frame${image.info.frames === 1 ? '' : 's'}; pass a folder to index a series)`, 1);
    frame = slice;
  }
  const win = chooseWindow(ctx, image);
  const stored = await loadStored(image, frame);
  const values = modalityValues(stored, image.info);
  const rendered = renderSlice(values, stored, image.info, win);
  let png: Buffer;
  let found: SliceFindings | undefined;
  if (overlay) {
    if (rendered.channels !== 1) throw new UsageError(`${image.path}: --overlay needs a grey (monochrome) image`, 1);
    const engine = await InferenceEngine.create({ ...modelPaths(ctx), gradcam: overlay.gradcam });
    try {
      for (const n of engine.notes) ctx.stderr(`note: ${n}`);
      const slice = { gray: windowSlice(values, image.info, engine.window), rows: image.info.rows, columns: image.info.columns };
      found = await engine.inferGray(slice, { file: image.path, frame, instance: image.info.instanceNumber });
    } finally {
      await engine.dispose();
    }
    if (overlay.gradcam && !found.heatmap) ctx.stderr('note: no Grad-CAM map (no classifier with a cam output, or no vertebra found for a crop classifier)');
    png = await overlayPng(rendered.data, found, overlay);
  } else {
    png = await encodePng(rendered);
  }
  await writeFileAtomic(out, png);
  const colour = rendered.channels === 3;
  const summary = {
    file: image.path, frame, out, window: colour || 'data' in win ? null : win, ...('data' in win && !colour ? { voiLut: { entries: win.data.length, firstMapped: win.firstMapped, bits: win.bits } } : {}), ...(colour ? { colour: image.info.photometricInterpretation } : {}), width: image.info.columns, height: image.info.rows,
    ...(found ? { vertebrae: found.vertebrae.map((v) => ({ name: v.name, conf: v.conf, box: v.box, ...(v.fracture !== undefined ? { fracture: v.fracture } : {}) })), fracture: found.fracture } : {}),
  };
  if (ctx.json) ctx.stdout(JSON.stringify(summary));
  else ctx.stderr(`wrote ${out}: ${image.path}${image.info.frames > 1 ? ` frame ${frame}` : ''}, ${colour ? `${image.info.photometricInterpretation} as RGB (no window)` : 'data' in win ? `the file's VOI LUT (${win.data.length} entries of ${win.bits} bits from ${win.firstMapped})` : `window ${win.center}/${win.width}`}${found ? `, ${found.vertebrae.length} vertebra box(es)${found.fracture !== null ? `, fracture probability ${found.fracture.toFixed(3)}` : ''}` : ''}`);
}

/** --overlay boxes,gradcam (either or both); --detector/--classifier alone imply the overlays they make. */
function parseOverlay(ctx: CommandContext): { boxes: boolean; gradcam: boolean } | undefined {
  const spec = ctx.options.overlay;
  if (spec === undefined) {
    if (ctx.options.detector !== undefined || ctx.options.classifier !== undefined) throw new UsageError('--detector/--classifier go with --overlay boxes,gradcam');
    return undefined;
  }
  const parts = String(spec).split(',').map((p) => p.trim()).filter(Boolean);
  const bad = parts.filter((p) => p !== 'boxes' && p !== 'gradcam');
  if (!parts.length || bad.length) throw new UsageError(`--overlay takes boxes, gradcam or boxes,gradcam${bad.length ? `; got "${bad.join(',')}"` : ''}`);
  return { boxes: parts.includes('boxes'), gradcam: parts.includes('gradcam') };
}

/** The window, or the file's VOI LUT for `--preset file` when the file has a VOI LUT Sequence (lut.ts fileVoi). */
function chooseWindow(ctx: CommandContext, image: LoadedImage): Window | VoiLut {
  const spec = (ctx.options.window ?? ctx.options.preset) as string | undefined;
  if (spec === undefined) return { ...PRESETS.bone };
  if (ctx.options.preset !== undefined && !isPresetName(spec.toLowerCase()) && spec.toLowerCase() !== 'file') {
    throw new UsageError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, file; got "${spec}"`);
  }
  try {
    return spec.trim().toLowerCase() === 'file' ? fileVoi(image.info) : parseWindowSpec(spec, image.info);
  } catch (err) {
    throw new UsageError(`${ctx.options.window !== undefined ? '--window' : '--preset'}: ${(err as Error).message}${spec === 'file' ? ` (${image.path})` : ''}`, spec === 'file' ? 1 : 2);
  }
}

