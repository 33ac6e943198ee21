// The fast JPEG lossless decoder (src/core/dicom/decode/jpegLosslessFast.ts), bit-exact against:
//  - jpeg-lossless-decoder-js and pydicom 3 `pixel_array` (default plugin: GDCM or pylibjpeg-libjpeg) on every
//    JPEG lossless fixture of test/fixtures/make-fixtures.sh (dcmcjpeg +e1, +el +sv 6, +el +sv 2, gdcmconv --jpeg);
//  - the original samples and pylibjpeg-libjpeg (Thomas Richter's libjpeg, `libjpeg.decode`) on streams made
//    here by a small T.81 Annex H encoder (below): every predictor, point transform, precision 2–16, restart
//    intervals (whole lines and mid-line), grey and colour (one interleaved scan, one scan per component),
//    codes longer than the 12-bit lookahead, fill bytes, difference category 16 (H.1.2.1), 16-bit wrap-around.
//    dcmcjpeg cannot write restart markers or point transforms (+pt is refused with +tl), hence the encoder.
// Truncated and corrupted streams must throw DicomError('DECODE_FAILED') and never hang.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { Decoder } from 'jpeg-lossless-decoder-js';
import { DicomError } from '../../src/core/dicom/errors';
import { readImageInfo, type ImageInfo } from '../../src/core/dicom/image';
import { parseDicom } from '../../src/core/dicom/parse';
import { finishSamples, frameBytes } from '../../src/core/dicom/pixels';
import { decodeJpegLossless, jpegLosslessFast } from '../../src/core/dicom/decode/jpegLosslessFast';
import { TS } from '../../src/core/dicom/uids';

const ROOT = resolve(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test-output', 'fixtures');
const PYTHON = join(ROOT, '.venv', 'bin', 'python');
const WORK = join(ROOT, 'test-output', 'decode-jpeg-lossless-fast');

// ---------------------------------------------------------------------------------------------------------
// A minimal JPEG lossless encoder (T.81 Annex H with Huffman coding, B.2 syntax), written from the standard
// independently of the decoder. Its streams are checked against libjpeg, so the encoder cannot share a
// misreading with the decoder unnoticed.

interface EncodeOptions {
  width: number;
  height: number;
  components: number;
  precision: number;
  predictor: number;
  pointTransform?: number;
  /** Restart interval in MCUs (DRI); 0 = none. */
  restartInterval?: number;
  /** Colour: one interleaved scan (default) or one scan per component, each with its own DHT before it. */
  interleaved?: boolean;
  /** Code length per difference category 0…16 (0 = no code); default: a valid all-category table. */
  codeLengths?: number[];
  /** Insert 0xFF fill bytes before markers (B.1.1.2). */
  fillBytes?: boolean;
}

const DEFAULT_LENGTHS = [3, 3, 3, 3, 3, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14];
/** Every common category gets a code longer than the 12-bit lookahead: exercises the slow path. */
const LONG_LENGTHS = [13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15, 16, 16, 16, 16, 16];

class BitWriter {
  bytes: number[] = [];
  private acc = 0;
  private n = 0;
  put(value: number, count: number): void {
    for (let i = count - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >>> i) & 1);
      if (++this.n === 8) this.emit();
    }
  }
  /** Pad the last byte with 1-bits (F.1.2.3). */
  flush(): void {
    while (this.n !== 0) this.put(1, 1);
  }
  private emit(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0); // byte stuffing (B.1.1.5)
    this.acc = 0;
    this.n = 0;
  }
}

function canonicalTable(lengths: number[]): { counts: number[]; values: number[]; code: Map<number, [number, number]> } {
  const symbols = lengths.map((len, s) => ({ s, len })).filter((e) => e.len > 0).sort((a, b) => a.len - b.len || a.s - b.s);
  const counts = new Array<number>(16).fill(0);
  for (const { len } of symbols) counts[len - 1]++;
  const code = new Map<number, [number, number]>();
  let next = 0;
  let len = 1;
  for (const e of symbols) {
    while (len < e.len) {
      next <<= 1;
      len++;
    }
    code.set(e.s, [next++, e.len]);
  }
  return { counts, values: symbols.map((e) => e.s), code };
}

