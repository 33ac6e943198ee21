/**
 * The DICOM viewer webview: the slice on a canvas windowed with the CLI's VOI function (src/core/dicom/voi.ts) —
 * a colour slice drawn as it is, with no window (colour.ts) —
 * the model layers over it (overlays.ts), zoom and pan of all layers together, the series strip and the study
 * summary (study.ts), cine, and keyboard access to everything. Browser code only; talks to the host through
 * src/protocol.
 */
import type { HostToViewer, ViewerInit, ViewerMethods, ViewerModels, ViewerOverlay, ViewerPreset, ViewerSegInfo, ViewerSlice, ViewerStudy, ViewerTruthInfo, ViewerWindow } from '../../src/protocol/viewer';
import { fromBytePlanes } from '../../src/core/dicom/bytePlanes';
import { PRESETS, voiLutToGray8, windowToGray8, type VoiLut } from '../../src/core/dicom/voi';
import { canvasTransform, createView, pan as panBy, reset as resetState, zoomAt as zoomAbout, type View, type ViewState } from '../../src/core/viewer/viewTransform';
import type { ColormapName } from './colormaps';
import { OverlayLayers, type OverlayOptions } from './overlays';
import { RpcClient } from './rpc';
import { ReformatView } from './reformatView';
import { SliceRequests } from './requestCache';
import { SegLayer } from './segLayer';
import { StripView, SummaryView } from './study';
import { enable, press } from './controls';
import { colourNote, colourReadout, rgbToRgba } from './colour';

interface SavedState {
  index?: number;
  window?: ViewerWindow;
  preset?: ViewerPreset | 'custom';
  overlays?: OverlayOptions;
  smooth?: boolean;
  fps?: number;
}

const vscode = acquireVsCodeApi<SavedState>();
const rpc = new RpcClient<ViewerMethods>((m) => vscode.postMessage(m));
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = $<HTMLCanvasElement>('image');
const stage = $<HTMLElement>('stage');
const layers = $<HTMLElement>('layers');
const ctx2d = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;

let init: ViewerInit | undefined;
let index = 0;
let current: ViewerSlice | undefined;
let values: Float32Array | Int16Array | undefined;
/** The current slice's 8-bit RGB (rows×columns×3) when it is a colour image; its `values` are then palette indices or none. */
let rgb: Uint8Array | undefined;
const saved = vscode.getState() ?? {};
let preset: ViewerPreset | 'custom' = saved.preset ?? 'bone';
let win: ViewerWindow = saved.window ?? { ...PRESETS.bone };
/** Slices ahead of the one shown in the scroll direction that are asked for in advance (and behind it). */
const AHEAD = 8;
const BEHIND = 2;
let direction = 1;
const slices = new SliceRequests<Unpacked>(64, (i, signal) => rpc.request('viewer/getSlice', { index: i }, { signal }).then(unpack));
const overlays = new SliceRequests<ViewerOverlay>(128, (i, signal) => rpc.request('viewer/getOverlay', { index: i }, { signal, timeoutMs: 120_000 }));

// ---- view: fit, zoom and pan of the layer stack (image, heat map, boxes share one placement) ----
// src/core/viewer/viewTransform.ts owns the maths (unit-tested); here its canvas transform places the wrapper.
let viewState: ViewState = resetState();
let smooth = saved.smooth ?? true;

/** The current view (slice size, physical aspect, stage size), or undefined when nothing can be shown. */
function currentView(): View | undefined {
  if (!current || !stage.clientWidth || !stage.clientHeight) return undefined;
  const [rowSpacing, colSpacing] = current.pixelSpacing ?? [1, 1];
  try {
    return createView({ width: current.columns, height: current.rows, spacingX: colSpacing, spacingY: rowSpacing }, { width: stage.clientWidth, height: stage.clientHeight });
  } catch {
    return undefined;
  }
}

function setState(state: 'loading' | 'ready' | 'error'): void {
  document.body.dataset.state = state;
}

function showError(message: string): void {
  for (const b of document.querySelectorAll<HTMLElement>('[data-preset]')) {
    press(b, false);
    enable(b, false);
  }
  const box = $('error');
  box.textContent = message;
  box.hidden = false;
  layers.hidden = true;
  setState('error');
}

function save(): void {
  vscode.setState({ index, window: win, preset, overlays: opts, smooth, fps });
}

/** CSS px per slice pixel (horizontal) at the current zoom, for label sizes. */
let cssPerPixel = 1;

/** Place the layer stack: top-left at the transform's offset, sized slice × scale. */
function applyView(): void {
  const view = currentView();
  if (!view || !current) return;
  const t = canvasTransform(view, viewState, { interpolation: smooth ? 'bilinear' : 'nearest' });
  layers.style.left = `${t.offsetX}px`;
  layers.style.top = `${t.offsetY}px`;
  layers.style.width = `${current.columns * t.scaleX}px`;
  layers.style.height = `${current.rows * t.scaleY}px`;
  cssPerPixel = t.scaleX;
  layers.classList.toggle('pixelated', !t.smoothing);
  document.body.dataset.zoom = viewState.zoom.toFixed(3);
  document.body.dataset.pan = `${Math.round(viewState.panX)},${Math.round(viewState.panY)}`;
  renderOverlays();
}
new ResizeObserver(applyView).observe(stage);

