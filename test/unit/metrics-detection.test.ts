// Parity of src/core/metrics/detection with the real references, on seeded random data sets made here:
// protocol ultralytics vs ultralytics 8.4.190 (DetectionValidator._process_batch → DetMetrics/ap_per_class),
// protocol coco vs pycocotools 2.0.11 COCOeval — test/python/detection_reference.py runs both once for all
// sets. Needs .venv (node scripts/setup-python.mjs) with ultralytics and pycocotools; skips otherwise.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { detectionRecords, evaluateDetection, type DetectionImage, type DetectionMetrics, type PredBox, type TruthBox } from '../../src/core/metrics/detection';
import { Rng, seedFrom } from '../../src/core/util/random';

const ROOT = join(import.meta.dirname, '..', '..');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const TOL = 1e-6;
/** numpy dispatches argsort to x86-simd-sort on these; without them it runs its portable introsort. */
const NO_SIMD_SORT = 'AVX2 FMA3 AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL';

function missingReference(): string | false {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing (run: node scripts/setup-python.mjs)`;
  const r = spawnSync(PYTHON, ['-c', 'import ultralytics, pycocotools'], { encoding: 'utf8', env: { ...process.env, YOLO_OFFLINE: 'true' } });
  return r.status === 0 ? false : `ultralytics/pycocotools not importable: ${r.stderr.trim().split('\n').pop()}`;
}

type Box = [number, number, number, number];
interface RefSet { name: string; names: string[]; images: DetectionImage[]; curves?: boolean; ties: boolean }
interface Kind { name: string; n: number; nc: number; w: number; h: number; ties: boolean; gt: number; fp: number; hit: number; confs?: number[]; tiny?: boolean; dup?: boolean; perfect?: 'one' | 'varied'; noPred?: boolean; onlyPredCls?: boolean; empty?: number; useless?: boolean }

function randomBox(rng: Rng, w: number, h: number, tiny: boolean): Box {
  const bw = tiny ? rng.uniform(1, 40) : rng.uniform(4, w * 0.6);
  const bh = tiny ? rng.uniform(1, 40) : rng.uniform(4, h * 0.6);
  const x = rng.uniform(0, w - bw); const y = rng.uniform(0, h - bh);
  return [x, y, x + bw, y + bh];
}
function jitter(rng: Rng, b: Box, s: number): Box {
  const bw = b[2] - b[0]; const bh = b[3] - b[1];
  const x1 = b[0] + rng.normal(0, s * bw); const y1 = b[1] + rng.normal(0, s * bh);
  return [x1, y1, Math.max(x1, b[2] + rng.normal(0, s * bw)), Math.max(y1, b[3] + rng.normal(0, s * bh))];
}

/** One random data set of the given kind; same seed, same set. */
function makeSet(k: Kind, seed: number): RefSet {
  const rng = new Rng(seed);
  const names = Array.from({ length: k.nc }, (_, i) => `c${i}`);
  const gtClasses = k.onlyPredCls ? k.nc - 1 : k.nc; // the last class then appears only in predictions
  const conf = (): number => (k.confs ? rng.pick(k.confs) : rng.next());
  const images: DetectionImage[] = [];
  for (let i = 0; i < k.n; i++) {
    const truth: TruthBox[] = [];
    const predictions: PredBox[] = [];
    const empty = rng.chance(k.empty ?? 0.1);
    if (!empty) {
      const ng = rng.int(0, k.gt);
      for (let g = 0; g < ng; g++) truth.push({ cls: rng.int(0, Math.max(0, gtClasses - 1)), box: randomBox(rng, k.w, k.h, !!k.tiny && rng.chance(0.7)) });
      if (!k.noPred && !rng.chance(0.1)) {
        for (const t of truth) {
          if (k.perfect) { predictions.push({ cls: t.cls, box: [...t.box], conf: k.perfect === 'one' ? 1 : conf() }); continue; }
          if (k.useless || !rng.chance(k.hit)) continue;
          const cls = rng.chance(0.1) ? rng.int(0, k.nc - 1) : t.cls;
          predictions.push({ cls, box: jitter(rng, t.box, rng.pick([0.02, 0.05, 0.15])), conf: conf() });
          if (k.dup && rng.chance(0.3)) predictions.push({ ...predictions[predictions.length - 1], box: [...predictions[predictions.length - 1].box] });
        }
        const nf = rng.int(0, k.fp);
        for (let f = 0; f < nf; f++) predictions.push({ cls: rng.int(0, k.nc - 1), box: randomBox(rng, k.w, k.h, !!k.tiny && rng.chance(0.7)), conf: conf() });
        for (let j = predictions.length - 1; j > 0; j--) { const r = rng.int(0, j); [predictions[j], predictions[r]] = [predictions[r], predictions[j]]; }
      }
    }
    images.push({ image: `img${i}.png`, width: k.w, height: k.h, truth, predictions });
  }
  return { name: `${k.name}#${seed}`, names, images, ties: k.ties || !!k.perfect || !!k.dup };
}

