// `dicom-ml prepare` benchmark: ours (prepareRsna, the CLI's code path) vs a straightforward pydicom + OpenCV
// script (scripts/bench/prepare_py.py) side by side on the same generated RSNA-layout data, writing the same
// images (the Python peer converts exactly the lines of our manifest.jsonl). Timing lives here, never in tests.
//
//   node --import tsx scripts/bench/prepare.ts [--studies 10] [--slices 100] [--size 512] [--segmented 4]
//                                               [--syntax jpeg|native] [--rsna DIR] [--jobs N] [--repeats 1]
//
// Data (cached in test-output/bench/prepare-data/<parameters>): synthetic studies from
// src/core/dataset/prepare/synthetic.ts, masks by test/python/prepare_seg.py (nibabel), and with --syntax jpeg
// (default, like RSNA) every slice transcoded to JPEG lossless SV1 with dcmcjpeg +e1 (dcmtk), when installed.
// --rsna DIR benchmarks any RSNA-layout folder instead (e.g. `dicom-ml sample` output).
// Reports images/s for each and the time ratio ours / Python (target ≤ 0.5); writes test-output/bench/prepare.json.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { prepareRsna, type PrepareSummary } from '../../src/core/dataset/prepare/prepare';
import { writeRsnaCsvs, writeSyntheticStudy, type SyntheticBoxRow } from '../../src/core/dataset/prepare/synthetic';
import { ROOT, OUT, PYTHON, option } from './common';

const run = promisify(execFile);


function hasTool(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Generate (or reuse) the synthetic dataset; returns its folder. */
async function makeData(studies: number, slices: number, size: number, segmented: number, syntax: string): Promise<string> {
  const dir = join(OUT, 'prepare-data', `${studies}x${slices}x${size}-seg${segmented}-${syntax}-v2`);
  if (existsSync(join(dir, '.complete'))) return dir;
  rmSync(dir, { recursive: true, force: true });
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'segmentations'), { recursive: true });
  console.error(`making ${studies} studies × ${slices} slices of ${size}² (${segmented} with masks, ${syntax}) in ${dir} …`);
  const rows = [];
  const boxes: SyntheticBoxRow[] = [];
  const jobs = [];
  for (let i = 0; i < studies; i++) {
    const uid = `1.2.826.0.1.3680043.8.${1000 + i}`;
    const s = await writeSyntheticStudy(tmp, { uid, slices, size, fovMm: 180, sliceMm: 1.25, zFalls: i % 3 !== 2, seed: i + 1 });
    const fractured = i % 2 === 0;
    rows.push({ uid, patientOverall: fractured ? 1 : 0 });
    if (fractured) for (let n = 0; n < 8; n++) boxes.push({ uid, slice: Math.floor(slices * 0.2) + n, x: size * 0.4, y: size * 0.5, width: size * 0.08, height: size * 0.06 });
    if (i < segmented) {
      const labels = join(tmp, `${i}.u8`);
      writeFileSync(labels, s.labels);
      jobs.push({ labels, shape: [s.slices, s.rows, s.columns], positions: s.positions, orientation: s.orientation, spacing: s.pixelSpacing, out: join(tmp, 'segmentations', `${uid}.nii`), layout: 'rsna' }); // RSNA ships .nii
    }
  }
  await writeRsnaCsvs(tmp, rows, boxes);
  writeFileSync(join(tmp, 'jobs.json'), JSON.stringify(jobs));
  execFileSync(PYTHON, [join(ROOT, 'test/python/prepare_seg.py'), join(tmp, 'jobs.json')], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (const j of jobs) rmSync(j.labels);
  if (syntax === 'jpeg') {
    const files: string[] = [];
    for (const r of rows) for (let n = 1; n <= slices; n++) files.push(join(tmp, 'train_images', r.uid, `${n}.dcm`));
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const f = files[next++];
        await run('dcmcjpeg', ['+e1', f, `${f}.jpg.dcm`]);
        renameSync(`${f}.jpg.dcm`, f);
      }
    };
    await Promise.all(Array.from({ length: availableParallelism() }, worker));
  }
  writeFileSync(join(tmp, '.complete'), '');
  renameSync(tmp, dir);
  return dir;
}

async function ours(rsna: string, out: string, jobs: number): Promise<{ seconds: number; summary: PrepareSummary }> {
  rmSync(out, { recursive: true, force: true });
  const t = process.hrtime.bigint();
  const summary = await prepareRsna({ rsna, out, jobs });
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9, summary };
}

function python(manifest: string, out: string): { seconds: number; images: number; pydicom: string; opencv: string } {
  rmSync(out, { recursive: true, force: true });
  return JSON.parse(execFileSync(PYTHON, [join(ROOT, 'scripts/bench/prepare_py.py'), manifest, out], { encoding: 'utf8' }));
}

async function main(): Promise<void> {
  const studies = Number(option('studies', '10'));
  const slices = Number(option('slices', '100'));
  const size = Number(option('size', '512'));
  const segmented = Number(option('segmented', '4'));
  const jobs = Number(option('jobs', String(availableParallelism())));
  const repeats = Number(option('repeats', '1'));
  let syntax = option('syntax', 'jpeg');
  if (syntax === 'jpeg' && !hasTool('dcmcjpeg')) {
    console.error('dcmcjpeg (dcmtk) not found: benchmarking uncompressed slices');
    syntax = 'native';
  }
  const given = option('rsna', '');
  const rsna = given ? resolve(given) : await makeData(studies, slices, size, segmented, syntax);
  const outTs = join(OUT, 'prepare-out-ts');
  const outPy = join(OUT, 'prepare-out-py');

  await ours(rsna, outTs, jobs); // warm-up: file cache, worker start-up code paths, sharp/libvips init
  const best = { ts: Number.POSITIVE_INFINITY, py: Number.POSITIVE_INFINITY };
  let summary: PrepareSummary | undefined;
  let py: ReturnType<typeof python> | undefined;
  for (let r = 0; r < repeats; r++) {
    const a = await ours(rsna, outTs, jobs);
    summary = a.summary;
    best.ts = Math.min(best.ts, a.seconds);
    py = python(join(outTs, 'manifest.jsonl'), outPy);
    best.py = Math.min(best.py, py.seconds);
  }
  if (!summary || !py) throw new Error('no runs');
  const images = summary.images;
  const ratio = best.ts / best.py;
  console.log(`prepare benchmark: ${rsna}`);
  console.log(`  ${summary.studies.done} studies, ${summary.timings.slicesDecoded} slices decoded, ${images} images written (${summary.detect.written} segmented studies in the detection set); best of ${repeats}`);
  console.log(`  ours   (prepareRsna, ${jobs} decode threads, everything incl. plan, masks, manifest): ${best.ts.toFixed(2)} s  ${(images / best.ts).toFixed(1)} images/s`);
  console.log(`  python (pydicom ${py.pydicom} + OpenCV ${py.opencv}, pixel work only, 1 process):      ${best.py.toFixed(2)} s  ${(py.images / best.py).toFixed(1)} images/s`);
  console.log(`  ratio ours / python (time): ${ratio.toFixed(2)}×  (target ≤ 0.50)`);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'prepare.json'), JSON.stringify({ rsna, jobs, repeats, images, slicesDecoded: summary.timings.slicesDecoded, oursSeconds: best.ts, pythonSeconds: best.py, ratio, node: process.version, pydicom: py.pydicom, opencv: py.opencv }, null, 2));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