/** Zoom by `factor` keeping the stage point (clientX, clientY) — the centre by default — where it is. */
function zoomAt(factor: number, clientX?: number, clientY?: number): void {
  const view = currentView();
  if (!view) return;
  const r = stage.getBoundingClientRect();
  viewState = zoomAbout(view, viewState, { x: (clientX ?? r.left + r.width / 2) - r.left, y: (clientY ?? r.top + r.height / 2) - r.top }, factor);
  applyView();
  save();
}

function resetView(): void {
  viewState = resetState();
  applyView();
}

// ---- slice drawing ----
function updateLabels(): void {
  if (!init) return;
  const ref = init.slices[index];
  $('slice-label').textContent = `Slice ${index + 1} / ${init.slices.length}`;
  const colour = current?.colour !== undefined;
  const lut = fileLut();
  $('window-label').textContent = current?.colour ? colourNote(current) : lut ? `File VOI LUT (${lut.data.length} entries, ${lut.bits}-bit)` : `W ${Math.round(win.width)} C ${Math.round(win.center)}`;
  $('window-label').title = colour ? 'Window presets, drag-to-window and the sagittal / coronal reformats are for grey images' : '';
  document.body.dataset.slice = String(index);
  document.body.dataset.slices = String(init.slices.length);
  document.body.dataset.window = colour ? 'none' : lut ? 'lut' : `${win.center},${win.width}`;
  const slider = $<HTMLInputElement>('slider');
  slider.max = String(init.slices.length - 1);
  slider.value = String(index);
  for (const b of document.querySelectorAll<HTMLElement>('[data-preset]')) {
    press(b, !colour && b.dataset.preset === preset);
    enable(b, !colour && (b.dataset.preset !== 'file' || (!current?.fileVoiProblem && Boolean(current?.fileWindow || current?.fileLut))));
    if (b.dataset.preset === 'file') b.title = current?.fileVoiProblem ? `The file's VOI LUT Sequence cannot be applied: ${current.fileVoiProblem}` : current?.fileLut ? "The file's VOI LUT Sequence — 5" : "The file's own window — 5";
  }
  // Reformats are built from grey values (the host refuses colour series): only the axial plane for colour.
  for (const b of document.querySelectorAll<HTMLElement>('[data-plane]')) enable(b, !colour || b.dataset.plane === 'axial');
  const parts = [ref ? `${ref.name}${ref.frame ? ` frame ${ref.frame}` : ''}` : ''];
  if (current) {
    parts.push(`${current.columns}×${current.rows}`, current.transferSyntax);
    if (current.pixelSpacing) parts.push(`${current.pixelSpacing[1].toFixed(2)}×${current.pixelSpacing[0].toFixed(2)} mm`);
  }
  if (ref?.position !== undefined) parts.push(`z ${ref.position.toFixed(1)} mm`);
  if (models?.state === 'ready' && overlay) {
    const n = layersView.visibleBoxes(opts).length;
    parts.push(`${n} vertebra box${n === 1 ? '' : 'es'}${overlay.fracture !== null ? `, slice fracture ${(100 * overlay.fracture).toFixed(0)}%` : ''}`);
  }
  if (init.warnings.length) parts.push(`⚠ ${init.warnings.length} note(s): ${init.warnings[0]}`);
  $('status').textContent = parts.filter(Boolean).join(' · ');
  strip.setCurrent(index);
}

/** An opaque grey pixel as one little-endian RGBA word (R = G = B = g, A = 255). */
function opaqueGrey(g: number): number {
  return (0xff000000 | (g << 16) | (g << 8) | g) >>> 0;
}

let palette: { key: string; table: Uint32Array } | undefined;
/** The colour of every Int16 value (indexed by `value & 0xffff`) under the current window, padding black. */
function int16Palette(slice: ViewerSlice): Uint32Array {
  const key = `${win.center}|${win.width}|${slice.voiFunction}|${slice.invert}|${slice.paddingRange?.join()}`;
  if (palette?.key === key) return palette.table;
  const ramp = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) ramp[i] = (i << 16) >> 16;
  const grey = windowToGray8(ramp, win, { fn: slice.voiFunction, invert: slice.invert });
  const [padLo, padHi] = slice.paddingRange ?? [Infinity, -Infinity];
  const table = new Uint32Array(65536);
  for (let i = 0; i < 65536; i++) table[i] = opaqueGrey(ramp[i] >= padLo && ramp[i] <= padHi ? 0 : grey[i]);
  palette = { key, table };
  return table;
}

