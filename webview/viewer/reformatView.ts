/**
 * Sagittal and coronal reformats in the viewer: the host builds the image from the volume (reformat.ts); this
 * view windows it like the axial slice, places it with the view-transform owner at its physical aspect, and
 * draws the linked crosshair (the axial slice on screen), the patient directions at the edges, and the
 * vertebra labels C1–C7 where the detector found each vertebra along the series.
 */
import type { ViewerReformat, ViewerStudy, ViewerWindow } from '../../src/protocol/viewer';
import { windowToGray8 } from '../../src/core/dicom/voi';
import { canvasTransform, createView, reset, type ViewState } from '../../src/core/viewer/viewTransform';
import { classColour } from '../../src/core/classColours';

const SVG = 'http://www.w3.org/2000/svg';

export class ReformatView {
  private data: ViewerReformat | undefined;
  private values: Float32Array | undefined;
  private readonly ctx: CanvasRenderingContext2D;
  private state: ViewState = reset();

  constructor(private readonly stage: HTMLElement, private readonly wrap: HTMLElement, private readonly canvas: HTMLCanvasElement, private readonly svg: SVGSVGElement) {
    this.ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  }

  get current(): ViewerReformat | undefined {
    return this.data;
  }

  set(r: ViewerReformat): void {
    this.data = r;
    this.values = new Float32Array(r.values);
    this.state = reset();
  }

  /** Axial slice index under a click (the row's nearest slice), or undefined outside the image. */
  sliceAt(e: MouseEvent): number | undefined {
    const r = this.data;
    if (!r) return undefined;
    const b = this.canvas.getBoundingClientRect();
    const v = ((e.clientY - b.top) / b.height) * r.height - 0.5;
    if (v < -0.5 || v > r.height - 0.5) return undefined;
    let best = 0;
    r.rowOfSlice.forEach((row, k) => { if (Math.abs(row - v) < Math.abs(r.rowOfSlice[best] - v)) best = k; });
    return best;
  }

  draw(win: ViewerWindow, axialIndex: number, study: ViewerStudy | undefined, names: readonly string[], smooth: boolean): void {
    const r = this.data;
    if (!r || !this.values) return;
    if (this.canvas.width !== r.width || this.canvas.height !== r.height) {
      this.canvas.width = r.width;
      this.canvas.height = r.height;
    }
    const grey = windowToGray8(this.values, win, { fn: r.voiFunction, invert: r.invert });
    const img = this.ctx.createImageData(r.width, r.height);
    for (let i = 0, j = 0; i < grey.length; i++, j += 4) {
      img.data[j] = img.data[j + 1] = img.data[j + 2] = grey[i];
      img.data[j + 3] = 255;
    }
    this.ctx.putImageData(img, 0, 0);
    if (!this.stage.clientWidth || !this.stage.clientHeight) return;
    const view = createView({ width: r.width, height: r.height, spacingX: r.spacing[0], spacingY: r.spacing[1] }, { width: this.stage.clientWidth, height: this.stage.clientHeight });
    const t = canvasTransform(view, this.state, { interpolation: smooth ? 'bilinear' : 'nearest' });
    Object.assign(this.wrap.style, { left: `${t.offsetX}px`, top: `${t.offsetY}px`, width: `${r.width * t.scaleX}px`, height: `${r.height * t.scaleY}px` });
    this.wrap.classList.toggle('pixelated', !t.smoothing);
    this.drawMarks(axialIndex, study, names, t.scaleX, t.scaleY);
  }

  /** Crosshair, edge directions and vertebra labels, in CSS px of the wrapper (sx, sy: CSS px per reformat pixel). */
  private drawMarks(axialIndex: number, study: ViewerStudy | undefined, names: readonly string[], sx: number, sy: number): void {
    const r = this.data as ViewerReformat;
    const svg = this.svg;
    svg.replaceChildren();
    const w = r.width * sx;
    const h = r.height * sy;
    const el = (tag: string, attrs: Record<string, string | number>, textContent?: string) => {
      const e = document.createElementNS(SVG, tag);
      for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
      if (textContent !== undefined) e.textContent = textContent;
      svg.append(e);
      return e;
    };
    const y = (r.rowOfSlice[axialIndex] + 0.5) * sy;
    el('line', { x1: 0, y1: y, x2: w, y2: y, stroke: '#ffd400', class: 'crosshair' });
    if (r.labels) {
      el('text', { x: w / 2, y: 14, 'text-anchor': 'middle', class: 'orient' }, r.labels.top);
      el('text', { x: w / 2, y: h - 4, 'text-anchor': 'middle', class: 'orient' }, r.labels.bottom);
      el('text', { x: 4, y: h / 2, class: 'orient' }, r.labels.left);
      el('text', { x: w - 4, y: h / 2, 'text-anchor': 'end', class: 'orient' }, r.labels.right);
    }
    // Vertebra labels: at the median axial slice on which the detector found each vertebra.
    if (!study) return;
    for (let cls = 0; cls < 7; cls++) {
      const ks: number[] = [];
      study.strip.forEach((e, k) => { if (e?.vertebrae.includes(cls)) ks.push(k); });
      if (!ks.length) continue;
      const k = ks[Math.floor(ks.length / 2)];
      const name = names[cls] ?? `C${cls + 1}`;
      const t = el('text', { x: Math.max(24, w * 0.08), y: (r.rowOfSlice[k] + 0.5) * sy + 4, fill: classColour(cls), class: 'vertebra-label' }, name);
      (t as SVGElement).dataset.vertebra = name;
      (t as SVGElement).dataset.slice = String(k);
    }
  }
}
