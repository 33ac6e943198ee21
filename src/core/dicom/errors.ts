/**
 * Typed errors for everything the DICOM core can reject. Every failure a user can cause (a bad file, an
 * unsupported encoding) becomes a {@link DicomError} with a stable `code`, so the CLI and the editor can
 * print one readable line (`formatUserError`) while internal errors keep their `cause`.
 */

/** Stable reasons a DICOM input is rejected. */
export type DicomErrorCode =
  | 'NOT_DICOM' // no DICM prefix and no recognisable data set
  | 'TRUNCATED' // an element or the pixel data runs past the end of the file
  | 'MALFORMED' // structure is inconsistent (bad lengths, bad sequence delimiters, …)
  | 'NO_PIXEL_DATA'
  | 'UNSUPPORTED_TRANSFER_SYNTAX'
  | 'UNSUPPORTED_PIXEL_FORMAT' // e.g. BitsAllocated 1, palette colour
  | 'DECODE_FAILED' // a codec rejected the compressed frame
  | 'BAD_FRAME' // frame index out of range
  | 'BAD_ARGUMENT'
  | 'IO';

/** An input the core refuses, with a one-line message and the file it concerns (when known). */
export class DicomError extends Error {
  override readonly name = 'DicomError';
  constructor(
    readonly code: DicomErrorCode,
    message: string,
    readonly file?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** The same error, now naming the file it came from. */
  withFile(file: string): DicomError {
    if (this.file) return this;
    return new DicomError(this.code, this.message, file, { cause: this.cause });
  }
}

/**
 * dicom-parser throws strings and plain objects (`{ exception: string, dataSet }`), never Errors;
 * turn whatever it threw into a message.
 */
export function describeThrown(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message;
  if (typeof thrown === 'string') return thrown;
  if (thrown && typeof thrown === 'object') {
    const o = thrown as Record<string, unknown>;
    if (typeof o.exception === 'string') return o.exception;
    if (typeof o.message === 'string') return o.message;
  }
  return String(thrown);
}

/** One line for a person: `file: problem`. Internal errors keep their message but never a stack. */
export function formatUserError(err: unknown, file?: string): string {
  const where = (err instanceof DicomError && err.file) || file;
  const what = describeThrown(err).replace(/\s+/g, ' ').trim() || 'unknown error';
  return where ? `${where}: ${what}` : what;
}