let lutOf: { slice: ViewerSlice; lut: VoiLut } | undefined;
/** The file's VOI LUT when the "File" preset is on and the slice has one (it replaces the window), else undefined. */
function fileLut(): VoiLut | undefined {
  const f = current?.fileLut;
  if (preset !== 'file' || !f || !current || current.colour) return undefined;
  if (lutOf?.slice !== current) lutOf = { slice: current, lut: { firstMapped: f.firstMapped, bits: f.bits, data: new Uint16Array(f.data) } };
  return lutOf.lut;
}

/** Window the current slice into the canvas (grey, R=G=B); a colour slice is drawn as it is. */
function draw(): void {
  if (!current || !values) return;
  const { columns, rows } = current;
  if (canvas.width !== columns || canvas.height !== rows) {
    canvas.width = columns;
    canvas.height = rows;
  }
  applyView();
  const image = ctx2d.createImageData(columns, rows);
  const rgba = new Uint32Array(image.data.buffer);
  const lut = fileLut();
  if (rgb) {
    rgbToRgba(rgb, rgba);
  } else if (lut) {
    // The file's VOI LUT in place of the window (PS3.3 C.11.2), padding black.
    const grey = voiLutToGray8(values, lut, { invert: current.invert });
    const [padLo, padHi] = current.paddingRange ?? [Infinity, -Infinity];
    for (let i = 0; i < grey.length; i++) rgba[i] = opaqueGrey(values[i] >= padLo && values[i] <= padHi ? 0 : grey[i]);
  } else if (values instanceof Int16Array) {
    // One lookup per pixel in a table of every Int16 value's colour (the same windowToGray8 and padding test).
    const table = int16Palette(current);
    for (let i = 0; i < values.length; i++) rgba[i] = table[values[i] & 0xffff];
  } else {
    const grey = windowToGray8(values, win, { fn: current.voiFunction, invert: current.invert });
    const [padLo, padHi] = current.paddingRange ?? [Infinity, -Infinity];
    for (let i = 0; i < grey.length; i++) {
      const v = values[i];
      rgba[i] = opaqueGrey(v >= padLo && v <= padHi ? 0 : grey[i]);
    }
  }
  ctx2d.putImageData(image, 0, 0);
  // The slice whose pixels the canvas holds (data-slice changes first, when the slice is asked for).
  document.body.dataset.drawn = String(current.index);
  document.body.dataset.colour = current.colour?.photometricInterpretation ?? '';
  // ms from the webview document's start to the first pixels (npm run bench reads it).
  document.body.dataset.firstDrawMs ??= performance.now().toFixed(1);
  updateLabels();
  drawReformat();
}

/** A slice with its values (and a colour slice's RGB) unpacked. */
interface Unpacked {
  slice: ViewerSlice;
  values: Int16Array | Float32Array;
  rgb?: Uint8Array;
}

/** Inflate deflate-raw bytes with the browser's own zlib. */
async function inflate(data: ArrayBuffer): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Inflate a slice's packed values (src/core/dicom/pack.ts: byte planes, deflate-raw) and, for a colour slice, its
 * RGB. A colour slice's values are its palette indices (PALETTE COLOR) or none.
 */
async function unpack(slice: ViewerSlice): Promise<Unpacked> {
  const width = slice.valueType === 'int16' ? 2 : 4;
  const planes = await inflate(slice.values);
  const pixels = slice.rows * slice.columns;
  const expected = slice.colour && slice.colour.photometricInterpretation !== 'PALETTE COLOR' ? 0 : pixels * width;
  if (planes.length !== expected) throw new Error(`${slice.file}: ${planes.length} bytes of values for ${slice.columns}×${slice.rows} ${slice.valueType}`);
  const bytes = fromBytePlanes(planes, width);
  const out: Unpacked = { slice, values: width === 2 ? new Int16Array(bytes.buffer) : new Float32Array(bytes.buffer) };
  if (slice.colour) {
    out.rgb = await inflate(slice.colour.rgb);
    if (out.rgb.length !== 3 * pixels) throw new Error(`${slice.file}: ${out.rgb.length} bytes of RGB for ${slice.columns}×${slice.rows} pixels`);
  }
  return out;
}

/** Make `u` the slice on the canvas. */
/** Whether the window was chosen (restored from the saved state, or picked for the first slice shown). */
let voiChosen = saved.preset !== undefined;

/**
 * The first slice shown picks the window when none was saved: CT (HU) opens in the paper's bone window; other grey
 * images (MR, a DICOM SEG's masks, 8-bit grey) in the file's own VOI, else a window over the slice's value range —
 * the bone window would show them black.
 */
function chooseFirstVoi(u: Unpacked): void {
  voiChosen = true;
  if (u.slice.colour || u.slice.units === 'HU') return;
  if (u.slice.fileLut || u.slice.fileWindow) {
    preset = 'file';
    return;
  }
  const [padLo, padHi] = u.slice.paddingRange ?? [Infinity, -Infinity];
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of u.values) {
    if (v >= padLo && v <= padHi) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return;
  // LINEAR with width w spans [c − w/2, c + w/2] (PS3.3 C.11.2.1.2.1, up to half a unit): lo black, hi white.
  win = { center: (lo + hi + 1) / 2, width: Math.max(1, hi - lo + 1) };
  preset = 'custom';
}

