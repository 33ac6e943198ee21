/**
 * Malformed-input corpus: every damaged file must make `loadImage` + `loadStored` either reject with a typed
 * DicomError (a `code`, a one-line message, `file` = the path) or — only where the damage spares the image —
 * load exactly the original pixels. Never another exception, never a hang, never silently wrong pixels.
 *
 * Bases: a CT written by write.ts (with nested undefined-length sequences), pydicom's CT_small.dcm (which
 * ends with (FFFC,FFFC) trailing padding) and a JPEG Lossless SV1 copy of it made at run time with dcmtk:
 * `dcmcjpeg +e1 CT_small.dcm ct_jpeg_ll.dcm`; and (issue 11) a PALETTE COLOR image, a CT with a Modality LUT
 * Sequence and a binary DICOM SEG written by write.ts, truncated everywhere and with a palette, LUT descriptor or SEG
 * segment reference that lies (a SEG's references are read too). The corpus runs in a child process (this file with
 * MALFORMED_CORPUS_RUNNER=1) under a timeout, so a hang fails the test instead of stalling the suite.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DicomError, formatUserError } from '../../src/core/dicom/errors';
import { loadImage, loadStored } from '../../src/core/dicom/load';
import { parseDicom } from '../../src/core/dicom/parse';
import { isSegmentation, readSegmentation } from '../../src/core/dicom/seg';
import { encodePart10, encodeCtSlice, type WriteElement } from '../../src/core/dicom/write';

const ROOT = resolve(__dirname, '../..');
const CORPUS_TIMEOUT_MS = 90_000;

/** What happened to one damaged file. */
interface Outcome {
  name: string;
  /** 'error' = DicomError (good), 'loaded' = pixels came back, 'crash' = anything else thrown. */
  result: 'error' | 'loaded' | 'crash';
  /** The case allows loading, provided the pixels equal the original's. */
  mayLoad: boolean;
  pixelsEqual?: boolean;
  code?: string;
  message?: string;
  fileNamed?: boolean;
  ms: number;
}

