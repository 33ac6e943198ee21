/**
 * Decode many slices fast: a pool of worker threads (decodeWorker.ts), each reading, parsing and decoding
 * whole files and returning modality values (HU for CT) as Float32Arrays whose buffers are transferred.
 *
 *   const pool = new DecodePool();                       // no threads yet: started on first use
 *   for await (const slice of pool.series(paths)) use(slice.values, slice.info);   // input order
 *   await Promise.all(paths.map((p) => pool.decode(p))); // or any order, all queued at once
 *   await pool.decodeSlice(p, { window, values: false, png: [{ width: 224, height: 224, level: 1 }] });
 *   await pool.close();
 *
 * decodeSlice also windows to 8-bit grey and encodes PNGs in the worker, so a caller that only writes
 * pictures keeps its own thread free: windowing reads lookup tables indexed by the stored value (built with
 * voi.ts's own functions, so the bytes are those of windowModality on the values).
 *
 * or `for await (const slice of decodeSeries(paths)) …` with a pool of its own, closed when the loop ends.
 *
 * Threads: os.availableParallelism() by default (bounded by MAX_POOL_SIZE), started lazily, and ref'd
 * only while they have work, so an idle pool never keeps the process alive; close() terminates them.
 * Errors arrive as DicomError naming the file; a crashed worker fails only its own requests and is
 * replaced on the next one.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { DicomError, type DicomErrorCode } from './errors';
import type { ImageInfo } from './image';
import type { DecodeReply, DecodeRequest, PngSpec } from './decodeWorker';
import type { PackedValues } from './pack';
import type { Window } from './voi';

export type { PngSpec } from './decodeWorker';

/** The most threads a pool starts, whatever the machine or the caller says. */
export const MAX_POOL_SIZE = 64;

/** Requests queued on one worker at a time: the second one's file read overlaps the first one's decode. */
const PER_WORKER = 2;

/** One decoded slice. */
export interface DecodedSlice {
  /** The path as given. */
  path: string;
  /** Frame index in the file (0-based). */
  frame: number;
  /** Modality values (HU for CT): rows×columns×samplesPerPixel Float32, row-major, colour interleaved. */
  values: Float32Array;
  /** The file's pixel attributes: geometry, rescale, window, position, instance number, UIDs. */
  info: ImageInfo;
}

/** Pool settings. */
export interface DecodePoolOptions {
  /** Worker threads (1…MAX_POOL_SIZE); default os.availableParallelism(). */
  size?: number;
}

/** Settings of one series decode. */
export interface SeriesOptions {
  /** Frame decoded from every file (default 0). */
  frame?: number;
  /** Slices decoded ahead of the consumer, which bounds memory (default 2 × pool size). */
  readAhead?: number;
}

/** What {@link DecodePool.decodeSlice} sends back besides the file's attributes. */
export interface SliceRequest {
  /** Frame index in the file (default 0). */
  frame?: number;
  /** Modality values (default true). */
  values?: boolean;
  /**
   * Window the slice to 8-bit grey as voi.ts windowModality does (the file's VOI function, MONOCHROME1
   * inverted, padding black); a monochrome slice only.
   */
  window?: Window;
  /** The grey image itself (default true when `window` is set and no `png` is asked for). */
  gray?: boolean;
  /** PNG encodes of the grey image (sharp, in the worker), one per spec in this order; needs `window`. */
  png?: PngSpec[];
  /**
   * The modality values packed for the viewer's webview (pack.ts); for a colour image its 8-bit RGB (`rgb`) and
   * its palette indices, if any (pack.ts packColour).
   */
  packed?: boolean;
}

