/**
 * Pictures of what the models found on a slice, for `render --overlay` and `infer --gradcam`: the windowed
 * slice, the Grad-CAM heat map blended on top (jet colours, opacity growing with the value, normalised by
 * the map's maximum like pytorch-grad-cam's show_cam_on_image), and the vertebra boxes with their names,
 * detector confidence and fracture probability (an SVG layer composited by sharp). Pure pixels in, PNG out.
 */
import type { SliceFindings } from './engine';
import { classColour } from '../classColours';

/** Jet colour map (matplotlib/OpenCV COLORMAP_JET shape) for t in 0…1 → [r, g, b]. */
export function jet(t: number): [number, number, number] {
  const c = (x: number) => Math.max(0, Math.min(1, x));
  return [c(1.5 - Math.abs(4 * t - 3)), c(1.5 - Math.abs(4 * t - 2)), c(1.5 - Math.abs(4 * t - 1))].map((v) => Math.round(255 * v)) as [number, number, number];
}

/** Grey slice (rows×columns) → RGB with the heat map blended in (max 60 % opacity at the peak). */
export function blendHeatmap(gray: Uint8Array, heat: Float32Array | undefined, rows: number, columns: number): Uint8Array {
  const rgb = new Uint8Array(rows * columns * 3);
  let max = 0;
  if (heat) for (let i = 0; i < heat.length; i++) if (heat[i] > max) max = heat[i];
  for (let i = 0; i < rows * columns; i++) {
    const g = gray[i];
    let r = g;
    let gg = g;
    let b = g;
    if (heat && max > 0 && heat[i] > 0) {
      const t = heat[i] / max;
      const [cr, cg, cb] = jet(t);
      const a = 0.6 * t;
      r = Math.round((1 - a) * g + a * cr);
      gg = Math.round((1 - a) * g + a * cg);
      b = Math.round((1 - a) * g + a * cb);
    }
    rgb[3 * i] = r;
    rgb[3 * i + 1] = gg;
    rgb[3 * i + 2] = b;
  }
  return rgb;
}


function escapeXml(s: string): string {
  return s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] as string);
}

/** The boxes layer as SVG (slice pixel coordinates). */
export function boxesSvg(f: SliceFindings): string {
  const font = Math.max(9, Math.round(Math.min(f.rows, f.columns) / 40));
  const parts = f.vertebrae.map((v) => {
    const [x1, y1, x2, y2] = v.box;
    const colour = classColour(v.cls);
    const label = `${v.name} ${v.conf.toFixed(2)}${v.fracture !== undefined ? ` · fx ${v.fracture.toFixed(2)}` : ''}`;
    const ty = y1 - 3 < font ? y2 + font + 1 : y1 - 3;
    return `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" fill="none" stroke="${colour}" stroke-width="${Math.max(1, font / 8).toFixed(1)}"/>`
      + `<text x="${x1.toFixed(1)}" y="${ty.toFixed(1)}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="${colour}" stroke="black" stroke-width="0.4">${escapeXml(label)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${f.columns}" height="${f.rows}">${parts.join('')}</svg>`;
}

/** A PNG of the slice with the requested overlays. */
export async function overlayPng(gray: Uint8Array, f: SliceFindings, what: { boxes: boolean; gradcam: boolean }): Promise<Buffer> {
  const { default: sharp } = await import('sharp');
  const rgb = blendHeatmap(gray, what.gradcam ? f.heatmap : undefined, f.rows, f.columns);
  let img = sharp(rgb, { raw: { width: f.columns, height: f.rows, channels: 3 } });
  if (what.boxes && f.vertebrae.length) img = img.composite([{ input: Buffer.from(boxesSvg(f)), top: 0, left: 0 }]);
  return img.png().toBuffer();
}
