// The decode pool (src/core/dicom/decodePool.ts): worker threads give exactly what the single-thread path
// gives (loadImage → decodeFrame → modalityValues), in input order; errors arrive as DicomError naming the
// file; the pool starts lazily, stays within its size, never keeps the process alive, and closes.
// Files: the dcmtk/gdcm fixtures of test/fixtures/make-fixtures.sh when present, else a native file written
// here, so the pool is always tested.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, describe, test } from 'node:test';
import { DecodePool, MAX_POOL_SIZE, decodeSeries, encodeGray8Png } from '../../src/core/dicom/decodePool';
import { DicomError } from '../../src/core/dicom/errors';
import { loadImage, loadModality, loadStored } from '../../src/core/dicom/load';
import { modalityValues } from '../../src/core/dicom/lut';
import { PRESETS, windowModality, windowToGray8 } from '../../src/core/dicom/voi';

const ROOT = resolve(__dirname, '..', '..');
const FIXTURES = join(ROOT, 'test-output', 'fixtures');
const WORK = join(ROOT, 'test-output', 'decode-pool');

/** Fixtures when they can be made here; the list may be empty. */
function fixtureFiles(): string[] {
  try {
    execFileSync('bash', [join(ROOT, 'test', 'fixtures', 'make-fixtures.sh'), FIXTURES], { stdio: ['ignore', 'ignore', 'ignore'] });
  } catch {
    // tools missing: whatever is there (maybe nothing)
  }
  const wanted = ['ct_s16.jpeg-sv1.dcm', 'ct_s16.jpeg-p14.dcm', 'ct_u12_rescale.jpeg-sv1-gdcm.dcm', 'rgb_u8.jpeg-p14-sv2.dcm', 'ct_odd.rle.dcm', 'ct_s16.ele.dcm', 'mr_u8.jpeg-sv1.dcm'];
  return wanted.map((f) => join(FIXTURES, f)).filter((f) => existsSync(f));
}

/** A small Explicit VR Little Endian CT file (PS3.10 meta + image pixel module), 16-bit signed, rescaled. */
function nativeFile(path: string, rows: number, columns: number, seed: number, extra: { monochrome1?: boolean; padding?: [number, number]; slope?: string } = {}): void {
  const el = (group: number, element: number, vr: string, value: Buffer): Buffer => {
    const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
    const head = Buffer.alloc(long ? 12 : 8);
    head.writeUInt16LE(group, 0);
    head.writeUInt16LE(element, 2);
    head.write(vr, 4, 'latin1');
    if (long) head.writeUInt32LE(value.length, 8);
    else head.writeUInt16LE(value.length, 6);
    return Buffer.concat([head, value]);
  };
  const str = (s: string) => Buffer.from(s.length % 2 ? `${s}\0` : s, 'latin1');
  const text = (s: string) => Buffer.from(s.length % 2 ? `${s} ` : s, 'latin1');
  const us = (v: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(v);
    return b;
  };
  const ss = (v: number) => {
    const b = Buffer.alloc(2);
    b.writeInt16LE(v);
    return b;
  };
  const pixels = Buffer.alloc(rows * columns * 2);
  for (let i = 0; i < rows * columns; i++) pixels.writeInt16LE(((i * 37 + seed * 1009) % 3000) - 1000, i * 2);
  const meta = Buffer.concat([
    el(0x0002, 0x0001, 'OB', Buffer.from([0, 1])),
    el(0x0002, 0x0002, 'UI', str('1.2.840.10008.5.1.4.1.1.2')),
    el(0x0002, 0x0003, 'UI', str(`1.2.3.4.${seed}`)),
    el(0x0002, 0x0010, 'UI', str('1.2.840.10008.1.2.1')),
  ]);
  const body = Buffer.concat([
    el(0x0008, 0x0060, 'CS', text('CT')),
    el(0x0020, 0x0013, 'IS', text(String(seed))),
    el(0x0028, 0x0002, 'US', us(1)),
    el(0x0028, 0x0004, 'CS', text(extra.monochrome1 ? 'MONOCHROME1' : 'MONOCHROME2')),
    el(0x0028, 0x0010, 'US', us(rows)),
    el(0x0028, 0x0011, 'US', us(columns)),
    el(0x0028, 0x0100, 'US', us(16)),
    el(0x0028, 0x0101, 'US', us(16)),
    el(0x0028, 0x0102, 'US', us(15)),
    el(0x0028, 0x0103, 'US', us(1)),
    ...(extra.padding ? [el(0x0028, 0x0120, 'SS', ss(extra.padding[0])), el(0x0028, 0x0121, 'SS', ss(extra.padding[1]))] : []),
    el(0x0028, 0x1052, 'DS', text('-1024')),
    el(0x0028, 0x1053, 'DS', text(extra.slope ?? '1')),
    el(0x7fe0, 0x0010, 'OW', pixels),
  ]);
  const groupLength = el(0x0002, 0x0000, 'UL', Buffer.from(new Uint32Array([meta.length]).buffer));
  writeFileSync(path, Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), groupLength, meta, body]));
}

