/**
 * Deflated Image Frame Compression (PS3.5 8.2.16 and A.4.13: 1.2.840.10008.1.2.8.1). Each frame's native
 * little-endian pixel bytes are compressed on their own with Deflate (RFC 1951, raw: no zlib or gzip
 * wrapper) and stored as one fragment of encapsulated Pixel Data, padded with one NUL byte when odd (zlib
 * stops at the end of the final block, so the pad is never read). Inflated, a frame is native data.
 * Not to be confused with Deflated Explicit VR Little Endian (A.5), where the parser inflates the whole data set.
 */
import { inflateRawSync } from 'node:zlib';
import { DicomError, describeThrown } from '../errors';
import type { ImageInfo } from '../image';
import { nativeFrameBytes, nativeLittleEndian } from './native';
import type { FrameDecoder, SampleArray } from './types';

/** Decoder for Deflated Image Frame Compression: inflate, then decode as native little endian. */
export const deflatedFrame: FrameDecoder = {
  name: 'deflated-frame',
  lossy: false,
  async decode(frame: Uint8Array, info: ImageInfo): Promise<SampleArray> {
    const expected = nativeFrameBytes(info);
    let inflated: Buffer;
    try {
      // One byte of slack for an encoder that deflated the element's pad byte too; no more, so that a
      // corrupt or hostile stream cannot inflate without bound.
      inflated = inflateRawSync(frame, { maxOutputLength: expected + 1 });
    } catch (err) {
      const tooLong = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      throw new DicomError('DECODE_FAILED', tooLong
        ? `deflated frame inflates to more than the ${expected} bytes of a ${info.rows}×${info.columns}×${info.samplesPerPixel} ${info.bitsAllocated}-bit frame`
        : `deflated frame does not inflate (${describeThrown(err)})`, undefined, { cause: err });
    }
    if (inflated.length < expected) {
      throw new DicomError('DECODE_FAILED', `deflated frame inflates to ${inflated.length} bytes, a ${info.rows}×${info.columns}×${info.samplesPerPixel} ${info.bitsAllocated}-bit frame needs ${expected}`);
    }
    return nativeLittleEndian.decode(new Uint8Array(inflated.buffer, inflated.byteOffset, expected), info);
  },
};
