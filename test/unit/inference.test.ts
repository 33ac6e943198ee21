// The inference engine against its references, on a prepared phantom set (2 studies, 512², every slice of
// `prepare`'s val split):
// - cv2.resize INTER_LINEAR (OpenCV 4.11, opencv-python-headless): byte-exact for downscales;
// - the model sees what `prepare` wrote: tensors built from the .dcm equal tensors built from the PNGs;
// - our post-processed boxes against ultralytics `predict` on the same PNGs (same classes, IoU ≥ 0.99);
// - our `eval detect` path against ultralytics `val` of the same ONNX model on the same split;
// - the classifier's input against the trainer's torchvision transform, its in-graph Grad-CAM (run by
//   onnxruntime-node) against the trainer's PyTorch Grad-CAM forward and pytorch-grad-cam.
// Needs .venv (node scripts/setup-python.mjs); skips with the reason otherwise.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeDataset } from '../../src/core/dataset/phantom/writer';
import type { ManifestLine, PixelBox } from '../../src/core/dataset/prepare/output';
import { prepareRsna, readManifest } from '../../src/core/dataset/prepare/prepare';
import { windowSlice } from '../../src/core/dataset/prepare/slices';
import { loadImage, loadModality } from '../../src/core/dicom/load';
import { modelDetections, VAL_DEFAULTS } from '../../src/core/evaluation/detect';
import { readDataYaml } from '../../src/core/evaluation/yoloData';
import { classify } from '../../src/core/inference/classifier';
import { detectImage } from '../../src/core/inference/detector';
import { CancelledError, InferenceEngine, type SeriesProgress } from '../../src/core/inference/engine';
import { classifierImages, classifierTensor, decodeGrayPng, detectorTensor, detectorTensorFromPng, type GraySlice } from '../../src/core/inference/input';
import type { ClassifierSpec, DetectorSpec } from '../../src/core/inference/model';
import { resizeLinear8 } from '../../src/core/inference/resize';
import { SessionCache } from '../../src/core/inference/session';
import { PREDICT_DEFAULTS } from '../../src/core/inference/yolo';
import { evaluateDetection } from '../../src/core/metrics/detection';

const root = join(__dirname, '..', '..');
const python = join(root, '.venv', 'bin', 'python');
const detectorPath = join(root, 'models', 'vertebra-detector.onnx');
const skip = !existsSync(python) ? 'no .venv (node scripts/setup-python.mjs)' : !existsSync(detectorPath) ? 'no models/vertebra-detector.onnx (npm run models:train)' : false;

const RESIZE_CASES: [number, number, number, number, number][] = [
  [512, 512, 160, 160, 1], [512, 512, 320, 320, 2], [512, 400, 160, 125, 3], [300, 200, 160, 107, 4], [512, 512, 256, 256, 5], [100, 80, 33, 27, 6], [64, 64, 128, 128, 7],
];

interface Ref {
  resize: { src: number[]; ref: number[] }[];
  predict: { image: string; boxes: number[][]; cls: number[]; conf: number[] }[];
  val: { precision: number; recall: number; mAP50: number; mAP50_95: number; perClassAP50: number[]; perClassAP: number[]; classes: number[] };
  gradcam: { onnx: string; images: { tensor: number[]; logits: number[]; cam: number[]; library: number[] }[] };
}

let dir = '';
let prep = '';
let lines: ManifestLine[] = [];
let ref: Ref;
const cache = new SessionCache({ threads: 2 });

const detectLines = () => lines.filter((l) => l.set === 'detect');
const cropLines = () => lines.filter((l) => l.set === 'classify-vertebrae');
const predictImages = () => detectLines().filter((_, i) => i % 4 === 0).map((l) => join(prep, l.image));

async function graySlice(dicom: string): Promise<GraySlice> {
  const image = await loadImage(dicom);
  const values = await loadModality(image, 0);
  return { gray: windowSlice(values, image.info, { center: 500, width: 2000 }), rows: image.info.rows, columns: image.info.columns };
}

function iou(a: readonly number[], b: readonly number[]): number {
  const w = Math.max(0, Math.min(a[2], b[2]) - Math.max(a[0], b[0]));
  const h = Math.max(0, Math.min(a[3], b[3]) - Math.max(a[1], b[1]));
  const i = w * h;
  return i / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - i);
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= a.length;
  mb /= b.length;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < a.length; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

