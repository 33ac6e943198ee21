/**
 * What a model needs from its input and what its outputs mean, from its model card (X.card.json beside
 * X.onnx, trainer/README.md) and, for any ultralytics detection export without a card, from the ONNX
 * metadata ultralytics writes (`names`, `imgsz`, `stride`, `task`; Python reprs).
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { PRESETS, type Window } from '../dicom/voi';
import { onnxMetadata, parseInts, parseNames } from './onnxMeta';

/** Mean/std normalisation after scaling bytes by `scale` (x·scale − mean) / std, per RGB channel. */
export interface Normalization {
  scale: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** The fields of a model card (format "dicom-ml-model-card" v1) that inference reads. */
export interface ModelCard {
  format: string;
  version: number;
  task: 'detect' | 'classify';
  architecture?: string;
  onnx?: string;
  names: string[];
  positiveClass?: number;
  input: {
    name: string;
    shape: (number | null)[];
    kind?: 'slice' | 'vertebra-crop';
    window?: Window;
    resize?: 'letterbox' | 'stretch';
    letterboxPad?: number;
    normalization?: Normalization;
    crop?: { scale: number; padPx: number; size: number };
    /** Size (longest side) of the prepared detection PNGs the model was trained on (prepare --imgsz). */
    prepared?: { imgsz: number };
  };
  outputs: Record<string, string>;
  gradcam?: { output: string; layer?: string; class?: number };
  [key: string]: unknown;
}

/** How slices reach the detector: prepare's PNG path, then ultralytics' LetterBox. */
export interface DetectorSpec {
  task: 'detect';
  path: string;
  names: string[];
  /** Model input [height, width] (ultralytics `imgsz`). */
  imgsz: [number, number];
  stride: number;
  inputName: string;
  outputName: string;
  window: Window;
  /**
   * Longest side of the prepared image the letterbox starts from: the card's `input.prepared.imgsz`, 512
   * (prepare's default) for a card without it; undefined for a model without a card (the windowed slice
   * itself, as ultralytics `predict` would see a PNG of it).
   */
  preparedSize?: number;
  pad: number;
  card?: ModelCard;
}

/** How slices or vertebra crops reach the classifier. */
export interface ClassifierSpec {
  task: 'classify';
  path: string;
  names: string[];
  positive: number;
  inputName: string;
  /** [height, width] of the input. */
  size: [number, number];
  kind: 'slice' | 'vertebra-crop';
  crop?: { scale: number; padPx: number; size: number };
  window: Window;
  normalization: Normalization;
  logits: string;
  cam?: string;
  card: ModelCard;
}

export type ModelSpec = DetectorSpec | ClassifierSpec;

/** The prepared-image size when a card does not say (prepare's default --imgsz). */
export const DEFAULT_PREPARED_SIZE = 512;

/** X.onnx → X.card.json (trainer/README.md: the card sits beside the model). */
export function cardPathFor(onnxPath: string): string {
  return join(dirname(onnxPath), `${basename(onnxPath).replace(/\.onnx$/i, '')}.card.json`);
}

async function readCard(path: string): Promise<ModelCard | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${path}: cannot read the model card (${(err as Error).message})`);
  }
  let card: ModelCard;
  try {
    card = JSON.parse(text) as ModelCard;
  } catch (err) {
    throw new Error(`${path}: the model card is not JSON (${(err as Error).message})`);
  }
  if (card.format !== 'dicom-ml-model-card') throw new Error(`${path}: not a dicom-ml model card (format "${String(card.format)}")`);
  if (card.task !== 'detect' && card.task !== 'classify') throw new Error(`${path}: unknown task "${String(card.task)}"`);
  if (!Array.isArray(card.names) || card.names.length < 1) throw new Error(`${path}: the card has no class names`);
  return card;
}

/** Read `path` (an .onnx file) and its card into what inference needs. Throws one clear line naming the file. */
export async function loadModelSpec(path: string): Promise<{ spec: ModelSpec; bytes: Uint8Array }> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new Error(`${path}: cannot read the model (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let meta: Record<string, string>;
  try {
    meta = onnxMetadata(bytes);
  } catch (err) {
    throw new Error(`${path}: not an ONNX model (${(err as Error).message})`);
  }
  const card = await readCard(cardPathFor(path));
  const task = card?.task ?? meta.task;
  if (task === 'detect') return { spec: detectorSpec(path, meta, card), bytes };
  if (task === 'classify' && card) return { spec: classifierSpec(path, card), bytes };
  if (task === 'classify') throw new Error(`${path}: a classifier needs its model card ${cardPathFor(path)} (window, size, normalisation)`);
  throw new Error(`${path}: neither a model card nor ultralytics metadata says what this model does (task "${task ?? 'none'}")`);
}

function detectorSpec(path: string, meta: Record<string, string>, card?: ModelCard): DetectorSpec {
  const names = card?.names ?? (meta.names ? parseNames(meta.names) : undefined);
  if (!names) throw new Error(`${path}: no class names in the ONNX metadata or a model card`);
  const sz = meta.imgsz ? parseInts(meta.imgsz) : (card?.input.shape.slice(2) as number[] | undefined);
  if (!sz || sz.length === 0 || sz.some((v) => !Number.isInteger(v) || v <= 0)) throw new Error(`${path}: no input size (imgsz) in the ONNX metadata or the card`);
  const imgsz: [number, number] = sz.length === 1 ? [sz[0], sz[0]] : [sz[0], sz[1]];
  return {
    task: 'detect', path, names, imgsz,
    stride: meta.stride ? (parseInts(meta.stride)[0] ?? 32) : 32,
    inputName: card?.input.name ?? 'images',
    outputName: 'output0',
    window: card?.input.window ?? { ...PRESETS.bone },
    preparedSize: card ? (card.input.prepared?.imgsz ?? DEFAULT_PREPARED_SIZE) : undefined,
    pad: card?.input.letterboxPad ?? 114,
    card,
  };
}

function classifierSpec(path: string, card: ModelCard): ClassifierSpec {
  const where = cardPathFor(path);
  const shape = card.input.shape;
  const h = shape[2];
  const w = shape[3];
  if (typeof h !== 'number' || typeof w !== 'number') throw new Error(`${where}: input.shape needs a fixed height and width`);
  const n = card.input.normalization;
  if (!n) throw new Error(`${where}: input.normalization is missing`);
  const kind = card.input.kind ?? 'slice';
  if (kind === 'vertebra-crop' && !card.input.crop) throw new Error(`${where}: a vertebra-crop classifier needs input.crop`);
  const logits = Object.keys(card.outputs).find((k) => k === 'logits') ?? Object.keys(card.outputs)[0];
  return {
    task: 'classify', path, names: card.names, positive: card.positiveClass ?? 1, inputName: card.input.name, size: [h, w], kind,
    crop: card.input.crop, window: card.input.window ?? { ...PRESETS.bone }, normalization: n, logits,
    cam: card.gradcam?.output ?? (card.outputs.cam ? 'cam' : undefined), card,
  };
}
