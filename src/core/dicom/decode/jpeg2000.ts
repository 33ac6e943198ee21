import { DicomError } from '../errors';
import type { FrameDecoder } from './types';
// Placeholder until the JPEG 2000 decoder lands.
export const jpeg2000: FrameDecoder = { name: 'jpeg2000', lossy: true, async decode() { throw new DicomError('UNSUPPORTED_TRANSFER_SYNTAX', 'JPEG 2000 decoding not built yet'); } };
