/**
 * One open viewer: its series, the models' overlays (studyInference.ts), ground truth (groundTruth.ts), the
 * tags panel (tags.ts) and reformats (volume.ts), answering the webview's validated requests. Logic lives in
 * core; this class keeps the per-panel state and turns results into protocol messages.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import * as vscode from 'vscode';
import type { DecodePool } from '../../core/dicom/decodePool';
import { formatUserError } from '../../core/dicom/errors';
import { loadImage } from '../../core/dicom/load';
import { listTags, searchTags, type TagEntry } from '../../core/dicom/tags';
import { loadManifestTruth, loadRsnaTruth, type StudyTruth } from '../../core/viewer/groundTruth';
import { colourModelsNote, openSeriesFor, type OpenedSeries } from '../../core/viewer/openSeries';
import { exactBuffer, SeriesSource } from '../../core/viewer/seriesSource';
import { StudyInference, type OverlaySlice, type StudySummary } from '../../core/viewer/studyInference';
import { SeriesSegmentations, siblingSegmentations } from '../../core/viewer/segOverlay';
import { SeriesVolume } from '../../core/viewer/volume';
import type { HostToViewer, ViewerMethods, ViewerModels, ViewerOverlay, ViewerStudy, ViewerTag } from '../../protocol/viewer';
import { parseViewerMessage } from './messages';
import { modelChoice, ViewerModelsService } from './models';

type Handler<M extends keyof ViewerMethods> = (params: ViewerMethods[M]['params']) => Promise<ViewerMethods[M]['result']>;

export class ViewerSession {
  private opened?: OpenedSeries;
  private source?: SeriesSource;
  private study?: StudyInference;
  private truth?: Promise<StudyTruth | undefined>;
  private segs?: Promise<SeriesSegmentations>;
  private foundSegs?: Promise<string[]>;
  private readonly extraSegs: string[] = [];
  private volume?: SeriesVolume;
  /** How the series is windowed (MONOCHROME1, VOI function), read once for the reformats. */
  private display?: Promise<{ invert: boolean; voiFunction: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID' }>;
  private readonly tags = new Map<number, Promise<TagEntry[]>>();
  /** The opened file's slice and its series, started when the editor opens (before the webview is ready). */
  private opening?: Promise<OpenedSeries>;
  private started = false;
  /** The last state notifications, replayed when the webview reloads (it is not kept while hidden). */
  private readonly lastState = new Map<string, HostToViewer>();
  private readonly cancelled = new Set<number>();
  private generation = 0;
  private disposed = false;

  constructor(
    private readonly uri: vscode.Uri,
    private readonly extensionUri: vscode.Uri,
    private readonly pool: DecodePool,
    private readonly models: ViewerModelsService,
    private readonly post: (m: HostToViewer) => void,
  ) {}

  private notify<M extends HostToViewer & { kind: 'rpc/notify' }>(method: M['method'], params: M['params']): void {
    if (this.disposed) return;
    const m = { kind: 'rpc/notify', method, params } as HostToViewer;
    if (method !== 'viewer/preview') this.lastState.set(method, m);
    this.post(m);
  }

  /**
   * Begin reading as soon as the editor opens, while the webview loads: the opened file's slice (the first
   * pixels) and, beside it, the scan of its folder's series.
   */
  open(): void {
    if (this.uri.scheme !== 'file' || this.opening) return;
    const path = this.uri.fsPath;
    // Posted as soon as it is decoded: VS Code holds messages for a webview until its page has loaded, so
    // this does not wait for the page's ready round trip (and a lost one only means the pixels come with init).
    void new SeriesSource([{ path, frame: 0 }], { pool: this.pool }).getSlice(0).then((s) => {
      if (!this.disposed && !this.opened) this.post({ kind: 'rpc/notify', method: 'viewer/preview', params: { ...s, index: -1 } });
    }, () => undefined);
    this.opening = loadImage(path).then(() => openSeriesFor(path)); // the opened file must be readable; neighbours may be skipped
    this.opening.catch(() => undefined);
  }

  /** A message from the webview: validated, then handled; a bad request gets an error response. */
  receive(raw: unknown): void {
    const parsed = parseViewerMessage(raw);
    if (!parsed.ok) {
      if (parsed.id !== undefined) this.post({ kind: 'rpc/response', id: parsed.id, error: `bad request: ${parsed.reason}` });
      return;
    }
    const m = parsed.message;
    if (m.kind === 'rpc/notify') void this.webviewReady();
    else if (m.kind === 'rpc/cancel') this.cancelled.add(m.id);
    else void this.answer(m.id, () => this.handle(m.method, m.params as never));
  }

  private async answer(id: number, run: () => Promise<unknown>): Promise<void> {
    try {
      const result = await run();
      if (!this.cancelled.delete(id)) this.post({ kind: 'rpc/response', id, result });
    } catch (err) {
      if (!this.cancelled.delete(id)) this.post({ kind: 'rpc/response', id, error: formatUserError(err) });
    }
  }

  private handle<M extends keyof ViewerMethods>(method: M, params: ViewerMethods[M]['params']): Promise<ViewerMethods[M]['result']> {
    const handlers: { [K in keyof ViewerMethods]: Handler<K> } = {
      'viewer/getSlice': async ({ index }) => this.ready().getSlice(index),
      'viewer/getOverlay': async ({ index }) => {
        if (!this.study) throw new Error('the models are not running for this series');
        return overlayMessage(await this.study.slice(index));
      },
      'viewer/getTruth': async ({ index }) => {
        const t = await this.truth;
        const s = t?.slice(index);
        return s ? { sliceNumber: s.sliceNumber, fractures: s.fractures.map((f) => f.box), vertebrae: s.vertebrae } : null;
      },
      'viewer/getSegMasks': async ({ index }) => {
        const segs = await this.segs;
        if (!segs) return [];
        return (await segs.masks(index)).map((m) => ({ ...m, alpha: exactBuffer(m.alpha) }));
      },
      'viewer/getTags': async ({ index, query }) => {
        const entry = this.ready().entries[index];
        if (!entry) throw new RangeError(`slice ${index} out of range`);
        let rows = this.tags.get(index);
        if (!rows) {
          rows = readFile(entry.path).then((b) => listTags(b, entry.path));
          rows.catch(() => this.tags.delete(index));
          this.tags.set(index, rows);
          while (this.tags.size > 8) this.tags.delete(this.tags.keys().next().value as number);
        }
        const found = searchTags(await rows, query);
        const out: ViewerTag[] = found.rows.map(({ entry: e, matched }) => ({ tag: e.tag, keyword: e.keyword, name: e.name, vr: e.vr, value: e.value, depth: e.depth, private: e.private, kind: e.kind, matched }));
        return { file: entry.path.split(/[\\/]/).pop() ?? entry.path, rows: out, matches: found.matchCount };
      },
      'viewer/getReformat': async ({ kind, index }) => {
        const opened = this.opened;
        if (!opened || !this.source) throw new Error('the viewer is not initialised yet');
        this.volume ??= new SeriesVolume(this.source.entries, opened.geometry, this.pool);
        const r = await this.volume.reformat(kind, index);
        this.display ??= this.source.getSlice(0).then((s) => ({ invert: s.invert, voiFunction: s.voiFunction }));
        return { ...r, values: exactBuffer(r.values), ...(await this.display) };
      },
    };
    return (handlers[method] as Handler<M>)(params);
  }

  private ready(): SeriesSource {
    if (!this.source) throw new Error('the viewer is not initialised yet');
    return this.source;
  }

  /** The webview (re)loaded: the first time, start; after a reload, tell it again what it knew. */
  private async webviewReady(): Promise<void> {
    if (this.started) {
      for (const m of this.lastState.values()) this.post(m);
      return;
    }
    this.started = true;
    if (this.uri.scheme !== 'file') {
      this.notify('viewer/fatal', { message: `${this.uri.toString()}: only files on disk can be opened (scheme "${this.uri.scheme}")` });
      return;
    }
    this.open();
    const path = this.uri.fsPath;
    try {
      this.opened = await this.opening;
    } catch (err) {
      this.notify('viewer/fatal', { message: formatUserError(err, path) });
      return;
    }
    if (!this.opened) return;
    this.source = new SeriesSource(this.opened.entries, { pool: this.pool });
    this.notify('viewer/init', this.opened.init);
    this.loadTruth();
    this.loadSegmentations();
    void this.startModels(this.opened.init.initialIndex);
  }

  /** Ground truth of the series: RSNA layout beside the file, else prepared datasets' manifests in the workspace. */
  private loadTruth(): void {
    const opened = this.opened as OpenedSeries;
    const decode = (p: string) => this.pool.decodeSlice(p, { values: true }).then((s) => ({ values: s.values as Float32Array, rows: s.info.rows, columns: s.info.columns }));
    this.truth = (async () => {
      const rsna = await loadRsnaTruth(this.uri.fsPath, opened.entries, { decode });
      if (rsna) return rsna;
      const manifests = await vscode.workspace.findFiles('**/manifest.jsonl', '**/node_modules/**', 20);
      return manifests.length ? loadManifestTruth(manifests.map((u) => u.fsPath), opened.entries) : undefined;
    })();
    this.truth.then((t) => {
      this.notify('viewer/truth', t
        ? { available: true, source: t.source, study: t.study, labels: t.labels, vertebrae: t.vertebrae, notes: t.notes }
        : { available: false, notes: [] });
    }, (err: unknown) => this.notify('viewer/truth', { available: false, notes: [formatUserError(err)] }));
  }

  /**
   * DICOM SEG objects over the series: in its folder, in small sibling folders, and the ones added with "Show DICOM
   * SEG…" (`extra`). Reading them runs no model, so untrusted folders get them too.
   */
  private loadSegmentations(extra: readonly string[] = []): void {
    const opened = this.opened as OpenedSeries;
    this.extraSegs.push(...extra);
    // The folder scan already found the SEGs beside the series; the sibling folders are looked into once.
    this.foundSegs ??= siblingSegmentations(dirname(this.uri.fsPath)).then((s) => [...opened.segmentations, ...s]);
    const picked = [...this.extraSegs];
    this.segs = this.foundSegs.then((found) => SeriesSegmentations.load([...found, ...picked], opened.identities, opened.geometry, { picked }));
    this.segs.then((s) => {
      const info = s.info();
      this.notify('viewer/segmentations', { files: info.files.map((f) => ({ name: basename(f.file), type: f.type, segments: f.segments, slices: f.slices })), notes: info.notes });
    }, (err: unknown) => this.notify('viewer/segmentations', { files: [], notes: [formatUserError(err)] }));
  }

  /** Show a DICOM SEG file over this series (palette command "DICOM ML: Show DICOM SEG…"). */
  addSegmentation(file: string): void {
    if (this.opened) this.loadSegmentations([file]);
  }

  /** Settings or trust changed: start the models again. */
  restartModels(): void {
    if (this.opened) void this.startModels(0);
  }

  /** (Re)start the models for this series: gate (trust, settings), load, then the background pass. */
  private async startModels(around: number): Promise<void> {
    const mine = ++this.generation;
    this.study?.stop();
    this.study = undefined;
    if (!this.source) return;
    const choice = modelChoice(this.uri, this.extensionUri);
    const say = (m: ViewerModels) => { if (mine === this.generation) this.notify('viewer/models', m); };
    const colour = this.opened?.colour;
    if (colour) return say({ state: 'off', message: colourModelsNote(colour), names: [], gradcam: false });
    const gated = ViewerModelsService.gate(choice);
    if (gated) return say(gated);
    say({ state: 'loading', names: [], gradcam: false });
    let engine;
    try {
      engine = await this.models.engine(choice);
    } catch (err) {
      return say({ state: 'error', message: formatUserError(err), names: [], gradcam: false });
    }
    if (mine !== this.generation || !this.source) return;
    const s = new StudyInference(engine, this.source.entries, this.pool, { study: this.uri.path.split('/').pop() });
    this.study = s;
    const names = engine.detector?.spec.names ?? [];
    const file = (p?: string) => p?.split(/[\\/]/).pop();
    say({ state: 'ready', message: engine.notes[0], names, gradcam: engine.gradcam, detector: file(engine.detector?.spec.path), classifier: file(engine.classifier?.spec.path) });
    let last = 0;
    const send = (sum: StudySummary, force = false) => {
      if (mine !== this.generation) return;
      const now = Date.now();
      if (!force && now - last < 300) return;
      last = now;
      this.notify('viewer/study', studyMessage(sum, names));
    };
    s.runAll(around, (sum) => send(sum)).then((sum) => send(sum, true), (err: unknown) => {
      if ((err as Error).message !== 'cancelled') say({ state: 'error', message: formatUserError(err), names, gradcam: engine.gradcam });
    });
  }

  dispose(): void {
    this.disposed = true;
    this.generation++;
    this.study?.stop();
  }
}

/** A slice's overlays as the protocol sends them (the heat map as an exact ArrayBuffer). */
function overlayMessage(o: OverlaySlice): ViewerOverlay {
  return {
    index: o.index, rows: o.rows, columns: o.columns, fracture: o.fracture, boxes: o.vertebrae,
    ...(o.heatmap ? { heatmap: { ...o.heatmap, data: exactBuffer(o.heatmap.data) } } : {}),
  };
}

/** The study summary as the protocol sends it. */
function studyMessage(s: StudySummary, names: readonly string[]): ViewerStudy {
  return {
    done: s.done, total: s.total, strip: s.strip.map((e) => (e ? { fracture: e.fracture, vertebrae: e.vertebrae } : null)),
    ...(s.fusion ? {
      vertebrae: s.fusion.vertebrae.map((v, i) => ({ name: names[i] ?? v.name, probability: v.probability, detected: v.detected, peakIndex: s.peakIndex[i] })),
      patient: s.fusion.patient, rule: s.fusion.rule,
    } : {}),
  };
}
