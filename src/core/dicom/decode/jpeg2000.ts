/**
 * JPEG 2000 (PS3.5 A.4.4: 1.2.840.10008.1.2.4.90 lossless only, .91 lossless or lossy) with OpenJPEG
 * (@cornerstonejs/codec-openjpeg). OpenJPEG undoes the codestream's own multi-component transform
 * (RCT/ICT, PS3.5 8.2.4), so colour comes out as RGB, interleaved. Signed components come back as
 * two's complement words; `finishSamples` keeps the Bits Stored pattern either way. Unsigned lossy
 * overshoot past Bits Stored saturates (see saturateLossyOvershoot).
 */
import { DicomError } from '../errors';
import type { ImageInfo } from '../image';
import type { FrameDecoder, SampleArray } from './types';
import { TS } from '../uids';
import { checkGeometry, copySamples, lazyCodec, runDecoder, saturateLossyOvershoot } from './wasm';

const openjpeg = lazyCodec('OpenJPEG', () => import('@cornerstonejs/codec-openjpeg/decodewasmjs'));

/** Decoder for both JPEG 2000 transfer syntaxes. */
export const jpeg2000: FrameDecoder = {
  name: 'jpeg2000',
  lossy: true,
  async decode(frame: Uint8Array, info: ImageInfo): Promise<SampleArray> {
    const codec = await openjpeg();
    return runDecoder('OpenJPEG', new codec.J2KDecoder(), frame, (decoder) => {
      const fi = decoder.getFrameInfo();
      checkGeometry('OpenJPEG', fi, info);
      if (fi.bitsPerSample > info.bitsAllocated) {
        throw new DicomError('DECODE_FAILED', `OpenJPEG: the codestream has ${fi.bitsPerSample}-bit samples but Bits Allocated is ${info.bitsAllocated}`);
      }
      const samples = copySamples(decoder.getDecodedBuffer(), fi.bitsPerSample, info.rows * info.columns * info.samplesPerPixel, 'OpenJPEG');
      // .91 may be irreversible (and a reversible wavelet truncated by rate is lossy too): saturate overshoot.
      return info.transferSyntaxUID === TS.JPEG2000 && fi.bitsPerSample > info.bitsStored ? saturateLossyOvershoot(samples, info) : samples;
    });
  },
};
