/** Transfer syntax UIDs (PS3.5 section 10 and Annex A) used by the decoder table. */
export const TS = {
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  DeflatedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVRBigEndian: '1.2.840.10008.1.2.2',
  JPEGBaseline8Bit: '1.2.840.10008.1.2.4.50',
  JPEGExtended12Bit: '1.2.840.10008.1.2.4.51',
  JPEGLosslessP14: '1.2.840.10008.1.2.4.57',
  JPEGLosslessSV1: '1.2.840.10008.1.2.4.70',
  JPEGLSLossless: '1.2.840.10008.1.2.4.80',
  JPEGLSNearLossless: '1.2.840.10008.1.2.4.81',
  JPEG2000Lossless: '1.2.840.10008.1.2.4.90',
  JPEG2000: '1.2.840.10008.1.2.4.91',
  HTJ2KLossless: '1.2.840.10008.1.2.4.201',
  HTJ2KLosslessRPCL: '1.2.840.10008.1.2.4.202',
  HTJ2K: '1.2.840.10008.1.2.4.203',
  RLELossless: '1.2.840.10008.1.2.5',
  DeflatedImageFrameCompression: '1.2.840.10008.1.2.8.1',
} as const;

/** Human names for messages and `info`. */
export const TS_NAMES: Record<string, string> = {
  [TS.ImplicitVRLittleEndian]: 'Implicit VR Little Endian',
  [TS.ExplicitVRLittleEndian]: 'Explicit VR Little Endian',
  [TS.DeflatedExplicitVRLittleEndian]: 'Deflated Explicit VR Little Endian',
  [TS.ExplicitVRBigEndian]: 'Explicit VR Big Endian',
  [TS.JPEGBaseline8Bit]: 'JPEG Baseline (Process 1)',
  [TS.JPEGExtended12Bit]: 'JPEG Extended (Process 2 & 4)',
  [TS.JPEGLosslessP14]: 'JPEG Lossless (Process 14)',
  [TS.JPEGLosslessSV1]: 'JPEG Lossless SV1 (Process 14, selection value 1)',
  [TS.JPEGLSLossless]: 'JPEG-LS Lossless',
  [TS.JPEGLSNearLossless]: 'JPEG-LS Near-Lossless',
  [TS.JPEG2000Lossless]: 'JPEG 2000 Lossless',
  [TS.JPEG2000]: 'JPEG 2000',
  [TS.HTJ2KLossless]: 'High-Throughput JPEG 2000 Lossless',
  [TS.HTJ2KLosslessRPCL]: 'High-Throughput JPEG 2000 with RPCL Options Lossless',
  [TS.HTJ2K]: 'High-Throughput JPEG 2000',
  [TS.RLELossless]: 'RLE Lossless',
  [TS.DeflatedImageFrameCompression]: 'Deflated Image Frame Compression',
};

/** Native (uncompressed) syntaxes: pixel data is stored as plain words. */
export function isNativeSyntax(uid: string): boolean {
  return uid === TS.ImplicitVRLittleEndian || uid === TS.ExplicitVRLittleEndian
    || uid === TS.DeflatedExplicitVRLittleEndian || uid === TS.ExplicitVRBigEndian;
}
