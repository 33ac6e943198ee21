/**
 * Worker thread of the decode pool (decodePool.ts): reads a file, decodes one frame and sends back its
 * modality values (HU for CT) with the file's pixel attributes. The Float32Array's buffer is transferred,
 * not copied. Every failure goes back as a plain error record; the pool turns it into a DicomError that
 * names the file.
 *
 * Bundles: esbuild builds this file as its own entry (dist/decodeWorker.js, next to dist/cli.js and
 * dist/extension.js); under tsx the pool loads the .ts file through tsx's CommonJS hook.
 */
import { parentPort } from 'node:worker_threads';
import { DicomError, describeThrown } from './errors';
import type { ImageInfo } from './image';
import { loadImage } from './load';
import { modalityValues } from './lut';
import { decodeFrame } from './pixels';

/** A request from the pool. */
export interface DecodeRequest {
  id: number;
  path: string;
  frame: number;
}

/** A reply to the pool: the values, or what went wrong. */
export type DecodeReply =
  | { id: number; ok: true; values: Float32Array; info: ImageInfo }
  | { id: number; ok: false; error: { code?: string; message: string; name: string; stack?: string } };

async function handle(request: DecodeRequest): Promise<void> {
  const port = parentPort;
  if (!port) return;
  try {
    const image = await loadImage(request.path);
    const values = modalityValues(await decodeFrame(image.file, image.info, request.frame), image.info);
    const reply: DecodeReply = { id: request.id, ok: true, values, info: image.info };
    port.postMessage(reply, [values.buffer as ArrayBuffer]); // modalityValues allocates a plain ArrayBuffer
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
