// Series decode benchmark: ours vs pydicom, side by side in one run (timing lives here, never in tests).
//
//   node --import tsx scripts/bench/series.ts [--count 64] [--repeats 5] [--size N] [--slices a.dcm,b.dcm]
//                                             [--sources a.dcm,b.dcm]   (file names in test-output/fixtures)
//
// 1. One slice, one thread, from memory (parse + decode + modality LUT, as decode-ts.ts / decode_py.py):
//    our jpegLosslessFast vs jpeg-lossless-decoder-js vs pydicom (scripts/bench/decode_py.py), median ms,
//    for each source (default: the 512×512 16-bit CT slice as dcmcjpeg SV1 and as predictor 6).
// 2. A series: `count` slices written to test-output/bench/series/ (copies of the JPEG lossless SV1 CT
//    slice, alternately dcmcjpeg's and gdcmconv's encoding), decoded from disk to HU Float32 by our
//    DecodePool (worker threads) and by our single-thread loop, vs pydicom's straightforward loop
//    (scripts/bench/series_py.py: dcmread, pixel_array, apply_modality_lut). Median ms per slice of
//    `repeats` passes after a warm-up pass each, in interleaved rounds, and the ratio ours / pydicom.
// Writes test-output/bench/series.json. Needs the fixtures (bash test/fixtures/make-fixtures.sh) and .venv.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { DecodePool } from '../../src/core/dicom/decodePool';
import { Decoder } from 'jpeg-lossless-decoder-js';
import { jpegLosslessFast } from '../../src/core/dicom/decode/jpegLosslessFast';
import type { FrameDecoder, SampleArray } from '../../src/core/dicom/decode/types';
import { readImageInfo } from '../../src/core/dicom/image';
import { loadImage } from '../../src/core/dicom/load';
import { modalityValues } from '../../src/core/dicom/lut';
import { parseDicom } from '../../src/core/dicom/parse';
import { finishSamples, frameBytes } from '../../src/core/dicom/pixels';
import { ROOT, OUT, PYTHON, option, median, ms } from './common';

/** The npm library our fast decoder replaced (a devDependency now), for the "library" column. */
const jpegLosslessLibrary: FrameDecoder = {
  name: 'jpeg-lossless-decoder-js',
  lossy: false,
  async decode(frame: Uint8Array): Promise<SampleArray> {
    return new Decoder().decode(frame.buffer as ArrayBuffer, frame.byteOffset, frame.byteLength) as SampleArray;
  },
};

const FIXTURES = join(ROOT, 'test-output', 'fixtures');




/** Parse + decode + modality LUT of one in-memory file with `decoder`: median ms of `repeats`. */
async function sliceMs(bytes: Uint8Array, decoder: FrameDecoder, repeats: number): Promise<number> {
  const once = async () => {
    const file = parseDicom(bytes);
    const info = readImageInfo(file);
    return modalityValues(finishSamples(await decoder.decode(frameBytes(file, info, 0), info), info), info);
  };
  for (let i = 0; i < 3; i++) await once(); // warm-up: JIT
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = process.hrtime.bigint();
    await once();
    times.push(ms(t));
  }
  return median(times);
}

/** Our single-thread series loop: read from disk, parse, decode (jpegLosslessFast), HU. */
async function singleThreadPass(files: string[]): Promise<number> {
  const t = process.hrtime.bigint();
  for (const path of files) {
    const image = await loadImage(path);
    modalityValues(finishSamples(await jpegLosslessFast.decode(frameBytes(image.file, image.info, 0), image.info), image.info), image.info);
  }
  return ms(t);
}

async function poolPass(pool: DecodePool, files: string[]): Promise<number> {
  const t = process.hrtime.bigint();
  let n = 0;
  for await (const slice of pool.series(files)) n += slice.values.length > 0 ? 1 : 0;
  if (n !== files.length) throw new Error(`pool decoded ${n} of ${files.length} slices`);
  return ms(t);
}

function fmt(v: number): string {
  return v.toFixed(2).padStart(8);
}

