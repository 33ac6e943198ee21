/**
 * JPEG-LS (PS3.5 A.4.3: 1.2.840.10008.1.2.4.80 lossless, .81 near-lossless) with CharLS
 * (@cornerstonejs/codec-charls). CharLS returns line- and sample-interleaved colour as RGBRGB…, and
 * interleave mode "none" (ISO 14495-1 ILV 0) as separate planes, which are interleaved here.
 * Near-lossless (NEAR > 0) overshoot past an unsigned Bits Stored saturates (see saturateLossyOvershoot).
 */
import type { ImageInfo } from '../image';
import { interleavePlanes } from './native';
import type { FrameDecoder, SampleArray } from './types';
import { checkGeometry, copySamples, lazyCodec, runDecoder, saturateLossyOvershoot } from './wasm';

const charls = lazyCodec('CharLS', () => import('@cornerstonejs/codec-charls/decodewasmjs'));

/** Decoder for both JPEG-LS transfer syntaxes. */
export const jpegLs: FrameDecoder = {
  name: 'jpeg-ls',
  lossy: true,
  async decode(frame: Uint8Array, info: ImageInfo): Promise<SampleArray> {
    const codec = await charls();
    return runDecoder('CharLS', new codec.JpegLSDecoder(), frame, (decoder) => {
      const fi = decoder.getFrameInfo();
      checkGeometry('CharLS', fi, info);
      const pixels = info.rows * info.columns;
      const samples = copySamples(decoder.getDecodedBuffer(), fi.bitsPerSample, pixels * info.samplesPerPixel, 'CharLS');
      if (decoder.getNearLossless() > 0 && fi.bitsPerSample > info.bitsStored) saturateLossyOvershoot(samples, info);
      return info.samplesPerPixel === 3 && decoder.getInterleaveMode() === 0 ? interleavePlanes(samples, pixels) : samples;
    });
  },
};