function show(u: Unpacked): void {
  if (!voiChosen) chooseFirstVoi(u);
  current = u.slice;
  values = u.values;
  rgb = u.rgb;
  if (preset === 'file' && current.fileWindow && !current.fileLut) win = { ...current.fileWindow };
  draw();
}

/** Show slice `i` (clamped); requests still running for slices far from it are cancelled. */
async function goTo(i: number): Promise<void> {
  if (!init) return;
  const target = Math.max(0, Math.min(init.slices.length - 1, i));
  if (target !== index) direction = target > index ? 1 : -1;
  index = target;
  updateLabels();
  slices.keepWithin(target - AHEAD, target + AHEAD);
  overlays.keepWithin(target - AHEAD, target + AHEAD);
  try {
    const slice = await slices.get(target);
    if (index !== target) return;
    show(slice);
    save();
    setState('ready');
    $('error').hidden = true;
    layers.hidden = false;
    prefetch(target);
    void loadOverlay(target);
    void loadTruth(target);
    void loadSegMasks(target);
    if (plane !== 'axial') drawReformat();
    if (!$('tags-panel').hidden) scheduleTags();
  } catch (err) {
    if ((err as Error).name === 'AbortError') return;
    showError((err as Error).message);
  }
}

/**
 * Ask for the neighbours' pixels and overlays in the background, nearest first and mostly in the direction
 * the user (or cine) is moving, so the next slices are at hand when they are wanted.
 */
function prefetch(i: number): void {
  if (!init) return;
  const order: number[] = [];
  for (let d = 1; d <= AHEAD; d++) {
    order.push(i + d * direction);
    if (d <= BEHIND) order.push(i - d * direction);
  }
  for (const n of order) {
    if (n < 0 || n >= init.slices.length) continue;
    if (!slices.has(n)) slices.get(n).catch(() => undefined);
    if (models?.state === 'ready' && !overlays.has(n)) overlays.get(n).catch(() => undefined);
  }
}

function applyPreset(name: ViewerPreset): void {
  if (current?.colour) return; // no window for colour (the preset buttons are disabled)
  if (name === 'file') {
    if (!current || current.fileVoiProblem || !(current.fileWindow || current.fileLut)) return;
    if (!current.fileLut && current.fileWindow) win = { ...current.fileWindow };
  } else {
    win = { ...PRESETS[name] };
  }
  preset = name;
  draw();
  save();
}

/** Slice pixel under a mouse event, or undefined outside the image. */
function pixelAt(e: MouseEvent): { x: number; y: number } | undefined {
  if (!current) return undefined;
  const r = canvas.getBoundingClientRect();
  const x = Math.floor(((e.clientX - r.left) / r.width) * current.columns);
  const y = Math.floor(((e.clientY - r.top) / r.height) * current.rows);
  return x >= 0 && y >= 0 && x < current.columns && y < current.rows ? { x, y } : undefined;
}

function readout(e: MouseEvent): void {
  const p = pixelAt(e);
  const out = $('hu-readout');
  if (!p || !values || !current) {
    out.textContent = '';
    return;
  }
  const i = p.y * current.columns + p.x;
  if (rgb) {
    out.textContent = `(${p.x}, ${p.y}) = ${colourReadout(rgb, values, i)}${patientText(p.x, p.y)}`;
    return;
  }
  const v = values[i];
  const shown = Number.isInteger(v) ? String(v) : v.toFixed(2);
  out.textContent = `(${p.x}, ${p.y}) = ${shown}${current.units ? ` ${current.units}` : ''}${current.paddingRange && v >= current.paddingRange[0] && v <= current.paddingRange[1] ? ' (padding)' : ''}${patientText(p.x, p.y)}`;
}

/** Patient position (LPS mm) of pixel (x, y): PS3.3 C.7.6.2.1.1, IPP + x·Δc·row cosines + y·Δr·column cosines. */
function patientText(x: number, y: number): string {
  const ipp = current?.imagePositionPatient;
  const iop = current?.imageOrientationPatient;
  const ps = current?.pixelSpacing;
  if (!ipp || !iop || !ps) return '';
  const pos = [0, 1, 2].map((a) => ipp[a] + x * ps[1] * iop[a] + y * ps[0] * iop[3 + a]);
  const letter = (v: number, neg: string, posL: string) => `${Math.abs(v).toFixed(1)} ${v < 0 ? neg : posL}`;
  // LPS: +x left, +y posterior, +z superior.
  return ` · ${letter(pos[0], 'R', 'L')}, ${letter(pos[1], 'A', 'P')}, ${letter(pos[2], 'I', 'S')} mm`;
}

