/**
 * classificationMetrics against scikit-learn 1.9 itself: seeded sets made here (balanced, imbalanced, one class
 * only, perfect and useless classifiers, scores rounded to 1–2 decimals for heavy ties, 3 and 4 classes, n = 1 and
 * 2, 20k rows and ~80 random mixes) go to test/python/classification_reference.py in one JSON file, one Python
 * process; every number must equal sklearn's within 1e-9. Needs .venv (node scripts/setup-python.mjs); skips
 * with the reason otherwise. Validation errors and edge notes need no Python.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { classificationMetrics, type ClassificationMetrics } from '../../src/core/metrics/classification';
import { Rng } from '../../src/core/util/random';
import { PYTHON, ROOT } from '../fixtures/fixtures';

const TOL = 1e-9;

/** One generated case. */
interface Case { name: string; truth: number[]; scores: number[][]; positive: number }

/** Scores that lean towards the true class by `skill` (0 = useless), rounded to `decimals` when given. */
function makeCase(rng: Rng, name: string, n: number, nc: number, opts: { prior?: number[]; skill?: number; decimals?: number; positive?: number } = {}): Case {
  const prior = opts.prior ?? new Array<number>(nc).fill(1);
  const skill = opts.skill ?? 1.5;
  const truth: number[] = [];
  const scores: number[][] = [];
  for (let i = 0; i < n; i++) {
    const t = rng.pick([...Array(nc).keys()], prior);
    const raw = Array.from({ length: nc }, (_, c) => Math.exp(rng.normal() + (c === t ? skill : 0)));
    const sum = raw.reduce((a, b) => a + b, 0);
    let row = raw.map((v) => v / sum);
    if (opts.decimals !== undefined) { const f = 10 ** opts.decimals; row = row.map((v) => Math.round(v * f) / f); }
    truth.push(t);
    scores.push(row);
  }
  return { name, truth, scores, positive: opts.positive ?? 1 };
}

/** The fixed edge cases plus `random` seeded mixes. */
function makeCases(random: number): Case[] {
  const rng = new Rng(20221129);
  const cases: Case[] = [
    makeCase(rng, 'balanced', 400, 2),
    makeCase(rng, 'imbalanced 3%', 2000, 2, { prior: [97, 3] }),
    makeCase(rng, 'imbalanced 97%', 500, 2, { prior: [3, 97] }),
    makeCase(rng, 'all negative (AUC undefined)', 50, 2, { prior: [1, 0] }),
    makeCase(rng, 'all positive (AUC undefined)', 50, 2, { prior: [0, 1] }),
    makeCase(rng, 'perfect', 300, 2, { skill: 50 }),
    makeCase(rng, 'useless (no skill)', 300, 2, { skill: 0 }),
    makeCase(rng, 'inverted', 300, 2, { skill: -2 }),
    makeCase(rng, 'ties: 1 decimal', 500, 2, { decimals: 1 }),
    makeCase(rng, 'ties: 2 decimals', 800, 2, { decimals: 2 }),
    makeCase(rng, 'ties: 1 decimal, imbalanced', 700, 2, { decimals: 1, prior: [9, 1] }),
    makeCase(rng, '3 classes, positive 1', 600, 3),
    makeCase(rng, '3 classes, positive 2, ties', 600, 3, { positive: 2, decimals: 1 }),
    makeCase(rng, '3 classes, class 2 absent from truth', 200, 3, { prior: [1, 1, 0] }),
    makeCase(rng, '4 classes, positive 0', 400, 4, { positive: 0, skill: 0.7 }),
    makeCase(rng, 'large 20k', 20000, 2, { prior: [4, 1], skill: 1 }),
    { name: 'constant 0.5 scores (argmax tie → class 0)', truth: [0, 1, 1, 0, 1], scores: Array.from({ length: 5 }, () => [0.5, 0.5]), positive: 1 },
    { name: 'n=1 positive', truth: [1], scores: [[0.2, 0.8]], positive: 1 },
    { name: 'n=1 negative, predicted positive', truth: [0], scores: [[0.2, 0.8]], positive: 1 },
    { name: 'n=2 one of each', truth: [0, 1], scores: [[0.6, 0.4], [0.3, 0.7]], positive: 1 },
    { name: 'n=2 tied scores', truth: [1, 0], scores: [[0.5, 0.5], [0.5, 0.5]], positive: 1 },
    { name: 'n=2 both negative', truth: [0, 0], scores: [[0.9, 0.1], [0.1, 0.9]], positive: 1 },
  ];
  for (let k = 0; k < random; k++) {
    const nc = rng.pick([2, 2, 2, 3, 4]);
    const prior = Array.from({ length: nc }, () => rng.chance(0.15) ? 0 : rng.uniform(0.05, 1));
    if (!prior.some((p) => p > 0)) prior[0] = 1;
    const decimals = rng.pick([undefined, undefined, 1, 2, 3]);
    cases.push(makeCase(rng, `random #${k}`, rng.int(1, 400), nc, { prior, skill: rng.uniform(-1, 4), decimals, positive: rng.int(0, nc - 1) }));
  }
  return cases;
}