function marker(out: number[], m: number, fill: boolean, payload?: number[]): void {
  if (fill) out.push(0xff, 0xff);
  out.push(0xff, m);
  if (payload) out.push((payload.length + 2) >> 8, (payload.length + 2) & 255, ...payload);
}

function encodeLossless(samples: ArrayLike<number>, o: EncodeOptions): Uint8Array {
  const { width, height, components: nc, precision, predictor } = o;
  const pt = o.pointTransform ?? 0;
  const ri = o.restartInterval ?? 0;
  const fill = o.fillBytes ?? false;
  const table = canonicalTable(o.codeLengths ?? DEFAULT_LENGTHS);
  const dht = (id: number) => [id, ...table.counts, ...table.values];
  const out: number[] = [];
  marker(out, 0xd8, false);
  marker(out, 0xfe, fill, [...Buffer.from('made by decode-jpeg-lossless-fast.test.ts')]);
  marker(out, 0xc3, fill, [precision, height >> 8, height & 255, width >> 8, width & 255, nc,
    ...Array.from({ length: nc }, (_, c) => [c + 1, 0x11, 0]).flat()]);
  if (ri) marker(out, 0xdd, fill, [ri >> 8, ri & 255]);
  const scans = nc > 1 && o.interleaved === false ? Array.from({ length: nc }, (_, c) => [c]) : [Array.from({ length: nc }, (_, c) => c)];
  const v = (x: number, y: number, c: number) => samples[(y * width + x) * nc + c] >> pt;
  for (const comps of scans) {
    // Each scan gets its own table id (the non-interleaved case defines it right before the scan).
    const tableId = comps[0] % 4;
    marker(out, 0xc4, fill, dht(tableId));
    marker(out, 0xda, fill, [comps.length, ...comps.map((c) => [c + 1, tableId << 4]).flat(), predictor, 0, pt]);
    const w = new BitWriter();
    let ivX = 0;
    let ivY = 0;
    let mcu = 0;
    let rst = 0;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++, mcu++) {
        if (ri && mcu > 0 && mcu % ri === 0) {
          w.flush();
          w.bytes.push(0xff, 0xd0 + (rst++ & 7));
          ivX = x;
          ivY = y;
        }
        for (const c of comps) {
          // H.1.2.1: first sample of the scan / interval: 2^(P−Pt−1); rest of that line: Ra; later lines
          // start with Rb; everything else uses the selected predictor (Table H.1).
          let p: number;
          if (x === ivX && y === ivY) p = 1 << (precision - pt - 1);
          else if (y === ivY) p = v(x - 1, y, c);
          else if (x === 0) p = v(x, y - 1, c);
          else {
            const ra = v(x - 1, y, c);
            const rb = v(x, y - 1, c);
            const rc = v(x - 1, y - 1, c);
            p = [0, ra, rb, rc, ra + rb - rc, ra + ((rb - rc) >> 1), rb + ((ra - rc) >> 1), (ra + rb) >> 1][predictor];
          }
          let d = (((v(x, y, c) - p) % 65536) + 65536) % 65536; // modulo 2^16 (H.1.2.1)
          if (d > 32768) d -= 65536;
          const s = d === 0 ? 0 : 32 - Math.clz32(Math.abs(d));
          const entry = table.code.get(s);
          assert.ok(entry, `no code for category ${s}`);
          w.put(entry[0], entry[1]);
          if (s > 0 && s < 16) w.put(d > 0 ? d : d + (1 << s) - 1, s);
        }
      }
    }
    w.flush();
    out.push(...w.bytes);
  }
  marker(out, 0xd9, fill);
  return Uint8Array.from(out);
}