// Left drag: window (right/left = width, down/up = centre, radiology habit). Middle drag, or Shift + left
// drag: pan. Ctrl/⌘ + wheel (and trackpad pinch, which Chromium reports so): zoom at the cursor.
let drag: { x: number; y: number; win: ViewerWindow } | undefined;
let panDrag: { x: number; y: number; state: ViewState } | undefined;
stage.addEventListener('mousedown', (e) => {
  if (e.button === 1 || (e.button === 0 && e.shiftKey)) {
    panDrag = { x: e.clientX, y: e.clientY, state: viewState };
    e.preventDefault();
  } else if (e.button === 0 && e.target !== stage && !current?.colour) {
    drag = { x: e.clientX, y: e.clientY, win: { ...win } };
  }
});
window.addEventListener('mouseup', () => {
  drag = undefined;
  if (panDrag) save();
  panDrag = undefined;
});
window.addEventListener('mousemove', (e) => {
  if (panDrag) {
    viewState = panBy(panDrag.state, e.clientX - panDrag.x, e.clientY - panDrag.y);
    applyView();
    return;
  }
  if (e.target === canvas || (e.target as Element | null)?.closest?.('#layers')) readout(e);
  if (!drag || !(e.buttons & 1)) return;
  const scale = Math.max(1, drag.win.width) / 200;
  win = { center: drag.win.center + (e.clientY - drag.y) * scale, width: Math.max(1, drag.win.width + (e.clientX - drag.x) * scale) };
  preset = 'custom';
  draw();
  save();
});
canvas.addEventListener('mouseleave', () => { $('hu-readout').textContent = ''; });

stage.addEventListener('wheel', (e) => {
  e.preventDefault();
  if (e.ctrlKey || e.metaKey) {
    zoomAt(Math.exp(-e.deltaY * 0.002), e.clientX, e.clientY);
    return;
  }
  if (e.deltaY !== 0) void goTo(index + Math.sign(e.deltaY));
}, { passive: false });

// ---- model overlays ----
let models: ViewerModels | undefined;
let overlay: ViewerOverlay | undefined;
let study: ViewerStudy | undefined;
const opts: OverlayOptions = { boxes: true, truth: true, seg: true, heatmap: true, minConf: 0.25, opacity: 0.5, colormap: 'jet', ...saved.overlays };
const layersView = new OverlayLayers($<HTMLCanvasElement>('heat'), document.getElementById('boxes') as unknown as SVGSVGElement);
const segLayer = new SegLayer($<HTMLCanvasElement>('seg'));
const strip = new StripView($<HTMLCanvasElement>('strip'), (i) => void goTo(i));
const summary = new SummaryView($('summary'), (i) => void goTo(i));
let overlayFor = -1;

function renderOverlays(): void {
  layersView.render(opts, 1 / cssPerPixel, current);
  document.body.dataset.boxes = String(layersView.current && opts.boxes ? layersView.visibleBoxes(opts).length : 0);
  document.body.dataset.heatmap = String(Boolean(layersView.current?.heatmap && opts.heatmap));
  const t = layersView.currentTruth;
  document.body.dataset.truth = t && opts.truth ? String(t.vertebrae.length + t.fractures.length) : '0';
  segLayer.render(opts.seg, current);
  document.body.dataset.seg = opts.seg ? segLayer.visibleLabels().join(',') : '';
}

async function loadOverlay(i: number): Promise<void> {
  if (models?.state !== 'ready') return;
  try {
    const o = await overlays.get(i);
    if (index !== i) return;
    overlay = o;
    overlayFor = i;
    layersView.set(o);
    document.body.dataset.overlay = String(i);
    document.body.dataset.fracture = o.fracture === null ? '' : o.fracture.toFixed(4);
    renderOverlays();
    updateLabels();
  } catch (err) {
    if ((err as Error).name === 'AbortError') return;
    $('models-status').textContent = `Overlay of slice ${i + 1}: ${(err as Error).message}`;
  }
}

function clearOverlay(): void {
  overlay = undefined;
  overlayFor = -1;
  layersView.set(undefined);
  delete document.body.dataset.overlay;
  renderOverlays();
}

function setModels(m: ViewerModels): void {
  models = m;
  overlays.clear();
  document.body.dataset.models = m.state;
  const label = { off: 'Models off', untrusted: 'Models off (untrusted workspace)', loading: 'Loading models…', ready: 'Models', error: 'Model error' }[m.state];
  $('models-status').textContent = [label, m.detector, m.classifier].filter(Boolean).join(' · ') + (m.message ? ` — ${m.message}` : '');
  $('models-status').title = m.message ?? '';
  for (const id of ['toggle-boxes', 'toggle-heatmap', 'conf', 'opacity', 'colormap']) enable($(id), m.state === 'ready');
  if (m.state === 'ready') {
    if (overlayFor !== index) void loadOverlay(index);
  } else {
    clearOverlay();
    study = undefined;
    strip.set(undefined);
    summary.set(undefined, []);
  }
  syncControls();
}