/** JSON's stand-ins for non-finite numbers, back to numbers. */
function dec(v: unknown): number {
  if (v === 'NaN') return Number.NaN;
  if (v === 'Infinity') return Number.POSITIVE_INFINITY;
  if (v === '-Infinity') return Number.NEGATIVE_INFINITY;
  return v as number;
}

/** Largest |a − b| seen per quantity, for the report; NaN = NaN and ∞ = ∞ count as 0. */
const maxDiff = new Map<string, number>();
function close(what: string, caseName: string, ours: number | null, ref: unknown): void {
  const r = dec(ref);
  const o = ours === null ? Number.NaN : ours;
  if (Number.isNaN(r) || Number.isNaN(o) || !Number.isFinite(r) || !Number.isFinite(o)) {
    assert.ok(Object.is(o, r) || (Number.isNaN(o) && Number.isNaN(r)), `${caseName}: ${what} ours ${o}, sklearn ${r}`);
    return;
  }
  const d = Math.abs(o - r);
  maxDiff.set(what, Math.max(maxDiff.get(what) ?? 0, d));
  assert.ok(d <= TOL, `${caseName}: ${what} ours ${o}, sklearn ${r} (|Δ| ${d})`);
}
function closeArray(what: string, caseName: string, ours: readonly number[], ref: readonly unknown[]): void {
  assert.equal(ours.length, ref.length, `${caseName}: ${what} has ${ours.length} points, sklearn ${ref.length}`);
  ours.forEach((v, i) => close(what, caseName, v, ref[i]));
}

/** What classification_reference.py writes per case. */
interface Ref {
  name: string; accuracy: unknown; precision: unknown; recall: unknown; f1: unknown; specificity: unknown; kappa: unknown; auc: unknown;
  confusion: number[][];
  perClass: { precision: unknown[]; recall: unknown[]; f1: unknown[]; support: number[] };
  roc: { fpr: unknown[]; tpr: unknown[]; thresholds: unknown[] };
  pr: { precision: unknown[]; recall: unknown[]; thresholds: unknown[] };
  f1Confidence: { confidence: number[]; precision: number[]; recall: number[]; f1: number[] };
  f1ConfidenceSklearn: number[];
}

const missing = existsSync(PYTHON) ? '' : `${PYTHON} is missing (run: node scripts/setup-python.mjs)`;

