// Detection inference benchmark: ours vs onnxruntime-python vs ultralytics, side by side in one run, plus a
// whole study end to end (timing lives here, never in tests).
//
//   node --import tsx scripts/bench/inference.ts [--count 64] [--repeats 5] [--threads 1,2] [--images DIR]
//                                                [--study-slices 300] [--study-threads N] [--study-repeats 1]
//                                                [--detector F.onnx] [--classifier F.onnx]
//
// 1. Per slice: `count` prepared 512×512 detect PNGs (default: evenly spaced over
//    .cache/models-data/holdout-prep/detect/images/val; without it, a small set made with `dicom-ml sample` +
//    `prepare` in test-output/bench/inference-data), the default detector (YOLOv8n, imgsz 160).
//    Timed from grey bytes already decoded in memory (PNG decoding excluded for every contender):
//    - ours: detectImage (src/core/inference/detector.ts) = letterbox + tensor + session.run + decode + NMS +
//      boxes back to the image, on a SessionCache({ threads });
//    - ort-python: the same work in numpy/cv2 + onnxruntime-python (intra_op_num_threads = threads) +
//      torchvision nms (scripts/bench/inference_py.py);
//    - ultralytics: YOLO(model).predict(array, imgsz) on its onnxruntime backend, torch.set_num_threads(threads)
//      (its InferenceSession keeps onnxruntime's default thread count: the public API has no setting).
//    After a warm-up pass, `repeats` rounds in which each image is run by all three back to back (order
//    rotating): median ms per call, ratios of the medians ours / ort-python (target ≤ 1.1) and ours /
//    ultralytics (target ≤ 0.5), and the median of the per-image paired ratios (robust to load changes). The detections of all three are compared (count, classes, max
//    box and confidence difference).
// 2. A study end to end: a `study-slices`-slice series from `dicom-ml sample` (JPEG lossless, 512×512; cached in
//    test-output/bench/study-<N>), InferenceEngine.inferSeries (decode pool → detector → vertebra crops →
//    classifier with Grad-CAM) then fuseStudy: slices/s. No Python peer does this whole two-stage pipeline,
//    so this row is ours alone.
// Writes test-output/bench/inference.json. Needs .venv (node scripts/setup-python.mjs) and models/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { scanSeries } from '../../src/core/dicom/series';
import { detectImage } from '../../src/core/inference/detector';
import { InferenceEngine } from '../../src/core/inference/engine';
import { decodeGrayPng } from '../../src/core/inference/input';
import type { DetectorSpec } from '../../src/core/inference/model';
import { SessionCache, type LoadedModel } from '../../src/core/inference/session';
import { PREDICT_DEFAULTS, type Detection } from '../../src/core/inference/yolo';
import { fuseStudy, type SliceResult } from '../../src/core/metrics/rsna';
import { ROOT, OUT, PYTHON, option, median, ms, PythonPeer } from './common';

const CLI = join(ROOT, 'src', 'cli', 'main.ts');




