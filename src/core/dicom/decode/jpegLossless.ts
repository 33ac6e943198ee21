import { DicomError } from '../errors';
import type { FrameDecoder } from './types';
// Placeholder until the JPEG lossless decoder lands.
export const jpegLossless: FrameDecoder = { name: 'jpeg-lossless', lossy: false, async decode() { throw new DicomError('UNSUPPORTED_TRANSFER_SYNTAX', 'JPEG lossless decoding not built yet'); } };