function syncControls(): void {
  press($('toggle-boxes'), opts.boxes);
  press($('toggle-heatmap'), opts.heatmap);
  press($('toggle-truth'), opts.truth);
  press($('toggle-seg'), opts.seg);
  press($('toggle-smooth'), smooth);
  $<HTMLInputElement>('conf').value = String(opts.minConf);
  $<HTMLInputElement>('opacity').value = String(opts.opacity);
  $<HTMLElement & { value: string }>('colormap').value = opts.colormap;
  $('conf-label').textContent = `≥ ${Math.round(100 * opts.minConf)}%`;
}

function toggle(key: 'boxes' | 'heatmap' | 'truth' | 'seg'): void {
  opts[key] = !opts[key];
  syncControls();
  renderOverlays();
  updateLabels();
  save();
}

$('toggle-boxes').addEventListener('click', () => toggle('boxes'));
$('toggle-heatmap').addEventListener('click', () => toggle('heatmap'));
$('toggle-truth').addEventListener('click', () => toggle('truth'));
$('toggle-seg').addEventListener('click', () => toggle('seg'));
$('conf').addEventListener('input', (e) => {
  opts.minConf = Number((e.target as HTMLInputElement).value);
  syncControls();
  renderOverlays();
  updateLabels();
  save();
});
$('opacity').addEventListener('input', (e) => {
  opts.opacity = Number((e.target as HTMLInputElement).value);
  renderOverlays();
  save();
});
$('colormap').addEventListener('change', (e) => {
  opts.colormap = (e.target as HTMLElement & { value: string }).value as ColormapName;
  renderOverlays();
  save();
});
$('toggle-smooth').addEventListener('click', () => {
  smooth = !smooth;
  syncControls();
  applyView();
  save();
});
$('fit').addEventListener('click', resetView);
$('zoom-in').addEventListener('click', () => zoomAt(1.25));
$('zoom-out').addEventListener('click', () => zoomAt(0.8));
$('slider').addEventListener('input', (e) => void goTo(Number((e.target as HTMLInputElement).value)));

// ---- cine ----
let playing = false;
let fps = saved.fps ?? 15;
let lastFrame = 0;
function tick(t: number): void {
  if (!playing || !init) return;
  if (t - lastFrame >= 1000 / fps) {
    lastFrame = t;
    void goTo(index + 1 >= init.slices.length ? 0 : index + 1);
  }
  requestAnimationFrame(tick);
}
function setPlaying(on: boolean): void {
  playing = on;
  press($('play'), on);
  $('play').textContent = on ? '❚❚' : '▶';
  document.body.dataset.playing = String(on);
  if (on) requestAnimationFrame(tick);
}
$('play').addEventListener('click', () => setPlaying(!playing));
const fpsField = $<HTMLElement & { value: string }>('fps');
fpsField.value = String(fps);
fpsField.addEventListener('change', () => {
  const v = Number(fpsField.value);
  fps = Number.isFinite(v) ? Math.max(1, Math.min(60, Math.round(v))) : 15;
  fpsField.value = String(fps);
  save();
});

// ---- ground truth ----
let truthInfo: ViewerTruthInfo | undefined;
function setTruthInfo(t: ViewerTruthInfo): void {
  truthInfo = t;
  document.body.dataset.truthSource = t.available ? (t.source ?? '') : 'none';
  enable($('toggle-truth'), t.available);
  const info = $('truth-info');
  if (!t.available) {
    info.textContent = t.notes.length ? `No ground truth: ${t.notes.join('; ')}` : '';
    return;
  }
  const labels = t.labels ? ` · train.csv: ${t.labels.C.map((v, i) => (v ? `C${i + 1}` : '')).filter(Boolean).join(', ') || 'no fracture'}${t.labels.patient ? ' (patient positive)' : ''}` : '';
  info.textContent = `Ground truth (${t.source === 'rsna' ? 'RSNA layout' : 'prepared manifest'}; vertebrae ${t.vertebrae === 'mask' ? 'from the segmentation' : t.vertebrae === 'manifest' ? 'from the manifest' : 'not available'})${labels}${t.notes.length ? ` — ${t.notes.join('; ')}` : ''}`;
  void loadTruth(index);
}

async function loadTruth(i: number): Promise<void> {
  if (!truthInfo?.available) return;
  try {
    const t = await rpc.request('viewer/getTruth', { index: i });
    if (index !== i) return;
    layersView.setTruth(t);
    renderOverlays();
  } catch (err) {
    $('truth-info').textContent = `Ground truth of slice ${i + 1}: ${(err as Error).message}`;
  }
}

// ---- DICOM SEG masks ----
let segInfo: ViewerSegInfo | undefined;
function setSegInfo(info: ViewerSegInfo): void {
  segInfo = info;
  segLayer.setInfo(info);
  const available = info.files.length > 0;
  document.body.dataset.segFiles = String(info.files.length);
  enable($('toggle-seg'), available);
  const box = $('seg-info');
  box.replaceChildren();
  for (const f of info.files) {
    const line = document.createElement('div');
    line.textContent = `DICOM SEG ${f.name} (${f.type.toLowerCase()}, ${f.slices} slice${f.slices === 1 ? '' : 's'}): `;
    for (const g of f.segments) {
      const item = document.createElement('span');
      item.className = 'seg-segment';
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.backgroundColor = g.colour;
      item.append(swatch, g.label);
      line.append(item);
    }
    box.append(line);
  }
  if (info.notes.length) {
    const notes = document.createElement('div');
    notes.textContent = `SEG not shown: ${info.notes.join('; ')}`;
    box.append(notes);
  }
  void loadSegMasks(index);
}