void describe('parity with scikit-learn 1.9 (test/python/classification_reference.py)', { skip: missing || false }, () => {
  const cases = makeCases(80);
  let dir = '';
  let refs: Ref[] = [];
  let ours: ClassificationMetrics[] = [];
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'metrics-cls-'));
    writeFileSync(join(dir, 'in.json'), JSON.stringify({ sets: cases }));
    execFileSync(PYTHON, [join(ROOT, 'test', 'python', 'classification_reference.py'), join(dir, 'in.json'), join(dir, 'out.json')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const out = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as { sklearn: string; results: Ref[] };
    assert.match(out.sklearn, /^1\.9\./, `reference is scikit-learn ${out.sklearn}, these tests pin 1.9 semantics`);
    refs = out.results;
    ours = cases.map((c) => classificationMetrics(c.truth, c.scores, { positive: c.positive }));
  });
  after(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    console.log(`max |ours − sklearn| over ${cases.length} sets: ${[...maxDiff].map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
  });
  const each = (fn: (c: Case, o: ClassificationMetrics, r: Ref) => void) => () => cases.forEach((c, i) => fn(c, ours[i], refs[i]));

  void test('accuracy equals scikit-learn accuracy_score within 1e-9', each((c, o, r) => close('accuracy', c.name, o.accuracy, r.accuracy)));
  void test('precision, recall, f1 equal scikit-learn precision_score / recall_score / f1_score (binary, pos_label) within 1e-9', each((c, o, r) => {
    close('precision', c.name, o.precision, r.precision);
    close('recall', c.name, o.recall, r.recall);
    close('f1', c.name, o.f1, r.f1);
  }));
  void test('specificity equals scikit-learn recall_score(pos_label=0) of the binarised labels within 1e-9', each((c, o, r) => close('specificity', c.name, o.specificity, r.specificity)));
  void test('kappa equals scikit-learn cohen_kappa_score within 1e-9 (NaN where sklearn 1.9 returns NaN)', each((c, o, r) => close('kappa', c.name, o.kappa, r.kappa)));
  void test('confusion equals scikit-learn confusion_matrix exactly', each((c, o, r) => assert.deepEqual(o.confusion, r.confusion, c.name)));
  void test('perClass equals scikit-learn precision_recall_fscore_support(average=None, zero_division=0) within 1e-9', each((c, o, r) => {
    closeArray('perClass.precision', c.name, o.perClass.map((p) => p.precision), r.perClass.precision);
    closeArray('perClass.recall', c.name, o.perClass.map((p) => p.recall), r.perClass.recall);
    closeArray('perClass.f1', c.name, o.perClass.map((p) => p.f1), r.perClass.f1);
    assert.deepEqual(o.perClass.map((p) => p.support), r.perClass.support, c.name);
  }));
  void test('auc equals scikit-learn roc_auc_score within 1e-9; null exactly where sklearn gives NaN', each((c, o, r) => {
    close('auc', c.name, o.auc, r.auc);
    if (o.auc === null) assert.ok(o.notes?.some((n) => n.startsWith('auc is undefined')), `${c.name}: no note for the undefined AUC`);
  }));
  void test('roc curve equals scikit-learn roc_curve(drop_intermediate=True) point for point within 1e-9, thresholds[0] = Infinity', each((c, o, r) => {
    closeArray('roc.fpr', c.name, o.curves.roc.fpr, r.roc.fpr);
    closeArray('roc.tpr', c.name, o.curves.roc.tpr, r.roc.tpr);
    closeArray('roc.thresholds', c.name, o.curves.roc.thresholds, r.roc.thresholds);
    assert.equal(o.curves.roc.thresholds[0], Number.POSITIVE_INFINITY);
  }));
  void test('pr curve equals scikit-learn 1.9 precision_recall_curve point for point within 1e-9 (final precision 1, recall 0)', each((c, o, r) => {
    closeArray('pr.precision', c.name, o.curves.pr.precision, r.pr.precision);
    closeArray('pr.recall', c.name, o.curves.pr.recall, r.pr.recall);
    closeArray('pr.thresholds', c.name, o.curves.pr.thresholds, r.pr.thresholds);
  }));
  void test('f1Confidence equals a numpy count at t = i/100 and scikit-learn f1_score(y, score ≥ t) (every 10th t) within 1e-9', each((c, o, r) => {
    assert.deepEqual(o.curves.f1Confidence.confidence, r.f1Confidence.confidence, c.name);
    closeArray('f1Confidence.precision', c.name, o.curves.f1Confidence.precision, r.f1Confidence.precision);
    closeArray('f1Confidence.recall', c.name, o.curves.f1Confidence.recall, r.f1Confidence.recall);
    closeArray('f1Confidence.f1', c.name, o.curves.f1Confidence.f1, r.f1Confidence.f1);
    closeArray('f1Confidence.f1 (sklearn f1_score)', c.name, o.curves.f1Confidence.f1.filter((_, i) => i % 10 === 0), r.f1ConfidenceSklearn);
  }));
  void test('the parity sets exercise the edge cases they claim to', () => {
    assert.ok(ours.some((o) => o.auc === null) && ours.some((o) => Number.isNaN(o.kappa)), 'an undefined AUC and kappa');
    assert.ok(ours.some((o) => o.curves.roc.fpr.length < o.curves.pr.precision.length - 1), 'drop_intermediate removed points somewhere');
    assert.ok(ours.some((o) => o.curves.pr.thresholds.length < o.images / 5), 'heavy ties collapsed thresholds');
    assert.ok(cases.some((c) => c.scores[0].length === 4) && cases.some((c) => c.truth.length === 20000));
  });
});

void test('hand case: 2×2 confusion, binary metrics, kappa and AUC by hand', () => {
  // truth 1 1 1 0 0, predicted 1 1 0 1 0 → TP 2, FN 1, FP 1, TN 1.
  const m = classificationMetrics([1, 1, 1, 0, 0], [[0.1, 0.9], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.9, 0.1]]);
  assert.deepEqual(m.confusion, [[1, 1], [1, 2]]);
  assert.equal(m.accuracy, 3 / 5);
  assert.equal(m.precision, 2 / 3);
  assert.equal(m.recall, 2 / 3);
  assert.equal(m.specificity, 1 / 2);
  // p0 = 3/5, pe = (2·2 + 3·3)/25 = 13/25 → κ = (15/25 − 13/25)/(12/25) = 1/6.
  assert.ok(Math.abs(m.kappa - 1 / 6) < 1e-15);
  // positives' scores 0.9 0.8 0.4 vs negatives' 0.7 0.1: 5 of 6 pairs ordered.
  assert.ok(Math.abs((m.auc ?? 0) - 5 / 6) < 1e-15);
  assert.deepEqual(m.perClass.map((p) => p.name), ['normal', 'fracture']);
  assert.equal(m.notes, undefined);
});

void test('undefined quantities are 0 / null / NaN with a note, never silently', () => {
  const m = classificationMetrics([0, 0, 0], [[0.9, 0.1], [0.8, 0.2], [0.7, 0.3]]);
  assert.equal(m.precision, 0);
  assert.equal(m.recall, 0);
  assert.equal(m.f1, 0);
  assert.equal(m.auc, null);
  assert.ok(Number.isNaN(m.kappa));
  const notes = m.notes ?? [];
  for (const what of ['precision', 'recall', 'f1', 'kappa', 'auc']) assert.ok(notes.some((n) => n.startsWith(`${what} is undefined`)), `note for ${what}: ${notes.join(' | ')}`);
  assert.ok(m.curves.roc.tpr.every(Number.isNaN));
});

void test('validation: every inconsistency throws, naming the row', () => {
  const bad = (truth: number[], scores: number[][], re: RegExp, opts?: { positive?: number; names?: string[] }) => assert.throws(() => classificationMetrics(truth, scores, opts), re);
  bad([0, 1], [[0.5, 0.5]], /2 truth labels but 1 score rows/);
  bad([], [], /no rows/);
  bad([0], [[1]], /row 0 has 1 class score, at least 2/);
  bad([0, 1], [[0.5, 0.5], [0.2, 0.3, 0.5]], /row 1 has 3 class scores, row 0 has 2/);
  bad([0, 2], [[0.5, 0.5], [0.5, 0.5]], /row 1 truth 2 is not a class index 0…1/);
  bad([0, 0.5], [[0.5, 0.5], [0.5, 0.5]], /row 1 truth 0.5/);
  bad([0, 1], [[0.5, 0.5], [Number.NaN, 0.5]], /row 1 score 0 is NaN, not a finite number/);
  bad([0, 1], [[0.5, Number.POSITIVE_INFINITY], [0.5, 0.5]], /row 0 score 1 is Infinity/);
  bad([0, 1], [[0.5, 0.5], [0.5, 0.5]], /positive class 2 is not a class index/, { positive: 2 });
  bad([0, 1], [[0.5, 0.5], [0.5, 0.5]], /3 class names for 2 classes/, { names: ['a', 'b', 'c'] });
});

void test('100k rows: one sort, finishes (no timing assertion; benchmarks live in npm run bench)', () => {
  const c = makeCase(new Rng(7), 'big', 100_000, 2, { decimals: 3 });
  const m = classificationMetrics(c.truth, c.scores);
  assert.equal(m.images, 100_000);
  assert.ok(m.auc !== null && m.auc > 0.5);
  assert.equal(m.curves.f1Confidence.confidence.length, 101);
});
