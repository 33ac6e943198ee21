/** Colour maps for the Grad-CAM layer: t in 0…1 → [r, g, b] bytes. Lookup tables built once. */

export type ColormapName = 'jet' | 'inferno' | 'hot';

const clamp = (x: number) => Math.max(0, Math.min(1, x));

/** Jet, the colour map of pytorch-grad-cam's show_cam_on_image (OpenCV COLORMAP_JET shape). */
function jet(t: number): [number, number, number] {
  return [clamp(1.5 - Math.abs(4 * t - 3)), clamp(1.5 - Math.abs(4 * t - 2)), clamp(1.5 - Math.abs(4 * t - 1))];
}

/** Inferno (matplotlib), a perceptually uniform map: a 6th-order polynomial fit of its sRGB curve. */
function inferno(t: number): [number, number, number] {
  const c0 = [0.0002189403691192265, 0.001651004631001012, -0.01948089843709184];
  const c1 = [0.1065134194856116, 0.5639564367884091, 3.932712388889277];
  const c2 = [11.60249308247187, -3.972853965665698, -15.9423941062914];
  const c3 = [-41.70399613139459, 17.43639888205313, 44.35414519872813];
  const c4 = [77.162935699427, -33.40235894210092, -81.80730925738993];
  const c5 = [-71.31942824499214, 32.62606426397723, 73.20951985803202];
  const c6 = [25.13112622477341, -12.24266895238567, -23.07032500287172];
  return [0, 1, 2].map((i) => clamp(c0[i] + t * (c1[i] + t * (c2[i] + t * (c3[i] + t * (c4[i] + t * (c5[i] + t * c6[i]))))))) as [number, number, number];
}

/** Black → red → yellow → white. */
function hot(t: number): [number, number, number] {
  return [clamp(3 * t), clamp(3 * t - 1), clamp(3 * t - 2)];
}

const MAPS = { jet, inferno, hot };
const tables = new Map<ColormapName, Uint8Array>();

/** 256×3 bytes of a colour map. */
export function colormapTable(name: ColormapName): Uint8Array {
  let t = tables.get(name);
  if (!t) {
    t = new Uint8Array(256 * 3);
    for (let i = 0; i < 256; i++) {
      const [r, g, b] = MAPS[name](i / 255);
      t[3 * i] = Math.round(255 * r);
      t[3 * i + 1] = Math.round(255 * g);
      t[3 * i + 2] = Math.round(255 * b);
    }
    tables.set(name, t);
  }
  return t;
}


/** A probability 0…1 as a colour from green (0) through yellow to red (1). */
export function probabilityColour(p: number): string {
  const t = clamp(p);
  const r = Math.round(255 * Math.min(1, 2 * t));
  const g = Math.round(255 * Math.min(1, 2 * (1 - t)));
  return `rgb(${r},${g},40)`;
}
