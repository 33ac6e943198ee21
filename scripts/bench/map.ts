// Detection mAP benchmark: ours (evaluateDetection, both protocols) vs pycocotools and ultralytics' val path,
// side by side in one run on the same seeded synthetic set (timing lives here, never in tests).
//
//   node --import tsx scripts/bench/map.ts [--images 10000] [--classes 7] [--seed 1] [--repeats 3]
//
// Data (cached in test-output/bench/map-data/): `images` 512×512 images, 0–6 truth boxes each (classes
// 0..classes-1, sides 8–160 px); predictions = each truth box kept with probability 0.9, jittered by up to
// ±15 % of its size, its class kept with probability 0.95; plus 0–3 false positives per image. Confidences
// are random (true positives drawn higher) and all distinct, also in float32: with ties, ultralytics' own
// numbers depend on numpy's unstable argsort and so on the CPU (src/core/metrics/detection/index.ts).
// Written once as JSON; every contender is timed from the data already in memory (JSON parsing excluded):
// - ours: evaluateDetection(images, names, 'coco' | 'ultralytics'), validation and packing included;
// - pycocotools 2.0.11: dataset dict + result list, COCO(), loadRes, COCOeval evaluate/accumulate/summarize;
// - ultralytics 8.4.190: per image tensors + _process_batch (box_iou + match_predictions) + update_stats,
//   then DetMetrics.process (ap_per_class) — scripts/bench/map_py.py.
// After a warm-up, `repeats` rounds of one run each, interleaved. Reports median ms, the ratios (targets:
// ours ≤ 0.2× pycocotools, ≤ 0.5× ultralytics) and the max abs difference of mAP50 and mAP50-95 (overall
// and per class) against each reference. Writes test-output/bench/map.json.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { evaluateDetection, type DetectionImage, type DetectionMetrics, type PredBox, type TruthBox } from '../../src/core/metrics/detection';
import { Rng, seedFrom } from '../../src/core/util/random';
import { ROOT, OUT, PYTHON, option, median, PythonPeer } from './common';




interface DataSet { names: string[]; images: DetectionImage[] }

const SIZE = 512;
const round2 = (v: number) => Math.round(v * 100) / 100;

/** A random box inside the image, xyxy, sides 8–160 px (small, medium and large in COCO's terms). */
function randomBox(rng: Rng): [number, number, number, number] {
  const w = rng.uniform(8, 160);
  const h = rng.uniform(8, 160);
  const x = rng.uniform(0, SIZE - w);
  const y = rng.uniform(0, SIZE - h);
  return [round2(x), round2(y), round2(x + w), round2(y + h)];
}

/** The seeded synthetic set (see the header). */
function makeSet(n: number, nc: number, seed: number): DataSet {
  const rng = new Rng(seedFrom('bench-map', n, nc, seed));
  const used = new Set<number>();
  // Distinct confidences on a 1e-6 grid: distinct in float32 too (its spacing below 1 is ≤ 6e-8).
  const conf = (lo: number, hi: number): number => {
    for (;;) {
      const c = Math.round(rng.uniform(lo, hi) * 1e6);
      if (!used.has(c)) {
        used.add(c);
        return c / 1e6;
      }
    }
  };
  const images: DetectionImage[] = [];
  for (let i = 0; i < n; i++) {
    const truth: TruthBox[] = [];
    const predictions: PredBox[] = [];
    const nt = rng.int(0, 6);
    for (let k = 0; k < nt; k++) truth.push({ cls: rng.int(0, nc - 1), box: randomBox(rng) });
    for (const t of truth) {
      if (!rng.chance(0.9)) continue;
      const [x1, y1, x2, y2] = t.box;
      const jw = 0.15 * (x2 - x1);
      const jh = 0.15 * (y2 - y1);
      const a = Math.min(SIZE, Math.max(0, x1 + rng.uniform(-jw, jw)));
      const b = Math.min(SIZE, Math.max(0, y1 + rng.uniform(-jh, jh)));
      const c = Math.min(SIZE, Math.max(0, x2 + rng.uniform(-jw, jw)));
      const d = Math.min(SIZE, Math.max(0, y2 + rng.uniform(-jh, jh)));
      const box: [number, number, number, number] = [round2(Math.min(a, c)), round2(Math.min(b, d)), round2(Math.max(a, c)), round2(Math.max(b, d))];
      predictions.push({ cls: rng.chance(0.95) ? t.cls : rng.int(0, nc - 1), box, conf: conf(0.2, 1) });
    }
    const nf = rng.int(0, 3);
    for (let k = 0; k < nf; k++) predictions.push({ cls: rng.int(0, nc - 1), box: randomBox(rng), conf: conf(0, 0.8) });
    images.push({ image: `img${String(i).padStart(5, '0')}.png`, width: SIZE, height: SIZE, truth, predictions });
  }
  return { names: Array.from({ length: nc }, (_, k) => (nc === 7 ? `C${k + 1}` : `class${k}`)), images };
}