describe('inference engine against ultralytics, OpenCV, torchvision and the trainer', { skip }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'inference-'));
    const rsna = join(dir, 'rsna');
    prep = join(dir, 'prep');
    await writeDataset(rsna, { studies: 2, seed: 11, size: 512, slices: [60, 70], syntax: 'native', fractureRate: 1, segmentationRate: 1, subsamples: 1 });
    await prepareRsna({ rsna, out: prep, val: 1, seed: 1, jobs: 2 });
    lines = await readManifest(prep);
    const job = {
      resize: { cases: RESIZE_CASES },
      predict: { model: detectorPath, images: predictImages(), imgsz: 160 },
      gradcam: { dir: join(dir, 'cnn'), images: cropLines().map((l) => join(prep, l.image)), size: 160 },
      val: { model: detectorPath, data: join(prep, 'detect', 'data.yaml'), imgsz: 160 },
    };
    await writeFile(join(dir, 'job.json'), JSON.stringify(job));
    const r = spawnSync(python, [join(root, 'test', 'python', 'inference_reference.py'), join(dir, 'job.json'), join(dir, 'ref.json')], { encoding: 'utf8', timeout: 600_000 });
    assert.equal(r.status, 0, r.stderr.slice(-3000));
    ref = JSON.parse(await readFile(join(dir, 'ref.json'), 'utf8')) as Ref;
  });
  after(async () => {
    await cache.dispose();
    if (dir && !process.env.KEEP) await rm(dir, { recursive: true, force: true });
  });

  test('resize equals cv2.resize INTER_LINEAR: byte-exact on downscales, ±1 on ≤ 1 % of pixels otherwise', () => {
    RESIZE_CASES.forEach(([w, h, dw, dh], i) => {
      const ours = resizeLinear8(Uint8Array.from(ref.resize[i].src), w, h, 1, dw, dh);
      let off = 0;
      let worst = 0;
      for (let k = 0; k < ours.length; k++) {
        const d = Math.abs(ours[k] - ref.resize[i].ref[k]);
        if (d) off++;
        worst = Math.max(worst, d);
      }
      if (dw < w && dh < h && w % 16 === 0) assert.equal(off, 0, `${w}×${h} → ${dw}×${dh}: ${off} pixels differ`);
      else assert.ok(worst <= 1 && off <= 0.01 * ours.length, `${w}×${h} → ${dw}×${dh}: ${off} pixels differ, by up to ${worst}`);
    });
  });

  test('the tensors built from each .dcm equal those built from the PNGs prepare wrote (detector, vertebra crops, whole slices)', async () => {
    const det = (await cache.get(detectorPath)).spec as DetectorSpec;
    let n = 0;
    for (const l of detectLines()) {
      const s = await graySlice(l.dicom);
      const a = await detectorTensor(s, det);
      const b = await detectorTensorFromPng(await readFile(join(prep, l.image)), det);
      assert.deepEqual(a.lb, b.lb);
      assert.ok(Buffer.from(a.tensor.buffer).equals(Buffer.from(b.tensor.buffer)), `${l.image}: detector tensors differ`);
      n++;
    }
    const cropSpec = { kind: 'vertebra-crop', size: [160, 160] } as ClassifierSpec;
    const sliceSpec = { kind: 'slice', size: [224, 224] } as ClassifierSpec;
    for (const l of lines.filter((x) => x.set !== 'detect')) {
      const s = await graySlice(l.dicom);
      const [ours] = await classifierImages(s, l.set === 'classify' ? sliceSpec : cropSpec, l.crop ? [l.crop as PixelBox] : undefined);
      const png = await decodeGrayPng(await readFile(join(prep, l.image)));
      assert.ok(Buffer.from(ours).equals(Buffer.from(png.gray)), `${l.image}: classifier input differs from the PNG`);
      n++;
    }
    assert.ok(n >= 100, `only ${n} images compared`);
  });

  test('boxes equal ultralytics predict on the same PNGs: same classes, confidence within 1e-6, corners within 1e-3 px (IoU ≥ 0.99 asked)', async () => {
    const model = await cache.get(detectorPath);
    let boxes = 0;
    let worst = 1;
    for (const r of ref.predict) {
      const img = await decodeGrayPng(await readFile(r.image));
      const ours = await detectImage(model, img.gray, img.width, img.height, PREDICT_DEFAULTS);
      assert.equal(ours.length, r.cls.length, `${r.image}: ${ours.length} boxes, ultralytics ${r.cls.length}`);
      ours.forEach((d, i) => {
        assert.equal(d.cls, r.cls[i], `${r.image} box ${i}: class`);
        assert.ok(Math.abs(d.conf - r.conf[i]) <= 1e-6, `${r.image} box ${i}: conf ${d.conf} vs ${r.conf[i]}`);
        d.box.forEach((v, j) => assert.ok(Math.abs(v - r.boxes[i][j]) <= 1e-3, `${r.image} box ${i}: corner ${j} ${v} vs ${r.boxes[i][j]}`));
        worst = Math.min(worst, iou(d.box, r.boxes[i]));
      });
      boxes += ours.length;
    }
    assert.ok(boxes >= 10, `only ${boxes} boxes compared`);
    assert.ok(worst >= 0.99, `lowest IoU ${worst}`);
  });

  test('eval detect on a prepared split equals ultralytics val of the same ONNX model (mAP50, mAP50-95, P, R within 1e-6)', async () => {
    const model = await cache.get(detectorPath);
    const data = await readDataYaml(join(prep, 'detect', 'data.yaml'));
    const { images } = await modelDetections(model, await data.images('val'), data.names, VAL_DEFAULTS);
    const m = evaluateDetection(images, data.names, 'ultralytics');
    for (const k of ['mAP50', 'mAP50_95', 'precision', 'recall'] as const) {
      assert.ok(Math.abs((m[k] as number) - ref.val[k]) <= 1e-6, `${k}: ours ${m[k]}, ultralytics val ${ref.val[k]}`);
    }
    ref.val.classes.forEach((c, i) => assert.ok(Math.abs((m.perClass[c].mAP50 as number) - ref.val.perClassAP50[i]) <= 1e-6, `class ${c} mAP50`));
  });

  test('classifier input equals the trainer transform; in-graph Grad-CAM via onnxruntime-node equals the PyTorch Grad-CAM forward and pytorch-grad-cam', async () => {
    const model = await cache.get(ref.gradcam.onnx);
    const spec = model.spec as ClassifierSpec;
    assert.equal(spec.kind, 'vertebra-crop');
    const files = cropLines().map((l) => join(prep, l.image));
    const grays = await Promise.all(files.map(async (f) => (await decodeGrayPng(await readFile(f))).gray));
    const tensor = classifierTensor(grays, 160, 160, spec.normalization);
    const plane = 3 * 160 * 160;
    ref.gradcam.images.forEach((r, i) => {
      let d = 0;
      for (let k = 0; k < plane; k++) d = Math.max(d, Math.abs(tensor[i * plane + k] - r.tensor[k]));
      assert.ok(d <= 1e-6, `${files[i]}: input differs from torchvision's by ${d}`);
    });
    const out = await classify(model, tensor, files.length, true);
    let compared = 0;
    out.forEach((o, i) => {
      const r = ref.gradcam.images[i];
      const p = Math.exp(r.logits[1]) / (Math.exp(r.logits[0]) + Math.exp(r.logits[1]));
      assert.ok(Math.abs(o.positive - p) <= 1e-5, `${files[i]}: probability ${o.positive} vs PyTorch ${p}`);
      const cam = o.cam as Float32Array;
      const max = Math.max(...r.cam, 1e-12);
      let d = 0;
      for (let k = 0; k < cam.length; k++) d = Math.max(d, Math.abs(cam[k] - r.cam[k]));
      assert.ok(d <= 1e-3 * max, `${files[i]}: cam differs from PyTorch by ${d} (max ${max})`);
      if (Math.max(...cam) > 0 && Math.max(...r.library) > 0) {
        assert.ok(pearson(cam, r.library) >= 0.999, `${files[i]}: Pearson r vs pytorch-grad-cam ${pearson(cam, r.library)}`);
        compared++;
      }
    });
    assert.ok(compared >= 4, `only ${compared} non-zero Grad-CAM maps compared`);
  });

  test('the engine on a .dcm finds what the detector finds on its prepared PNG, and feeds the classifier those crops', async () => {
    const engine = await InferenceEngine.create({ detector: detectorPath, classifier: ref.gradcam.onnx }, cache);
    const model = await cache.get(detectorPath);
    let slices = 0;
    for (const l of detectLines().filter((_, i) => i % 10 === 0)) {
      const f = await engine.inferFile(l.dicom);
      const img = await decodeGrayPng(await readFile(join(prep, l.image)));
      const direct = await detectImage(model, img.gray, img.width, img.height, PREDICT_DEFAULTS);
      assert.deepEqual(f.vertebrae.map((v) => [v.cls, v.conf, v.box]), direct.map((d) => [d.cls, d.conf, d.box]));
      for (const v of f.vertebrae) assert.ok(v.fracture !== undefined && v.fracture >= 0 && v.fracture <= 1 && v.crop);
      if (f.vertebrae.length) assert.ok(f.heatmap && f.heatmap.length === f.rows * f.columns);
      slices++;
    }
    assert.ok(slices >= 5);
  });

  test('a series runs in slice order with progress, and stops with CancelledError when cancelled', async () => {
    const engine = await InferenceEngine.create({ detector: detectorPath, classifier: ref.gradcam.onnx }, cache);
    const study = detectLines()[0].study;
    const items = detectLines().filter((l) => l.study === study).slice(0, 12).map((l) => ({ path: l.dicom }));
    const seen: SeriesProgress[] = [];
    const files: string[] = [];
    for await (const f of engine.inferSeries(items, { jobs: 2, onProgress: (p) => seen.push(p) })) files.push(f.file);
    assert.deepEqual(files, items.map((i) => i.path));
    assert.deepEqual(seen.map((p) => p.done), items.map((_, i) => i + 1));
    assert.ok(seen.every((p) => p.total === items.length));
    const stop = new AbortController();
    let done = 0;
    await assert.rejects(async () => {
      for await (const f of engine.inferSeries(items, { jobs: 2, signal: stop.signal })) {
        assert.ok(f.file);
        if (++done === 3) stop.abort();
      }
    }, CancelledError);
    assert.equal(done, 3);
  });
});
