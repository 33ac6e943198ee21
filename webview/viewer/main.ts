/**
 * The DICOM viewer webview: draws one slice at a time on a canvas with the VOI function the CLI renders
 * with (src/core/dicom/voi.ts), scrolls the series (wheel, arrows), switches presets, drags the window,
 * and shows the value under the cursor. Browser code only; talks to the host through src/protocol.
 */
import type { HostToViewer, ViewerInit, ViewerMethods, ViewerPreset, ViewerSlice, ViewerWindow } from '../../src/protocol/viewer';
import { PRESETS, windowToGray8 } from '../../src/core/dicom/voi';
import { RpcClient } from './rpc';

interface SavedState {
  index?: number;
  window?: ViewerWindow;
  preset?: ViewerPreset | 'custom';
}

const vscode = acquireVsCodeApi<SavedState>();
const rpc = new RpcClient<ViewerMethods>((m) => vscode.postMessage(m));
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const canvas = $<HTMLCanvasElement>('image');
const stage = $<HTMLElement>('stage');
const ctx2d = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;

let init: ViewerInit | undefined;
let index = 0;
let current: ViewerSlice | undefined;
let values: Float32Array | undefined;
let padding: Uint8Array | undefined;
const saved = vscode.getState() ?? {};
let preset: ViewerPreset | 'custom' = saved.preset ?? 'bone';
let win: ViewerWindow = saved.window ?? { ...PRESETS.bone };
let inflight: AbortController | undefined;
const cache = new Map<number, ViewerSlice>();
const CACHE_SIZE = 24;

function setState(state: 'loading' | 'ready' | 'error'): void {
  document.body.dataset.state = state;
}

function showError(message: string): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>('button[data-preset]')) {
    b.setAttribute('aria-pressed', 'false');
    b.disabled = true;
  }
  const box = $('error');
  box.textContent = message;
  box.hidden = false;
  canvas.hidden = true;
  setState('error');
}

function save(): void {
  vscode.setState({ index, window: win, preset });
}

function updateLabels(): void {
  if (!init) return;
  const ref = init.slices[index];
  $('slice-label').textContent = `Slice ${index + 1} / ${init.slices.length}`;
  $('window-label').textContent = `W ${Math.round(win.width)} C ${Math.round(win.center)}`;
  document.body.dataset.slice = String(index);
  document.body.dataset.slices = String(init.slices.length);
  document.body.dataset.window = `${win.center},${win.width}`;
  for (const b of document.querySelectorAll<HTMLButtonElement>('button[data-preset]')) {
    b.setAttribute('aria-pressed', String(b.dataset.preset === preset));
    b.disabled = b.dataset.preset === 'file' ? !current?.fileWindow : false;
  }
  const parts = [ref ? `${ref.name}${ref.frame ? ` frame ${ref.frame}` : ''}` : ''];
  if (current) {
    parts.push(`${current.columns}×${current.rows}`, current.transferSyntax);
    if (current.pixelSpacing) parts.push(`${current.pixelSpacing[1].toFixed(2)}×${current.pixelSpacing[0].toFixed(2)} mm`);
  }
  if (ref?.position !== undefined) parts.push(`z ${ref.position.toFixed(1)} mm`);
  if (init.warnings.length) parts.push(`⚠ ${init.warnings.length} note(s): ${init.warnings[0]}`);
  $('status').textContent = parts.filter(Boolean).join(' · ');
}

/** Window the current slice into the canvas (grey, R=G=B). */
function draw(): void {
  if (!current || !values) return;
  const { columns, rows } = current;
  if (canvas.width !== columns || canvas.height !== rows) {
    canvas.width = columns;
    canvas.height = rows;
  }
  fit();
  const grey = windowToGray8(values, win, { fn: current.voiFunction, invert: current.invert });
  const image = ctx2d.createImageData(columns, rows);
  const rgba = image.data;
  for (let i = 0, j = 0; i < grey.length; i++, j += 4) {
    const g = padding && padding[i] ? 0 : grey[i];
    rgba[j] = g;
    rgba[j + 1] = g;
    rgba[j + 2] = g;
    rgba[j + 3] = 255;
  }
  ctx2d.putImageData(image, 0, 0);
  updateLabels();
}

