/**
 * Reading an ultralytics detection dataset and YOLO txt files: data.yaml (`path`, `train`/`val`/`test` as a
 * folder, a .txt list of images or a list of either, `names` as a list or a map), label files
 * `class cx cy w h` (normalised) and prediction files `class cx cy w h conf` (ultralytics `save_txt
 * save_conf`), found like ultralytics' img2label_paths (the last `/images/` becomes `/labels/`, the
 * extension `.txt`). Boxes come back in pixels, xyxy.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, resolve, sep } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Image file extensions ultralytics accepts (IMG_FORMATS), lower case. */
export const IMAGE_EXTENSIONS = new Set(['.bmp', '.dng', '.jpeg', '.jpg', '.mpo', '.png', '.tif', '.tiff', '.webp', '.pfm', '.heic']);

/** A detection dataset as data.yaml describes it. */
export interface YoloData {
  yaml: string;
  root: string;
  names: string[];
  /** Image paths of a split. */
  images(split: string): Promise<string[]>;
}

/** Read data.yaml. A relative `path` is taken relative to the yaml's folder (no global datasets dir). */
export async function readDataYaml(file: string): Promise<YoloData> {
  let doc: Record<string, unknown>;
  try {
    doc = parseYaml(await readFile(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${file}: cannot read data.yaml (${(err as Error).message.split('\n')[0]})`);
  }
  if (!doc || typeof doc !== 'object') throw new Error(`${file}: data.yaml is not a mapping`);
  const base = dirname(resolve(file));
  const root = typeof doc.path === 'string' && doc.path ? (isAbsolute(doc.path) ? doc.path : resolve(base, doc.path)) : base;
  const names = parseNamesField(doc.names, file);
  return {
    yaml: file, root, names,
    images: async (split) => {
      const spec = doc[split];
      if (spec === undefined || spec === null) throw new Error(`${file}: no "${split}" split (has ${['train', 'val', 'test'].filter((k) => doc[k]).join(', ') || 'none'})`);
      const entries = Array.isArray(spec) ? spec : [spec];
      const out: string[] = [];
      for (const e of entries) out.push(...(await listImages(typeof e === 'string' && isAbsolute(e) ? e : join(root, String(e)), file)));
      return out.sort();
    },
  };
}

function parseNamesField(v: unknown, file: string): string[] {
  if (Array.isArray(v)) return v.map(String);
  if (v && typeof v === 'object') {
    const m = v as Record<string, unknown>;
    const ids = Object.keys(m).map(Number);
    if (ids.some((k) => !Number.isInteger(k) || k < 0)) throw new Error(`${file}: names keys must be class ids 0…n-1`);
    const names: string[] = [];
    for (const k of ids) names[k] = String(m[k]);
    for (let i = 0; i < names.length; i++) if (names[i] === undefined) throw new Error(`${file}: names has no class ${i}`);
    return names;
  }
  throw new Error(`${file}: data.yaml has no names`);
}

async function listImages(p: string, yaml: string): Promise<string[]> {
  if (p.endsWith('.txt')) {
    const text = await readFile(p, 'utf8').catch((err: NodeJS.ErrnoException) => { throw new Error(`${yaml}: cannot read the image list ${p} (${err.code})`); });
    return text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean).map((l) => (isAbsolute(l) ? l : resolve(dirname(p), l)));
  }
  let names: string[];
  try {
    names = await readdir(p);
  } catch (err) {
    throw new Error(`${yaml}: the image folder ${p} cannot be read (${(err as NodeJS.ErrnoException).code})`);
  }
  return names.filter((n) => IMAGE_EXTENSIONS.has(extname(n).toLowerCase())).map((n) => join(p, n));
}

/** ultralytics img2label_paths: …/images/…/x.png → …/labels/…/x.txt. */
export function labelPathFor(image: string): string {
  const a = `${sep}images${sep}`;
  const i = image.lastIndexOf(a);
  const withLabels = i < 0 ? image : `${image.slice(0, i)}${sep}labels${sep}${image.slice(i + a.length)}`;
  return join(dirname(withLabels), `${basename(withLabels, extname(withLabels))}.txt`);
}

/** One row of a YOLO txt file, in pixels. */
export interface TxtBox {
  cls: number;
  box: [number, number, number, number];
  conf?: number;
}

/**
 * Parse a YOLO txt file: `class cx cy w h` (+ ` conf` when `withConf`), normalised, into pixel xyxy boxes
 * for a width×height image. A missing file is an image without boxes (ultralytics' rule for labels).
 * Errors name the file and the line.
 */
export function parseYoloTxt(text: string, file: string, width: number, height: number, withConf: boolean, nc: number): TxtBox[] {
  const out: TxtBox[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const t = line.trim();
    if (!t) return;
    const f = t.split(/\s+/).map(Number);
    const want = withConf ? 6 : 5;
    if (f.length !== want || f.some((v) => !Number.isFinite(v))) throw new Error(`${file}:${i + 1}: expected ${withConf ? '"class cx cy w h conf"' : '"class cx cy w h"'}, got "${t.slice(0, 60)}"`);
    const [c, cx, cy, w, h] = f;
    if (!Number.isInteger(c) || c < 0 || c >= nc) throw new Error(`${file}:${i + 1}: class ${c} is not one of 0…${nc - 1}`);
    if (w < 0 || h < 0) throw new Error(`${file}:${i + 1}: negative box size`);
    if (withConf && (f[5] < 0 || f[5] > 1)) throw new Error(`${file}:${i + 1}: confidence ${f[5]} is not in 0…1`);
    out.push({ cls: c, box: [(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height], ...(withConf ? { conf: f[5] } : {}) });
  });
  return out;
}

/** Read a txt file, '' when it does not exist. */
export async function readTxtOrEmpty(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new Error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code})`);
  }
}
