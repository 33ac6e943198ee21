/**
 * JPEG lossless, non-hierarchical (ITU T.81 process 14; PS3.5 A.4.1: 1.2.840.10008.1.2.4.57 any
 * predictor, .70 selection value 1) with jpeg-lossless-decoder-js. Samples are the stored bit patterns
 * (signed data is encoded as its two's complement pattern, PS3.5 8.2.1), colour comes out interleaved.
 */
import { Decoder } from 'jpeg-lossless-decoder-js';
import { DicomError } from '../errors';
import type { ImageInfo } from '../image';
import type { FrameDecoder, SampleArray } from './types';
import { checkGeometry } from './wasm';

/** Decoder for both JPEG lossless transfer syntaxes. */
export const jpegLossless: FrameDecoder = {
  name: 'jpeg-lossless',
  lossy: false,
  async decode(frame: Uint8Array, info: ImageInfo): Promise<SampleArray> {
    const decoder = new Decoder();
    // The decoder reads through a DataView over [offset, offset + length) of the buffer it is given.
    const out = decoder.decode(frame.buffer as ArrayBuffer, frame.byteOffset, frame.byteLength);
    checkGeometry('jpeg-lossless-decoder-js', { width: decoder.xDim, height: decoder.yDim, componentCount: decoder.numComp }, info);
    if ((decoder.precision ?? 0) > info.bitsAllocated) {
      throw new DicomError('DECODE_FAILED', `jpeg-lossless-decoder-js: the JPEG precision is ${decoder.precision} bits but Bits Allocated is ${info.bitsAllocated}`);
    }
    return out;
  },
};
