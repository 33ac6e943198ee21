/**
 * Shared plumbing for the @cornerstonejs WASM codecs: load each module once, lazily, with its console
 * output silenced, run one decode with the WASM instance freed afterwards, and copy the result out of
 * WASM memory into a typed array of the right width.
 *
 * Loading: the modules are CommonJS emscripten factories (`module.exports = factory`, also `.default`).
 * `import()` works both under tsx (tests) and in the esbuild bundles, where esbuild.js keeps these packages
 * external so that they are required from node_modules at run time and find their .wasm beside them.
 */
import { DicomError } from '../errors';
import type { ImageInfo } from '../image';
import type { SampleArray } from './types';

/** A factory as exported by the codec packages; the `default` property covers both module interops. */
type Factory<M> = (options?: EmscriptenOptions) => Promise<M>;

// codec-openjpeg prints "[INFO] …" lines through emscripten's `print` (console.log): the CLI's stdout must
// stay clean for --json, so everything the codecs print is dropped. Errors surface as exceptions.
const QUIET: EmscriptenOptions = { print: () => undefined, printErr: () => undefined };

/**
 * Memoise the loading of one codec: the first call imports and instantiates it, later calls share the
 * promise. A failed load is not cached, so a later call may retry.
 */
export function lazyCodec<M>(name: string, load: () => Promise<{ default: Factory<M> } | Factory<M>>): () => Promise<M> {
  let pending: Promise<M> | undefined;
  return () => {
    pending ??= (async () => {
      const mod = await load();
      const factory = typeof mod === 'function' ? mod : mod.default;
      return factory({ ...QUIET });
    })().catch((err: unknown) => {
      pending = undefined;
      throw new DicomError('DECODE_FAILED', `cannot load the ${name} codec: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
    });
    return pending;
  };
}

/**
 * Emscripten C++ exceptions reach JavaScript as a bare number (a pointer into WASM memory) unless the
 * module was built with exception messages; make a readable message either way.
 */
export function codecFailure(codec: string, thrown: unknown): DicomError {
  const why = thrown instanceof Error ? thrown.message
    : typeof thrown === 'number' ? `the codec aborted (internal exception ${thrown}); the compressed frame is probably corrupt or truncated`
      : String(thrown);
  return new DicomError('DECODE_FAILED', `${codec}: ${why}`, undefined, { cause: thrown });
}

/** Decode `frame` with a fresh codec decoder instance; always frees the instance. */
export function runDecoder<D extends CodecDecoder, R>(codec: string, decoder: D, frame: Uint8Array, read: (decoder: D) => R): R {
  try {
    decoder.getEncodedBuffer(frame.length).set(frame);
    decoder.decode();
    return read(decoder);
  } catch (thrown) {
    throw thrown instanceof DicomError ? thrown : codecFailure(codec, thrown);
  } finally {
    decoder.delete();
  }
}

/**
 * Copy `count` samples of `bitsPerSample` bits (little-endian words, as the codecs write them) out of a
 * view into WASM memory. The view is only valid until the decoder is deleted, hence the copy; a copy into
 * a fresh buffer is also aligned, which a view at an odd heap offset may not be.
 */
export function copySamples(view: Uint8Array, bitsPerSample: number, count: number, codec: string): SampleArray {
  const bytesPer = bitsPerSample <= 8 ? 1 : bitsPerSample <= 16 ? 2 : 4;
  if (view.length < count * bytesPer) {
    throw new DicomError('DECODE_FAILED', `${codec} returned ${view.length} bytes, expected ${count * bytesPer} (${count} samples of ${bytesPer * 8} bits)`);
  }
  const bytes = new Uint8Array(count * bytesPer);
  bytes.set(view.subarray(0, bytes.length));
  return bytesPer === 1 ? bytes : bytesPer === 2 ? new Uint16Array(bytes.buffer) : new Uint32Array(bytes.buffer);
}

/** Check what a codec says it decoded against the DICOM attributes, so a mismatch is a clear error. */
export function checkGeometry(codec: string, got: { width: number; height: number; componentCount: number }, info: { rows: number; columns: number; samplesPerPixel: number }): void {
  if (got.width !== info.columns || got.height !== info.rows || got.componentCount !== info.samplesPerPixel) {
    throw new DicomError('DECODE_FAILED', `${codec}: the compressed frame is ${got.width}×${got.height} with ${got.componentCount} component(s), `
      + `but the DICOM attributes say ${info.columns}×${info.rows} with Samples per Pixel ${info.samplesPerPixel}`);
  }
}

/**
 * Lossy JPEG-LS and JPEG 2000 codestreams are often coded at the container's precision (16) while Bits
 * Stored is smaller (12): reconstruction error can then overshoot the stored range (4096 for a saturated
 * 4095), and masking to Bits Stored (PS3.5 8.1.1) would wrap it to 0 — bright metal turning into air.
 * For unsigned data from a lossy stream, saturate at the largest stored value instead. Lossless streams
 * are left alone: their extra high bits are the file's own (garbage) bits, which masking rightly drops.
 */
export function saturateLossyOvershoot(samples: SampleArray, info: Pick<ImageInfo, 'bitsStored' | 'pixelRepresentation'>): SampleArray {
  if (info.pixelRepresentation !== 0 || info.bitsStored >= 32) return samples;
  const max = 2 ** info.bitsStored - 1;
  for (let i = 0; i < samples.length; i++) if (samples[i] > max) samples[i] = max;
  return samples;
}