const TIES = [0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1];
const KINDS: Kind[] = [
  { name: 'mixed', n: 40, nc: 3, w: 640, h: 512, ties: false, gt: 5, fp: 3, hit: 0.8 },
  { name: 'ties', n: 40, nc: 3, w: 640, h: 512, ties: true, gt: 5, fp: 3, hit: 0.8, confs: TIES },
  { name: 'few-images', n: 3, nc: 2, w: 320, h: 320, ties: false, gt: 3, fp: 2, hit: 0.7 },
  { name: 'empty-images', n: 30, nc: 3, w: 512, h: 512, ties: false, gt: 3, fp: 2, hit: 0.7, empty: 0.6 },
  { name: 'no-predictions', n: 20, nc: 3, w: 512, h: 512, ties: false, gt: 4, fp: 0, hit: 0, noPred: true },
  { name: 'only-in-predictions', n: 30, nc: 4, w: 512, h: 512, ties: false, gt: 4, fp: 4, hit: 0.8, onlyPredCls: true },
  { name: 'perfect-conf1', n: 30, nc: 3, w: 512, h: 512, ties: true, gt: 4, fp: 0, hit: 1, perfect: 'one' },
  { name: 'perfect-varied', n: 30, nc: 3, w: 512, h: 512, ties: false, gt: 4, fp: 0, hit: 1, perfect: 'varied' },
  { name: 'useless', n: 40, nc: 3, w: 512, h: 512, ties: false, gt: 3, fp: 6, hit: 0, useless: true },
  { name: 'tiny', n: 40, nc: 2, w: 256, h: 256, ties: false, gt: 6, fp: 4, hit: 0.8, tiny: true },
  { name: 'large-images', n: 20, nc: 3, w: 4096, h: 3072, ties: false, gt: 5, fp: 3, hit: 0.8 },
  { name: 'duplicates', n: 30, nc: 2, w: 512, h: 512, ties: true, gt: 4, fp: 2, hit: 0.9, dup: true },
  { name: 'crowded-ties', n: 15, nc: 2, w: 512, h: 512, ties: true, gt: 30, fp: 150, hit: 0.9, confs: [0.3, 0.6, 0.6, 0.9], tiny: true },
];

function buildSets(): RefSet[] {
  const sets: RefSet[] = [];
  for (const k of KINDS) for (let s = 0; s < 4; s++) sets.push(makeSet(k, seedFrom('metrics-detection', k.name, s)));
  sets.push(makeSet({ name: 'big', n: 1500, nc: 7, w: 1024, h: 1024, ties: true, gt: 4, fp: 4, hit: 0.8, confs: [0.05, 0.2, 0.35, 0.5, 0.65, 0.8, 0.95], tiny: true }, 7));
  sets.push(makeSet({ name: 'big-continuous', n: 1500, nc: 7, w: 1024, h: 1024, ties: false, gt: 4, fp: 4, hit: 0.8, tiny: true }, 8));
  const none = makeSet(KINDS[0], 99);
  none.images.forEach((im) => { im.predictions = []; });
  sets.push({ ...none, name: 'no-predictions-at-all', ties: false });
  const noTruth = makeSet(KINDS[0], 98);
  noTruth.images.forEach((im) => { im.truth = []; });
  sets.push({ ...noTruth, name: 'no-truth-at-all' });
  sets[0].curves = true; sets[4].curves = true; sets[sets.length - 4].curves = true;
  return sets;
}

