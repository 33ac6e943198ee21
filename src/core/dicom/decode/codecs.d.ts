// Types for the codec packages, which ship none (only the parts the decoders use).

/** Frame description shared by the @cornerstonejs WASM decoders. */
interface CodecFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

/** The decoder object every @cornerstonejs codec exposes (emscripten embind class). */
interface CodecDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): CodecFrameInfo;
  delete(): void;
}

/** Options passed to an emscripten module factory. */
interface EmscriptenOptions {
  print?: (text: string) => void;
  printErr?: (text: string) => void;
}

declare module '@cornerstonejs/codec-openjpeg/decodewasmjs' {
  const factory: (options?: EmscriptenOptions) => Promise<{ J2KDecoder: new () => CodecDecoder & { getColorSpace(): number } }>;
  export default factory;
}

declare module '@cornerstonejs/codec-charls/decodewasmjs' {
  const factory: (options?: EmscriptenOptions) => Promise<{ JpegLSDecoder: new () => CodecDecoder & { getInterleaveMode(): number; getNearLossless(): number } }>;
  export default factory;
}

declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' {
  const factory: (options?: EmscriptenOptions) => Promise<{ JPEGDecoder: new () => CodecDecoder }>;
  export default factory;
}

declare module 'jpeg-lossless-decoder-js' {
  /** JPEG lossless (ITU T.81 process 14) decoder; returns Uint8Array (≤ 8-bit) or Uint16Array samples. */
  export class Decoder {
    numComp: number;
    xDim: number;
    yDim: number;
    precision: number | undefined;
    decode(buffer: ArrayBuffer, offset?: number, length?: number, numBytes?: number): Uint8Array | Uint16Array;
  }
}

declare module '@cornerstonejs/codec-openjph/wasmjs' {
  /** codec-openjph's decoder: `decode()` reports no error for a damaged codestream, hence the checks in htj2k.ts. */
  const factory: (options?: EmscriptenOptions) => Promise<{
    HTJ2KDecoder: new () => CodecDecoder & { getIsHeaderValid(): boolean; getLastErrorMessage(): string; getFrameInfo(): CodecFrameInfo & { isUsingColorTransform: boolean } };
  }>;
  export default factory;
}
