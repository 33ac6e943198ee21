/**
 * Model overlays for a series shown in the viewer (issue 8): one slice on demand (the one on screen first),
 * the whole series in the background for the per-slice strip and the study summary (fusion), each slice
 * inferred once and cached. Slices decode in the viewer's decode pool (worker threads); the models run on
 * onnxruntime's threads; the host's event loop only orchestrates.
 */
import type { DecodePool } from '../dicom/decodePool';
import { CancelledError, type InferenceEngine, type SliceFindings } from '../inference/engine';
import { fuseStudy, type StudyFusion } from '../metrics/rsna';
import type { SliceEntry } from './seriesSource';

/** What the viewer draws for one slice. */
export interface OverlaySlice {
  index: number;
  rows: number;
  columns: number;
  /** Boxes in slice pixels (xyxy, pixel edges), detector confidence, per-vertebra fracture probability. */
  vertebrae: { name: string; cls: number; conf: number; box: [number, number, number, number]; fracture?: number }[];
  /** Slice fracture probability (max over its vertebrae, or the slice classifier's); null when none. */
  fracture: number | null;
  /** Grad-CAM on the slice grid, quantised and cut to its non-zero rectangle ({@link quantiseHeatmap}); absent without one. */
  heatmap?: QuantisedHeatmap;
}

/**
 * A heat map quantised to 0…255 by its maximum (`max`) and cut to the rectangle holding its non-zero values
 * (x, y, width, height in slice pixels): Grad-CAM lives in the vertebra crops, a few percent of a slice, so a
 * whole series' maps stay cached and cross to the webview in a few kilobytes each.
 */
export interface QuantisedHeatmap {
  data: Uint8Array;
  max: number;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** One slice's line in the study strip. */
export interface StripEntry {
  index: number;
  fracture: number | null;
  /** Class ids of the vertebrae detected on the slice. */
  vertebrae: number[];
}

/** The series' summary: strip, fusion (per-vertebra and patient probability), progress. */
export interface StudySummary {
  done: number;
  total: number;
  strip: (StripEntry | null)[];
  /** Per-vertebra C1–C7 and patient probability, once every slice is done (null before, or without a classifier). */
  fusion: StudyFusion | null;
  /** Most suspicious slice index per vertebra C1…C7 (from the fusion's peak slice), null when undetected. */
  peakIndex: (number | null)[];
}

/** Quantise a `columns`-wide heat map by its maximum and cut it to the rectangle of values that quantise above 0. */
export function quantiseHeatmap(heat: Float32Array, columns: number): QuantisedHeatmap {
  let max = 0;
  for (let i = 0; i < heat.length; i++) if (heat[i] > max) max = heat[i];
  const rows = Math.floor(heat.length / columns);
  let x0 = columns;
  let y0 = rows;
  let x1 = -1;
  let y1 = -1;
  const floor = max / 510; // quantises to 0 below this
  for (let y = 0; y < rows && max > 0; y++) {
    for (let x = 0, i = y * columns; x < columns; x++, i++) {
      if (heat[i] < floor) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      y1 = y;
    }
  }
  if (x1 < 0) return { data: new Uint8Array(0), max, x: 0, y: 0, width: 0, height: 0 };
  const width = x1 - x0 + 1;
  const height = y1 - y0 + 1;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0, i = (y0 + y) * columns + x0; x < width; x++, i++) data[y * width + x] = Math.round((255 * heat[i]) / max);
  }
  return { data, max, x: x0, y: y0, width, height };
}

function toOverlay(index: number, f: SliceFindings): OverlaySlice {
  return {
    index, rows: f.rows, columns: f.columns, fracture: f.fracture,
    vertebrae: f.vertebrae.map((v) => ({ name: v.name, cls: v.cls, conf: v.conf, box: v.box, ...(v.fracture !== undefined ? { fracture: v.fracture } : {}) })),
    ...(f.heatmap ? { heatmap: quantiseHeatmap(f.heatmap, f.columns) } : {}),
  };
}

