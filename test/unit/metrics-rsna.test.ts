/**
 * The RSNA 2022 metric against scikit-learn log_loss with sample weights (test/python/rsna_reference.py, one
 * Python process for every seeded set), within 1e-9; fusion by hand cases; train.csv parsing and validation
 * errors. The parity part needs .venv (node scripts/setup-python.mjs) and skips with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DicomError } from '../../src/core/dicom/errors';
import { fuseStudy, parseTrainCsv, RSNA_TARGETS, rsnaScore, type RsnaPrediction, type RsnaTruth } from '../../src/core/metrics/rsna';
import { Rng } from '../../src/core/util/random';
import { PYTHON, ROOT } from '../fixtures/fixtures';

const TOL = 1e-9;

/** A seeded set: truth with fracture rate `rate`, predictions of the given kind. */
function makeSet(rng: Rng, n: number, rate: number, kind: 'skilled' | 'random' | 'extreme' | 'constant'): { truth: RsnaTruth[]; preds: RsnaPrediction[] } {
  const truth: RsnaTruth[] = [];
  const preds: RsnaPrediction[] = [];
  for (let i = 0; i < n; i++) {
    const C = Array.from({ length: 7 }, () => (rng.chance(rate) ? 1 : 0));
    const study = `1.2.826.0.1.3680043.${i}`;
    truth.push({ study, patient_overall: C.some((c) => c === 1) ? 1 : 0, C });
    const guess = (y: number): number => {
      if (kind === 'constant') return 0.5;
      if (kind === 'random') return rng.next();
      // 'extreme': exact 0 and 1, right and wrong — where sklearn's eps clipping decides the value.
      if (kind === 'extreme') return rng.pick([0, 1, y, y, 1 - y, 1e-17, 1 - 1e-17]);
      return Math.min(1, Math.max(0, y * 0.7 + 0.15 + rng.normal(0, 0.15)));
    };
    const vertebrae = C.map(guess);
    preds.push({ study, vertebrae, patient: guess(truth[i].patient_overall) });
  }
  return { truth, preds };
}

const missing = existsSync(PYTHON) ? '' : `${PYTHON} is missing (run: node scripts/setup-python.mjs)`;

void describe('RSNA 2022 metric parity with scikit-learn log_loss(sample_weight) (test/python/rsna_reference.py)', { skip: missing || false }, () => {
  const rng = new Rng(340392);
  const sets = [
    { name: 'skilled, 30% fractures', ...makeSet(rng, 300, 0.3, 'skilled') },
    { name: 'random', ...makeSet(rng, 200, 0.1, 'random') },
    { name: 'constant 0.5', ...makeSet(rng, 50, 0.2, 'constant') },
    { name: 'exact 0 / 1 (clipping)', ...makeSet(rng, 200, 0.3, 'extreme') },
    { name: 'all negative', ...makeSet(rng, 40, 0, 'skilled') },
    { name: 'all positive', ...makeSet(rng, 40, 1, 'skilled') },
    { name: 'one study', ...makeSet(rng, 1, 0.5, 'random') },
    ...Array.from({ length: 20 }, (_, k) => ({ name: `random mix #${k}`, ...makeSet(rng, rng.int(1, 60), rng.uniform(0, 0.6), rng.pick(['skilled', 'random', 'extreme'] as const)) })),
  ];
  const dir = mkdtempSync(join(tmpdir(), 'metrics-rsna-'));
  const row = (t: RsnaTruth) => [...t.C, t.patient_overall];
  writeFileSync(join(dir, 'in.json'), JSON.stringify({ sets: sets.map((s) => ({ name: s.name, y: s.truth.map(row), p: s.preds.map((p) => [...p.vertebrae, p.patient]) })) }));
  let refs: { name: string; score: number; pooled: number; perTarget: number[]; mlebench: number }[] = [];
  const ours = sets.map((s) => rsnaScore(s.truth, s.preds));
  const worst = { score: 0, pooled: 0, perTarget: 0 };
  const load = () => {
    if (refs.length > 0) return;
    execFileSync(PYTHON, [join(ROOT, 'test', 'python', 'rsna_reference.py'), join(dir, 'in.json'), join(dir, 'out.json')], { stdio: ['ignore', 'ignore', 'pipe'] });
    refs = (JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as { results: typeof refs }).results;
    rmSync(dir, { recursive: true, force: true });
  };
  const near = (what: keyof typeof worst, name: string, a: number, b: number) => {
    const d = Math.abs(a - b);
    worst[what] = Math.max(worst[what], d);
    assert.ok(d <= TOL, `${name}: ${what} ours ${a}, sklearn ${b} (|Δ| ${d})`);
  };

  void test('score equals the mean over studies of scikit-learn log_loss(y, p, sample_weight=w) within 1e-9', () => {
    load();
    sets.forEach((s, i) => near('score', s.name, ours[i].score, refs[i].score));
  });
  void test('pooled equals scikit-learn log_loss over all (study, target) rows with sample_weight within 1e-9', () => {
    load();
    sets.forEach((s, i) => near('pooled', s.name, ours[i].pooled, refs[i].pooled));
  });
  void test('perTarget equals scikit-learn log_loss per column with its weights within 1e-9', () => {
    load();
    sets.forEach((s, i) => RSNA_TARGETS.forEach((t, k) => near('perTarget', `${s.name} ${t}`, ours[i].perTarget[t], refs[i].perTarget[k])));
    console.log(`max |ours − sklearn|: score ${worst.score.toExponential(1)}, pooled ${worst.pooled.toExponential(1)}, perTarget ${worst.perTarget.toExponential(1)}`);
  });
  void test('score equals mle-bench grade.py (row-normalised, clip 1e-15) within 1e-9 where no prediction is within 1e-15 of 0 or 1', () => {
    load();
    sets.forEach((s, i) => {
      if (s.name.includes('clipping') || s.name.startsWith('random mix')) return;
      assert.ok(Math.abs(ours[i].score - refs[i].mlebench) <= TOL, `${s.name}: ours ${ours[i].score}, mle-bench ${refs[i].mlebench}`);
    });
  });
  void test('row-normalised and pooled aggregations really differ (the choice matters)', () => {
    assert.ok(ours.some((o) => Math.abs(o.score - o.pooled) > 1e-3));
  });
});

