// `npm run bench`: decode speed against pydicom (+ pylibjpeg / gdcm plugins), measured side by side in one
// run on the same 512×512 CT slices in every transfer syntax (fixtures from test/fixtures/make-fixtures.sh).
// Reports median ms per slice for each and the ratio ours / pydicom (lower is better; target for JPEG
// lossless: ≤ 0.5). Writes test-output/bench/decode.json. Timing lives here, never in tests.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setupPython } from './setup-python.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const repeats = process.env.BENCH_REPEATS ?? '15';
const source = process.env.BENCH_SOURCE ?? 'ct_s16';
const python = setupPython({ quiet: true });
execFileSync('bash', [join(root, 'test/fixtures/make-fixtures.sh')], { stdio: 'inherit' });

const fixtures = join(root, 'test-output/fixtures');
const manifest = readFileSync(join(fixtures, 'manifest.tsv'), 'utf8').trim().split('\n').slice(1)
  .map((line) => line.split('\t')).filter(([, src]) => src === source);
const files = manifest.map(([file]) => join(fixtures, file));
if (!files.length) throw new Error(`no fixtures for source ${source} in ${fixtures}/manifest.tsv`);

console.log(`decode benchmark: ${files.length} files of ${source} (512×512), median of ${repeats} runs each, from memory`);
const ours = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/bench/decode-ts.ts'), repeats, ...files], { cwd: root, encoding: 'utf8' }));
const py = JSON.parse(execFileSync(python, [join(root, 'scripts/bench/decode_py.py'), repeats, ...files], { encoding: 'utf8' }));

const num = (v) => (typeof v === 'number' ? v : undefined);
const rows = files.map((f, i) => ({ tag: manifest[i][2], syntax: py.syntax[f], ours: ours[f], pydicom: py.median_ms[f], ratio: num(ours[f]) && num(py.median_ms[f]) ? ours[f] / py.median_ms[f] : null }));
const fmt = (v) => (typeof v === 'number' ? v.toFixed(2) : 'failed');
const pad = (s, n) => String(s).padEnd(n);
console.log(`${pad('fixture', 22)}${pad('transfer syntax', 44)}${pad('ours ms', 10)}${pad('pydicom ms', 12)}ratio`);
for (const r of rows) console.log(`${pad(r.tag, 22)}${pad(r.syntax, 44)}${pad(fmt(r.ours), 10)}${pad(fmt(r.pydicom), 12)}${r.ratio === null ? '-' : `${r.ratio.toFixed(2)}×`}`);
for (const r of rows) for (const [who, v] of [['ours', r.ours], ['pydicom', r.pydicom]]) if (typeof v === 'string') console.log(`  ${r.tag} (${who}): ${v}`);
mkdirSync(join(root, 'test-output/bench'), { recursive: true });
writeFileSync(join(root, 'test-output/bench/decode.json'), JSON.stringify({ source, repeats: Number(repeats), pydicom: py.pydicom, node: process.version, rows }, null, 2));
console.log(`pydicom ${py.pydicom}, node ${process.version}; written test-output/bench/decode.json`);

// Whole-series throughput: the decode pool against a straightforward pydicom loop (scripts/bench/series.ts).
execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/bench/series.ts'), '--repeats', '5'], { cwd: root, stdio: 'inherit' });

// `prepare` throughput (RSNA layout → PNG sets) against a pydicom + OpenCV script (scripts/bench/prepare.ts).
execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/bench/prepare.ts'), '--studies', '8', '--slices', '120', '--repeats', '3'], { cwd: root, stdio: 'inherit' });

// Per-slice detection inference against onnxruntime-python and ultralytics (threads 1 and 2), and a 300-slice
// study end to end (scripts/bench/inference.ts).
execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/bench/inference.ts'), '--count', '64', '--repeats', '5'], { cwd: root, stdio: 'inherit' });

// Detection mAP over 10,000 synthetic images, both protocols, against pycocotools and ultralytics (scripts/bench/map.ts).
execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts/bench/map.ts'), '--images', '10000', '--repeats', '3'], { cwd: root, stdio: 'inherit' });

// The viewer in the real host (code-server + Chromium): first pixels, scrolling with overlays, memory of a
// 1000-slice volume (scripts/bench/viewer.mjs; targets in issue 8, reported, never asserted).
execFileSync(process.execPath, [join(root, 'scripts/bench/viewer.mjs'), '--slices', '300', '--big', '1000'], { cwd: root, stdio: 'inherit' });
