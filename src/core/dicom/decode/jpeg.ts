import { DicomError } from '../errors';
import type { FrameDecoder } from './types';
// Placeholder until the JPEG decoders land.
export const jpegBaseline: FrameDecoder = { name: 'jpeg-baseline', lossy: true, async decode() { throw new DicomError('UNSUPPORTED_TRANSFER_SYNTAX', 'JPEG baseline decoding not built yet'); } };
export const jpegExtended: FrameDecoder = { name: 'jpeg-extended', lossy: true, async decode() { throw new DicomError('UNSUPPORTED_TRANSFER_SYNTAX', 'JPEG extended decoding not built yet'); } };
