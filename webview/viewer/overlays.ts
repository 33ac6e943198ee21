/**
 * The model layers over the slice: the Grad-CAM heat map (a canvas at slice resolution holding the map's
 * non-zero rectangle, colour map and opacity) and the vertebra boxes with labels (SVG in slice pixel coordinates, strokes that keep their
 * width at any zoom). They sit in the same transformed wrapper as the image canvas, so they follow zoom and
 * pan without their own maths; toggling one never re-windows the image.
 */
import type { ViewerOverlay, ViewerTruth } from '../../src/protocol/viewer';
import { classColour } from '../../src/core/classColours';
import { colormapTable, type ColormapName } from './colormaps';

/** What the user chose to see. */
export interface OverlayOptions {
  boxes: boolean;
  /** Ground truth: fracture boxes and vertebra outlines (dashed). */
  truth: boolean;
  /** DICOM SEG masks (segLayer.ts). */
  seg: boolean;
  heatmap: boolean;
  minConf: number;
  opacity: number;
  colormap: ColormapName;
}

const SVG = 'http://www.w3.org/2000/svg';

export class OverlayLayers {
  private overlay: ViewerOverlay | undefined;
  private truth: ViewerTruth | null = null;
  private heat: Uint8Array | undefined;
  private readonly ctx: CanvasRenderingContext2D;

  constructor(private readonly heatCanvas: HTMLCanvasElement, private readonly svg: SVGSVGElement) {
    this.ctx = heatCanvas.getContext('2d') as CanvasRenderingContext2D;
  }

  /** The overlays of the slice on screen (undefined: none yet / models off). */
  set(overlay: ViewerOverlay | undefined): void {
    this.overlay = overlay;
    this.heat = overlay?.heatmap ? new Uint8Array(overlay.heatmap.data) : undefined;
  }

  /** The ground truth of the slice on screen (null: none). */
  setTruth(t: ViewerTruth | null): void {
    this.truth = t;
  }

  get currentTruth(): ViewerTruth | null {
    return this.truth;
  }

  get current(): ViewerOverlay | undefined {
    return this.overlay;
  }

  /** Redraw both layers. `pxPerScreenPx`: slice pixels per CSS pixel (label size stays ~11 px on screen). */
  render(o: OverlayOptions, pxPerScreenPx: number, size: { rows: number; columns: number } | undefined): void {
    this.drawHeat(o);
    this.svg.replaceChildren();
    if (!size) return;
    this.svg.setAttribute('viewBox', `0 0 ${size.columns} ${size.rows}`);
    const font = 13 * pxPerScreenPx;
    this.drawTruth(o, font);
    this.drawBoxes(o, font);
  }

  /** Boxes shown with the current confidence threshold. */
  visibleBoxes(o: OverlayOptions): ViewerOverlay['boxes'] {
    return (this.overlay?.boxes ?? []).filter((b) => b.conf >= o.minConf);
  }

  private drawHeat(o: OverlayOptions): void {
    const ov = this.overlay;
    const rect = ov?.heatmap;
    if (!ov || !rect || !this.heat || !o.heatmap) {
      this.heatCanvas.hidden = true;
      return;
    }
    if (this.heatCanvas.width !== ov.columns || this.heatCanvas.height !== ov.rows) {
      this.heatCanvas.width = ov.columns;
      this.heatCanvas.height = ov.rows;
    } else {
      this.ctx.clearRect(0, 0, ov.columns, ov.rows);
    }
    this.heatCanvas.hidden = false;
    if (!rect.width || !rect.height) return;
    const img = this.ctx.createImageData(rect.width, rect.height);
    const rgba = img.data;
    const lut = colormapTable(o.colormap);
    const heat = this.heat;
    for (let i = 0, j = 0; i < heat.length; i++, j += 4) {
      const v = heat[i];
      if (!v) continue; // transparent where the map is zero
      rgba[j] = lut[3 * v];
      rgba[j + 1] = lut[3 * v + 1];
      rgba[j + 2] = lut[3 * v + 2];
      rgba[j + 3] = Math.round(255 * o.opacity * (0.25 + 0.75 * (v / 255)));
    }
    this.ctx.putImageData(img, rect.x, rect.y);
  }

  /** Truth first (under the predictions): vertebra outlines and fracture boxes, dashed. */
  private drawTruth(o: OverlayOptions, font: number): void {
    const t = this.truth;
    if (!t || !o.truth) return;
    for (const v of t.vertebrae) {
      const g = document.createElementNS(SVG, 'g');
      g.setAttribute('class', 'truth vertebra');
      g.dataset.name = v.name;
      const colour = classColour(v.label - 1);
      const loops = v.outline ?? [[v.box[0], v.box[1], v.box[2], v.box[1], v.box[2], v.box[3], v.box[0], v.box[3]]];
      const path = document.createElementNS(SVG, 'path');
      path.setAttribute('d', loops.map((l) => `M${l.slice(0, 2).join(' ')}${Array.from({ length: l.length / 2 - 1 }, (_, i) => ` L${l[2 * i + 2]} ${l[2 * i + 3]}`).join('')} Z`).join(' '));
      path.setAttribute('stroke', colour);
      g.append(path);
      this.svg.append(g);
    }
    for (const f of t.fractures) {
      const g = document.createElementNS(SVG, 'g');
      g.setAttribute('class', 'truth fracture');
      const rect = document.createElementNS(SVG, 'rect');
      rect.setAttribute('x', String(f[0]));
      rect.setAttribute('y', String(f[1]));
      rect.setAttribute('width', String(f[2] - f[0]));
      rect.setAttribute('height', String(f[3] - f[1]));
      const text = document.createElementNS(SVG, 'text');
      text.setAttribute('x', String(f[0]));
      text.setAttribute('y', String(f[3] + font));
      text.setAttribute('font-size', String(font));
      text.textContent = 'fracture (truth)';
      g.append(rect, text);
      this.svg.append(g);
    }
  }

  private drawBoxes(o: OverlayOptions, font: number): void {
    const ov = this.overlay;
    if (!ov || !o.boxes) return;
    for (const b of this.visibleBoxes(o)) {
      const [x1, y1, x2, y2] = b.box;
      const colour = classColour(b.cls);
      const g = document.createElementNS(SVG, 'g');
      g.setAttribute('class', 'box');
      g.dataset.name = b.name;
      g.dataset.conf = b.conf.toFixed(3);
      const rect = document.createElementNS(SVG, 'rect');
      rect.setAttribute('x', String(x1));
      rect.setAttribute('y', String(y1));
      rect.setAttribute('width', String(x2 - x1));
      rect.setAttribute('height', String(y2 - y1));
      rect.setAttribute('stroke', colour);
      const text = document.createElementNS(SVG, 'text');
      text.setAttribute('x', String(x1 + font * 0.2));
      text.setAttribute('y', String(y1 - font * 0.3 < font ? y2 + font : y1 - font * 0.3));
      text.setAttribute('font-size', String(font));
      text.setAttribute('fill', colour);
      text.textContent = `${b.name} ${(100 * b.conf).toFixed(0)}%${b.fracture !== undefined ? ` · fracture ${(100 * b.fracture).toFixed(0)}%` : ''}`;
      g.append(rect, text);
      this.svg.append(g);
    }
  }
}
