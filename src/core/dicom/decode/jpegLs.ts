import { DicomError } from '../errors';
import type { FrameDecoder } from './types';
// Placeholder until the JPEG-LS decoder lands.
export const jpegLs: FrameDecoder = { name: 'jpeg-ls', lossy: true, async decode() { throw new DicomError('UNSUPPORTED_TRANSFER_SYNTAX', 'JPEG-LS decoding not built yet'); } };
