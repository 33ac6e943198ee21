/**
 * The table from transfer-syntax UID to decoder (STYLE.md: one decoder module per family, one table).
 * An unknown UID is a clear UNSUPPORTED_TRANSFER_SYNTAX error naming it.
 */
import { DicomError } from '../errors';
import { TS, TS_NAMES } from '../uids';
import { deflatedFrame } from './deflatedFrame';
import { htj2k } from './htj2k';
import { jpeg2000 } from './jpeg2000';
import { jpegBaseline, jpegExtended } from './jpeg';
import { jpegLosslessFast } from './jpegLosslessFast';
import { jpegLs } from './jpegLs';
import { nativeBigEndian, nativeLittleEndian } from './native';
import { rleLossless } from './rle';
import type { FrameDecoder } from './types';

export type { FrameDecoder, SampleArray } from './types';

/** UID → decoder. Deflated data is inflated by the parser, so it decodes as native little endian. */
export const DECODERS: ReadonlyMap<string, FrameDecoder> = new Map<string, FrameDecoder>([
  [TS.ImplicitVRLittleEndian, nativeLittleEndian],
  [TS.ExplicitVRLittleEndian, nativeLittleEndian],
  [TS.DeflatedExplicitVRLittleEndian, nativeLittleEndian],
  [TS.ExplicitVRBigEndian, nativeBigEndian],
  [TS.RLELossless, rleLossless],
  [TS.JPEGBaseline8Bit, jpegBaseline],
  [TS.JPEGExtended12Bit, jpegExtended],
  [TS.JPEGLosslessP14, jpegLosslessFast],
  [TS.JPEGLosslessSV1, jpegLosslessFast],
  // One codec, two syntaxes: the lossless UIDs promise exact values, so their entries say lossy: false.
  [TS.JPEGLSLossless, { ...jpegLs, lossy: false }],
  [TS.JPEGLSNearLossless, jpegLs],
  [TS.JPEG2000Lossless, { ...jpeg2000, lossy: false }],
  [TS.JPEG2000, jpeg2000],
  [TS.HTJ2KLossless, { ...htj2k, lossy: false }],
  [TS.HTJ2KLosslessRPCL, { ...htj2k, lossy: false }],
  [TS.HTJ2K, htj2k],
  [TS.DeflatedImageFrameCompression, deflatedFrame],
]);

/** The decoder for a transfer syntax, or an UNSUPPORTED_TRANSFER_SYNTAX error naming the UID. */
export function decoderFor(transferSyntaxUID: string): FrameDecoder {
  const decoder = DECODERS.get(transferSyntaxUID);
  if (!decoder) {
    const name = TS_NAMES[transferSyntaxUID];
    throw new DicomError('UNSUPPORTED_TRANSFER_SYNTAX',
      `transfer syntax ${transferSyntaxUID}${name ? ` (${name})` : ''} is not supported; supported: ${[...new Set(DECODERS.keys())].join(', ')}`);
  }
  return decoder;
}