async function loadSegMasks(i: number): Promise<void> {
  if (!segInfo?.files.length) return;
  try {
    const masks = await rpc.request('viewer/getSegMasks', { index: i });
    if (index !== i) return;
    segLayer.setMasks(masks);
    renderOverlays();
    document.body.dataset.segSlice = String(i); // the slice whose masks are drawn
  } catch (err) {
    $('seg-info').append(`Masks of slice ${i + 1}: ${(err as Error).message}`);
  }
}

// ---- planes: axial, or a sagittal / coronal reformat linked to the axial slice ----
type Plane = 'axial' | 'sagittal' | 'coronal';
let plane: Plane = 'axial';
const reformatView = new ReformatView(stage, $('reformat-layers'), $<HTMLCanvasElement>('reformat'), document.getElementById('reformat-marks') as unknown as SVGSVGElement);
let reformatRequest = 0;

/** The reformat plane through the vertebrae on screen: the centre of their boxes (else the slice centre). */
function planeIndex(kind: 'sagittal' | 'coronal'): number {
  const boxes = overlay?.boxes ?? [];
  if (boxes.length) {
    const centres = boxes.map((b) => (kind === 'sagittal' ? (b.box[0] + b.box[2]) / 2 : (b.box[1] + b.box[3]) / 2));
    return Math.floor(centres.reduce((a, c) => a + c, 0) / centres.length);
  }
  return Math.floor(((kind === 'sagittal' ? current?.columns : current?.rows) ?? 2) / 2);
}

async function setPlane(p: Plane): Promise<void> {
  if (p !== 'axial' && current?.colour) return; // no reformat of colour (the buttons are disabled)
  plane = p;
  document.body.dataset.plane = p;
  for (const b of document.querySelectorAll<HTMLElement>('[data-plane]')) press(b, b.dataset.plane === p);
  layers.hidden = p !== 'axial';
  $('reformat-layers').hidden = p === 'axial';
  if (p === 'axial') {
    applyView();
    return;
  }
  const mine = ++reformatRequest;
  document.body.dataset.reformat = 'loading';
  $('status').textContent = `Building the ${p} reformat (decoding the series)…`;
  try {
    const r = await rpc.request('viewer/getReformat', { kind: p, index: planeIndex(p) }, { timeoutMs: 300_000 });
    if (mine !== reformatRequest || plane !== p) return;
    reformatView.set(r);
    document.body.dataset.reformat = `${r.kind}:${r.index}`;
    drawReformat();
    updateLabels();
  } catch (err) {
    if (mine === reformatRequest) {
      document.body.dataset.reformat = 'error';
      $('status').textContent = `${p} reformat: ${(err as Error).message}`;
    }
  }
}

function drawReformat(): void {
  if (plane === 'axial' || !reformatView.current) return;
  reformatView.draw(win, index, study, models?.names ?? [], smooth);
}
new ResizeObserver(() => drawReformat()).observe(stage);
for (const b of document.querySelectorAll<HTMLElement>('[data-plane]')) b.addEventListener('click', () => void setPlane(b.dataset.plane as Plane));
$('reformat').addEventListener('click', (e) => {
  const k = reformatView.sliceAt(e);
  if (k !== undefined) void goTo(k);
});

// ---- DICOM tags panel ----
const tagSearch = $<HTMLElement & { value: string }>('tag-search');
let tagTimer: ReturnType<typeof setTimeout> | undefined;
function showTab(which: 'study' | 'tags'): void {
  $('study-panel').hidden = which !== 'study';
  $('tags-panel').hidden = which !== 'tags';
  for (const [id, on] of [['tab-study', which === 'study'], ['tab-tags', which === 'tags']] as const) {
    press($(id), on);
  }
  if (which === 'tags') {
    scheduleTags(0);
    $('tag-search').focus();
  }
}
function scheduleTags(delay = 150): void {
  clearTimeout(tagTimer);
  tagTimer = setTimeout(() => void loadTags(), delay);
}
async function loadTags(): Promise<void> {
  const i = index;
  const query = tagSearch.value;
  try {
    const r = await rpc.request('viewer/getTags', { index: i, query });
    if (i !== index || query !== tagSearch.value) return;
    $('tag-count').textContent = query ? `${r.matches} match${r.matches === 1 ? '' : 'es'} in ${r.file}` : `${r.rows.length} elements in ${r.file}`;
    const list = $('tag-list');
    list.replaceChildren(...r.rows.map((t) => {
      const row = document.createElement('div');
      row.className = `tag-row${t.matched ? '' : ' dim'}${t.private ? ' private' : ''}`;
      row.setAttribute('role', 'row');
      row.dataset.tag = t.tag;
      const tag = document.createElement('span');
      tag.className = 't';
      tag.textContent = t.tag;
      tag.style.paddingLeft = `${t.depth}ch`;
      const vr = document.createElement('span');
      vr.textContent = t.vr;
      const v = document.createElement('span');
      v.className = 'v';
      v.textContent = `${t.name}${t.value ? `: ${t.value}` : ''}`;
      row.title = `${t.keyword || t.name} ${t.tag} ${t.vr}`;
      row.append(tag, vr, v);
      return row;
    }));
    document.body.dataset.tags = String(r.rows.length);
  } catch (err) {
    $('tag-count').textContent = (err as Error).message;
  }
}
$('tab-study').addEventListener('click', () => showTab('study'));
$('tab-tags').addEventListener('click', () => showTab('tags'));
$('tag-search').addEventListener('input', () => scheduleTags());