/** Scale the canvas to fill the stage, keeping the physical aspect (Pixel Spacing may differ by axis). */
function fit(): void {
  if (!current) return;
  const [rowSpacing, colSpacing] = current.pixelSpacing ?? [1, 1];
  const w = current.columns * colSpacing;
  const h = current.rows * rowSpacing;
  const scale = Math.min(stage.clientWidth / w, stage.clientHeight / h);
  if (!(scale > 0)) return;
  canvas.style.width = `${Math.floor(w * scale)}px`;
  canvas.style.height = `${Math.floor(h * scale)}px`;
}
new ResizeObserver(fit).observe(stage);

function remember(slice: ViewerSlice): void {
  cache.set(slice.index, slice);
  while (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as number);
}

async function fetchSlice(i: number, signal?: AbortSignal): Promise<ViewerSlice> {
  const hit = cache.get(i);
  if (hit) return hit;
  const slice = await rpc.request('viewer/getSlice', { index: i }, { signal });
  remember(slice);
  return slice;
}

/** Show slice `i` (clamped); cancels a request still running for another slice. */
async function goTo(i: number): Promise<void> {
  if (!init) return;
  const target = Math.max(0, Math.min(init.slices.length - 1, i));
  index = target;
  updateLabels();
  inflight?.abort();
  const controller = new AbortController();
  inflight = controller;
  try {
    const slice = await fetchSlice(target, controller.signal);
    if (controller.signal.aborted || index !== target) return;
    current = slice;
    values = new Float32Array(slice.values);
    padding = slice.padding ? new Uint8Array(slice.padding) : undefined;
    if (preset === 'file' && slice.fileWindow) win = { ...slice.fileWindow };
    draw();
    save();
    setState('ready');
    $('error').hidden = true;
    canvas.hidden = false;
    prefetch(target);
  } catch (err) {
    if ((err as Error).name === 'AbortError') return;
    showError((err as Error).message);
  }
}

/** Load the neighbours in the background so scrolling stays smooth. */
function prefetch(i: number): void {
  for (const n of [i + 1, i - 1, i + 2]) {
    if (init && n >= 0 && n < init.slices.length && !cache.has(n)) fetchSlice(n).catch(() => undefined);
  }
}

function applyPreset(name: ViewerPreset): void {
  if (name === 'file') {
    if (!current?.fileWindow) return;
    win = { ...current.fileWindow };
  } else {
    win = { ...PRESETS[name] };
  }
  preset = name;
  draw();
  save();
}

/** Canvas pixel under a mouse event, or undefined outside the image. */
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
  const v = values[i];
  const shown = Number.isInteger(v) ? String(v) : v.toFixed(2);
  out.textContent = `(${p.x}, ${p.y}) = ${shown}${current.units ? ` ${current.units}` : ''}${padding?.[i] ? ' (padding)' : ''}`;
}

// Drag with the left button to change the window: right/left = width, down/up = centre (radiology habit).
let drag: { x: number; y: number; win: ViewerWindow } | undefined;
canvas.addEventListener('mousedown', (e) => {
  if (e.button === 0) drag = { x: e.clientX, y: e.clientY, win: { ...win } };
});
window.addEventListener('mouseup', () => { drag = undefined; });
canvas.addEventListener('mousemove', (e) => {
  readout(e);
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
  if (e.deltaY !== 0) void goTo(index + Math.sign(e.deltaY));
}, { passive: false });

window.addEventListener('keydown', (e) => {
  if (!init) return;
  const step: Record<string, number> = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1, PageDown: 10, PageUp: -10 };
  if (e.key in step) void goTo(index + step[e.key]);
  else if (e.key === 'Home') void goTo(0);
  else if (e.key === 'End') void goTo(init.slices.length - 1);
  else return;
  e.preventDefault();
});

for (const b of document.querySelectorAll<HTMLButtonElement>('button[data-preset]')) {
  b.addEventListener('click', () => applyPreset(b.dataset.preset as ViewerPreset));
}

window.addEventListener('message', (event: MessageEvent<HostToViewer>) => {
  const message = event.data;
  if (rpc.handle(message)) return;
  if (message.kind !== 'rpc/notify') return;
  if (message.method === 'viewer/fatal') {
    showError(message.params.message);
  } else if (message.method === 'viewer/init') {
    init = message.params;
    cache.clear();
    const start = saved.index !== undefined && saved.index < init.slices.length ? saved.index : init.initialIndex;
    void goTo(start);
  }
});

stage.focus();
vscode.postMessage({ kind: 'rpc/notify', method: 'viewer/ready', params: {} });
