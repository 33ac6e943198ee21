import { loadImage, loadPixelArray, loadStored } from '../../core/dicom/load';
import { applyPalette } from '../../core/dicom/palette';
import { writeFileAtomic } from '../../core/io/atomic';
import { intOption, required, UsageError } from '../args';
import type { CommandContext } from '../context';

export const pixelsUsage = 'dicom-ml pixels FILE --out F.f32 [--frame N] [--palette] [--json]  (Float32 LE; grey: modality values rows×columns; colour: RGB rows×columns×3 interleaved, YBR as RGB; PALETTE COLOR: indices, or RGB with --palette)';

/**
 * `dicom-ml pixels`: what pydicom 3 gives for the file — `apply_modality_lut(ds.pixel_array, ds)` — as Float32
 * little-endian, row-major, frames in order. Grey: modality values (HU for CT), rows×columns per frame. Colour:
 * rows×columns×3, R G B per pixel (YBR_FULL / YBR_FULL_422 converted to RGB, as pixel_array does by default).
 * PALETTE COLOR: the palette indices, or with `--palette` the palette's RGB entries rows×columns×3 (as pydicom's
 * `apply_color_lut`: 8- or 16-bit entry values).
 */
export async function pixels(ctx: CommandContext): Promise<void> {
  const path = required(ctx.positionals[0], 'FILE', pixelsUsage);
  const out = ctx.options.out;
  if (typeof out !== 'string' || !out) throw new UsageError(`--out F.f32 is required\nusage: ${pixelsUsage}`);
  const image = await loadImage(path);
  const { info } = image;
  const palette = ctx.options.palette === true;
  if (palette && !info.palette) throw new UsageError(`${path}: --palette applies to PALETTE COLOR images; this one is ${info.photometricInterpretation}`, 1);
  const frame = intOption('frame', ctx.options.frame as string | undefined);
  if (frame !== undefined && frame >= info.frames) {
    throw new UsageError(`${path}: --frame ${frame} out of range (the file has ${info.frames} frame${info.frames === 1 ? '' : 's'}, numbered from 0)`, 1);
  }
  const frames = frame === undefined ? [...Array(info.frames).keys()] : [frame];
  const samples = palette ? 3 : info.samplesPerPixel;
  const perFrame = info.rows * info.columns * samples;
  const all = new Float32Array(perFrame * frames.length);
  for (let k = 0; k < frames.length; k++) {
    const values = palette && info.palette ? applyPalette(await loadStored(image, frames[k]), info.palette) : await loadPixelArray(image, frames[k]);
    all.set(values, k * perFrame);
  }
  // Float32Array is little-endian on every platform Node supports (x64, arm64); PS "LE" in the contract.
  await writeFileAtomic(out, new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
  const channels = samples === 3 ? 'RGB' : info.photometricInterpretation === 'PALETTE COLOR' ? 'palette index' : 'modality';
  const summary = { file: path, out, rows: info.rows, columns: info.columns, samplesPerPixel: samples, channels, photometricInterpretation: info.photometricInterpretation, frames: frames.length, dtype: 'float32le', bytes: all.byteLength };
  if (ctx.json) ctx.stdout(JSON.stringify(summary));
  else ctx.stderr(`wrote ${out}: ${frames.length} frame(s) of ${info.rows}×${info.columns}${samples > 1 ? `×${samples} (${channels} interleaved)` : ''} float32 LE`);
}
