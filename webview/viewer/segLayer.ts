/**
 * DICOM SEG masks over the slice (issue 11 item 4): a canvas at slice resolution in the shared transformed
 * wrapper, each segment filled in its colour (the SEG's recommended CIELab colour, or the C1–C7 class colour) with
 * its alpha (binary: solid; fractional: the fraction) times the layer opacity, and its edge drawn solid so the
 * anatomy under a fill stays readable. Masks arrive per slice as rectangles (protocol ViewerSegMask).
 */
import type { ViewerSegInfo, ViewerSegMask } from '../../src/protocol/viewer';

const FILL = 0.45;

function parseColour(css: string): [number, number, number] {
  const rgb = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(css);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  const hex = /^#([0-9a-f]{6})$/i.exec(css);
  if (hex) return [0, 2, 4].map((i) => parseInt(hex[1].slice(i, i + 2), 16)) as [number, number, number];
  return [255, 255, 0];
}

export class SegLayer {
  private info: ViewerSegInfo | undefined;
  private masks: ViewerSegMask[] = [];
  private readonly ctx: CanvasRenderingContext2D;

  constructor(private readonly canvas: HTMLCanvasElement) {
    this.ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  }

  setInfo(info: ViewerSegInfo): void {
    this.info = info;
  }

  /** The masks of the slice on screen. */
  setMasks(masks: ViewerSegMask[]): void {
    this.masks = masks;
  }

  get count(): number {
    return this.masks.length;
  }

  /** Segments (labels) on the slice on screen, for the legend and tests. */
  visibleLabels(): string[] {
    return [...new Set(this.masks.map((m) => this.segment(m)?.label ?? `segment ${m.segment}`))];
  }

  private segment(m: ViewerSegMask): ViewerSegInfo['files'][number]['segments'][number] | undefined {
    return this.info?.files[m.file]?.segments.find((s) => s.number === m.segment);
  }

  render(show: boolean, size: { rows: number; columns: number } | undefined): void {
    if (!show || !size || this.masks.length === 0) {
      this.canvas.hidden = true;
      return;
    }
    if (this.canvas.width !== size.columns || this.canvas.height !== size.rows) {
      this.canvas.width = size.columns;
      this.canvas.height = size.rows;
    }
    const img = this.ctx.createImageData(size.columns, size.rows);
    const rgba = img.data;
    for (const m of this.masks) {
      const [r, g, b] = parseColour(this.segment(m)?.colour ?? '');
      const alpha = new Uint8Array(m.alpha);
      const at = (y: number, x: number) => (x < 0 || y < 0 || x >= m.width || y >= m.height ? 0 : alpha[y * m.width + x]);
      for (let y = 0; y < m.height; y++) {
        for (let x = 0; x < m.width; x++) {
          const a = alpha[y * m.width + x];
          if (!a) continue;
          const edge = !at(y - 1, x) || !at(y + 1, x) || !at(y, x - 1) || !at(y, x + 1);
          const px = m.y + y;
          const py = m.x + x;
          if (px >= size.rows || py >= size.columns) continue;
          const j = 4 * (px * size.columns + py);
          // Later masks over earlier ones: the stronger alpha wins the pixel.
          const out = edge ? 255 : Math.round(a * FILL);
          if (out < rgba[j + 3]) continue;
          rgba[j] = r;
          rgba[j + 1] = g;
          rgba[j + 2] = b;
          rgba[j + 3] = out;
        }
      }
    }
    this.ctx.putImageData(img, 0, 0);
    this.canvas.hidden = false;
  }
}