function testFiles(): string[] {
  mkdirSync(WORK, { recursive: true });
  const natives = [1, 2, 3].map((seed) => {
    const path = join(WORK, `native-${seed}.dcm`);
    nativeFile(path, 24 + seed, 31, seed);
    return path;
  });
  return [...fixtureFiles(), ...natives];
}

/**
 * What the pool's `values` are: modalityValues of the decoded frame. For grey files that is loadModality; for the
 * colour fixtures (RGB samples), which loadModality refuses since 3646539, the samples as they are.
 */
async function singleThread(path: string): Promise<Float32Array> {
  const image = await loadImage(path);
  return modalityValues(await loadStored(image, 0), image.info);
}

void describe('decode pool', () => {
  const files = testFiles();
  const pools: DecodePool[] = [];
  const pool = (size?: number) => {
    const p = new DecodePool({ size });
    pools.push(p);
    return p;
  };
  after(() => Promise.all(pools.map((p) => p.close())));

  void test('series(): every slice equals the single-thread decode, in input order', async () => {
    const p = pool(2);
    assert.equal(p.threads, 0, 'no thread before the first request');
    const order = [...files, ...files.slice().reverse()];
    let i = 0;
    for await (const slice of p.series(order, { readAhead: 3 })) {
      assert.equal(slice.path, order[i], 'input order');
      assert.equal(slice.frame, 0);
      const expected = await singleThread(order[i]);
      assert.ok(slice.values instanceof Float32Array);
      assert.equal(slice.values.length, slice.info.rows * slice.info.columns * slice.info.samplesPerPixel);
      assert.deepEqual(slice.values, expected, `${order[i]}: values differ from loadModality`);
      i++;
    }
    assert.equal(i, order.length);
    assert.ok(p.threads >= 1 && p.threads <= 2, `${p.threads} threads for a pool of 2`);
  });

  void test('decode(): all at once, frames of a multi-frame file, info carried', async () => {
    const p = pool();
    const multi = join(FIXTURES, 'ct_multi.jpeg-sv1.dcm');
    const all = await Promise.all(files.map((f) => p.decode(f)));
    for (const [i, slice] of all.entries()) assert.deepEqual(slice.values, await singleThread(files[i]));
    assert.equal(all.at(-1)?.info.instanceNumber, 3);
    assert.equal(all.at(-1)?.info.rescaleIntercept, -1024);
    if (existsSync(multi)) {
      const image = await loadImage(multi);
      for (let frame = 0; frame < image.info.frames; frame++) {
        assert.deepEqual((await p.decode(multi, frame)).values, await loadModality(image, frame), `frame ${frame}`);
      }
    }
  });

  void test('decodeSlice(): grey in the worker equals windowModality of the HU, PNGs equal encodeGray8Png of that grey', async () => {
    const p = pool(2);
    const windows = [PRESETS.bone, PRESETS.soft, { center: 40.5, width: 81.25 }];
    let monochrome = 0;
    for (const f of files) {
      const expected = await singleThread(f);
      const image = await loadImage(f);
      if (image.info.samplesPerPixel !== 1) {
        await assert.rejects(p.decodeSlice(f, { window: PRESETS.bone }), (err: unknown) => err instanceof DicomError && err.code === 'UNSUPPORTED_PIXEL_FORMAT' && err.file === f);
        continue;
      }
      monochrome++;
      for (const window of windows) {
        const s = await p.decodeSlice(f, { window, values: true, gray: true });
        assert.deepEqual(s.values, expected, `${f}: values with a window`);
        const reference = windowModality(expected, image.info, window);
        assert.deepEqual(s.gray, reference, `${f} ${window.center}/${window.width}: grey differs from windowModality(values)`);
        // MONOCHROME2 without padding: also plain windowToGray8 of the HU values.
        if (image.info.photometricInterpretation === 'MONOCHROME2' && image.info.pixelPaddingValue === undefined) assert.deepEqual(s.gray, windowToGray8(expected, window));
      }
      const { rows, columns } = image.info;
      const specs = [{ width: columns, height: rows, level: 1 }, { width: 17, height: 13, level: 6 }];
      const s = await p.decodeSlice(f, { window: PRESETS.bone, values: false, png: specs });
      assert.equal(s.values, undefined, 'values: false sends no values');
      assert.equal(s.gray, undefined, 'no grey unless asked for when PNGs are');
      const gray = windowModality(expected, image.info, PRESETS.bone);
      assert.equal(s.png?.length, 2);
      for (const [i, spec] of specs.entries()) assert.deepEqual(Buffer.from(s.png?.[i] ?? []), await encodeGray8Png(gray, rows, columns, spec), `${f}: PNG ${spec.width}×${spec.height}`);
    }
    assert.ok(monochrome >= 3, 'the native files at least');
    // MONOCHROME1, Pixel Padding Value/Range Limit and a fractional slope go through the same tables.
    for (const [i, extra] of [{ monochrome1: true, padding: [-1000, -600] as [number, number] }, { padding: [1900, 1600] as [number, number], slope: '0.37' }, { monochrome1: true, slope: '2.5' }].entries()) {
      const f = join(WORK, `native-extra-${i}.dcm`);
      nativeFile(f, 40, 33, 7 + i, extra);
      const image = await loadImage(f);
      const hu = await singleThread(f);
      const s = await p.decodeSlice(f, { window: PRESETS.bone });
      assert.equal(s.values?.length, hu.length);
      assert.deepEqual(s.gray, windowModality(hu, image.info, PRESETS.bone), JSON.stringify(extra));
      if (extra.padding) {
        const unpadded = windowModality(hu, { ...image.info, pixelPaddingValue: undefined, pixelPaddingRangeLimit: undefined }, PRESETS.bone);
        assert.ok(s.gray?.some((g, k) => g === 0 && unpadded[k] !== 0), 'padding turns visible pixels black');
      }
    }
    await assert.rejects(p.decodeSlice(files[0], { png: [{ width: 8, height: 8, level: 1 }] }), /need a window/);
    await assert.rejects(p.decodeSlice(files[0], { window: { center: 0, width: 0 } }), /width ≥ 1/);
    await assert.rejects(p.decodeSlice(files[0], { window: PRESETS.bone, png: [{ width: 0, height: 8, level: 1 }] }), /PNG size/);
  });

  void test('errors arrive as DicomError naming the file; the pool keeps working', async () => {
    const p = pool(2);
    const missing = join(WORK, 'no-such-file.dcm');
    const junk = join(WORK, 'junk.dcm');
    writeFileSync(junk, 'this is not a DICOM file at all, just text');
    const truncated = join(WORK, 'truncated.dcm');
    const source = files.find((f) => f.endsWith('ct_s16.jpeg-sv1.dcm')) ?? files[0];
    const bytes = readFileSync(source);
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 5000));
    const expectCode = async (path: string, codes: string[], frame = 0) => {
      await assert.rejects(p.decode(path, frame), (err: unknown) => {
        assert.ok(err instanceof DicomError, `${path}: ${String(err)}`);
        assert.equal(err.file, path);
        assert.ok(codes.includes(err.code), `${path}: code ${err.code}, message ${err.message}`);
        return true;
      });
    };
    await expectCode(missing, ['IO']);
    await expectCode(junk, ['NOT_DICOM', 'MALFORMED', 'TRUNCATED']);
    await expectCode(truncated, ['TRUNCATED', 'MALFORMED', 'DECODE_FAILED']);
    await expectCode(files[0], ['BAD_FRAME'], 99);
    // In a series the failure surfaces at its position, after the good slices before it.
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const slice of p.series([files[0], missing, files[1]])) seen.push(slice.path);
    }, (err: unknown) => err instanceof DicomError && err.file === missing);
    assert.deepEqual(seen, [files[0]]);
    assert.deepEqual((await p.decode(files[0])).values, await singleThread(files[0]), 'still works after errors');
  });

  void test('decodeSeries() closes its own pool, also on break', async () => {
    let n = 0;
    for await (const slice of decodeSeries(files, { size: 1 })) {
      assert.ok(slice.values.length > 0);
      if (++n === 2) break;
    }
    assert.equal(n, Math.min(2, files.length));
  });

  void test('size is validated and bounded; a closed pool refuses work', async () => {
    assert.throws(() => new DecodePool({ size: 0 }), /size must be a whole number/);
    assert.throws(() => new DecodePool({ size: 1.5 }), /size must be a whole number/);
    assert.equal(new DecodePool({ size: 10_000 }).size, MAX_POOL_SIZE);
    const p = new DecodePool({ size: 1 });
    const inFlight = p.decode(files[0]);
    inFlight.catch(() => undefined);
    await p.close();
    await assert.rejects(inFlight, /closed/);
    await assert.rejects(p.decode(files[0]), (err: unknown) => err instanceof DicomError && /closed/.test(err.message));
    assert.equal(p.threads, 0);
  });

  void test('an idle pool does not keep the process alive', () => {
    // A child process that decodes one file and never closes its pool must still exit by itself.
    const script = `
      const { DecodePool } = require(${JSON.stringify(join(ROOT, 'src/core/dicom/decodePool.ts'))});
      const pool = new DecodePool({ size: 2 });
      pool.decode(${JSON.stringify(files[0])}).then((s) => console.log('decoded', s.values.length));
    `;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.match(out, /^decoded \d+/);
  });
});