interface Ref { sets: { name: string; ultralytics: null | { precision: number; recall: number; mAP50: number; mAP50_95: number; perClass: Record<string, number>[]; curves?: Record<string, number[] | number[][]> }; coco: null | { stats: number[]; perClass: { id: number; mAP50: number | null; mAP50_95: number | null }[] } }[] }

/** Compares numbers (null must meet null), collecting the largest difference. */
class Diff {
  max = 0;
  near(actual: number | null | undefined, expected: number | null | undefined, what: string): void {
    if (expected === null || expected === undefined) { assert.equal(actual ?? null, null, `${what}: expected null, got ${actual}`); return; }
    assert.equal(typeof actual, 'number', `${what}: expected ${expected}, got ${actual}`);
    const d = Math.abs((actual as number) - expected);
    this.max = Math.max(this.max, d);
    assert.ok(d <= TOL, `${what}: ${actual} vs reference ${expected} (|diff| ${d} > ${TOL})`);
  }
  rows(actual: number[][], expected: number[][], what: string): void {
    assert.equal(actual.length, expected.length, `${what}: rows`);
    expected.forEach((row, i) => { assert.equal(actual[i].length, row.length); row.forEach((v, j) => this.near(actual[i][j], v, `${what}[${i}][${j}]`)); });
  }
}

function checkUltralytics(ours: DetectionMetrics, ref: Ref['sets'][number]['ultralytics'], name: string, diff: Diff, curves = false): void {
  if (!ref) return;
  for (const key of ['precision', 'recall', 'mAP50', 'mAP50_95'] as const) diff.near(ours[key], ref[key], `${name} ${key}`);
  const byId = new Map(ref.perClass.map((r) => [r.id, r]));
  for (const c of ours.perClass) {
    const r = byId.get(c.id);
    if (!r) { assert.equal(c.mAP50, null, `${name} class ${c.id}: ultralytics reports nothing, ours ${c.mAP50}`); continue; }
    assert.equal(c.images, r.images, `${name} class ${c.id} images`);
    assert.equal(c.instances, r.instances, `${name} class ${c.id} instances`);
    for (const key of ['precision', 'recall', 'mAP50', 'mAP50_95'] as const) diff.near(c[key], r[key], `${name} class ${c.id} ${key}`);
  }
  if (curves) {
    assert.ok(ref.curves && ours.curves, `${name}: curves missing`);
    const rc = ref.curves;
    assert.deepEqual(ours.curves.classes, rc.classes);
    ours.curves.confidence.forEach((v, i) => diff.near(v, (rc.confidence as number[])[i], `${name} px[${i}]`));
    diff.rows(ours.curves.precision, rc.precision as number[][], `${name} p_curve`);
    diff.rows(ours.curves.recall, rc.recall as number[][], `${name} r_curve`);
    diff.rows(ours.curves.f1, rc.f1 as number[][], `${name} f1_curve`);
    if (ours.curves.classes.length) diff.rows(ours.curves.prPrecision, rc.prPrecision as number[][], `${name} prec_values`);
  }
}

const missing = missingReference();

