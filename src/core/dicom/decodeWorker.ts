/**
 * Worker thread of the decode pool (decodePool.ts): reads a file, decodes one frame and sends back what the
 * request asks for, with the file's pixel attributes: modality values (HU for CT, Float32), the slice
 * windowed to 8-bit grey (voi.ts windowModality), and PNG encodes of that grey image (sharp). Buffers are
 * transferred, not copied. Every failure goes back as a plain error record; the pool turns it into a
 * DicomError that names the file.
 *
 * Bundles: esbuild builds this file as its own entry (dist/decodeWorker.js, next to dist/cli.js and
 * dist/extension.js); under tsx the pool loads the .ts file through tsx's CommonJS hook.
 */
import { parentPort } from 'node:worker_threads';
import { encodeGray8Png } from './decodePool';
import { DicomError, describeThrown } from './errors';
import type { ImageInfo } from './image';
import { loadImage } from './load';
import { isColour, refuseColourValues } from './colour';
import { modalityValues } from './lut';
import { decodeFrame, type StoredPixels } from './pixels';
import { windowModality, type Window } from './voi';
import { packColour, packValues, type PackedValues } from './pack';

/** A grey image to encode as PNG: `width`×`height` (resized when not the slice's size), zlib `level` 0…9. */
export interface PngSpec {
  width: number;
  height: number;
  level: number;
}

/** A request from the pool. */
export interface DecodeRequest {
  id: number;
  path: string;
  frame: number;
  /** Send the modality values back (default true). */
  values?: boolean;
  /** Window the slice to 8-bit grey with this window (the file's VOI function, MONOCHROME1, padding). */
  window?: Window;
  /** Send the grey image back (default true when `window` is set). */
  gray?: boolean;
  /** Encode the grey image as PNG at these sizes (needs `window`). */
  png?: PngSpec[];
  /**
   * Send the modality values packed for the viewer (pack.ts packValues); for a colour image, its 8-bit RGB
   * (`rgb`) and its palette indices, if any, in `packed` instead (pack.ts packColour).
   */
  packed?: boolean;
}

/** A reply to the pool: what was asked for, or what went wrong. */
export type DecodeReply =
  | { id: number; ok: true; info: ImageInfo; values?: Float32Array; gray?: Uint8Array; png?: Uint8Array[]; packed?: PackedValues; rgb?: Uint8Array }
  | { id: number; ok: false; error: { code?: string; message: string; name: string; stack?: string } };

/** Stored value → modality value and → grey, for every bit pattern of Bits Stored (≤ 16) bits. */
interface Tables {
  mask: number;
  values: Float32Array;
  gray: Uint8Array;
}

const tableCache = new Map<string, Tables>();

/**
 * Lookup tables indexed by a stored value's low Bits Stored bits (`stored & mask`: the two's complement
 * bit pattern when signed), or undefined when Bits Stored > 16. Each entry is computed by the very functions
 * the per-pixel path uses — value = stored · slope + intercept in Float32 (lut.ts modalityValues), grey =
 * voi.ts windowModality of that value — so table lookups give the same bytes.
 */
function tablesFor(info: ImageInfo, win: Window): Tables | undefined {
  const bits = info.bitsStored;
  if (bits > 16) return undefined;
  const signed = info.pixelRepresentation === 1;
  const key = [bits, signed, info.rescaleSlope, info.rescaleIntercept, win.center, win.width, info.voiLutFunction, info.photometricInterpretation, info.pixelPaddingValue, info.pixelPaddingRangeLimit].join();
  // A Modality LUT Sequence is in the tables (modalityValues applies it) but not in the key: not cached.
  let t = info.modalityLut ? undefined : tableCache.get(key);
  if (t) return t;
  const size = 2 ** bits;
  const up = 32 - bits;
  const stored = new Int32Array(size);
  for (let i = 0; i < size; i++) stored[i] = signed ? (i << up) >> up : i;
  const values = modalityValues(stored, info);
  t = { mask: size - 1, values, gray: windowModality(values, info, win) };
  if (info.modalityLut) return t;
  if (tableCache.size >= 16) tableCache.clear();
  tableCache.set(key, t);
  return t;
}

function lookupGray(stored: StoredPixels, mask: number, table: Uint8Array): Uint8Array {
  const n = stored.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = table[stored[i] & mask];
  return out;
}

function lookupValues(stored: StoredPixels, mask: number, table: Float32Array): Float32Array {
  const n = stored.length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = table[stored[i] & mask];
  return out;
}

/** The bytes in an ArrayBuffer of their own (a Buffer may share a pool's), so it can be transferred. */
function ownBuffer(b: Uint8Array): Uint8Array {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? new Uint8Array(b.buffer, 0, b.byteLength) : new Uint8Array(b);
}

async function handle(request: DecodeRequest): Promise<void> {
  const port = parentPort;
  if (!port) return;
  try {
    const image = await loadImage(request.path);
    const { info } = image;
    const stored = await decodeFrame(image.file, info, request.frame);
    const wantValues = request.values ?? true;
    const win = request.window;
    let values: Float32Array | undefined;
    let gray: Uint8Array | undefined;
    if (win) {
      refuseColourValues(info, 'grey values to window'); // RGB samples and PALETTE COLOR indices are no intensities
      const tables = tablesFor(info, win);
      if (tables) {
        gray = lookupGray(stored, tables.mask, tables.gray);
        if (wantValues) values = lookupValues(stored, tables.mask, tables.values);
      } else {
        values = modalityValues(stored, info);
        gray = windowModality(values, info, win);
      }
    } else if (wantValues || (request.packed && !isColour(info))) values = modalityValues(stored, info);
    const colour = request.packed && isColour(info) ? packColour(stored, info) : undefined;
    const packed = colour?.values ?? (request.packed && values ? packValues(values) : undefined);
    const png = win && request.png ? await Promise.all(request.png.map((spec) => encodeGray8Png(gray as Uint8Array, info.rows, info.columns, spec))) : undefined;
    const reply: DecodeReply = { id: request.id, ok: true, info };
    const transfer: ArrayBuffer[] = [];
    if (wantValues && values) {
      reply.values = values;
      transfer.push(values.buffer as ArrayBuffer); // allocated here: a plain ArrayBuffer of its own
    }
    if (gray && (request.gray ?? !request.png)) {
      reply.gray = gray;
      transfer.push(gray.buffer as ArrayBuffer);
    }
    if (packed) {
      reply.packed = { type: packed.type, data: ownBuffer(packed.data) };
      transfer.push(reply.packed.data.buffer as ArrayBuffer);
    }
    if (colour) {
      reply.rgb = ownBuffer(colour.rgb);
      transfer.push(reply.rgb.buffer as ArrayBuffer);
    }
    if (png) {
      // Transfer each PNG's own ArrayBuffer; a Buffer that shares one (a pool) is copied first.
      reply.png = png.map(ownBuffer);
      for (const p of reply.png) transfer.push(p.buffer as ArrayBuffer);
    }
    port.postMessage(reply, transfer);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(describeThrown(err));
    const reply: DecodeReply = {
      id: request.id,
      ok: false,
      error: { code: err instanceof DicomError ? err.code : undefined, message: e.message, name: e.name, stack: e.stack },
    };
    port.postMessage(reply);
  }
}

parentPort?.on('message', (request: DecodeRequest) => {
  void handle(request);
});