interface Case {
  name: string;
  bytes: Uint8Array;
  mayLoad?: boolean;
  original?: ArrayLike<number>;
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

function findBytes(hay: Uint8Array, needle: number[], from = 0): number {
  outer: for (let i = from; i <= hay.length - needle.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const tagBytes = (tag: number) => [(tag >>> 16) & 0xff, tag >>> 24, tag & 0xff, (tag >>> 8) & 0xff];
const patched = (bytes: Uint8Array, at: number, values: number[]) => { const b = bytes.slice(); b.set(values, at); return b; };
const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];

/** Nested sequences with undefined length (PS3.5 7.5.2), three deep, plus one with defined length. */
function nestedSequences(): WriteElement[] {
  const inner: WriteElement = { tag: 0x00400555, vr: 'SQ', undefinedLength: true, value: [[{ tag: 0x0040a043, vr: 'SQ', value: [[{ tag: 0x00080100, vr: 'SH', value: 'CODE' }]] }]] };
  return [{ tag: 0x00081140, vr: 'SQ', undefinedLength: true, value: [[{ tag: 0x00081150, vr: 'UI', value: '1.2.3' }, inner], [{ tag: 0x00081155, vr: 'UI', value: '1.2.3.4' }]] }];
}

function writtenCt(): Uint8Array {
  const pixels = new Int16Array(64 * 64).map((_, i) => ((i * 37) % 3000) - 1000);
  return encodeCtSlice({
    rows: 64, columns: 64, pixelData: pixels, rescaleIntercept: 0, windowCenter: 40, windowWidth: 400,
    imagePositionPatient: [0, 0, 0], imageOrientationPatient: [1, 0, 0, 0, 1, 0], pixelSpacing: [1, 1], instanceNumber: 1,
    sopInstanceUID: '1.2.826.0.1.1', seriesInstanceUID: '1.2.826.0.1.2', studyInstanceUID: '1.2.826.0.1.3', patientID: 'MALFORMED',
    extra: nestedSequences(),
  });
}

/** Truncations: every 7th byte before the pixel data, every 61st inside it, every byte near its start and end. */
function truncations(label: string, bytes: Uint8Array, original: ArrayLike<number>): Case[] {
  const ds = parseDicom(bytes).dataSet;
  const px = ds.elements.x7fe00010;
  const start = px.dataOffset;
  // Encapsulated: the image survives only when every fragment does, i.e. up to the sequence delimiter.
  const end = px.encapsulatedPixelData ? start + px.length - 8 : start + px.length;
  const cuts = new Set<number>();
  for (let n = 0; n < start; n += 7) cuts.add(n);
  for (let n = start; n < end; n += 61) cuts.add(n);
  for (let n = start - 24; n < start + 24; n++) cuts.add(n);
  for (let n = end - 24; n < bytes.length; n++) cuts.add(n);
  return [...cuts].filter((n) => n >= 0 && n < bytes.length).sort((a, b) => a - b)
    .map((n) => ({ name: `${label} truncated at ${n}/${bytes.length}`, bytes: bytes.subarray(0, n), mayLoad: n >= end, original }));
}

/** A PALETTE COLOR image (8-bit indices, 16-bit palettes of 256 entries); `entries` overrides the descriptors' count. */
function paletteImage(entries = 256): Uint8Array {
  const pal = (k: number) => Uint16Array.from({ length: 256 }, (_, i) => (i * (k + 1) * 97) & 0xffff);
  return encodePart10([
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.7' }, { tag: 0x00080018, vr: 'UI', value: '1.2.826.0.1.10' },
    { tag: 0x00080060, vr: 'CS', value: 'OT' },
    { tag: 0x00280002, vr: 'US', value: 1 }, { tag: 0x00280004, vr: 'CS', value: 'PALETTE COLOR' },
    { tag: 0x00280010, vr: 'US', value: 16 }, { tag: 0x00280011, vr: 'US', value: 16 },
    { tag: 0x00280100, vr: 'US', value: 8 }, { tag: 0x00280101, vr: 'US', value: 8 }, { tag: 0x00280102, vr: 'US', value: 7 }, { tag: 0x00280103, vr: 'US', value: 0 },
    { tag: 0x00281101, vr: 'US', value: [entries, 0, 16] }, { tag: 0x00281102, vr: 'US', value: [entries, 0, 16] }, { tag: 0x00281103, vr: 'US', value: [entries, 0, 16] },
    { tag: 0x00281201, vr: 'OW', value: pal(0) }, { tag: 0x00281202, vr: 'OW', value: pal(1) }, { tag: 0x00281203, vr: 'OW', value: pal(2) },
    { tag: 0x7fe00010, vr: 'OB', value: Uint8Array.from({ length: 256 }, (_, i) => (i * 7) & 0xff) },
  ], { sopClassUID: '1.2.840.10008.5.1.4.1.1.7', sopInstanceUID: '1.2.826.0.1.10' });
}

/** A CT with a Modality LUT Sequence (512 16-bit entries); `bits` overrides the descriptor's entry size. */
function modalityLutImage(bits = 16): Uint8Array {
  return encodePart10([
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' }, { tag: 0x00080018, vr: 'UI', value: '1.2.826.0.1.11' },
    { tag: 0x00080060, vr: 'CS', value: 'CT' },
    { tag: 0x00280002, vr: 'US', value: 1 }, { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' },
    { tag: 0x00280010, vr: 'US', value: 16 }, { tag: 0x00280011, vr: 'US', value: 16 },
    { tag: 0x00280100, vr: 'US', value: 16 }, { tag: 0x00280101, vr: 'US', value: 12 }, { tag: 0x00280102, vr: 'US', value: 11 }, { tag: 0x00280103, vr: 'US', value: 0 },
    { tag: 0x00283000, vr: 'SQ', value: [[{ tag: 0x00283002, vr: 'US', value: [512, 0, bits] }, { tag: 0x00283004, vr: 'LO', value: 'HU' }, { tag: 0x00283006, vr: 'OW', value: Uint16Array.from({ length: 512 }, (_, i) => i * 3) }]] },
    { tag: 0x7fe00010, vr: 'OW', value: Uint16Array.from({ length: 256 }, (_, i) => (i * 5) % 600) },
  ], { sopClassUID: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUID: '1.2.826.0.1.11' });
}

/** A binary DICOM SEG: two 16×16 1-bit frames of segments 1 and 2, each derived from a source CT slice. */
function segImage(frameSegment2 = 2): Uint8Array {
  const frame = (segment: number, source: string): WriteElement[] => [
    { tag: 0x00089124, vr: 'SQ', value: [[{ tag: 0x00082112, vr: 'SQ', value: [[{ tag: 0x00081150, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.2' }, { tag: 0x00081155, vr: 'UI', value: source }]] }]] },
    { tag: 0x00209113, vr: 'SQ', value: [[{ tag: 0x00200032, vr: 'DS', value: [0, 0, segment] }]] },
    { tag: 0x0062000a, vr: 'SQ', value: [[{ tag: 0x0062000b, vr: 'US', value: segment }]] },
  ];
  const segment = (n: number, label: string): WriteElement[] => [{ tag: 0x00620004, vr: 'US', value: n }, { tag: 0x00620005, vr: 'LO', value: label }, { tag: 0x00620008, vr: 'CS', value: 'MANUAL' }];
  return encodePart10([
    { tag: 0x00080016, vr: 'UI', value: '1.2.840.10008.5.1.4.1.1.66.4' }, { tag: 0x00080018, vr: 'UI', value: '1.2.826.0.1.12' },
    { tag: 0x00080060, vr: 'CS', value: 'SEG' },
    { tag: 0x00280002, vr: 'US', value: 1 }, { tag: 0x00280004, vr: 'CS', value: 'MONOCHROME2' }, { tag: 0x00280008, vr: 'IS', value: 2 },
    { tag: 0x00280010, vr: 'US', value: 16 }, { tag: 0x00280011, vr: 'US', value: 16 },
    { tag: 0x00280100, vr: 'US', value: 1 }, { tag: 0x00280101, vr: 'US', value: 1 }, { tag: 0x00280102, vr: 'US', value: 0 }, { tag: 0x00280103, vr: 'US', value: 0 },
    { tag: 0x00620001, vr: 'CS', value: 'BINARY' },
    { tag: 0x00620002, vr: 'SQ', value: [segment(1, 'C1'), segment(2, 'C2')] },
    { tag: 0x52009230, vr: 'SQ', value: [frame(1, '1.2.826.0.1.20'), frame(frameSegment2, '1.2.826.0.1.21')] },
    { tag: 0x7fe00010, vr: 'OB', value: Uint8Array.from({ length: 64 }, (_, i) => (i * 29) & 0xff) },
  ], { sopClassUID: '1.2.840.10008.5.1.4.1.1.66.4', sopInstanceUID: '1.2.826.0.1.12' });
}

async function buildCorpus(dir: string): Promise<{ cases: Case[]; notes: string[] }> {
  const notes: string[] = [];
  const cases: Case[] = [];
  const ct = writtenCt();
  const decode = async (bytes: Uint8Array) => {
    const path = join(dir, 'base.dcm');
    await writeFile(path, bytes);
    return loadStored(await loadImage(path));
  };
  const ctPixels = await decode(ct);
  cases.push({ name: 'valid written CT with nested undefined-length sequences', bytes: ct, mayLoad: true, original: ctPixels });
  cases.push(...truncations('written CT', ct, ctPixels));

  const ctSmall = [join(ROOT, '.venv/lib/python3.11/site-packages/pydicom/data/test_files/CT_small.dcm'), '/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm'].find(existsSync);
  if (ctSmall) {
    const bytes = new Uint8Array(await readFile(ctSmall));
    const pixels = await decode(bytes);
    cases.push({ name: 'CT_small.dcm as is', bytes, mayLoad: true, original: pixels });
    cases.push(...truncations('CT_small.dcm', bytes, pixels));
    const jpeg = join(dir, 'ct_jpeg_ll.dcm');
    const made = spawnSync('dcmcjpeg', ['+e1', ctSmall, jpeg], { timeout: 30_000 });
    if (made.status === 0) {
      const jbytes = new Uint8Array(await readFile(jpeg));
      const jpixels = await decode(jbytes);
      if (!jpixels.every((v, i) => v === pixels[i])) notes.push('JPEG lossless base does not decode to CT_small pixels');
      cases.push({ name: 'JPEG lossless CT as is', bytes: jbytes, mayLoad: true, original: pixels });
      cases.push(...truncations('JPEG lossless CT', jbytes, pixels));
    } else notes.push('dcmcjpeg not available: JPEG lossless base skipped');
  } else notes.push('CT_small.dcm not found (pydicom test files): its bases skipped');

  // Issue 11: palettes, LUTs and SEG references — every truncation, and the attribute that lies.
  for (const [label, bytes] of [['palette image', paletteImage()], ['modality LUT image', modalityLutImage()], ['binary SEG', segImage()]] as const) {
    const pixels = await decode(bytes);
    cases.push({ name: `${label} as is`, bytes, mayLoad: true, original: pixels });
    cases.push(...truncations(label, bytes, pixels));
  }
  cases.push({ name: 'palette: descriptors say 300 entries, the data holds 512 bytes', bytes: paletteImage(300) });
  cases.push({ name: 'modality LUT: descriptor says 12 bits per entry', bytes: modalityLutImage(12) });
  cases.push({ name: 'SEG: a frame references segment 7, which is not defined', bytes: segImage(7) });

  // Lengths past the end of the file.
  const pid = findBytes(ct, [...tagBytes(0x00100020), 0x4c, 0x4f]); // (0010,0020) LO
  cases.push({ name: 'LO length 0xFFFF runs past the end', bytes: patched(ct, pid + 6, [0xff, 0xff]) });
  const pxTag = findBytes(ct, [...tagBytes(0x7fe00010), 0x4f, 0x57]); // (7FE0,0010) OW
  cases.push({ name: 'Pixel Data length 2 bytes past the end', bytes: patched(ct, pxTag + 8, u32(ct.length - pxTag - 12 + 2)) });
  cases.push({ name: 'Pixel Data length 0xFFFFFFF0', bytes: patched(ct, pxTag + 8, u32(0xfffffff0)) });
  cases.push({ name: 'Pixel Data half the frame (length consistent, too short for Rows×Columns)', bytes: patched(ct, pxTag + 8, u32(4096)).subarray(0, pxTag + 12 + 4096) });
  // Huge declared lengths on normal elements.
  const priv = encodePart10([...nestedSequences(), { tag: 0x00090010, vr: 'LO', value: 'X' }, { tag: 0x00091001, vr: 'OB', value: new Uint8Array(8) }], { sopClassUID: '1.2', sopInstanceUID: '1.2.3' });
  const ob = findBytes(priv, [...tagBytes(0x00091001), 0x4f, 0x42]);
  cases.push({ name: 'OB element length 0xFFFFFFF0', bytes: patched(priv, ob + 8, u32(0xfffffff0)) });
  const sq = findBytes(ct, [...tagBytes(0x00081140), 0x53, 0x51]);
  cases.push({ name: 'SQ length 0xFFFFFFF0', bytes: patched(ct, sq + 8, u32(0xfffffff0)) });
  const implicit = new Uint8Array([...tagBytes(0x00080005), ...u32(10), ...Buffer.from('ISO_IR 100'), ...tagBytes(0x00080018), ...u32(0xfffffff0), ...Buffer.from('1.2.3.4')]);
  cases.push({ name: 'raw implicit VR data set, UI length 0xFFFFFFF0', bytes: implicit });
  // Sequence delimiters: valid nesting must parse (above); broken ones must error.
  const seqEnd = [0xfe, 0xff, 0xdd, 0xe0];
  const itemEnd = [0xfe, 0xff, 0x0d, 0xe0];
  const lastSeqEnd = (() => { let at = -1, i = -1; while ((i = findBytes(ct, seqEnd, i + 1)) >= 0 && i < pxTag) at = i; return at; })();
  cases.push({ name: 'outer sequence delimiter tag damaged (E0DD → E0DE)', bytes: patched(ct, lastSeqEnd + 2, [0xde]) });
  cases.push({ name: 'outer sequence delimiter removed', bytes: new Uint8Array([...ct.subarray(0, lastSeqEnd), ...ct.subarray(lastSeqEnd + 8)]) });
  cases.push({ name: 'inner sequence delimiter removed', bytes: (() => { const i = findBytes(ct, seqEnd); return new Uint8Array([...ct.subarray(0, i), ...ct.subarray(i + 8)]); })() });
  cases.push({ name: 'item delimiter tag damaged (E00D → E00E)', bytes: patched(ct, findBytes(ct, itemEnd) + 2, [0x0e]) });
  cases.push({ name: 'item tag damaged (E000 → E001)', bytes: patched(ct, findBytes(ct, [0xfe, 0xff, 0x00, 0xe0]) + 2, [0x01]) });
  // Not DICOM at all.
  cases.push({ name: 'zero-length file', bytes: new Uint8Array(0) });
  cases.push({ name: '"DICM" with nothing after it', bytes: patched(new Uint8Array(132), 128, [0x44, 0x49, 0x43, 0x4d]) });
  cases.push({ name: 'preamble, "DICM" and a group length with nothing after it', bytes: ct.subarray(0, 144) });
  const { default: sharp } = await import('sharp');
  const png = await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toBuffer();
  cases.push({ name: 'PNG named .dcm', bytes: new Uint8Array(png) });
  const metaEnd = 144 + new DataView(ct.buffer, ct.byteOffset).getUint32(140, true); // PS3.10 7.1 group length
  for (let seed = 1; seed <= 6; seed++) {
    const r = rng(seed);
    for (const size of [3, 64, 131, 132, 700, 5000]) {
      const noise = Uint8Array.from({ length: size }, () => Math.floor(r() * 256));
      cases.push({ name: `random ${size} bytes (seed ${seed})`, bytes: noise });
      cases.push({ name: `preamble + DICM + random ${size} bytes (seed ${seed})`, bytes: new Uint8Array([...new Uint8Array(128), 0x44, 0x49, 0x43, 0x4d, ...noise]) });
      cases.push({ name: `valid meta header + random ${size} bytes (seed ${seed})`, bytes: new Uint8Array([...ct.subarray(0, metaEnd), ...noise]) });
    }
  }
  return { cases, notes };
}

/** Child-process side: run every case, print one JSON document. */
async function runCorpus(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'malformed-'));
  try {
    const { cases, notes } = await buildCorpus(dir);
    const outcomes: Outcome[] = [];
    for (const c of cases) {
      const path = join(dir, 'case.dcm');
      await writeFile(path, c.bytes);
      const started = performance.now();
      const o: Outcome = { name: c.name, result: 'loaded', mayLoad: c.mayLoad ?? false, ms: 0 };
      try {
        const image = await loadImage(path);
        const pixels = await loadStored(image);
        if (isSegmentation(image)) readSegmentation(image); // a SEG's references are part of what it says
        o.pixelsEqual = c.original !== undefined && pixels.length === c.original.length && pixels.every((v, i) => v === c.original?.[i]);
      } catch (err) {
        o.result = err instanceof DicomError ? 'error' : 'crash';
        o.code = err instanceof DicomError ? err.code : undefined;
        o.message = err instanceof Error ? err.message : String(err);
        o.fileNamed = err instanceof DicomError && err.file === path && formatUserError(err).startsWith(`${path}: `);
      }
      o.ms = performance.now() - started;
      outcomes.push(o);
    }
    process.stdout.write(JSON.stringify({ outcomes, notes }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.env.MALFORMED_CORPUS_RUNNER === '1') {
  runCorpus().catch((err: unknown) => { process.stderr.write(String((err as Error)?.stack ?? err)); process.exitCode = 1; });
} else {
  void test('malformed-input corpus: typed DicomErrors naming the file, or the original pixels; no crash, no hang', async (t) => {
    const started = performance.now();
    const run = spawnSync(process.execPath, ['--import', 'tsx', __filename], {
      cwd: ROOT, env: { ...process.env, MALFORMED_CORPUS_RUNNER: '1' }, encoding: 'utf8', timeout: CORPUS_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024,
    });
    assert.notEqual(run.signal, 'SIGTERM', `corpus did not finish within ${CORPUS_TIMEOUT_MS / 1000} s (a hang?)`);
    assert.equal(run.status, 0, run.stderr);
    const { outcomes, notes } = JSON.parse(run.stdout) as { outcomes: Outcome[]; notes: string[] };
    for (const note of notes) t.diagnostic(note);
    const slowest = outcomes.reduce((a, b) => (b.ms > a.ms ? b : a));
    t.diagnostic(`${outcomes.length} cases in ${((performance.now() - started) / 1000).toFixed(1)} s; slowest ${slowest.ms.toFixed(1)} ms (${slowest.name})`);
    const codes = new Map<string, number>();
    for (const o of outcomes) {
      const what = `${o.name}: ${o.result}${o.code ? ` ${o.code}` : ''}${o.message ? ` "${o.message}"` : ''}`;
      assert.notEqual(o.result, 'crash', `${what} — not a DicomError`);
      if (o.result === 'loaded') {
        assert.ok(o.mayLoad, `${what} — should have been rejected`);
        assert.ok(o.pixelsEqual, `${what} — loaded but pixels differ from the original`);
      } else {
        assert.ok(o.fileNamed, `${what} — error must name the file`);
        assert.ok(o.message && o.message.length > 8 && !o.message.includes('\n'), `${what} — one readable line`);
        assert.ok(o.ms < 5000, `${what} — took ${o.ms.toFixed(0)} ms`);
        codes.set(o.code as string, (codes.get(o.code as string) ?? 0) + 1);
      }
    }
    t.diagnostic(`error codes: ${JSON.stringify(Object.fromEntries(codes))}`);
    const byName = (name: string) => outcomes.find((o) => o.name === name) as Outcome;
    assert.equal(byName('valid written CT with nested undefined-length sequences').result, 'loaded');
    assert.equal(byName('zero-length file').code, 'NOT_DICOM');
    assert.equal(byName('PNG named .dcm').code, 'NOT_DICOM');
    assert.equal(byName('"DICM" with nothing after it').code, 'TRUNCATED');
    assert.equal(byName('Pixel Data length 0xFFFFFFF0').code, 'TRUNCATED');
    assert.equal(byName('Pixel Data half the frame (length consistent, too short for Rows×Columns)').code, 'TRUNCATED');
    for (const o of outcomes.filter((x) => /truncated at/.test(x.name) && !x.mayLoad)) assert.equal(o.result, 'error', o.name);
    for (const name of ['OB element length 0xFFFFFFF0', 'raw implicit VR data set, UI length 0xFFFFFFF0', 'LO length 0xFFFF runs past the end']) {
      assert.equal(byName(name).code, 'TRUNCATED', name);
    }
    for (const o of outcomes.filter((x) => /delimiter|item tag damaged/.test(x.name))) assert.equal(o.code, 'MALFORMED', `${o.name}: ${o.message}`);
    assert.match(byName('item delimiter tag damaged (E00D → E00E)').message as string, /never closed/);
    for (const base of ['palette image', 'modality LUT image', 'binary SEG']) assert.equal(byName(`${base} as is`).result, 'loaded', base);
    assert.match(byName('palette: descriptors say 300 entries, the data holds 512 bytes').message as string, /Red Palette Color Lookup Table Data \(0028,1201\) holds 512 bytes, which is neither 300 entries of 8 bits nor of 16 bits/);
    assert.match(byName('modality LUT: descriptor says 12 bits per entry').message as string, /Modality LUT Sequence: 12 bits per entry/);
    assert.match(byName('SEG: a frame references segment 7, which is not defined').message as string, /frame 2 references segment 7/);
  });

  void test('IO errors: a missing file and a folder are IO DicomErrors naming the path', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'malformed-io-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    for (const [path, pattern] of [[join(dir, 'missing.dcm'), /no such file/], [dir, /is a directory/]] as const) {
      await assert.rejects(loadImage(path), (err: unknown) => err instanceof DicomError && err.code === 'IO' && err.file === path && pattern.test(err.message));
    }
  });
}