/** The set's JSON file, written once. */
function dataFile(n: number, nc: number, seed: number): string {
  const dir = join(OUT, 'map-data');
  const file = join(dir, `set-${n}x${nc}-seed${seed}-v1.json`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  console.error(`making ${n} images × ${nc} classes in ${file} …`);
  writeFileSync(`${file}.tmp`, JSON.stringify(makeSet(n, nc, seed)));
  renameSync(`${file}.tmp`, file);
  return file;
}

interface PyRun { ms: number; mAP50: number; mAP50_95: number; perClass: ([number, number] | null)[]; tensors_ms?: number; stats?: number[] }

/** map_py.py kept running: one evaluation per request, so that runs of ours and of the peers interleave. */
class PythonPeers extends PythonPeer {
  constructor(file: string) {
    super('map_py.py', [file]);
  }

  run(who: 'coco' | 'ultralytics'): Promise<PyRun> {
    return this.ask(who);
  }
}

/** Max abs difference of mAP50 and mAP50-95, overall and over the classes both report. */
function diff(ours: DetectionMetrics, ref: PyRun): { mAP50: number; mAP50_95: number; perClassMax: number } {
  let perClassMax = 0;
  ours.perClass.forEach((c, k) => {
    const r = ref.perClass[k];
    if ((c.mAP50 === null) !== (r === null)) perClassMax = Infinity;
    else if (r && c.mAP50 !== null && c.mAP50_95 !== null) perClassMax = Math.max(perClassMax, Math.abs(c.mAP50 - r[0]), Math.abs(c.mAP50_95 - r[1]));
  });
  return { mAP50: Math.abs(ours.mAP50 - ref.mAP50), mAP50_95: Math.abs(ours.mAP50_95 - ref.mAP50_95), perClassMax };
}

function oursRun(set: DataSet, protocol: 'coco' | 'ultralytics'): { ms: number; metrics: DetectionMetrics } {
  const t = process.hrtime.bigint();
  const metrics = evaluateDetection(set.images, set.names, protocol);
  return { ms: Number(process.hrtime.bigint() - t) / 1e6, metrics };
}

async function main(): Promise<void> {
  const n = Number(option('images', '10000'));
  const nc = Number(option('classes', '7'));
  const seed = Number(option('seed', '1'));
  const repeats = Number(option('repeats', '3'));
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run node scripts/setup-python.mjs`);
  const file = dataFile(n, nc, seed);
  const set = JSON.parse(readFileSync(file, 'utf8')) as DataSet;
  const boxes = set.images.reduce((a, im) => [a[0] + im.truth.length, a[1] + im.predictions.length], [0, 0]);

  const peers = new PythonPeers(file);
  const protocols = [['coco', 'pycocotools'], ['ultralytics', 'ultralytics']] as const;
  const ours: Record<string, { ms: number; metrics: DetectionMetrics }[]> = { coco: [], ultralytics: [] };
  const py: Record<string, PyRun[]> = { coco: [], ultralytics: [] };
  try {
    for (const [p] of protocols) oursRun(set, p); // warm-up: JIT
    await peers.ready();
    for (let r = 0; r < repeats; r++) {
      for (const [p] of protocols) {
        if (r % 2 === 0) { ours[p].push(oursRun(set, p)); py[p].push(await peers.run(p)); }
        else { py[p].push(await peers.run(p)); ours[p].push(oursRun(set, p)); }
      }
    }
  } finally {
    peers.close();
  }

  console.log(`\ndetection mAP: ${n} images × ${nc} classes (${boxes[0]} truth, ${boxes[1]} predicted boxes; ${file.replace(`${ROOT}/`, '')}), `
    + `from in-memory data, median ms of ${repeats} interleaved runs after a warm-up (${availableParallelism()} CPUs, load ${loadavg()[0].toFixed(2)})`);
  console.log(`${'protocol'.padEnd(13)}${'ours ms'.padStart(9)}${'ref ms'.padStart(10)}  ${'reference'.padEnd(13)}${'ratio'.padStart(7)}  target  ${'|ΔmAP50|'.padStart(9)}${'|ΔmAP50-95|'.padStart(12)}${'|Δ class|'.padStart(10)}`);
  const rows = protocols.map(([p, ref]) => {
    const oursMs = median(ours[p].map((x) => x.ms));
    const refMs = median(py[p].map((x) => x.ms));
    const target = p === 'coco' ? 0.2 : 0.5;
    const d = diff(ours[p][0].metrics, py[p][0]);
    const ratio = oursMs / refMs;
    const tensorsMs = p === 'ultralytics' ? median(py[p].map((x) => x.tensors_ms ?? 0)) : undefined;
    console.log(`${p.padEnd(13)}${oursMs.toFixed(1).padStart(9)}${refMs.toFixed(1).padStart(10)}  ${ref.padEnd(13)}${`${ratio.toFixed(3)}×`.padStart(7)}  ${`≤ ${target} ${ratio <= target ? 'met' : 'MISSED'}`.padEnd(6)}  ${d.mAP50.toExponential(1).padStart(9)}${d.mAP50_95.toExponential(1).padStart(12)}${d.perClassMax.toExponential(1).padStart(10)}`);
    return {
      protocol: p, reference: ref, oursMs, refMs, ratio, target, met: ratio <= target,
      ...(tensorsMs !== undefined ? { refTensorsMs: tensorsMs, ratioWithoutTensors: oursMs / (refMs - tensorsMs) } : {}),
      ours: { mAP50: ours[p][0].metrics.mAP50, mAP50_95: ours[p][0].metrics.mAP50_95 },
      ref: { mAP50: py[p][0].mAP50, mAP50_95: py[p][0].mAP50_95 },
      maxAbsDiff: d, runs: { ours: ours[p].map((x) => x.ms), ref: py[p].map((x) => x.ms) },
    };
  });
  const u = rows[1];
  if (u.refTensorsMs !== undefined) console.log(`  ultralytics: ${u.refTensorsMs.toFixed(1)} ms of its time builds the per-image tensors from the dicts; without it the ratio is ${(u.ratioWithoutTensors as number).toFixed(3)}×`);
  for (const r of rows) console.log(`  ${r.protocol}: ours mAP50 ${r.ours.mAP50.toFixed(6)} mAP50-95 ${r.ours.mAP50_95.toFixed(6)}; ${r.reference} ${r.ref.mAP50.toFixed(6)} / ${r.ref.mAP50_95.toFixed(6)}`);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'map.json'), JSON.stringify({
    node: process.version, cpus: availableParallelism(), cpu: cpus()[0]?.model, loadavg: loadavg(), versions: peers.versions,
    images: n, classes: nc, seed, truthBoxes: boxes[0], predictedBoxes: boxes[1], data: file, repeats, rows,
  }, null, 2));
  console.log(`written ${join(OUT, 'map.json')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
});