/** Seeded pseudo-random numbers (mulberry32) so failures reproduce. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A smooth image with noise and a few hard edges, `precision` bits, colour interleaved. */
function testImage(width: number, height: number, components: number, precision: number, seed: number, kind: 'smooth' | 'noise' | 'cat16' = 'smooth'): Uint16Array {
  const rnd = random(seed);
  const max = (1 << precision) - 1;
  const out = new Uint16Array(width * height * components);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < components; c++) {
        let value: number;
        if (kind === 'noise') value = Math.floor(rnd() * (max + 1));
        else if (kind === 'cat16') value = ((x + y + c) & 1) * 32768 + (rnd() < 0.1 ? Math.floor(rnd() * 65536) : 0);
        else {
          const base = (0.5 + 0.4 * Math.sin(x / 5 + c) * Math.cos(y / 7)) * max;
          value = Math.round(base + (rnd() - 0.5) * max * 0.05 + (x > width / 2 && y < height / 3 ? max * 0.3 : 0));
        }
        out[(y * width + x) * components + c] = Math.min(max, Math.max(0, value)) & 0xffff;
      }
    }
  }
  return out;
}

function mismatches(a: ArrayLike<number>, b: ArrayLike<number>): string | undefined {
  if (a.length !== b.length) return `length ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `first difference at sample ${i}: ${a[i]} vs ${b[i]}`;
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Python references, run once per group of files.

// mode "dicom": pydicom pixel_array (default plugin) of each file, reduced to Bits Stored as PS3.5 8.1.1.
// mode "stream": each raw JPEG stream wrapped in a DICOM data set (encapsulated, JPEG Lossless .57) and
// decoded through pydicom with the GDCM plugin and with the pylibjpeg (libjpeg) plugin.
const PY_REF = `
import sys, json, warnings
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import JPEGLossless, generate_uid

def wrap(stream, rows, cols, spp, bits):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = JPEGLossless
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, spp
    ds.PhotometricInterpretation = "RGB" if spp == 3 else "MONOCHROME2"
    if spp == 3:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated = 8 if bits <= 8 else 16
    ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits - 1, 0
    ds.PixelData = encapsulate([stream])
    ds["PixelData"].VR = "OB"
    return ds

def save(arr, name):
    np.ascontiguousarray(arr.astype(np.int64), dtype="<i4").tofile(name)

mode, out, arg = sys.argv[1], sys.argv[2], sys.argv[3:]
index = []
warnings.simplefilter("ignore")
if mode == "dicom":
    for i, path in enumerate(arg):
        try:
            ds = pydicom.dcmread(path)
            arr = ds.pixel_array.astype(np.int64)
            bits = int(ds.BitsStored)
            arr = arr & ((1 << bits) - 1)
            if int(ds.PixelRepresentation) == 1:
                arr = np.where(arr >= 1 << (bits - 1), arr - (1 << bits), arr)
            save(arr, f"{out}/{i}.i32")
            index.append({})
        except Exception as exc:
            index.append({"error": f"{type(exc).__name__}: {exc}"})
else:
    for i, s in enumerate(json.load(open(arg[0]))):
        entry = {}
        for plugin in ("gdcm", "pylibjpeg"):
            try:
                ds = wrap(open(s["path"], "rb").read(), s["rows"], s["columns"], s["components"], s["precision"])
                ds.pixel_array_options(decoding_plugin=plugin)
                save(ds.pixel_array, f"{out}/{i}.{plugin}.i32")
            except Exception as exc:
                entry[plugin] = f"{type(exc).__name__}: {exc}"
        index.append(entry)
json.dump(index, open(f"{out}/index.json", "w"))
`;

type Ref = Int32Array | string;

function readI32(path: string): Int32Array {
  const b = readFileSync(path);
  return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
}

/** pydicom's pixel_array of each DICOM file (or the error it raised). */
function pydicomFiles(name: string, files: string[]): Ref[] {
  const dir = join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync(PYTHON, ['-c', PY_REF, 'dicom', dir, ...files], { stdio: ['ignore', 'ignore', 'inherit'] });
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { error?: string }[];
  return index.map((e, i) => e.error ?? readI32(join(dir, `${i}.i32`)));
}

/** Each raw stream decoded by pydicom's GDCM and pylibjpeg plugins. */
function pydicomStreams(name: string, streams: { path: string; rows: number; columns: number; components: number; precision: number }[]): { gdcm: Ref; pylibjpeg: Ref }[] {
  const dir = join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'streams.json'), JSON.stringify(streams));
  execFileSync(PYTHON, ['-c', PY_REF, 'stream', dir, join(dir, 'streams.json')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Record<string, string>[];
  const one = (e: Record<string, string>, i: number, plugin: string) => e[plugin] ?? readI32(join(dir, `${i}.${plugin}.i32`));
  return index.map((e, i) => ({ gdcm: one(e, i, 'gdcm'), pylibjpeg: one(e, i, 'pylibjpeg') }));
}

function libraryDecode(stream: Uint8Array): Uint8Array | Uint16Array {
  const copy = stream.slice();
  return new Decoder().decode(copy.buffer, 0, copy.length) as Uint8Array | Uint16Array;
}

function throwsDecodeFailed(fn: () => unknown, what: string, pattern?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DicomError, `${what}: expected DicomError, got ${String(err)}`);
    assert.equal(err.code, 'DECODE_FAILED', what);
    if (pattern) assert.match(err.message, pattern, what);
    return true;
  }, what);
}

// ---------------------------------------------------------------------------------------------------------

/** Make (or reuse: the script is stamped and locked) the fixtures; false when they cannot exist here. */
function ensureFixtures(): boolean {
  try {
    execFileSync('bash', [join(ROOT, 'test', 'fixtures', 'make-fixtures.sh'), FIXTURES], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    // dcmtk/gdcm/.venv missing: make-fixtures.sh said why on stderr; use whatever fixtures are there.
  }
  return existsSync(join(FIXTURES, 'manifest.tsv'));
}

const haveFixtures = ensureFixtures();
const havePython = existsSync(PYTHON);

interface FixtureFrames { name: string; path: string; info: ImageInfo; frames: Uint8Array[] }

function jpegLosslessFixtures(): FixtureFrames[] {
  const [, ...rows] = readFileSync(join(FIXTURES, 'manifest.tsv'), 'utf8').trim().split('\n');
  const out: FixtureFrames[] = [];
  for (const row of rows) {
    const name = row.split('\t')[0];
    const path = join(FIXTURES, name);
    const file = parseDicom(readFileSync(path), path);
    if (file.transferSyntaxUID !== TS.JPEGLosslessSV1 && file.transferSyntaxUID !== TS.JPEGLosslessP14) continue;
    const info = readImageInfo(file, path);
    out.push({ name, path, info, frames: Array.from({ length: info.frames }, (_, i) => frameBytes(file, info, i).slice()) });
  }
  return out;
}

void describe('fixtures: equal to jpeg-lossless-decoder-js and pydicom', { skip: haveFixtures ? false : `no fixtures in ${FIXTURES} (run: bash test/fixtures/make-fixtures.sh)` }, () => {
  if (!haveFixtures) return;
  const fixtures = jpegLosslessFixtures();
  const references = havePython ? pydicomFiles('fixtures', fixtures.map((f) => f.path)) : [];

  void test('the fixtures cover both syntaxes, 8/12/16 bits, signed, RGB, several predictors', () => {
    assert.ok(fixtures.length >= 30, `only ${fixtures.length} JPEG lossless fixtures`);
    const predictors = new Set(fixtures.flatMap((f) => f.frames.map((b) => b[b.indexOf(0xda, 2) + 6] ?? 0)));
    assert.ok(fixtures.some((f) => f.info.samplesPerPixel === 3) && fixtures.some((f) => f.info.pixelRepresentation === 1));
    assert.ok(fixtures.some((f) => f.info.frames > 1));
    assert.ok(predictors.size >= 1);
  });

  for (const [index, f] of fixtures.entries()) {
    void test(f.name, async () => {
      const ours: number[] = [];
      for (const [i, bytes] of f.frames.entries()) {
        const samples = await jpegLosslessFast.decode(bytes, f.info);
        const diff = mismatches(samples, libraryDecode(bytes));
        assert.equal(diff, undefined, `frame ${i} vs jpeg-lossless-decoder-js: ${diff}`);
        for (const v of finishSamples(samples, f.info)) ours.push(v);
      }
      if (!havePython) return;
      const ref = references[index];
      assert.ok(typeof ref !== 'string', `pydicom failed: ${String(ref)}`);
      const diff = mismatches(ours, ref);
      assert.equal(diff, undefined, `vs pydicom pixel_array: ${diff}`);
    });
  }
});

interface Case { name: string; options: EncodeOptions; image: Uint16Array; library: boolean }

function cases(): Case[] {
  const list: Case[] = [];
  const add = (name: string, options: EncodeOptions, kind: 'smooth' | 'noise' | 'cat16' = 'smooth', library = true) => {
    list.push({ name, options, image: testImage(options.width, options.height, options.components, options.precision, list.length + 1, kind), library });
  };
  for (const precision of [8, 12, 16]) {
    for (let p = 1; p <= 7; p++) add(`predictor ${p}, ${precision}-bit`, { width: 37, height: 23, components: 1, precision, predictor: p });
  }
  add('precision 2', { width: 19, height: 11, components: 1, precision: 2, predictor: 4 }, 'noise');
  add('precision 5, noise', { width: 16, height: 16, components: 1, precision: 5, predictor: 7 }, 'noise');
  add('16-bit noise (differences wrap modulo 2^16)', { width: 41, height: 17, components: 1, precision: 16, predictor: 4 }, 'noise');
  add('difference 32768: category 16 has no additional bits (H.1.2.1)', { width: 32, height: 9, components: 1, precision: 16, predictor: 1 }, 'cat16');
  add('codes longer than the lookahead (slow path), predictor 1', { width: 33, height: 12, components: 1, precision: 16, predictor: 1, codeLengths: LONG_LENGTHS }, 'noise');
  add('codes longer than the lookahead, predictor 5', { width: 33, height: 12, components: 1, precision: 12, predictor: 5, codeLengths: LONG_LENGTHS });
  add('point transform 3, 16-bit, predictor 1', { width: 30, height: 20, components: 1, precision: 16, predictor: 1, pointTransform: 3 }, 'smooth', false);
  add('point transform 2, 12-bit, predictor 6', { width: 30, height: 20, components: 1, precision: 12, predictor: 6, pointTransform: 2 }, 'smooth', false);
  add('point transform 1, 8-bit RGB, predictor 7', { width: 21, height: 13, components: 3, precision: 8, predictor: 7, pointTransform: 1 }, 'smooth', false);
  add('restart every line, predictor 1', { width: 29, height: 21, components: 1, precision: 16, predictor: 1, restartInterval: 29 }, 'smooth', false);
  add('restart every 3 lines, predictor 5 (more than 8 RSTn: numbers wrap)', { width: 20, height: 40, components: 1, precision: 12, predictor: 5, restartInterval: 60 }, 'smooth', false);
  add('restart every line of a one-column image (every sample), predictor 6', { width: 1, height: 12, components: 1, precision: 8, predictor: 6, restartInterval: 1 }, 'smooth', false);
  add('restart every line, RGB interleaved, predictor 2', { width: 17, height: 11, components: 3, precision: 8, predictor: 2, restartInterval: 17 }, 'smooth', false);
  add('RGB 8-bit interleaved, predictor 1', { width: 25, height: 14, components: 3, precision: 8, predictor: 1 });
  // jpeg-lossless-decoder-js gets these two wrong (it leaves the last pixel 0; it mixes up 16-bit colour
  // samples), where GDCM and libjpeg agree with the source samples.
  add('RGB 8-bit interleaved, predictor 7', { width: 25, height: 14, components: 3, precision: 8, predictor: 7 }, 'smooth', false);
  add('RGB 16-bit interleaved, predictor 6', { width: 18, height: 10, components: 3, precision: 16, predictor: 6 }, 'smooth', false);
  for (const p of [3, 4, 5]) add(`RGB 12-bit interleaved, predictor ${p}`, { width: 19, height: 9, components: 3, precision: 12, predictor: p }, 'smooth', false);
  // jpeg-lossless-decoder-js decodes only the first scan of a frame.
  add('RGB 8-bit, one scan per component, DHT before each scan', { width: 25, height: 14, components: 3, precision: 8, predictor: 3, interleaved: false }, 'smooth', false);
  add('RGB 12-bit, one scan per component, restart every 2 lines', { width: 12, height: 6, components: 3, precision: 12, predictor: 4, interleaved: false, restartInterval: 24 }, 'smooth', false);
  add('one column, predictor 4', { width: 1, height: 30, components: 1, precision: 12, predictor: 4 });
  add('one row, predictor 7', { width: 50, height: 1, components: 1, precision: 16, predictor: 7 });
  add('0xFF fill bytes before every marker', { width: 20, height: 10, components: 1, precision: 16, predictor: 1, fillBytes: true, restartInterval: 40 }, 'noise', false);
  return list;
}

void describe('hand-made streams: equal to the source samples and to pydicom (GDCM and libjpeg plugins)', () => {
  const list = cases().map((c) => ({ ...c, stream: encodeLossless(c.image, c.options) }));
  mkdirSync(join(WORK, 'streams'), { recursive: true });
  const streams = list.map((c, i) => {
    const path = join(WORK, 'streams', `${i}.jpg`);
    writeFileSync(path, c.stream);
    return { path, rows: c.options.height, columns: c.options.width, components: c.options.components, precision: c.options.precision };
  });
  const refs = havePython ? pydicomStreams('streams-ref', streams) : [];

  for (const [i, c] of list.entries()) {
    void test(c.name, () => {
      const { width, height, components } = c.options;
      const decoded = decodeJpegLossless(c.stream, { width, height, components });
      assert.equal(decoded.precision, c.options.precision);
      assert.ok(c.options.precision <= 8 ? decoded.samples instanceof Uint8Array : decoded.samples instanceof Uint16Array);
      const pt = c.options.pointTransform ?? 0;
      const expected = Array.from(c.image, (v) => (v >> pt) << pt);
      assert.equal(mismatches(decoded.samples, expected), undefined, 'vs the source samples');
      if (havePython) {
        const { gdcm, pylibjpeg } = refs[i];
        assert.ok(typeof gdcm !== 'string', `pydicom + GDCM failed: ${String(gdcm)}`);
        assert.equal(mismatches(decoded.samples, gdcm), undefined, 'vs pydicom + GDCM');
        assert.ok(typeof pylibjpeg !== 'string', `pydicom + pylibjpeg failed: ${String(pylibjpeg)}`);
        // With Pt > 0 libjpeg 2.3 (pylibjpeg-libjpeg) returns wrong, mostly saturated samples (2^P − 1),
        // while GDCM (IJG lossless), the source samples and T.81 H.1.2.1 agree: GDCM is the reference there.
        if (pt === 0) assert.equal(mismatches(decoded.samples, pylibjpeg), undefined, 'vs pydicom + pylibjpeg');
      }
      // jpeg-lossless-decoder-js ignores the point transform and does not reset predictors at restarts.
      if (c.library) assert.equal(mismatches(decoded.samples, libraryDecode(c.stream)), undefined, 'vs jpeg-lossless-decoder-js');
    });
  }

  void test('a restart interval that ends inside a line is refused (IJG/GDCM refuse it, libjpeg reads it differently)', () => {
    const options = { width: 23, height: 9, components: 1, precision: 16, predictor: 1, restartInterval: 7 };
    const stream = encodeLossless(testImage(23, 9, 1, 16, 3), options);
    throwsDecodeFailed(() => decodeJpegLossless(stream), 'Ri 7', /restart interval 7 is not a multiple of the 23/);
  });
});

/** Cut points: all of a small stream; for a large one, spread over it plus the last bytes. */
function cuts(length: number, spread = 4096): number[] {
  const out = new Set<number>();
  const step = Math.max(1, Math.floor(length / spread));
  for (let c = 0; c < length; c += step) out.add(c);
  for (let c = Math.max(0, length - 64); c < length; c++) out.add(c);
  return [...out];
}

/** Offset of the first marker 0xFF `code` (entropy-coded data never holds 0xFF followed by a non-zero). */
function findMarker(stream: Uint8Array, code: number): number {
  for (let i = 0; i + 1 < stream.length; i++) if (stream[i] === 0xff && stream[i + 1] === code) return i;
  throw new Error(`no marker 0xFF${code.toString(16)}`);
}

/** Position of the final EOI marker: cutting there or later only drops the EOI. */
function eoiAt(stream: Uint8Array): number {
  assert.equal(stream[stream.length - 2], 0xff);
  assert.equal(stream[stream.length - 1], 0xd9);
  let p = stream.length - 2;
  while (p > 0 && stream[p - 1] === 0xff && stream[p] === 0xff) p--; // fill bytes before EOI
  return p;
}

function checkTruncations(stream: Uint8Array, expected: ArrayLike<number>, geometry: { width: number; height: number; components: number }, spread?: number): void {
  const eoi = eoiAt(stream);
  for (const cut of cuts(stream.length, spread)) {
    const part = stream.subarray(0, cut);
    if (cut < eoi) {
      throwsDecodeFailed(() => decodeJpegLossless(part, geometry), `cut at ${cut} of ${stream.length}`);
    } else {
      // Only (part of) the EOI marker is missing: the image is complete.
      assert.equal(mismatches(decodeJpegLossless(part, geometry).samples, expected), undefined, `cut at ${cut}`);
    }
  }
}

void describe('truncated and corrupt streams throw DicomError(DECODE_FAILED)', () => {
  const smallCases = cases().filter((c) => /restart every 3 lines|one scan per component, restart|0xFF fill|slow path\), predictor 1|RGB 16-bit/.test(c.name));

  void test('every cut point of small streams (restarts, fill bytes, non-interleaved colour, long codes)', () => {
    assert.equal(smallCases.length, 5);
    for (const c of smallCases) {
      const stream = encodeLossless(c.image, c.options);
      const pt = c.options.pointTransform ?? 0;
      checkTruncations(stream, Array.from(c.image, (v) => (v >> pt) << pt), c.options, Number.MAX_SAFE_INTEGER);
    }
  });

  void test('cut points of a 512×512 CT frame (dcmcjpeg +e1 and +el +sv 6)', { skip: haveFixtures ? false : 'no fixtures' }, () => {
    for (const name of ['ct_s16.jpeg-sv1.dcm', 'ct_s16.jpeg-p14.dcm']) {
      const path = join(FIXTURES, name);
      const file = parseDicom(readFileSync(path), path);
      const info = readImageInfo(file, path);
      const stream = frameBytes(file, info, 0).slice();
      // DICOM pads fragments to even length: drop a trailing 0x00 so the stream ends at its EOI.
      const end = stream[stream.length - 1] === 0 ? stream.length - 1 : stream.length;
      const exact = stream.subarray(0, end);
      const geometry = { width: info.columns, height: info.rows, components: 1 };
      checkTruncations(exact, decodeJpegLossless(exact, geometry).samples, geometry, 150);
    }
  });

  void test('random byte corruption never hangs and fails only with DicomError', () => {
    const rnd = random(7);
    const streams = smallCases.map((c) => ({ stream: encodeLossless(c.image, c.options), geometry: c.options }));
    let thrown = 0;
    let total = 0;
    for (const { stream, geometry } of streams) {
      for (let trial = 0; trial < 300; trial++) {
        const bad = stream.slice();
        const flips = 1 + Math.floor(rnd() * 4);
        for (let f = 0; f < flips; f++) bad[Math.floor(rnd() * bad.length)] = Math.floor(rnd() * 256);
        total++;
        try {
          decodeJpegLossless(bad, geometry);
        } catch (err) {
          assert.ok(err instanceof DicomError && err.code === 'DECODE_FAILED', `trial ${trial}: ${String(err)}`);
          thrown++;
        }
      }
    }
    assert.ok(thrown > total / 4, `only ${thrown} of ${total} corrupted streams were rejected`);
  });

  void test('structural errors name the problem', () => {
    const c = { width: 8, height: 4, components: 1, precision: 12, predictor: 1 };
    const image = testImage(8, 4, 1, 12, 99);
    const good = encodeLossless(image, c);
    const sofAt = findMarker(good, 0xc3);
    const sosAt = findMarker(good, 0xda);
    const dhtAt = findMarker(good, 0xc4);
    const edit = (...changes: [number, number][]) => {
      const s = good.slice();
      for (const [at, value] of changes) s[at] = value;
      return s;
    };
    throwsDecodeFailed(() => decodeJpegLossless(good.subarray(1)), 'no SOI', /SOI/);
    throwsDecodeFailed(() => decodeJpegLossless(edit([sofAt + 1, 0xc0])), 'SOF0', /DCT.*not lossless/);
    throwsDecodeFailed(() => decodeJpegLossless(edit([sofAt + 1, 0xcb])), 'SOF11', /arithmetic/);
    throwsDecodeFailed(() => decodeJpegLossless(edit([sofAt + 6, 0])), 'height 0', /DNL/);
    throwsDecodeFailed(() => decodeJpegLossless(edit([sofAt + 4, 17])), 'precision 17', /precision 17/);
    throwsDecodeFailed(() => decodeJpegLossless(edit([sosAt + 7, 0])), 'predictor 0', /predictor/);
    throwsDecodeFailed(() => decodeJpegLossless(edit([sosAt + 9, 12])), 'Pt ≥ P', /point transform/);
    throwsDecodeFailed(() => decodeJpegLossless(edit([sosAt + 6, 0x10])), 'undefined table', /Huffman table 1/);
    throwsDecodeFailed(() => decodeJpegLossless(good, { width: 8, height: 5, components: 1 }), 'geometry', /DICOM attributes say 8×5/);
    // Over-subscribed Huffman table: three 1-bit codes (the default table has six 3-bit codes; keep the total).
    assert.equal(good[dhtAt + 7], 6);
    throwsDecodeFailed(() => decodeJpegLossless(edit([dhtAt + 5, 3], [dhtAt + 7, 3])), 'bad table', /over-subscribed/);
    // Restart markers out of order.
    const r = encodeLossless(testImage(8, 4, 1, 12, 5), { ...c, restartInterval: 8 });
    const swapped = r.slice();
    swapped[findMarker(r, 0xd1) + 1] = 0xd5;
    throwsDecodeFailed(() => decodeJpegLossless(swapped), 'RST order', /RST5 found where RST1/);
    const dropped = Uint8Array.from([...r.subarray(0, findMarker(r, 0xd1)), ...r.subarray(findMarker(r, 0xd1) + 2)]);
    throwsDecodeFailed(() => decodeJpegLossless(dropped), 'missing RST', /RST|restart/);
    // The DICOM frame decoder: precision above Bits Allocated.
    const info = { rows: 4, columns: 8, samplesPerPixel: 1, bitsAllocated: 8 } as ImageInfo;
    return assert.rejects(jpegLosslessFast.decode(good, info), /precision is 12 bits but Bits Allocated is 8/);
  });

  void test('the baseline (DCT) fixture is refused, not misread', { skip: haveFixtures ? false : 'no fixtures' }, () => {
    const path = join(FIXTURES, 'ct_s16.jpeg-baseline.dcm');
    if (!existsSync(path)) return;
    const file = parseDicom(readFileSync(path), path);
    const info = readImageInfo(file, path);
    throwsDecodeFailed(() => decodeJpegLossless(frameBytes(file, info, 0)), 'baseline', /not lossless/);
  });
});
