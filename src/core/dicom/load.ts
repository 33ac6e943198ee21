/** File access for the DICOM core: read a file, parse it, and name the file in every error. */
import { readFile } from 'node:fs/promises';
import { DicomError, describeThrown } from './errors';
import { readImageInfo, type ImageInfo } from './image';
import { modalityValues } from './lut';
import { parseDicom, type DicomFile } from './parse';
import { decodeFrame, type StoredPixels } from './pixels';

/** A parsed image file and its validated pixel attributes. */
export interface LoadedImage {
  path: string;
  file: DicomFile;
  info: ImageInfo;
}

/** Read and parse `path`; errors are {@link DicomError}s naming the file. */
export async function loadImage(path: string): Promise<LoadedImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a file' : code === 'EACCES' ? 'permission denied' : describeThrown(err);
    throw new DicomError('IO', why, path, { cause: err });
  }
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

/** Modality values (HU for CT) of one frame as Float32, row-major. */
export async function loadModality(image: LoadedImage, frame = 0): Promise<Float32Array> {
  return modalityValues(await loadStored(image, frame), image.info);
}