/** A slice decoded by {@link DecodePool.decodeSlice}: what was asked for. */
export interface SliceResult {
  path: string;
  frame: number;
  info: ImageInfo;
  /** rows×columns×samplesPerPixel Float32 modality values, when asked for. */
  values?: Float32Array;
  /** rows×columns windowed grey, when asked for. */
  gray?: Uint8Array;
  /** The PNG files, in the order of `request.png`. */
  png?: Uint8Array[];
  /** Packed modality values (colour: palette indices or none), when `packed` was asked for. */
  packed?: PackedValues;
  /** A colour slice's 8-bit RGB, rows×columns×3 interleaved, deflated (raw), when `packed` was asked for. */
  rgb?: Uint8Array;
}

interface Job {
  id: number;
  path: string;
  frame: number;
  request: SliceRequest;
  resolve: (slice: SliceResult) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  jobs: Map<number, Job>;
}

/** Where the worker code is, and how to start it, for the source tree (tsx) or the esbuild bundle. */
function workerEntry(): { script: string; eval: boolean } {
  const here = typeof __filename === 'string' ? __filename : '';
  if (here.endsWith('.ts')) {
    // Under tsx (tests, scripts): `--import tsx` in a worker's execArgv does not reach the worker's own
    // entry on Node 20, so a CommonJS bootstrap registers tsx's require hook, then loads the .ts file.
    // tsx is resolved from the source tree inside the bootstrap, out of esbuild's sight (dev-only path).
    const entry = JSON.stringify(join(__dirname, 'decodeWorker.ts'));
    return { script: `const r = require('node:module').createRequire(${entry}); r('tsx/cjs'); r(${entry});`, eval: true };
  }
  // The bundles (dist/cli.js, dist/extension.js) sit next to dist/decodeWorker.js (an esbuild entry).
  const script = join(typeof __dirname === 'string' ? __dirname : '.', 'decodeWorker.js');
  if (!existsSync(script)) {
    throw new Error(`the decode worker ${script} is missing: esbuild.js must bundle src/core/dicom/decodeWorker.ts to dist/decodeWorker.js`);
  }
  return { script, eval: false };
}

let sharpModule: Promise<typeof import('sharp')> | undefined;

/** sharp, imported once per thread (a dynamic import per call costs a loader round trip under tsx). */
function loadSharp(): Promise<typeof import('sharp')> {
  sharpModule ??= import('sharp');
  return sharpModule;
}

/** Encode rows×columns grey as an 8-bit grey PNG of `spec`'s size (sharp's default Lanczos-3 when resized). */
export async function encodeGray8Png(gray: Uint8Array, rows: number, columns: number, spec: PngSpec): Promise<Buffer> {
  // Without 'b-w' sharp writes a 3-channel sRGB PNG; a grey slice stays an 8-bit grey PNG.
  return (await grayPipeline(gray, rows, columns, spec.width, spec.height)).png({ compressionLevel: spec.level, adaptiveFiltering: false }).toBuffer();
}

/**
 * The pixels {@link encodeGray8Png} would store, without the PNG: width×height grey bytes (inference builds
 * its inputs from these, so a model sees what `prepare` wrote; test/unit/inference-input.test.ts checks it).
 */