// ---- keyboard ----
const help = $('shortcuts');
$('help').addEventListener('click', () => { help.hidden = !help.hidden; });
window.addEventListener('keydown', (e) => {
  if (!init) return;
  const t = e.target as HTMLElement;
  if ((t instanceof HTMLInputElement && t.type !== 'range') || t.closest?.('vscode-textfield, vscode-single-select')) return; // typing in the fps box or the tag search, choosing a colour map
  if ((e.key === ' ' || e.key === 'Enter') && t.closest?.('vscode-button')) return; // the button acts on its own key
  const step: Record<string, number> = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, PageDown: 10, PageUp: -10 };
  const presets: Record<string, ViewerPreset> = { 1: 'bone', 2: 'soft', 3: 'lung', 4: 'brain', 5: 'file' };
  if (t instanceof HTMLInputElement && t.type === 'range' && e.key in step) return; // the slider moves itself
  if (e.key in step) void goTo(index + step[e.key]);
  else if (e.key === 'Home') void goTo(0);
  else if (e.key === 'End') void goTo(init.slices.length - 1);
  else if (e.key === '+' || e.key === '=') zoomAt(1.25);
  else if (e.key === '-') zoomAt(0.8);
  else if (e.key === '0') resetView();
  else if (e.key === ' ') setPlaying(!playing);
  else if (e.key === 'b') toggle('boxes');
  else if (e.key === 'h') toggle('heatmap');
  else if (e.key === 't') { if (truthInfo?.available) toggle('truth'); }
  else if (e.key === 'm') { if (segInfo?.files.length) toggle('seg'); }
  else if (e.key === 'a') void setPlane('axial');
  else if (e.key === 's') void setPlane('sagittal');
  else if (e.key === 'c') void setPlane('coronal');
  else if (e.key === 'g') showTab($('tags-panel').hidden ? 'tags' : 'study');
  else if (e.key === 'i') $('toggle-smooth').click();
  else if (e.key in presets) applyPreset(presets[e.key]);
  else if (e.key === '?') help.hidden = !help.hidden;
  else if (e.key === 'Escape') help.hidden = true;
  else return;
  e.preventDefault();
});

for (const b of document.querySelectorAll<HTMLElement>('[data-preset]')) {
  b.addEventListener('click', () => applyPreset(b.dataset.preset as ViewerPreset));
}

window.addEventListener('message', (event: MessageEvent<HostToViewer>) => {
  const message = event.data;
  if (rpc.handle(message)) return;
  if (message.kind !== 'rpc/notify') return;
  if (message.method === 'viewer/fatal') {
    showError(message.params.message);
  } else if (message.method === 'viewer/preview') {
    // The opened file's pixels, sent before the series is scanned: first pixels without waiting for it.
    void unpack(message.params).then((u) => { if (!init) show(u); }, (err: unknown) => showError((err as Error).message));
  } else if (message.method === 'viewer/init') {
    init = message.params;
    slices.clear();
    if (current && values && current.index < 0) {
      index = init.initialIndex;
      slices.put(init.initialIndex, { slice: { ...current, index: init.initialIndex }, values, rgb });
    }
    const start = saved.index !== undefined && saved.index < init.slices.length ? saved.index : init.initialIndex;
    void goTo(start);
  } else if (message.method === 'viewer/models') {
    setModels(message.params);
  } else if (message.method === 'viewer/study') {
    study = message.params;
    strip.set(study);
    summary.set(study, models?.names ?? []);
    document.body.dataset.analysed = `${study.done}/${study.total}`;
    if (plane !== 'axial') drawReformat();
  } else if (message.method === 'viewer/truth') {
    setTruthInfo(message.params);
  } else if (message.method === 'viewer/segmentations') {
    setSegInfo(message.params);
  }
});

for (const el of document.querySelectorAll<HTMLElement>('[aria-pressed]')) press(el, el.getAttribute('aria-pressed') === 'true'); // the page's initial states
syncControls();
stage.focus();
vscode.postMessage({ kind: 'rpc/notify', method: 'viewer/ready', params: {} });
document.body.dataset.readyMs = performance.now().toFixed(1);
