/**
 * `eval classify`: truth and class scores per image — from a classifier run over a prepared ImageFolder split
 * (the subset that matches the model card: `classify-vertebrae/` for a vertebra-crop model, `classify/` for
 * a slice model; ARCHITECTURE "Two-stage design"), or from CSV files (`--truth` image,label and `--scores`
 * image,p0,p1,…; ARCHITECTURE "CLI contract").
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCsv } from '../dataset/prepare/csv';
import { classify } from '../inference/classifier';
import { classifierTensor, decodeGrayPng } from '../inference/input';
import type { ClassifierSpec } from '../inference/model';
import type { LoadedModel } from '../inference/session';
import type { RunControl } from './detect';
import { IMAGE_EXTENSIONS } from './yoloData';

/** Scored images: truth class, per-class probabilities, and the image path/id. */
export interface ScoredImages {
  images: string[];
  truth: number[];
  scores: number[][];
  names: string[];
}

/** The ImageFolder split folder to evaluate under `dir` for this classifier (prepared root or a set folder). */
export async function splitFolder(dir: string, split: string, spec: ClassifierSpec): Promise<string> {
  const set = spec.kind === 'vertebra-crop' ? 'classify-vertebrae' : 'classify';
  for (const candidate of [join(dir, set, split), join(dir, split)]) {
    if (await stat(candidate).then((s) => s.isDirectory(), () => false)) return candidate;
  }
  throw new Error(`${dir}: no ${set}/${split}/ (or ${split}/) image folder for this ${spec.kind} classifier`);
}

/** Images of an ImageFolder split: class sub-folders named like the model's classes. */
export async function imageFolder(dir: string, names: readonly string[]): Promise<{ images: string[]; truth: number[] }> {
  const classes = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const unknown = classes.filter((c) => !names.includes(c));
  if (unknown.length) throw new Error(`${dir}: class folder(s) ${unknown.join(', ')} are not classes of the model (${names.join(', ')})`);
  const images: string[] = [];
  const truth: number[] = [];
  for (const c of classes) {
    const files = (await readdir(join(dir, c))).filter((f) => IMAGE_EXTENSIONS.has(f.slice(f.lastIndexOf('.')).toLowerCase())).sort();
    for (const f of files) {
      images.push(join(dir, c, f));
      truth.push(names.indexOf(c));
    }
  }
  if (!images.length) throw new Error(`${dir}: no images in its class folders`);
  return { images, truth };
}

/** Run the classifier over `images` in batches of `batch`. */
export async function modelScores(model: LoadedModel, images: readonly string[], truth: readonly number[], batch = 32, c: RunControl = {}): Promise<ScoredImages> {
  const spec = model.spec as ClassifierSpec;
  const [h, w] = spec.size;
  const scores: number[][] = [];
  for (let i = 0; i < images.length; i += batch) {
    if (c.signal?.aborted) throw new Error('cancelled');
    const chunk = images.slice(i, i + batch);
    const grays = await Promise.all(chunk.map(async (p) => {
      const g = await readFile(p).then(decodeGrayPng).catch((err: Error) => { throw new Error(`${p}: cannot read the image (${err.message.split('\n')[0]})`); });
      if (g.width !== w || g.height !== h) throw new Error(`${p}: ${g.width}×${g.height}, the model takes ${w}×${h} (prepare --crop-imgsz / --cls-imgsz must match the model)`);
      return g.gray;
    }));
    const res = await classify(model, classifierTensor(grays, h, w, spec.normalization), grays.length, false);
    for (const r of res) scores.push(r.probabilities);
    c.onProgress?.(Math.min(i + batch, images.length), images.length);
  }
  return { images: [...images], truth: [...truth], scores, names: spec.names };
}

/**
 * Truth and scores from CSV files. Truth `image,label` (label: class index, or a class name when `names` are
 * known); scores `image,p0,p1,…`. Every truth image needs a score row and the other way round.
 */
export async function csvScores(truthFile: string, scoresFile: string, names?: readonly string[]): Promise<ScoredImages> {
  const read = (f: string) => readFile(f, 'utf8').catch((err: NodeJS.ErrnoException) => { throw new Error(`${f}: cannot read (${err.code})`); });
  const t = parseCsv(await read(truthFile), truthFile, ['image', 'label']);
  const s = parseCsv(await read(scoresFile), scoresFile, ['image']);
  const pCols = s.header.filter((hd) => /^p\d+$/.test(hd)).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  if (pCols.length < 2 || pCols.some((c, i) => c !== `p${i}`)) throw new Error(`${scoresFile}: needs columns p0, p1, … (one per class), got ${s.header.join(',')}`);
  const nc = pCols.length;
  const classNames = names && names.length === nc ? [...names] : pCols.map((_, i) => (nc === 2 ? ['normal', 'fracture'][i] : `class${i}`));
  const scoreBy = new Map<string, number[]>();
  for (const r of s.rows) {
    const img = r.values.image;
    if (scoreBy.has(img)) throw new Error(`${scoresFile}: line ${r.line}: image "${img}" appears twice`);
    const p = pCols.map((c) => Number(r.values[c]));
    if (p.some((v) => !Number.isFinite(v) || v < 0 || v > 1)) throw new Error(`${scoresFile}: line ${r.line}: probabilities must be numbers in 0…1`);
    scoreBy.set(img, p);
  }
  const images: string[] = [];
  const truth: number[] = [];
  const scores: number[][] = [];
  const seen = new Set<string>();
  for (const r of t.rows) {
    const img = r.values.image;
    if (seen.has(img)) throw new Error(`${truthFile}: line ${r.line}: image "${img}" appears twice`);
    seen.add(img);
    const raw = r.values.label.trim();
    const label = /^\d+$/.test(raw) ? Number(raw) : classNames.indexOf(raw);
    if (label < 0 || label >= nc) throw new Error(`${truthFile}: line ${r.line}: label "${raw}" is not a class (0…${nc - 1}${names ? ` or ${classNames.join(', ')}` : ''})`);
    const p = scoreBy.get(img);
    if (!p) throw new Error(`${scoresFile}: no scores for image "${img}" (${truthFile} line ${r.line})`);
    images.push(img);
    truth.push(label);
    scores.push(p);
  }
  const extra = [...scoreBy.keys()].filter((k) => !seen.has(k));
  if (extra.length) throw new Error(`${truthFile}: no label for image "${extra[0]}"${extra.length > 1 ? ` and ${extra.length - 1} more` : ''} (in ${scoresFile})`);
  return { images, truth, scores, names: classNames };
}
