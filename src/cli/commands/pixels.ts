import { loadImage, loadModality } from '../../core/dicom/load';
import { writeFileAtomic } from '../../core/io/atomic';
import { intOption, required, UsageError } from '../args';
import type { CommandContext } from '../context';

export const pixelsUsage = 'dicom-ml pixels FILE --out F.f32 [--frame N] [--json]';

/** `dicom-ml pixels`: modality values (HU for CT) as Float32 little-endian, row-major, frames in order. */
export async function pixels(ctx: CommandContext): Promise<void> {
  const path = required(ctx.positionals[0], 'FILE', pixelsUsage);
  const out = ctx.options.out;
  if (typeof out !== 'string' || !out) throw new UsageError(`--out F.f32 is required\nusage: ${pixelsUsage}`);
  const image = await loadImage(path);
  const frame = intOption('frame', ctx.options.frame as string | undefined);
  if (frame !== undefined && frame >= image.info.frames) {
    throw new UsageError(`${path}: --frame ${frame} out of range (the file has ${image.info.frames} frame${image.info.frames === 1 ? '' : 's'}, numbered from 0)`, 1);
  }
  const frames = frame === undefined ? [...Array(image.info.frames).keys()] : [frame];
  const perFrame = image.info.rows * image.info.columns * image.info.samplesPerPixel;
  const all = new Float32Array(perFrame * frames.length);
  for (let k = 0; k < frames.length; k++) all.set(await loadModality(image, frames[k]), k * perFrame);
  // Float32Array is little-endian on every platform Node supports (x64, arm64); PS "LE" in the contract.
  await writeFileAtomic(out, new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
  const summary = { file: path, out, rows: image.info.rows, columns: image.info.columns, samplesPerPixel: image.info.samplesPerPixel, frames: frames.length, dtype: 'float32le', bytes: all.byteLength };
  if (ctx.json) ctx.stdout(JSON.stringify(summary));
  else ctx.stderr(`wrote ${out}: ${frames.length} frame(s) of ${image.info.rows}×${image.info.columns}${image.info.samplesPerPixel > 1 ? `×${image.info.samplesPerPixel}` : ''} float32 LE`);
}