function cli(args: string[]): void {
  execFileSync(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Build `dir` by `make(tmp)` in a sibling temporary folder, renamed when complete (an interrupted run leaves no half set). */
function cached(dir: string, what: string, make: (tmp: string) => void): string {
  if (existsSync(dir)) return dir;
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  console.error(`making ${what} in ${dir} …`);
  make(tmp);
  renameSync(tmp, dir);
  return dir;
}

/** The prepared detect PNGs: the holdout set when present, else a small one made here (2 studies). */
function detectImages(dirOption: string): string[] {
  let dir = dirOption;
  if (!existsSync(dir)) {
    const data = cached(join(OUT, 'inference-data'), 'a small prepared set (dicom-ml sample + prepare)', (tmp) => {
      cli(['sample', '--out', join(tmp, 'rsna'), '--studies', '2', '--slices', '100']);
      cli(['prepare', '--rsna', join(tmp, 'rsna'), '--out', join(tmp, 'prep')]);
    });
    dir = join(data, 'prep', 'detect', 'images', 'val');
    if (!existsSync(dir) || !readdirSync(dir).some((f) => f.endsWith('.png'))) dir = join(data, 'prep', 'detect', 'images', 'train');
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.png')).sort();
  if (!files.length) throw new Error(`${dir}: no PNG images`);
  return files.map((f) => join(dir, f));
}

/** `count` items evenly spaced over `all` (first and last included). */
function spread<T>(all: T[], count: number): T[] {
  if (count >= all.length) return all;
  return Array.from({ length: count }, (_, i) => all[Math.round((i * (all.length - 1)) / Math.max(1, count - 1))]);
}

interface PyDet { cls: number; conf: number; box: number[] }

/** inference_py.py kept running: one pass per request, so that passes of all contenders interleave. */
class PythonPeers extends PythonPeer {
  constructor(detector: string, imgsz: number, threads: number, files: string[]) {
    super('inference_py.py', [detector, String(imgsz), String(threads), ...files]);
  }

  call(who: 'ort' | 'ultralytics', index: number): Promise<{ ms: number; dets: PyDet[] }> {
    return this.ask(`${who} ${index}`);
  }
}

/** How far two contenders' detections differ over all images. */
function compare(a: (Detection | PyDet)[][], b: (Detection | PyDet)[][]): { images: number; sameDetections: number; maxBox: number; maxConf: number } {
  let same = 0;
  let maxBox = 0;
  let maxConf = 0;
  a.forEach((da, i) => {
    const db = b[i];
    if (da.length !== db.length || da.some((d, k) => d.cls !== db[k].cls)) return;
    same++;
    da.forEach((d, k) => {
      maxConf = Math.max(maxConf, Math.abs(d.conf - db[k].conf));
      for (let j = 0; j < 4; j++) maxBox = Math.max(maxBox, Math.abs(d.box[j] - db[k].box[j]));
    });
  });
  return { images: a.length, sameDetections: same, maxBox, maxConf };
}

type Gray = { gray: Uint8Array; width: number; height: number };

/** One call of ours: wall ms and detections. */
async function oursCall(model: LoadedModel, im: Gray): Promise<{ ms: number; dets: Detection[] }> {
  const t = process.hrtime.bigint();
  const dets = await detectImage(model, im.gray, im.width, im.height, PREDICT_DEFAULTS);
  return { ms: ms(t), dets };
}

/**
 * Ours, ort-python and ultralytics at `threads`: a warm-up pass each, then `repeats` rounds over the images in
 * which each image is run by all three back to back, the order rotating — on a shared machine whose load
 * changes from second to second, only calls made within the same few milliseconds compare fairly.
 */
async function measure(detector: string, imgsz: number, threads: number, files: string[], images: Gray[], repeats: number) {
  const peers = new PythonPeers(detector, imgsz, threads, files);
  const cache = new SessionCache({ threads });
  try {
    const model = await cache.get(detector);
    for (const im of images) await oursCall(model, im); // warm-up: session start, JIT
    await peers.ready();
    const order = ['ours', 'ort', 'ultralytics'] as const;
    type Who = (typeof order)[number];
    const times: Record<Who, number[]> = { ours: [], ort: [], ultralytics: [] };
    const first: Record<Who, (Detection | PyDet)[][]> = { ours: [], ort: [], ultralytics: [] };
    const paired: Record<'ort' | 'ultralytics', number[]> = { ort: [], ultralytics: [] };
    for (let r = 0; r < repeats; r++) {
      for (let i = 0; i < images.length; i++) {
        const got = {} as Record<Who, number>;
        for (let k = 0; k < order.length; k++) {
          const who = order[(k + i + r) % order.length];
          const res = who === 'ours' ? await oursCall(model, images[i]) : await peers.call(who, i);
          got[who] = res.ms;
          times[who].push(res.ms);
          if (r === 0) first[who][i] = res.dets;
        }
        paired.ort.push(got.ours / got.ort);
        paired.ultralytics.push(got.ours / got.ultralytics);
      }
    }
    return {
      versions: peers.versions,
      ours: median(times.ours),
      ortPython: median(times.ort),
      ultralytics: median(times.ultralytics),
      pairedRatio: { ortPython: median(paired.ort), ultralytics: median(paired.ultralytics) },
      parity: { oursVsOrtPython: compare(first.ours, first.ort), oursVsUltralytics: compare(first.ours, first.ultralytics) },
    };
  } finally {
    peers.close();
    await cache.dispose();
  }
}

/** The whole two-stage pipeline on one series, then fusion; seconds of each pass. */
async function study(detector: string, classifier: string, slices: number, threads: number, repeats: number): Promise<{ dir: string; slices: number; passes: number[]; vertebrae: number; patient: number; size: number }> {
  const dir = cached(join(OUT, `study-${slices}`), `a ${slices}-slice study (dicom-ml sample)`, (tmp) => {
    cli(['sample', '--out', tmp, '--studies', '1', '--slices', String(slices)]);
  });
  const scan = await scanSeries(join(dir, 'train_images'), { recursive: true });
  const series = scan.series[0];
  if (!series || series.slices.length !== slices) throw new Error(`${dir}: expected one ${slices}-slice series, found ${scan.series.map((s) => s.slices.length).join(', ') || 'none'}`);
  const items = series.slices.map((s) => ({ path: s.path, frame: s.frame }));
  const engine = await InferenceEngine.create({ detector, classifier, threads });
  try {
    const run = async (list: typeof items) => {
      const results: SliceResult[] = [];
      let vertebrae = 0;
      let k = 0;
      for await (const f of engine.inferSeries(list)) {
        vertebrae += f.vertebrae.length;
        results.push({ slice: f.instance ?? k, vertebrae: f.vertebrae.filter((v) => v.fracture !== undefined && v.cls < 7).map((v) => ({ vertebra: v.cls, conf: v.conf, fracture: v.fracture as number })) });
        k++;
      }
      return { fusion: fuseStudy(series.studyInstanceUID ?? 'study', results), vertebrae };
    };
    await run(items.slice(0, 16)); // warm-up: sessions, JIT, worker threads
    const passes: number[] = [];
    let last = { fusion: { patient: NaN }, vertebrae: 0 };
    for (let r = 0; r < repeats; r++) {
      const t = process.hrtime.bigint();
      last = await run(items);
      passes.push(ms(t) / 1000);
    }
    return { dir, slices, passes, vertebrae: last.vertebrae, patient: last.fusion.patient, size: 512 };
  } finally {
    await engine.dispose();
  }
}

function fmt(v: number, w = 8): string {
  return v.toFixed(2).padStart(w);
}

async function main(): Promise<void> {
  const count = Number(option('count', '64'));
  const repeats = Number(option('repeats', '5'));
  const threadList = option('threads', '1,2').split(',').map(Number);
  const detector = resolve(ROOT, option('detector', 'models/vertebra-detector.onnx'));
  const classifier = resolve(ROOT, option('classifier', 'models/fracture-classifier.onnx'));
  const studySlices = Number(option('study-slices', '300'));
  const studyThreads = Number(option('study-threads', String(Math.max(...threadList))));
  const studyRepeats = Number(option('study-repeats', '1'));
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run node scripts/setup-python.mjs`);
  for (const f of [detector, classifier]) if (!existsSync(f)) throw new Error(`${f} is missing (npm run models:train)`);
  mkdirSync(OUT, { recursive: true });

  const files = spread(detectImages(resolve(ROOT, option('images', '.cache/models-data/holdout-prep/detect/images/val'))), count);
  const images = await Promise.all(files.map((f) => decodeGrayPng(new Uint8Array(readFileSync(f)))));
  const probe = new SessionCache({ threads: 1 });
  const spec = (await probe.get(detector)).spec as DetectorSpec;
  await probe.dispose();
  const [h, w] = [images[0].height, images[0].width];
  console.log(`detection inference: ${files.length} prepared ${w}×${h} detect PNGs, ${spec.card?.architecture ?? 'YOLO'} imgsz ${spec.imgsz.join('×')}, `
    + `from decoded grey bytes (preprocess + run + NMS; PNG decode excluded), median ms per call, ${repeats} rounds, the three contenders interleaved image by image (${availableParallelism()} CPUs, load ${loadavg()[0].toFixed(2)})`);
  console.log(`${'threads'.padEnd(9)}${'ours'.padStart(8)}${'ort-py'.padStart(9)}${'ultra'.padStart(9)}   ours/ort-py (≤ 1.1) [paired]   ours/ultralytics (≤ 0.5) [paired]`);

  const perThreads = [];
  let versions: Record<string, string | number> = {};
  for (const threads of threadList) {
    const { versions: v, ...m } = await measure(detector, spec.imgsz[0], threads, files, images, repeats);
    versions = v;
    const row = { threads, ...m };
    const r1 = row.ours / row.ortPython;
    const r2 = row.ours / row.ultralytics;
    perThreads.push({ ...row, ratioOrtPython: r1, ratioUltralytics: r2 });
    const cell = (r: number, p: number, target: number) => `${r.toFixed(2)}× ${r <= target ? 'met' : 'MISSED'} [${p.toFixed(2)}×]`;
    console.log(`${String(threads).padEnd(9)}${fmt(row.ours)} ${fmt(row.ortPython)} ${fmt(row.ultralytics)}   ${cell(r1, row.pairedRatio.ortPython, 1.1).padStart(27)}   ${cell(r2, row.pairedRatio.ultralytics, 0.5).padStart(32)}`);
  }
  for (const r of perThreads) {
    for (const [who, p] of [['ort-python', r.parity.oursVsOrtPython], ['ultralytics', r.parity.oursVsUltralytics]] as const) {
      console.log(`  threads ${r.threads}, ours vs ${who}: same detections on ${p.sameDetections}/${p.images} images, max |Δbox| ${p.maxBox.toExponential(2)} px, max |Δconf| ${p.maxConf.toExponential(2)}`);
    }
  }

  console.log(`\nstudy end to end: ${studySlices} JPEG lossless 512×512 slices, decode pool → detector → crops → classifier + Grad-CAM → fuseStudy, threads ${studyThreads} (ours alone: no Python peer runs this pipeline)`);
  const s = await study(detector, classifier, studySlices, studyThreads, studyRepeats);
  const sec = median(s.passes);
  console.log(`  ${sec.toFixed(2)} s per study (median of ${studyRepeats}), ${(studySlices / sec).toFixed(1)} slices/s, ${(1000 * sec / studySlices).toFixed(1)} ms per slice; ${s.vertebrae} vertebra boxes, patient probability ${s.patient.toFixed(3)}`);

  const doc = {
    node: process.version, cpus: availableParallelism(), cpu: cpus()[0]?.model, loadavg: loadavg(), versions,
    detector, classifier, images: files.length, imageSize: [w, h], imgsz: spec.imgsz, repeats,
    timed: 'from decoded grey bytes: preprocess + session.run + NMS + boxes back to the image (PNG decode excluded)',
    ultralyticsNote: 'ultralytics creates its InferenceSession with onnxruntime default threads (no public setting); torch.set_num_threads(threads)',
    targets: { oursOverOrtPython: 1.1, oursOverUltralytics: 0.5 },
    perThreads,
    study: { slices: studySlices, threads: studyThreads, seconds: s.passes, slicesPerSecond: studySlices / sec, vertebrae: s.vertebrae, patient: s.patient, data: s.dir, peer: null },
  };
  writeFileSync(join(OUT, 'inference.json'), JSON.stringify(doc, null, 2));
  console.log(`written ${join(OUT, 'inference.json')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
