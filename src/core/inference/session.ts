/**
 * One place that owns onnxruntime-node sessions: loaded lazily on first use, cached per (model, options),
 * CPU by default with a thread count, CUDA when asked and present (onnxruntime-node's CUDA provider ships
 * separately and is not installed offline — ARCHITECTURE "Environment facts"), falling back to CPU with a
 * one-line note. `session.run` runs on onnxruntime's own threads, so the caller's event loop (the extension
 * host) stays free while a model runs.
 */
import type { InferenceSession } from 'onnxruntime-node';
import { stat } from 'node:fs/promises';
import { cardPathFor, loadModelSpec, type ModelSpec } from './model';

/** How sessions are created. */
export interface SessionOptions {
  /** Intra-op threads (0 or undefined: onnxruntime's default, one per core). */
  threads?: number;
  /** Try the CUDA execution provider first. */
  cuda?: boolean;
}

/** A loaded model: its spec, its session and the provider it runs on. */
export interface LoadedModel {
  spec: ModelSpec;
  session: InferenceSession;
  provider: 'cuda' | 'cpu';
  /** Why CUDA was not used when it was asked for. */
  note?: string;
}

let ortModule: Promise<typeof import('onnxruntime-node')> | undefined;

/** onnxruntime-node, imported once (a native addon: keep it off the CLI's start-up path). */
export function loadOrt(): Promise<typeof import('onnxruntime-node')> {
  ortModule ??= import('onnxruntime-node');
  return ortModule;
}

/**
 * What a model file and its card are now (size and modification time of each): a model retrained in place
 * (a run's best.onnx written again) has a new stamp. A missing file stamps as missing, so its load error is
 * reported again rather than cached.
 */
export async function modelStamp(path: string): Promise<string> {
  const one = (p: string) => stat(p).then((s) => `${s.size}@${s.mtimeMs}`, () => 'missing');
  return `${await one(path)}|${await one(cardPathFor(path))}`;
}

/** Sessions by model path and options, reloaded when the file changes; `dispose()` releases them all. */
export class SessionCache {
  private readonly models = new Map<string, { stamp: string; model: Promise<LoadedModel> }>();

  constructor(private readonly options: SessionOptions = {}) {
    const t = options.threads;
    if (t !== undefined && (!Number.isInteger(t) || t < 0 || t > 256)) throw new Error(`threads must be a whole number in 0…256 (got ${t})`);
  }

  /**
   * The model at `path`, loading it on first use and again when the file or its card changed (the old session
   * is left to engines still using it). A failed load is not cached (a fixed file loads next time).
   */
  async get(path: string): Promise<LoadedModel> {
    const stamp = await modelStamp(path);
    const hit = this.models.get(path);
    if (hit && hit.stamp === stamp) return hit.model;
    const model = this.load(path);
    const entry = { stamp, model };
    this.models.set(path, entry);
    model.catch(() => {
      if (this.models.get(path) === entry) this.models.delete(path);
    });
    return model;
  }

  private async load(path: string): Promise<LoadedModel> {
    const { spec, bytes } = await loadModelSpec(path);
    const ort = await loadOrt();
    const base: InferenceSession.SessionOptions = { graphOptimizationLevel: 'all' };
    if (this.options.threads) base.intraOpNumThreads = this.options.threads;
    let note: string | undefined;
    if (this.options.cuda) {
      // onnxruntime's environment logger (not the session's) reports a missing CUDA provider library as an error
      // dump on stderr; the fallback is said in our one-line note instead. Only when CUDA is asked for.
      ort.env.logLevel = 'fatal';
      try {
        // logSeverityLevel 4 (fatal): a missing CUDA provider is our one-line note, not onnxruntime's error dump.
        const session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cuda', 'cpu'], logSeverityLevel: 4 });
        return { spec, session, provider: 'cuda' };
      } catch (err) {
        note = `CUDA execution provider unavailable, running on CPU (${firstLine(err)})`;
      }
    }
    try {
      const session = await ort.InferenceSession.create(bytes, { ...base, executionProviders: ['cpu'] });
      return { spec, session, provider: 'cpu', note };
    } catch (err) {
      throw new Error(`${path}: onnxruntime cannot load the model (${firstLine(err)})`);
    }
  }

  /** Release every session. */
  async dispose(): Promise<void> {
    const all = [...this.models.values()];
    this.models.clear();
    for (const { model } of all) {
      const m = await model.catch(() => undefined);
      await m?.session.release();
    }
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}