void test('rsnaScore by hand: one study, all 0.5 → ln 2; perfect → ~0', () => {
  const truth: RsnaTruth[] = [{ study: 'a', patient_overall: 1, C: [0, 1, 0, 0, 0, 0, 0] }];
  const half = rsnaScore(truth, [{ study: 'a', vertebrae: new Array<number>(7).fill(0.5), patient: 0.5 }]);
  assert.ok(Math.abs(half.score - Math.LN2) < 1e-15);
  assert.equal(half.studies, 1);
  const perfect = rsnaScore(truth, [{ study: 'a', vertebrae: [0, 1, 0, 0, 0, 0, 0], patient: 1 }]);
  // clipped at eps = 2^-52: −log(1 − 2^-52) ≈ 2.2e-16, not 0.
  assert.ok(perfect.score > 0 && perfect.score < 1e-15);
  // Wrong with certainty: −log(2^-52) = 52 ln 2 for every target.
  const wrong = rsnaScore(truth, [{ study: 'a', vertebrae: [1, 0, 1, 1, 1, 1, 1], patient: 0 }]);
  assert.ok(Math.abs(wrong.score - 52 * Math.LN2) < 1e-12);
  assert.match(half.definition, /per study.*mean over studies/);
});

void test('rsnaScore: missing, extra and malformed studies', () => {
  const truth: RsnaTruth[] = [{ study: 'a', patient_overall: 0, C: [0, 0, 0, 0, 0, 0, 0] }, { study: 'b', patient_overall: 1, C: [1, 0, 0, 0, 0, 0, 0] }];
  const pa: RsnaPrediction = { study: 'a', vertebrae: new Array<number>(7).fill(0.1), patient: 0.1 };
  assert.throws(() => rsnaScore(truth, [pa]), /1 truth study has no prediction \(b\); pass allowMissing/);
  const r = rsnaScore(truth, [pa], { allowMissing: true });
  assert.deepEqual(r.missing, ['b']);
  assert.equal(r.studies, 1);
  assert.throws(() => rsnaScore(truth, [pa, { ...pa, study: 'z' }]), /prediction for study z, which is not in the truth/);
  assert.throws(() => rsnaScore(truth, [pa, pa]), /study a has two predictions/);
  assert.throws(() => rsnaScore(truth, [{ ...pa, vertebrae: [0.1] }]), /1 vertebra probabilities, expected 7/);
  assert.throws(() => rsnaScore(truth, [{ ...pa, patient: 1.5 }]), /prediction patient_overall of a 1.5 is not a number in \[0, 1\]/);
  assert.throws(() => rsnaScore(truth, [{ ...pa, vertebrae: [0.1, Number.NaN, 0, 0, 0, 0, 0] }]), /prediction C2 of a NaN/);
  assert.throws(() => rsnaScore([...truth, truth[0]], [pa]), /study a appears twice in the truth/);
  assert.throws(() => rsnaScore(truth, [], { allowMissing: true }), /no study to score/);
});