void describe('detection metrics parity (ultralytics 8.4.190, pycocotools 2.0.11)', { skip: missing || false }, () => {
  if (missing) return;
  const dir = mkdtempSync(join(tmpdir(), 'det-metrics-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const sets = buildSets();
  writeFileSync(join(dir, 'in.json'), JSON.stringify({ sets }));
  const run = (out: string, env: NodeJS.ProcessEnv): Ref => {
    execFileSync(PYTHON, [join(ROOT, 'test', 'python', 'detection_reference.py'), join(dir, 'in.json'), join(dir, out)],
      { env: { ...process.env, YOLO_CONFIG_DIR: join(dir, 'yolo'), ...env }, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
    return JSON.parse(readFileSync(join(dir, out), 'utf8')) as Ref;
  };
  const portable = run('portable.json', { NPY_DISABLE_CPU_FEATURES: NO_SIMD_SORT });
  const simd = run('simd.json', {});
  const ultra = sets.map((s) => evaluateDetection(s.images, s.names, 'ultralytics'));
  const coco = sets.map((s) => evaluateDetection(s.images, s.names, 'coco'));

  void test(`protocol ultralytics equals ultralytics DetMetrics/ap_per_class within ${TOL} on ${sets.length} sets (numpy portable argsort, ties included)`, (t) => {
    const diff = new Diff();
    sets.forEach((s, i) => checkUltralytics(ultra[i], portable.sets[i].ultralytics, s.name, diff));
    t.diagnostic(`max |diff| ${diff.max}`);
  });

  void test(`protocol ultralytics equals ultralytics with numpy's default (SIMD) argsort within ${TOL} on sets without tied confidences`, (t) => {
    const diff = new Diff();
    let n = 0;
    sets.forEach((s, i) => { if (!s.ties) { n++; checkUltralytics(ultra[i], simd.sets[i].ultralytics, s.name, diff); } });
    assert.ok(n >= 20);
    // Informational: with ties the reference itself depends on the CPU's sort (see index.ts).
    const differs = sets.filter((s, i) => s.ties && JSON.stringify(simd.sets[i].ultralytics) !== JSON.stringify(portable.sets[i].ultralytics)).map((s) => s.name);
    t.diagnostic(`max |diff| ${diff.max}; sets where ultralytics' own result changes with numpy's sort: ${differs.length}/${sets.filter((s) => s.ties).length}`);
  });

  void test(`protocol ultralytics curves equal ap_per_class px, p_curve, r_curve, f1_curve, prec_values within ${TOL}`, (t) => {
    const diff = new Diff();
    const withCurves = sets.filter((s) => s.curves);
    assert.ok(withCurves.length >= 3);
    sets.forEach((s, i) => { if (s.curves) checkUltralytics(ultra[i], portable.sets[i].ultralytics, s.name, diff, true); });
    t.diagnostic(`max |diff| ${diff.max}`);
  });

  void test(`protocol coco equals pycocotools COCOeval stats[0..11] and per-class AP within ${TOL} on ${sets.length} sets`, (t) => {
    const diff = new Diff();
    sets.forEach((s, i) => {
      const ref = portable.sets[i].coco;
      const ours = coco[i];
      if (!ref) return;
      assert.ok(ours.coco);
      Object.values(ours.coco).forEach((v, j) => diff.near(v, ref.stats[j], `${s.name} stats[${j}]`));
      diff.near(ours.mAP50, ref.stats[1], `${s.name} mAP50`);
      diff.near(ours.mAP50_95, ref.stats[0], `${s.name} mAP50_95`);
      for (const c of ref.perClass) {
        diff.near(ours.perClass[c.id].mAP50, c.mAP50, `${s.name} class ${c.id} mAP50`);
        diff.near(ours.perClass[c.id].mAP50_95, c.mAP50_95, `${s.name} class ${c.id} mAP50_95`);
      }
      // the default-dispatch run must agree too: pycocotools sorts with mergesort (stable)
      simd.sets[i].coco?.stats.forEach((v, j) => assert.equal(v, ref.stats[j]));
    });
    t.diagnostic(`max |diff| ${diff.max}`);
  });
});

void describe('detection metrics without a reference', () => {
  const img = (truth: TruthBox[], predictions: PredBox[]): DetectionImage => ({ image: 'a.png', width: 100, height: 100, truth, predictions });

  void test('empty input: ultralytics reports 0 like Metric.mean_results, coco -1 like COCOeval.stats', () => {
    const u = evaluateDetection([], ['a'], 'ultralytics');
    assert.deepEqual([u.precision, u.recall, u.mAP50, u.mAP50_95, u.images], [0, 0, 0, 0, 0]);
    assert.equal(u.perClass[0].mAP50, null);
    const c = evaluateDetection([], ['a'], 'coco');
    assert.equal(c.mAP50_95, -1);
    assert.equal(c.coco?.AR100, -1);
  });

  void test('perfect predictions: coco AP 1, ultralytics AP 0.995 (compute_ap interpolates to precision 0 at recall 1); a class only in predictions is null', () => {
    const images = [img([{ cls: 0, box: [10, 10, 50, 60] }], [{ cls: 0, box: [10, 10, 50, 60], conf: 0.9 }, { cls: 1, box: [60, 60, 90, 90], conf: 0.8 }])];
    const expected = { ultralytics: 0.995, coco: 1 };
    for (const p of ['ultralytics', 'coco'] as const) {
      const m = evaluateDetection(images, ['a', 'b'], p);
      assert.ok(Math.abs(m.perClass[0].mAP50_95! - expected[p]) < 1e-12, `${p}: ${m.perClass[0].mAP50_95}`);
      assert.equal(m.perClass[1].mAP50, null, p);
    }
  });

  void test('invalid input throws an Error naming the image', () => {
    const bad: [DetectionImage, RegExp][] = [
      [img([{ cls: 2, box: [0, 0, 1, 1] }], []), /a\.png.*class 2 is outside 0\.\.1/],
      [img([{ cls: 0, box: [0, 0, Number.NaN, 1] }], []), /a\.png.*non-finite/],
      [img([], [{ cls: 0, box: [5, 0, 1, 1], conf: 0.5 }]), /a\.png.*x2 < x1/],
      [img([], [{ cls: 0, box: [0, 0, 1, 1], conf: 1.5 }]), /a\.png.*confidence 1\.5/],
      [img([{ cls: 0.5, box: [0, 0, 1, 1] }], []), /class 0\.5/],
    ];
    for (const [im, re] of bad) for (const p of ['ultralytics', 'coco'] as const) assert.throws(() => evaluateDetection([im], ['a', 'b'], p), re);
    assert.throws(() => evaluateDetection([], ['a'], 'voc' as never), /unknown detection protocol "voc"/);
    assert.throws(() => evaluateDetection([], [], 'coco'), /names is empty/);
  });
});

void describe('detectionRecords', () => {
  const image: DetectionImage = {
    image: 'r.png', width: 200, height: 200,
    truth: [{ cls: 0, box: [0, 0, 10, 10] }, { cls: 1, box: [50, 50, 60, 60] }, { cls: 0, box: [100, 100, 120, 120] }],
    predictions: [
      { cls: 0, box: [0, 0, 10, 11], conf: 0.9 }, // tp
      { cls: 0, box: [50, 50, 60, 61], conf: 0.8 }, // wrong-class (truth is 1)
      { cls: 1, box: [150, 150, 160, 160], conf: 0.7 }, // fp
      { cls: 0, box: [0, 0, 10, 10], conf: 0.1 }, // below conf: left out
    ],
  };

  void test('each kind: tp, wrong-class, fp, fn (greedy by IoU, class-aware first)', () => {
    const r = detectionRecords(image);
    assert.deepEqual(r.map((x) => x.kind), ['tp', 'wrong-class', 'fp', 'fn']);
    assert.equal(r[0].truthCls, 0);
    assert.ok(Math.abs(r[0].iou! - 100 / 110) < 1e-12);
    assert.deepEqual([r[1].cls, r[1].truthCls], [0, 1]);
    assert.deepEqual(r[3], { kind: 'fn', cls: 0, box: [100, 100, 120, 120] });
    assert.equal(r[2].conf, 0.7);
  });

  void test('class-aware matching wins over a higher-IoU box of another class; options are honoured', () => {
    const im: DetectionImage = { image: 'x', width: 100, height: 100, truth: [{ cls: 0, box: [0, 0, 10, 10] }, { cls: 1, box: [0, 0, 10, 10] }], predictions: [{ cls: 1, box: [0, 0, 10, 10], conf: 0.5 }, { cls: 0, box: [0, 0, 10, 12], conf: 0.6 }] };
    assert.deepEqual(detectionRecords(im).map((x) => [x.kind, x.truthCls]), [['tp', 1], ['tp', 0]]);
    assert.deepEqual(detectionRecords(im, { conf: 0.55 }).map((x) => x.kind), ['tp', 'fn']);
    assert.deepEqual(detectionRecords(im, { iou: 0.9, conf: 0 }).map((x) => x.kind), ['tp', 'fp', 'fn']);
  });

  void test('invalid options and boxes throw clear Errors', () => {
    assert.throws(() => detectionRecords(image, { iou: 1.2 }), /opts\.iou must be a number in \[0, 1\] \(got 1\.2\)/);
    assert.throws(() => detectionRecords(image, { conf: -0.1 }), /opts\.conf/);
    assert.throws(() => detectionRecords(image, { conf: Number.NaN }), /opts\.conf/);
    assert.throws(() => detectionRecords({ ...image, truth: [{ cls: 0, box: [0, 0, Infinity, 1] }] }), /r\.png.*non-finite/);
  });
});