export async function resizeGray8(gray: Uint8Array, rows: number, columns: number, width: number, height: number): Promise<Uint8Array> {
  if (width === columns && height === rows) return gray.slice();
  const { data, info } = await (await grayPipeline(gray, rows, columns, width, height)).raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 1 || info.width !== width || info.height !== height) throw new Error(`sharp returned ${info.width}×${info.height}×${info.channels}, expected ${width}×${height}×1`);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** sharp: rows×columns grey → width×height (fill; sharp's default Lanczos-3 when the size changes), grey out. */
async function grayPipeline(gray: Uint8Array, rows: number, columns: number, width: number, height: number) {
  const { default: sharp } = await loadSharp();
  let pipeline = sharp(gray, { raw: { width: columns, height: rows, channels: 1 } });
  if (width !== columns || height !== rows) pipeline = pipeline.resize(width, height, { fit: 'fill' });
  return pipeline.toColourspace('b-w');
}

/** A bounded, lazily started pool of decode threads. */
export class DecodePool {
  /** Number of worker threads this pool may run. */
  readonly size: number;
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(options: DecodePoolOptions = {}) {
    const size = options.size ?? availableParallelism();
    if (!Number.isInteger(size) || size < 1) {
      throw new DicomError('BAD_ARGUMENT', `decode pool size must be a whole number from 1 up, got ${String(options.size)}`);
    }
    this.size = Math.min(size, MAX_POOL_SIZE);
  }

  /** Threads running now (0 until the first request). */
  get threads(): number {
    return this.slots.length;
  }

  /** Decode frame `frame` of the file at `path` in a worker. Rejects with a DicomError naming the file. */
  decode(path: string, frame = 0): Promise<DecodedSlice> {
    return this.decodeSlice(path, { frame }).then((s) => ({ path: s.path, frame: s.frame, values: s.values as Float32Array, info: s.info }));
  }

  /**
   * Decode frame `request.frame` of `path` in a worker into what `request` asks for: modality values,
   * windowed grey, PNGs. Rejects with a DicomError naming the file.
   */
  async decodeSlice(path: string, request: SliceRequest = {}): Promise<SliceResult> {
    if (this.closed) throw new DicomError('BAD_ARGUMENT', 'the decode pool is closed', path);
    const frame = request.frame ?? 0;
    if (!Number.isInteger(frame) || frame < 0) throw new DicomError('BAD_FRAME', `frame ${frame} is not a frame number (0, 1, …)`, path);
    const win = request.window;
    if (win && !(Number.isFinite(win.center) && win.width >= 1 && Number.isFinite(win.width))) {
      throw new DicomError('BAD_ARGUMENT', `window must have a finite centre and a finite width ≥ 1 (got ${win.center}/${win.width})`, path);
    }
    if ((request.png || request.gray) && !win) throw new DicomError('BAD_ARGUMENT', 'grey and PNG output need a window', path);
    for (const spec of request.png ?? []) {
      if (!Number.isInteger(spec.width) || spec.width < 1 || !Number.isInteger(spec.height) || spec.height < 1 || !Number.isInteger(spec.level) || spec.level < 0 || spec.level > 9) {
        throw new DicomError('BAD_ARGUMENT', `PNG size must be whole numbers ≥ 1 and level 0…9 (got ${spec.width}×${spec.height}, level ${spec.level})`, path);
      }
    }
    if (request.png && request.png.length > 0) {
      // sharp's docs (install, "Worker threads"): load it on the main thread before any worker uses it, or
      // a worker's exit may unload the shared library under the others.
      await loadSharp();
      if (this.closed) throw new DicomError('BAD_ARGUMENT', 'the decode pool is closed', path);
    }
    return new Promise<SliceResult>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, path, frame, request, resolve, reject });
      this.pump();
    });
  }

  /**
   * Decode `paths` in parallel and yield the slices in input order, keeping at most `readAhead` decoded
   * or in flight. The first failure is thrown at its position; stopping early (break) discards the rest.
   */
  async *series(paths: readonly string[], options: SeriesOptions = {}): AsyncGenerator<DecodedSlice> {
    const readAhead = options.readAhead ?? 2 * this.size;
    if (!Number.isInteger(readAhead) || readAhead < 1) throw new DicomError('BAD_ARGUMENT', `readAhead must be a whole number from 1 up, got ${readAhead}`);
    const frame = options.frame ?? 0;
    const pending: Promise<DecodedSlice>[] = [];
    let next = 0;
    const more = () => {
      while (next < paths.length && pending.length < readAhead) {
        const p = this.decode(paths[next++], frame);
        p.catch(() => undefined); // handled when awaited in order; never an unhandled rejection meanwhile
        pending.push(p);
      }
    };
    more();
    while (pending.length > 0) {
      const slice = await (pending.shift() as Promise<DecodedSlice>);
      more();
      yield slice;
    }
  }

  /** Terminate the threads. Requests not yet answered reject; later ones reject at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const closing = new DicomError('BAD_ARGUMENT', 'the decode pool was closed before this file was decoded');
    for (const job of this.queue.splice(0)) job.reject(closing.withFile(job.path));
    const slots = this.slots.splice(0);
    for (const slot of slots) {
      for (const job of slot.jobs.values()) job.reject(closing.withFile(job.path));
      slot.jobs.clear();
    }
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  /** Hand queued jobs to the least busy worker, starting workers up to `size` while all are busy. */
  private pump(): void {
    while (this.queue.length > 0) {
      let slot = this.slots.reduce<Slot | undefined>((best, s) => (!best || s.jobs.size < best.jobs.size ? s : best), undefined);
      if ((!slot || slot.jobs.size > 0) && this.slots.length < this.size) {
        try {
          slot = this.start();
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          for (const job of this.queue.splice(0)) job.reject(new DicomError('DECODE_FAILED', `cannot start a decode worker: ${e.message}`, job.path, { cause: e }));
          return;
        }
      }
      if (!slot || slot.jobs.size >= PER_WORKER) return;
      const job = this.queue.shift() as Job;
      if (slot.jobs.size === 0) slot.worker.ref();
      slot.jobs.set(job.id, job);
      const { values, window, gray, png, packed } = job.request;
      const request: DecodeRequest = { id: job.id, path: job.path, frame: job.frame, values, window, gray, png, packed };
      slot.worker.postMessage(request);
    }
  }

  private start(): Slot {
    const entry = workerEntry();
    const worker = new Worker(entry.script, { eval: entry.eval });
    worker.unref();
    const slot: Slot = { worker, jobs: new Map() };
    this.slots.push(slot);
    worker.on('message', (reply: DecodeReply) => this.settle(slot, reply));
    worker.on('error', (err) => this.fail(slot, err));
    worker.on('exit', (code) => this.fail(slot, new Error(`the decode worker exited with code ${code}`)));
    return slot;
  }

  private settle(slot: Slot, reply: DecodeReply): void {
    const job = slot.jobs.get(reply.id);
    if (!job) return;
    slot.jobs.delete(reply.id);
    if (slot.jobs.size === 0) slot.worker.unref();
    if (reply.ok) {
      job.resolve({ path: job.path, frame: job.frame, info: reply.info, values: reply.values, gray: reply.gray, png: reply.png, packed: reply.packed, rgb: reply.rgb });
    } else {
      const { code, message, name, stack } = reply.error;
      const cause = Object.assign(new Error(message), { name, stack });
      job.reject(new DicomError((code as DicomErrorCode | undefined) ?? 'DECODE_FAILED', code ? message : `${name}: ${message}`, job.path, { cause }));
    }
    this.pump();
  }

  /** A worker died (uncaught error, exit): fail its requests, forget it; the next request starts another. */
  private fail(slot: Slot, err: Error): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    this.slots.splice(index, 1);
    for (const job of slot.jobs.values()) {
      job.reject(new DicomError('DECODE_FAILED', `the decode worker failed: ${err.message}`, job.path, { cause: err }));
    }
    slot.jobs.clear();
    void slot.worker.terminate();
    if (!this.closed) this.pump();
  }
}

/**
 * Decode a series with a pool of its own (or `options.pool`), yielding slices in input order; a pool of
 * its own is closed when the loop ends, breaks or throws.
 */
export async function* decodeSeries(paths: readonly string[], options: SeriesOptions & DecodePoolOptions & { pool?: DecodePool } = {}): AsyncGenerator<DecodedSlice> {
  const own = options.pool ? undefined : new DecodePool(options);
  const pool = options.pool ?? (own as DecodePool);
  try {
    yield* pool.series(paths, options);
  } finally {
    await own?.close();
  }
}
