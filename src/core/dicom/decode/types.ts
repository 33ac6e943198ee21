import type { ImageInfo } from '../image';

/** Decoded samples as stored bit patterns, before Bits Stored masking and sign extension. */
export type SampleArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

/**
 * One decoder per transfer-syntax family (STYLE.md "Loading apart from drawing").
 * `decode` gets one frame's bytes — the native frame slice, or the frame's fragments joined — and returns
 * rows×columns×samplesPerPixel samples, colour interleaved (RGBRGB…) whatever the Planar Configuration.
 * Masking to Bits Stored and sign extension happen once, after decoding, in `finishSamples`.
 */
export interface FrameDecoder {
  /** Family name for messages and benchmarks. */
  readonly name: string;
  /** True when the syntax may lose information (JPEG baseline/extended, JPEG-LS near-lossless, J2K). */
  readonly lossy: boolean;
  decode(frame: Uint8Array, info: ImageInfo): Promise<SampleArray>;
}
