/** File access for the DICOM core: read a file, parse it, and name the file in every error. */
import { refuseColourValues } from './colour';
import { DicomError } from './errors';
import { readImageInfo, type ImageInfo } from './image';
import { modalityValues } from './lut';
import { parseDicom, type DicomFile } from './parse';
import { decodeFrame, type StoredPixels } from './pixels';
import { readInputFile } from '../io/read';

/** A parsed image file and its validated pixel attributes. */
export interface LoadedImage {
  path: string;
  file: DicomFile;
  info: ImageInfo;
}

/** Read and parse `path`; errors are {@link DicomError}s naming the file. */
export async function loadImage(path: string): Promise<LoadedImage> {
  const bytes = await readInputFile(path);
  try {
    const file = parseDicom(bytes, path);
    return { path, file, info: readImageInfo(file, path) };
  } catch (err) {
    throw err instanceof DicomError ? err.withFile(path) : err;
  }
}

/** Stored values of one frame, errors naming the file. */
export async function loadStored(image: LoadedImage, frame = 0): Promise<StoredPixels> {
  try {
    return await decodeFrame(image.file, image.info, frame);
  } catch (err) {
    throw err instanceof DicomError ? err.withFile(image.path) : err;
  }
}

/**
 * Modality values (HU for CT) of one frame as Float32, row-major. Grey images only: a colour image (RGB, YBR,
 * PALETTE COLOR) is refused with the reason, since its samples are no physical values (use {@link loadPixelArray}).
 */
export async function loadModality(image: LoadedImage, frame = 0): Promise<Float32Array> {
  try {
    refuseColourValues(image.info);
  } catch (err) {
    throw err instanceof DicomError ? err.withFile(image.path) : err;
  }
  return modalityValues(await loadStored(image, frame), image.info);
}

/**
 * One frame as pydicom 3 gives it: `apply_modality_lut(ds.pixel_array, ds)` in Float32 — modality values for grey
 * images; for colour, RGB samples rows×columns×3 interleaved (YBR_FULL / YBR_FULL_422 converted to RGB) and
 * PALETTE COLOR indices (apply the palette with palette.ts applyPalette).
 */
export async function loadPixelArray(image: LoadedImage, frame = 0): Promise<Float32Array> {
  return modalityValues(await loadStored(image, frame), image.info);
}
