import { DicomError } from '../errors';
import type { FrameDecoder } from './types';
// Placeholder until the RLE decoder lands (being written now); never committed as "done".
export const rleLossless: FrameDecoder = { name: 'rle', lossy: false, async decode() { throw new DicomError('UNSUPPORTED_TRANSFER_SYNTAX', 'RLE decoding not built yet'); } };
