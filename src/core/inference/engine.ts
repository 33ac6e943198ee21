/**
 * The two-stage inference of ARCHITECTURE "Two-stage design": the detector finds C1–C7 on a slice, the
 * classifier scores each vertebra crop (or the whole slice, for a slice classifier) with its Grad-CAM, and
 * the maps are pasted back on the slice grid. One slice or a whole series (decoded in the decode pool's
 * worker threads; models run on onnxruntime's threads), with progress and cancellation.
 */
import type { PixelBox } from '../dataset/prepare/output';
import { windowSlice } from '../dataset/prepare/slices';
import { DecodePool } from '../dicom/decodePool';
import { loadImage, loadModality } from '../dicom/load';
import type { Window } from '../dicom/voi';
import { classify, pasteCam } from './classifier';
import { preparedToSlice } from './geometry';
import { detectImage } from './detector';
import { classifierImages, classifierTensor, cropsFor, preparedImage, toPixelBox, type GraySlice } from './input';
import type { ClassifierSpec, DetectorSpec } from './model';
import { SessionCache, type LoadedModel, type SessionOptions } from './session';
import { checkNms, PREDICT_DEFAULTS, type NmsOptions } from './yolo';

/** What the engine runs. */
export interface EngineSettings extends SessionOptions {
  detector?: string;
  classifier?: string;
  nms?: Partial<NmsOptions>;
  /** Compute Grad-CAM heat maps (default true when the classifier has them). */
  gradcam?: boolean;
  /** Keep each slice's windowed grey image in the findings (for overlay pictures). */
  keepGray?: boolean;
}

/** One detected vertebra on a slice. */
export interface VertebraFinding {
  /** Class name (C1…C7 for the default detector) and id. */
  name: string;
  cls: number;
  /** Detector confidence. */
  conf: number;
  /** xyxy, slice pixels (pixel edges). */
  box: [number, number, number, number];
  /** The crop square the classifier saw (inclusive slice pixels). */
  crop?: PixelBox;
  /** Classifier probability of fracture for this vertebra. */
  fracture?: number;
  /** Largest Grad-CAM value inside the crop. */
  camPeak?: number;
}

/** Everything inferred on one slice. */
export interface SliceFindings {
  file: string;
  frame: number;
  rows: number;
  columns: number;
  /** Instance number when the file has one (RSNA slice_number). */
  instance?: number;
  vertebrae: VertebraFinding[];
  /** Slice fracture probability: max over its vertebrae (crop classifier) or the slice classifier's; null without a classifier or vertebrae. */
  fracture: number | null;
  /** rows×columns Grad-CAM (positive class), raw values (divide by the max for display). */
  heatmap?: Float32Array;
  /** rows×columns windowed grey slice (the detector's window), when the engine keeps them. */
  gray?: Uint8Array;
}

/** Progress of a series run. */
export interface SeriesProgress {
  done: number;
  total: number;
  file: string;
}

/** Thrown when a run is cancelled. */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

export class InferenceEngine {
  private constructor(
    private readonly cache: SessionCache,
    private readonly ownsCache: boolean,
    readonly detector: LoadedModel | undefined,
    readonly classifier: LoadedModel | undefined,
    readonly nms: NmsOptions,
    readonly gradcam: boolean,
    private readonly keepGray: boolean,
  ) {}

  /** Load the models (one clear error line naming the file when one is wrong). */
  static async create(settings: EngineSettings, cache?: SessionCache): Promise<InferenceEngine> {
    if (!settings.detector && !settings.classifier) throw new Error('no model: give a detector and/or a classifier');
    const own = !cache;
    const c = cache ?? new SessionCache({ threads: settings.threads, cuda: settings.cuda });
    try {
      const detector = settings.detector ? await c.get(settings.detector) : undefined;
      const classifier = settings.classifier ? await c.get(settings.classifier) : undefined;
      if (detector && detector.spec.task !== 'detect') throw new Error(`${settings.detector}: not a detection model (task ${detector.spec.task})`);
      if (classifier && classifier.spec.task !== 'classify') throw new Error(`${settings.classifier}: not a classifier (task ${classifier.spec.task})`);
      if (classifier && (classifier.spec as ClassifierSpec).kind === 'vertebra-crop' && !detector) {
        throw new Error(`${settings.classifier}: this classifier scores vertebra crops; give a detector too (--detector)`);
      }
      const nms = checkNms({ ...PREDICT_DEFAULTS, ...settings.nms });
      const hasCam = Boolean(classifier && (classifier.spec as ClassifierSpec).cam);
      return new InferenceEngine(c, own, detector, classifier, nms, settings.gradcam ?? hasCam, settings.keepGray ?? false);
    } catch (err) {
      if (own) await c.dispose();
      throw err;
    }
  }

  /** Notes worth a line to the user (CUDA fallback). */
  get notes(): string[] {
    return [...new Set([this.detector?.note, this.classifier?.note].filter((n): n is string => Boolean(n)))];
  }

  /** The window slices are decoded with (the models' cards; both say 500/2000 for the defaults). */
  get window(): Window {
    return ((this.detector?.spec as DetectorSpec | undefined) ?? (this.classifier?.spec as ClassifierSpec)).window;
  }

  private secondWindow(): Window | undefined {
    const d = this.detector?.spec as DetectorSpec | undefined;
    const c = this.classifier?.spec as ClassifierSpec | undefined;
    if (!d || !c) return undefined;
    return d.window.center === c.window.center && d.window.width === c.window.width ? undefined : c.window;
  }