void test('fuseStudy: max over slices, one box per slice counted once, undetected flagged, patient from detected', () => {
  const f = fuseStudy('s', [
    { slice: 10, vertebrae: [{ vertebra: 1, conf: 0.9, fracture: 0.2 }, { vertebra: 1, conf: 0.4, fracture: 0.6 }, { vertebra: 2, conf: 0.8, fracture: 0.1 }] },
    { slice: 11, vertebrae: [{ vertebra: 1, conf: 0.9, fracture: 0.6 }] },
    { slice: 12, vertebrae: [{ vertebra: 1, conf: 0.9, fracture: 0.3 }, { vertebra: 2, conf: 0.05, fracture: 0.99 }] },
  ]);
  assert.deepEqual(f.vertebrae.map((v) => v.name), ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7']);
  assert.deepEqual(f.vertebrae[1], { name: 'C2', probability: 0.6, detected: true, slices: 3, peakSlice: 10 });
  assert.deepEqual(f.vertebrae[2], { name: 'C3', probability: 0.99, detected: true, slices: 2, peakSlice: 12 });
  assert.deepEqual(f.vertebrae[0], { name: 'C1', probability: 0.5, detected: false, slices: 0, peakSlice: null });
  assert.equal(f.patient, 0.99);
  assert.match(f.rule, /max over detected C1–C7/);

  // minConf drops the weak C3 box; 'mean' averages per-slice maxima; 'all' lets undetected 0.5 into patient.
  const g = fuseStudy('s', [
    { slice: 1, vertebrae: [{ vertebra: 2, conf: 0.8, fracture: 0.1 }, { vertebra: 2, conf: 0.05, fracture: 0.99 }] },
    { slice: 2, vertebrae: [{ vertebra: 2, conf: 0.8, fracture: 0.3 }] },
  ], { minConf: 0.25, rule: 'mean', undetected: 0.2, patientFrom: 'all' });
  assert.ok(Math.abs(g.vertebrae[2].probability - 0.2) < 1e-15);
  assert.equal(g.vertebrae[2].peakSlice, 2);
  assert.equal(g.vertebrae[0].probability, 0.2);
  assert.equal(g.patient, 0.2);

  const none = fuseStudy('empty', []);
  assert.equal(none.patient, 0.5);
  assert.ok(none.vertebrae.every((v) => !v.detected && v.probability === 0.5));
});

void test('fuseStudy validation: out-of-range values throw, naming study, slice and detection', () => {
  const one = (d: { vertebra: number; conf: number; fracture: number }) => () => fuseStudy('s', [{ slice: 5, vertebrae: [d] }]);
  assert.throws(one({ vertebra: 7, conf: 1, fracture: 0 }), /s slice 5 detection 0: vertebra 7 is not 0…6/);
  assert.throws(one({ vertebra: 0, conf: 1.2, fracture: 0 }), /conf 1.2 is not a number in \[0, 1\]/);
  assert.throws(one({ vertebra: 0, conf: 1, fracture: Number.NaN }), /fracture probability NaN/);
  assert.throws(() => fuseStudy('s', [{ slice: 1, vertebrae: [] }, { slice: 1, vertebrae: [] }]), /slice 1 appears twice/);
  assert.throws(() => fuseStudy('s', [], { undetected: 2 }), /undetected probability 2/);
  assert.throws(() => fuseStudy('s', [], { rule: 'median' as 'max' }), /unknown rule "median"/);
});

void test('parseTrainCsv: RSNA train.csv rows; errors name the file and line', () => {
  const text = '\uFEFFStudyInstanceUID,patient_overall,C1,C2,C3,C4,C5,C6,C7\r\n1.2.3,1,0,1,0,0,0,0,0\r\n1.2.4,0,0,0,0,0,0,0,0\r\n';
  assert.deepEqual(parseTrainCsv(text, 'train.csv'), [
    { study: '1.2.3', patient_overall: 1, C: [0, 1, 0, 0, 0, 0, 0] },
    { study: '1.2.4', patient_overall: 0, C: [0, 0, 0, 0, 0, 0, 0] },
  ]);
  const fails = (t: string, re: RegExp) => assert.throws(() => parseTrainCsv(t, 'train.csv'), (e: unknown) => e instanceof DicomError && e.file === 'train.csv' && re.test(e.message));
  fails('StudyInstanceUID,patient_overall,C1,C2,C3,C4,C5,C6\n', /^line 1: header lacks column C7/);
  fails('StudyInstanceUID,patient_overall,C1,C2,C3,C4,C5,C6,C7\n1.2.3,2,0,0,0,0,0,0,0\n', /^line 2: patient_overall "2" is not 0 or 1/);
  fails('StudyInstanceUID,patient_overall,C1,C2,C3,C4,C5,C6,C7\n1.2.3,1,0,0,0,0,0,0,x\n', /^line 2: C7 "x" is not a number/);
  fails('StudyInstanceUID,patient_overall,C1,C2,C3,C4,C5,C6,C7\n1,0,0,0,0,0,0,0,0\n1,0,0,0,0,0,0,0,0\n', /^line 3: StudyInstanceUID 1 appears twice/);
});