/** Overlays of one series, cached per slice (heat maps up to `heatmapBytes`, oldest dropped first). */
export class StudyInference {
  private readonly done = new Map<number, OverlaySlice>();
  private readonly running = new Map<number, Promise<OverlaySlice>>();
  private readonly heatOrder: number[] = [];
  private heatBytes = 0;
  private background?: AbortController;

  constructor(
    private readonly engine: InferenceEngine,
    private readonly entries: readonly SliceEntry[],
    private readonly pool: DecodePool,
    private readonly options: { heatmapBytes?: number; study?: string } = {},
  ) {}

  /** The overlays of slice `index` (inferred now unless cached). */
  slice(index: number): Promise<OverlaySlice> {
    const hit = this.done.get(index);
    if (hit && (hit.heatmap || !this.engine.gradcam || hit.vertebrae.length === 0)) return Promise.resolve(hit);
    let p = this.running.get(index);
    if (!p) {
      p = this.infer(index).finally(() => this.running.delete(index));
      this.running.set(index, p);
    }
    return p;
  }

  private async infer(index: number): Promise<OverlaySlice> {
    const entry = this.entries[index];
    if (!entry) throw new RangeError(`slice ${index} out of range (0…${this.entries.length - 1})`);
    const d = await this.pool.decodeSlice(entry.path, { frame: entry.frame, window: this.engine.window, gray: true, values: false });
    const f = await this.engine.inferGray({ gray: d.gray as Uint8Array, rows: d.info.rows, columns: d.info.columns }, { file: entry.path, frame: entry.frame, instance: d.info.instanceNumber });
    const o = toOverlay(index, f);
    this.keep(o);
    return o;
  }

  private keep(o: OverlaySlice): void {
    this.done.set(o.index, o);
    if (!o.heatmap) return;
    this.heatOrder.push(o.index);
    this.heatBytes += o.heatmap.data.length;
    const limit = this.options.heatmapBytes ?? 64 * 2 ** 20;
    while (this.heatBytes > limit && this.heatOrder.length > 1) {
      const old = this.done.get(this.heatOrder.shift() as number);
      if (old?.heatmap) {
        this.heatBytes -= old.heatmap.data.length;
        delete old.heatmap;
      }
    }
  }

  /** The summary so far. */
  summary(): StudySummary {
    const strip = this.entries.map((_, i) => {
      const o = this.done.get(i);
      return o ? { index: i, fracture: o.fracture, vertebrae: [...new Set(o.vertebrae.map((v) => v.cls))] } : null;
    });
    const complete = this.done.size === this.entries.length;
    let fusion: StudyFusion | null = null;
    let peakIndex: (number | null)[] = Array(7).fill(null);
    if (complete && this.engine.classifier) {
      const slices = strip.map((_, i) => ({
        slice: i,
        vertebrae: (this.done.get(i)?.vertebrae ?? []).filter((v) => v.fracture !== undefined && v.cls < 7).map((v) => ({ vertebra: v.cls, conf: v.conf, fracture: v.fracture as number })),
      }));
      fusion = fuseStudy(this.options.study ?? 'study', slices);
      peakIndex = fusion.vertebrae.map((v) => v.peakSlice);
    }
    return { done: this.done.size, total: this.entries.length, strip, fusion, peakIndex };
  }

  /**
   * Infer every slice not done yet, nearest to `around` first, reporting after each slice. Resolves with the
   * final summary; a second call cancels the first. Cancelled runs reject with CancelledError.
   */
  async runAll(around: number, onProgress: (s: StudySummary) => void): Promise<StudySummary> {
    this.background?.abort();
    const controller = new AbortController();
    this.background = controller;
    const order = this.entries.map((_, i) => i).sort((a, b) => Math.abs(a - around) - Math.abs(b - around) || a - b);
    for (const i of order) {
      if (controller.signal.aborted) throw new CancelledError();
      if (this.done.has(i)) continue;
      await this.slice(i);
      onProgress(this.summary());
    }
    return this.summary();
  }

  /** Stop the background run. */
  stop(): void {
    this.background?.abort();
  }
}
