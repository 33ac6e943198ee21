import { stat } from 'node:fs/promises';
import { loadImage, loadStored, type LoadedImage } from '../../core/dicom/load';
import { modalityValues, parseWindowSpec } from '../../core/dicom/lut';
import { encodePng, renderSlice } from '../../core/dicom/render';
import { PRESETS, isPresetName, type Window } from '../../core/dicom/voi';
import { writeFileAtomic } from '../../core/io/atomic';
import { intOption, required, UsageError } from '../args';
import type { CommandContext } from '../context';
import { resolveSeriesSlice } from '../seriesSlice';

export const renderUsage = 'dicom-ml render FILE|DIR --out F.png [--slice N] [--window C,W | --preset bone|soft|lung|brain|file] [--overlay boxes,gradcam] [--detector M.onnx] [--classifier M.onnx]';

/**
 * `dicom-ml render`: one slice windowed to 8-bit PNG. FILE: `--slice` is the frame (multi-frame files);
 * DIR: `--slice` indexes the folder's series ordered along the slice normal. Default window: bone 500/2000
 * (the paper's, and the viewer's default), so renders match what the editor shows.
 */
export async function render(ctx: CommandContext): Promise<void> {
  const target = required(ctx.positionals[0], 'FILE or DIR', renderUsage);
  const out = ctx.options.out;
  if (typeof out !== 'string' || !out) throw new UsageError(`--out F.png is required\nusage: ${renderUsage}`);
  if (ctx.options.overlay !== undefined || ctx.options.detector !== undefined || ctx.options.classifier !== undefined) {
    throw new UsageError('--overlay/--detector/--classifier need the inference module, which is not built yet (see the issues); render without them', 2);
  }
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
  const png = await encodePng(renderSlice(modalityValues(stored, image.info), stored, image.info, win));
  await writeFileAtomic(out, png);
  const summary = { file: image.path, frame, out, window: win, width: image.info.columns, height: image.info.rows };
  if (ctx.json) ctx.stdout(JSON.stringify(summary));
  else ctx.stderr(`wrote ${out}: ${image.path}${image.info.frames > 1 ? ` frame ${frame}` : ''}, window ${win.center}/${win.width}`);
}

function chooseWindow(ctx: CommandContext, image: LoadedImage): Window {
  const spec = (ctx.options.window ?? ctx.options.preset) as string | undefined;
  if (spec === undefined) return { ...PRESETS.bone };
  if (ctx.options.preset !== undefined && !isPresetName(spec.toLowerCase()) && spec.toLowerCase() !== 'file') {
    throw new UsageError(`--preset must be one of ${Object.keys(PRESETS).join(', ')}, file; got "${spec}"`);
  }
  try {
    return parseWindowSpec(spec, image.info);
  } catch (err) {
    throw new UsageError(`${ctx.options.window !== undefined ? '--window' : '--preset'}: ${(err as Error).message}${spec === 'file' ? ` (${image.path})` : ''}`, spec === 'file' ? 1 : 2);
  }
}

