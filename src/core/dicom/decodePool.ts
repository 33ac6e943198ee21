/**
 * Decode many slices fast: a pool of worker threads (decodeWorker.ts), each reading, parsing and decoding
 * whole files and returning modality values (HU for CT) as Float32Arrays whose buffers are transferred.
 *
 *   const pool = new DecodePool();                       // no threads yet: started on first use
 *   for await (const slice of pool.series(paths)) use(slice.values, slice.info);   // input order
 *   await Promise.all(paths.map((p) => pool.decode(p))); // or any order, all queued at once
 *   await pool.close();
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
import type { DecodeReply, DecodeRequest } from './decodeWorker';

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

interface Job {
  id: number;
  path: string;
  frame: number;
  resolve: (slice: DecodedSlice) => void;
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
    if (this.closed) return Promise.reject(new DicomError('BAD_ARGUMENT', 'the decode pool is closed', path));
    if (!Number.isInteger(frame) || frame < 0) return Promise.reject(new DicomError('BAD_FRAME', `frame ${frame} is not a frame number (0, 1, …)`, path));
    return new Promise<DecodedSlice>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, path, frame, resolve, reject });
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
      const request: DecodeRequest = { id: job.id, path: job.path, frame: job.frame };
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
      job.resolve({ path: job.path, frame: job.frame, values: reply.values, info: reply.info });
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