async function main(): Promise<void> {
  const count = Number(option('count', '64'));
  const repeats = Number(option('repeats', '5'));
  const size = Number(option('size', String(availableParallelism())));
  const sliceSources = option('slices', 'ct_s16.jpeg-sv1.dcm,ct_s16.jpeg-p14.dcm').split(',').map((f) => resolve(FIXTURES, f));
  const seriesSources = option('sources', 'ct_s16.jpeg-sv1.dcm,ct_s16.jpeg-sv1-gdcm.dcm').split(',').map((f) => resolve(FIXTURES, f));
  for (const f of [...sliceSources, ...seriesSources]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run bash test/fixtures/make-fixtures.sh`);
  }
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run node scripts/setup-python.mjs`);

  // 1. One slice, one thread.
  console.log(`one slice, one thread, from memory (parse + decode + modality LUT), median ms of ${repeats * 6} runs`);
  const py = JSON.parse(execFileSync(PYTHON, [join(__dirname, 'decode_py.py'), String(repeats * 6), ...sliceSources], { encoding: 'utf8' })) as { median_ms: Record<string, number | string>; pydicom: string };
  const slices = [];
  console.log(`${'file'.padEnd(28)}${'fast'.padStart(8)}${'library'.padStart(9)}${'pydicom'.padStart(9)}  fast/pydicom  library/pydicom`);
  for (const f of sliceSources) {
    const bytes = new Uint8Array(readFileSync(f));
    const fast = await sliceMs(bytes, jpegLosslessFast, repeats * 6);
    const library = await sliceMs(bytes, jpegLosslessLibrary, repeats * 6);
    const pydicom = py.median_ms[f];
    const p = typeof pydicom === 'number' ? pydicom : NaN;
    slices.push({ file: basename(f), fast, library, pydicom });
    console.log(`${basename(f).padEnd(28)}${fmt(fast)} ${fmt(library)} ${fmt(p)}  ${(fast / p).toFixed(2).padStart(10)}×  ${(library / p).toFixed(2).padStart(13)}×`);
  }

  // 2. A series from disk.
  const dir = join(OUT, 'series');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const files = Array.from({ length: count }, (_, i) => {
    const path = join(dir, `slice-${String(i).padStart(3, '0')}.dcm`);
    copyFileSync(seriesSources[i % seriesSources.length], path);
    return path;
  });
  // Rounds interleave the three contenders, so a load change on a shared machine hits them alike.
  const pool = new DecodePool({ size });
  await poolPass(pool, files); // warm-up: starts the threads, JIT in each
  await singleThreadPass(files);
  const pyPasses: number[] = [];
  const poolRuns: number[] = [];
  const singleRuns: number[] = [];
  let pydicomVersion = '';
  for (let i = 0; i < repeats; i++) {
    const py1 = JSON.parse(execFileSync(PYTHON, [join(__dirname, 'series_py.py'), '1', ...files], { encoding: 'utf8' })) as { pass_ms: number[]; pydicom: string };
    pyPasses.push(...py1.pass_ms);
    pydicomVersion = py1.pydicom;
    poolRuns.push(await poolPass(pool, files));
    singleRuns.push(await singleThreadPass(files));
  }
  await pool.close();

  const perSlice = (runs: number[]) => median(runs) / count;
  const pyMs = perSlice(pyPasses);
  const rows = [
    { who: `ours, DecodePool (${pool.size} threads)`, ms: perSlice(poolRuns) },
    { who: 'ours, one thread (jpegLosslessFast)', ms: perSlice(singleRuns) },
    { who: 'pydicom loop (dcmread, pixel_array, LUT)', ms: pyMs },
  ];
  console.log(`\nseries: ${count} JPEG lossless 512×512 slices from disk to HU, median of ${repeats} passes, ms per slice (${availableParallelism()} CPUs)`);
  for (const r of rows) console.log(`${r.who.padEnd(44)}${fmt(r.ms)}   ${(r.ms / pyMs).toFixed(2)}× pydicom   ${(1000 / r.ms).toFixed(0).padStart(5)} slices/s`);
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'series.json'), JSON.stringify({ node: process.version, pydicom: pydicomVersion || py.pydicom, cpus: availableParallelism(), count, repeats, slices, series: rows.map((r) => ({ ...r, ratio: r.ms / pyMs })) }, null, 2));
  console.log(`written ${join(OUT, 'series.json')}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