  /** Both stages on one windowed slice. `classifierGray`: the slice in the classifier's window when it differs. */
  async inferGray(s: GraySlice, where: { file: string; frame: number; instance?: number }, classifierGray?: GraySlice): Promise<SliceFindings> {
    const out: SliceFindings = { file: where.file, frame: where.frame, rows: s.rows, columns: s.columns, instance: where.instance, vertebrae: [], fracture: null };
    if (this.keepGray) out.gray = s.gray;
    if (this.detector) out.vertebrae = await this.detect(s);
    if (!this.classifier) return out;
    const spec = this.classifier.spec as ClassifierSpec;
    const cs = classifierGray ?? s;
    const crops = spec.kind === 'vertebra-crop' ? cropsFor(out.vertebrae.map((v) => toPixelBox(v.box)), spec.crop) : undefined;
    const images = await classifierImages(cs, spec, crops);
    const [h, w] = spec.size;
    const results = await classify(this.classifier, classifierTensor(images, h, w, spec.normalization), images.length, this.gradcam);
    const heat = this.gradcam && spec.cam ? new Float32Array(s.rows * s.columns) : undefined;
    if (spec.kind === 'slice') {
      out.fracture = results[0].positive;
      if (heat && results[0].cam) pasteCam(heat, s.rows, s.columns, results[0].cam, h, w, { x0: 0, y0: 0, x1: s.columns - 1, y1: s.rows - 1 });
    } else {
      results.forEach((r, i) => {
        const v = out.vertebrae[i];
        v.crop = (crops as PixelBox[])[i];
        v.fracture = r.positive;
        if (heat && r.cam) {
          pasteCam(heat, s.rows, s.columns, r.cam, h, w, v.crop);
          v.camPeak = r.cam.reduce((m, x) => (x > m ? x : m), 0);
        }
      });
      out.fracture = results.length ? Math.max(...results.map((r) => r.positive)) : null;
    }
    if (heat) out.heatmap = heat;
    return out;
  }

  private async detect(s: GraySlice): Promise<VertebraFinding[]> {
    const model = this.detector as LoadedModel;
    const spec = model.spec as DetectorSpec;
    const p = await preparedImage(s, spec.preparedSize);
    const dets = await detectImage(model, p.gray, p.width, p.height, this.nms);
    const flat = new Float64Array(dets.length * 4);
    dets.forEach((d, i) => flat.set(d.box, 4 * i));
    preparedToSlice(flat, p, s.rows, s.columns);
    return dets.map((d, i) => ({ name: spec.names[d.cls], cls: d.cls, conf: d.conf, box: [flat[4 * i], flat[4 * i + 1], flat[4 * i + 2], flat[4 * i + 3]] }));
  }

  /** One file (frame `frame`), decoded on this thread. */
  async inferFile(path: string, frame = 0): Promise<SliceFindings> {
    const image = await loadImage(path);
    const values = await loadModality(image, frame);
    const s = { gray: windowSlice(values, image.info, this.window), rows: image.info.rows, columns: image.info.columns };
    const w2 = this.secondWindow();
    const c = w2 ? { ...s, gray: windowSlice(values, image.info, w2) } : undefined;
    return this.inferGray(s, { file: path, frame, instance: image.info.instanceNumber ?? undefined }, c);
  }

  /**
   * Slices of a series in order, decoded `jobs` at a time in worker threads while the models run.
   * Cancelling (`signal`) stops at the next slice with a CancelledError.
   */
  async *inferSeries(items: readonly { path: string; frame?: number }[], o: { signal?: AbortSignal; onProgress?: (p: SeriesProgress) => void; jobs?: number } = {}): AsyncGenerator<SliceFindings> {
    const pool = new DecodePool({ size: o.jobs });
    const w2 = this.secondWindow();
    const ahead = 2 * pool.size + 1;
    const pending: Promise<{ s: GraySlice; c?: GraySlice; instance?: number; path: string; frame: number }>[] = [];
    const start = (k: number) => {
      const { path, frame = 0 } = items[k];
      const p = pool.decodeSlice(path, { frame, window: this.window, gray: true, values: Boolean(w2) }).then((r) => ({
        s: { gray: r.gray as Uint8Array, rows: r.info.rows, columns: r.info.columns },
        c: w2 && r.values ? { gray: windowSlice(r.values, r.info, w2), rows: r.info.rows, columns: r.info.columns } : undefined,
        instance: r.info.instanceNumber ?? undefined, path, frame,
      }));
      p.catch(() => undefined); // observed when awaited below; avoids an unhandled rejection while queued
      pending.push(p);
    };
    try {
      let next = 0;
      for (; next < Math.min(ahead, items.length); next++) start(next);
      for (let k = 0; k < items.length; k++) {
        if (o.signal?.aborted) throw new CancelledError();
        const d = await (pending.shift() as (typeof pending)[number]);
        if (next < items.length) start(next++);
        const found = await this.inferGray(d.s, { file: d.path, frame: d.frame, instance: d.instance }, d.c);
        o.onProgress?.({ done: k + 1, total: items.length, file: d.path });
        yield found;
      }
    } finally {
      await pool.close();
    }
  }

  /** Release the sessions (when this engine created the cache). */
  async dispose(): Promise<void> {
    if (this.ownsCache) await this.cache.dispose();
  }
}
