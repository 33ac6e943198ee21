/** Reading input files with errors a person can act on: one DicomError('IO') naming the file. */
import { readFile } from 'node:fs/promises';
import { DicomError, describeThrown } from '../dicom/errors';

const WHY: Record<string, string> = {
  ENOENT: 'no such file',
  EISDIR: 'is a directory, not a file',
  EACCES: 'permission denied',
};

/** The whole file, or DicomError('IO') saying why not ("no such file", "permission denied", …). */
export async function readInputFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DicomError('IO', (code && WHY[code]) || describeThrown(err), path, { cause: err });
  }
}
