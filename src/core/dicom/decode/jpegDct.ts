/**
 * Sequential DCT JPEG with Huffman coding, 8- and 12-bit (ITU T.81 processes 1, 2 and 4) — what DICOM's
 * JPEG Baseline (.50) and JPEG Extended (.51, PS3.5 A.4.1) carry.
 *
 * Why hand-written: no maintained npm package decodes 12-bit JPEG. @cornerstonejs/codec-libjpeg-turbo-8bit
 * throws on it; jpeg-js and pdf.js' JpegImage clamp to 8 bits; Cornerstone and dwv each vendor a patched
 * copy of an old pdf.js decoder (not a package of its own, and its IDCT is not libjpeg's). This module can
 * go when a 12-bit libjpeg(-turbo) WASM build is published on npm.
 *
 * Exactness: the reference decoders (GDCM and DCMTK, both built on the IJG library) use IJG's default
 * "islow" integer IDCT (jidctint.c), its range-limit table (jdmaster.c), fancy upsampling (jdsample.c) and
 * integer YCbCr→RGB (jdcolor.c). Those are reproduced here operation for operation, so the output equals
 * theirs bit for bit rather than within a tolerance. Progressive, lossless, hierarchical and arithmetic-coded
 * JPEG are rejected with a clear error (DICOM gives them other transfer syntaxes, all retired or separate).
 */
import { DicomError } from '../errors';
import { toOutput, type DctComponent } from './jpegColor';

/** A decoded sequential JPEG image. `samples`: height×width×components, colour interleaved. */
export interface DctImage {
  width: number;
  height: number;
  /** Sample precision P (8 or 12). */
  precision: number;
  components: number;
  samples: Uint8Array | Uint16Array;
  /** True when YCbCr was converted to RGB. */
  colorConverted: boolean;
}

/** What the stream says about its colour space (T.81 component ids, JFIF APP0, Adobe APP14). */
export interface JpegColorHints {
  componentIds: number[];
  jfif: boolean;
  /** Adobe APP14 transform flag (0: none/RGB, 1: YCbCr), when the marker is present. */
  adobeTransform?: number;
}

/** IJG's default colour-space guess for 3 components (jdapimin.c default_decompress_parms). */
export function ijgGuessYcc(h: JpegColorHints): boolean {
  if (h.jfif) return true;
  if (h.adobeTransform !== undefined) return h.adobeTransform !== 0;
  const [a, b, c] = h.componentIds;
  return !(a === 82 && b === 71 && c === 66);
}

/** ITU T.81 Figure A.6: zig-zag index → natural (row-major) index. */
const NATURAL = Uint8Array.from([0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63]);

const SOF_NAMES: Record<number, string> = {
  0xc2: 'progressive DCT (process 10/12)', 0xc3: 'lossless (process 14; use the JPEG lossless syntax)',
  0xc5: 'hierarchical', 0xc6: 'hierarchical', 0xc7: 'hierarchical', 0xc9: 'arithmetic-coded',
  0xca: 'arithmetic-coded progressive', 0xcb: 'arithmetic-coded lossless', 0xcd: 'hierarchical arithmetic-coded',
  0xce: 'hierarchical arithmetic-coded', 0xcf: 'hierarchical arithmetic-coded',
};

function fail(message: string): never {
  throw new DicomError('DECODE_FAILED', `JPEG: ${message}`);
}

/** A Huffman table in IJG's canonical form (jdhuff.c jpeg_make_d_derived_tbl). */
interface Huffman {
  maxcode: Int32Array; // maxcode[l]: largest code of length l, -1 if none; maxcode[17] sentinel
  valptr: Int32Array; // index into values of the first code of length l, minus that code
  values: Uint8Array;
}

function buildHuffman(counts: Uint8Array, values: Uint8Array): Huffman {
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  let code = 0;
  let k = 0;
  for (let l = 1; l <= 16; l++) {
    if (counts[l - 1]) {
      valptr[l] = k - code;
      code += counts[l - 1];
      k += counts[l - 1];
      maxcode[l] = code - 1;
    }
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  return { maxcode, valptr, values };
}

/** Entropy-coded segment reader: bits MSB first, 0xFF00 unstuffed; a marker ends the data (zeros after). */
class BitReader {
  private acc = 0;
  private bits = 0;
  markerHit = false;
  constructor(private readonly data: Uint8Array, public pos: number) {}

  bit(): number {
    if (this.bits === 0) this.fill();
    this.bits--;
    return (this.acc >>> this.bits) & 1;
  }

  receive(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = (v << 1) | this.bit();
    return v;
  }

  private fill(): void {
    this.bits = 8;
    if (this.markerHit || this.pos >= this.data.length) {
      // IJG jdhuff.c: past the end of the data (or at a marker) it inserts zeros and warns.
      this.acc = 0;
      return;
    }
    const b = this.data[this.pos];
    if (b === 0xff) {
      const next = this.data[this.pos + 1];
      if (next === 0x00) {
        this.pos += 2;
      } else {
        this.markerHit = true;
        this.acc = 0;
        return;
      }
    } else {
      this.pos++;
    }
    this.acc = b;
  }

  decode(h: Huffman): number {
    let code = this.bit();
    let l = 1;
    while (code > h.maxcode[l]) {
      code = (code << 1) | this.bit();
      if (++l > 16) fail('corrupt data: Huffman code longer than 16 bits');
    }
    return h.values[h.valptr[l] + code];
  }

  /** Skip to a restart marker (ITU T.81 F.2.2.5) and resume after it. */
  restart(): void {
    this.bits = 0;
    this.markerHit = false;
    while (this.pos + 1 < this.data.length && !(this.data[this.pos] === 0xff && this.data[this.pos + 1] >= 0xd0 && this.data[this.pos + 1] <= 0xd7)) this.pos++;
    this.pos += 2;
  }
}

/** T.81 F.2.2.1 EXTEND: the s-bit magnitude category value v as a signed difference. */
function extend(v: number, s: number): number {
  return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
}

/**
 * IJG's post-IDCT range-limit table (jdmaster.c prepare_range_limit_table, as offset by
 * IDCT_range_limit): index `x & (4·(MAX+1) − 1)` gives the clamped sample for an IDCT output x.
 */
function rangeLimitTable(precision: number): Uint16Array {
  const max = (1 << precision) - 1;
  const center = 1 << (precision - 1);
  const size = 4 * (max + 1);
  const t = new Uint16Array(size);
  for (let i = 0; i < size; i++) {
    if (i < max + 1 - center) t[i] = i + center;
    else if (i < 2 * (max + 1)) t[i] = max;
    else if (i < size - center) t[i] = 0;
    else t[i] = i - (size - center);
  }
  return t;
}

// jidctint.c constants: FIX(x) = round(x · 2^13).
const F_0_298 = 2446, F_0_390 = 3196, F_0_541 = 4433, F_0_765 = 6270, F_0_899 = 7373, F_1_175 = 9633, F_1_501 = 12299,
  F_1_847 = 15137, F_1_961 = 16069, F_2_053 = 16819, F_2_562 = 20995, F_3_072 = 25172;
const CONST_BITS = 13;

/**
 * IJG jidctint.c jpeg_idct_islow: dequantized coefficients (natural order) → 8×8 samples written into
 * `out` at `offset` with `stride`. PASS1_BITS is 2 for 8-bit and 1 for 12-bit data (jidctint.c).
 */
function idctIslow(c: Int32Array, ws: Int32Array, out: Uint16Array | Uint8Array, offset: number, stride: number, pass1: number, range: Uint16Array): void {
  const mask = range.length - 1;
  const s1 = CONST_BITS - pass1;
  const r1 = 1 << (s1 - 1);
  for (let col = 0; col < 8; col++) {
    if (!c[8 + col] && !c[16 + col] && !c[24 + col] && !c[32 + col] && !c[40 + col] && !c[48 + col] && !c[56 + col]) {
      const dc = c[col] << pass1; // exact shortcut: equals the full computation with zero AC terms
      for (let r = 0; r < 64; r += 8) ws[r + col] = dc;
      continue;
    }
    let z2 = c[16 + col], z3 = c[48 + col];
    let z1 = (z2 + z3) * F_0_541;
    let tmp2 = z1 - z3 * F_1_847;
    let tmp3 = z1 + z2 * F_0_765;
    z2 = c[col]; z3 = c[32 + col];
    let tmp0 = (z2 + z3) << CONST_BITS;
    let tmp1 = (z2 - z3) << CONST_BITS;
    const t10 = tmp0 + tmp3, t13 = tmp0 - tmp3, t11 = tmp1 + tmp2, t12 = tmp1 - tmp2;
    tmp0 = c[56 + col]; tmp1 = c[40 + col]; tmp2 = c[24 + col]; tmp3 = c[8 + col];
    z1 = tmp0 + tmp3; z2 = tmp1 + tmp2; z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * F_1_175;
    tmp0 *= F_0_298; tmp1 *= F_2_053; tmp2 *= F_3_072; tmp3 *= F_1_501;
    z1 *= -F_0_899; z2 *= -F_2_562; z3 = z3 * -F_1_961 + z5; z4 = z4 * -F_0_390 + z5;
    tmp0 += z1 + z3; tmp1 += z2 + z4; tmp2 += z2 + z3; tmp3 += z1 + z4;
    ws[col] = (t10 + tmp3 + r1) >> s1; ws[56 + col] = (t10 - tmp3 + r1) >> s1;
    ws[8 + col] = (t11 + tmp2 + r1) >> s1; ws[48 + col] = (t11 - tmp2 + r1) >> s1;
    ws[16 + col] = (t12 + tmp1 + r1) >> s1; ws[40 + col] = (t12 - tmp1 + r1) >> s1;
    ws[24 + col] = (t13 + tmp0 + r1) >> s1; ws[32 + col] = (t13 - tmp0 + r1) >> s1;
  }
  const s2 = CONST_BITS + pass1 + 3;
  const r2 = 1 << (s2 - 1);
  for (let row = 0; row < 64; row += 8) {
    const o = offset + (row >> 3) * stride;
    let z2 = ws[row + 2], z3 = ws[row + 6];
    let z1 = (z2 + z3) * F_0_541;
    let tmp2 = z1 - z3 * F_1_847;
    let tmp3 = z1 + z2 * F_0_765;
    let tmp0 = (ws[row] + ws[row + 4]) << CONST_BITS;
    let tmp1 = (ws[row] - ws[row + 4]) << CONST_BITS;
    const t10 = tmp0 + tmp3, t13 = tmp0 - tmp3, t11 = tmp1 + tmp2, t12 = tmp1 - tmp2;
    tmp0 = ws[row + 7]; tmp1 = ws[row + 5]; tmp2 = ws[row + 3]; tmp3 = ws[row + 1];
    z1 = tmp0 + tmp3; z2 = tmp1 + tmp2; z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * F_1_175;
    tmp0 *= F_0_298; tmp1 *= F_2_053; tmp2 *= F_3_072; tmp3 *= F_1_501;
    z1 *= -F_0_899; z2 *= -F_2_562; z3 = z3 * -F_1_961 + z5; z4 = z4 * -F_0_390 + z5;
    tmp0 += z1 + z3; tmp1 += z2 + z4; tmp2 += z2 + z3; tmp3 += z1 + z4;
    out[o] = range[((t10 + tmp3 + r2) >> s2) & mask]; out[o + 7] = range[((t10 - tmp3 + r2) >> s2) & mask];
    out[o + 1] = range[((t11 + tmp2 + r2) >> s2) & mask]; out[o + 6] = range[((t11 - tmp2 + r2) >> s2) & mask];
    out[o + 2] = range[((t12 + tmp1 + r2) >> s2) & mask]; out[o + 5] = range[((t12 - tmp1 + r2) >> s2) & mask];
    out[o + 3] = range[((t13 + tmp0 + r2) >> s2) & mask]; out[o + 4] = range[((t13 - tmp0 + r2) >> s2) & mask];
  }
}

interface Frame {
  precision: number;
  width: number;
  height: number;
  comps: Array<DctComponent & { id: number; tq: number; pred: number }>;
  hmax: number;
  vmax: number;
  mcusX: number;
  mcusY: number;
}

/**
 * Decode a sequential DCT Huffman JPEG (baseline or extended, 8 or 12 bits, 1–4 components).
 * `ycc` decides whether 3 components are YCbCr to convert to RGB; by default IJG's guess.
 */
export function decodeJpegDct(data: Uint8Array, ycc: (hints: JpegColorHints) => boolean = ijgGuessYcc): DctImage {
  const u16 = (p: number) => (data[p] << 8) | data[p + 1];
  if (data.length < 4 || u16(0) !== 0xffd8) fail('no SOI marker at the start of the frame (not a JPEG stream)');
  const quant: Array<Uint16Array | undefined> = [];
  const dcTables: Array<Huffman | undefined> = [];
  const acTables: Array<Huffman | undefined> = [];
  let frame: Frame | undefined;
  let restartInterval = 0;
  let jfif = false;
  let adobeTransform: number | undefined;
  let pos = 2;
  let scans = 0;
  for (;;) {
    // Markers may be preceded by any number of 0xFF fill bytes (T.81 B.1.1.2).
    while (pos < data.length && data[pos] !== 0xff) pos++;
    while (pos < data.length && data[pos] === 0xff) pos++;
    if (pos >= data.length) break;
    const marker = 0xff00 | data[pos++];
    if (marker === 0xffd9) break; // EOI
    if (marker >= 0xffd0 && marker <= 0xffd7) continue; // stray RSTn
    if (pos + 2 > data.length) fail('truncated marker segment');
    const len = u16(pos);
    const seg = data.subarray(pos + 2, pos + len);
    if (seg.length !== len - 2) fail(`marker 0x${marker.toString(16)} segment runs past the end of the data`);
    pos += len;
    switch (marker) {
      case 0xffdb: // DQT (T.81 B.2.4.1): precision 0 = 8-bit, 1 = 16-bit values, zig-zag order
        for (let p = 0; p < seg.length;) {
          const pq = seg[p] >> 4, tq = seg[p] & 15;
          const table = new Uint16Array(64);
          for (let k = 0; k < 64; k++) table[k] = pq ? (seg[p + 1 + 2 * k] << 8) | seg[p + 2 + 2 * k] : seg[p + 1 + k];
          quant[tq] = table;
          p += 1 + 64 * (pq ? 2 : 1);
        }
        break;
      case 0xffc4: // DHT (B.2.4.2)
        for (let p = 0; p < seg.length;) {
          const tc = seg[p] >> 4, th = seg[p] & 15;
          const counts = seg.subarray(p + 1, p + 17);
          const total = counts.reduce((a, b) => a + b, 0);
          const table = buildHuffman(counts, seg.slice(p + 17, p + 17 + total));
          (tc === 0 ? dcTables : acTables)[th] = table;
          p += 17 + total;
        }
        break;
      case 0xffdd: // DRI
        restartInterval = (seg[0] << 8) | seg[1];
        break;
      case 0xffe0:
        if (seg[0] === 0x4a && seg[1] === 0x46 && seg[2] === 0x49 && seg[3] === 0x46 && seg[4] === 0) jfif = true;
        break;
      case 0xffee: // Adobe APP14: transform flag at byte 11
        if (seg.length >= 12 && String.fromCharCode(...seg.subarray(0, 5)) === 'Adobe') adobeTransform = seg[11];
        break;
      case 0xffc0: case 0xffc1: { // SOF0 baseline, SOF1 extended sequential Huffman
        const precision = seg[0];
        if (precision !== 8 && precision !== 12) fail(`sample precision ${precision} is not 8 or 12 (T.81 B.2.2)`);
        const height = (seg[1] << 8) | seg[2], width = (seg[3] << 8) | seg[4], n = seg[5];
        if (!height || !width || n < 1 || n > 4) fail(`bad frame header (${width}×${height}, ${n} components)`);
        const comps = [];
        for (let i = 0; i < n; i++) {
          const b = 6 + 3 * i;
          comps.push({ id: seg[b], h: seg[b + 1] >> 4, v: seg[b + 1] & 15, tq: seg[b + 2], pred: 0, width: 0, height: 0, stride: 0, plane: new Uint16Array(0) });
        }
        const hmax = Math.max(...comps.map((c) => c.h)), vmax = Math.max(...comps.map((c) => c.v));
        const mcusX = Math.ceil(width / (8 * hmax)), mcusY = Math.ceil(height / (8 * vmax));
        for (const c of comps) {
          if (c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4) fail(`bad sampling factors ${c.h}×${c.v}`);
          c.width = Math.ceil((width * c.h) / hmax);
          c.height = Math.ceil((height * c.v) / vmax);
          c.stride = mcusX * c.h * 8;
          c.plane = new Uint16Array(c.stride * mcusY * c.v * 8);
        }
        frame = { precision, width, height, comps, hmax, vmax, mcusX, mcusY };
        break;
      }
      case 0xffda: { // SOS (B.2.3) followed by entropy-coded data
        if (!frame) fail('scan before frame header');
        const f = frame;
        const ns = seg[0];
        const scanComps = [];
        for (let i = 0; i < ns; i++) {
          const c = f.comps.find((k) => k.id === seg[1 + 2 * i]);
          if (!c) fail(`scan names component ${seg[1 + 2 * i]}, not in the frame`);
          const dc = dcTables[seg[2 + 2 * i] >> 4], ac = acTables[seg[2 + 2 * i] & 15], q = quant[c.tq];
          if (!dc || !ac) fail('scan uses an undefined Huffman table');
          if (!q) fail(`component ${c.id} uses undefined quantization table ${c.tq}`);
          scanComps.push({ c, dc, ac, q });
        }
        // Ss/Se/Ah/Al mean nothing in a sequential scan; IJG (jdinput.c) only warns when they are not
        // 0/63/0/0 and decodes all 64 coefficients, and so do we (pydicom's JPEG-lossy.dcm has Se = 0).
        pos = decodeScan(data, pos, f, scanComps, restartInterval);
        scans++;
        break;
      }
      default:
        if (SOF_NAMES[marker & 0xff]) fail(`${SOF_NAMES[marker & 0xff]} JPEG is not supported here (only sequential DCT, T.81 processes 1, 2 and 4)`);
    }
  }
  if (!frame) fail('no frame header (SOF0/SOF1) found');
  if (scans === 0) fail('no scan found');
  const convert = frame.comps.length === 3 && ycc({ componentIds: frame.comps.map((c) => c.id), jfif, adobeTransform });
  const samples = toOutput(frame.comps, frame.width, frame.height, frame.hmax, frame.vmax, frame.precision, convert);
  return { width: frame.width, height: frame.height, precision: frame.precision, components: frame.comps.length, samples, colorConverted: convert };
}

/** Decode one scan's entropy-coded data starting at `pos`; returns the position after it. */
function decodeScan(data: Uint8Array, pos: number, f: Frame, scan: Array<{ c: Frame['comps'][number]; dc: Huffman; ac: Huffman; q: Uint16Array }>, restartInterval: number): number {
  const reader = new BitReader(data, pos);
  const pass1 = f.precision === 8 ? 2 : 1;
  const range = rangeLimitTable(f.precision);
  const coef = new Int32Array(64);
  const ws = new Int32Array(64);
  for (const s of scan) s.c.pred = 0;
  const single = scan.length === 1;
  // Non-interleaved scans (A.2.2) cover the component's own blocks; interleaved (A.2.3) the MCU grid.
  const mcusX = single ? Math.ceil(scan[0].c.width / 8) : f.mcusX;
  const mcusY = single ? Math.ceil(scan[0].c.height / 8) : f.mcusY;
  const total = mcusX * mcusY;
  const block = (s: (typeof scan)[number], bx: number, by: number) => {
    coef.fill(0);
    const { c, q } = s;
    const t = reader.decode(s.dc);
    if (t > 16) fail('corrupt data: DC category above 16');
    c.pred += t ? extend(reader.receive(t), t) : 0;
    coef[0] = c.pred * q[0];
    for (let k = 1; k < 64;) {
      const rs = reader.decode(s.ac);
      const r = rs >> 4, sz = rs & 15;
      if (sz) {
        k += r;
        if (k > 63) break;
        coef[NATURAL[k]] = extend(reader.receive(sz), sz) * q[k];
        k++;
      } else if (r === 15) {
        k += 16;
      } else {
        break;
      }
    }
    idctIslow(coef, ws, c.plane, by * 8 * c.stride + bx * 8, c.stride, pass1, range);
  };
  for (let m = 0; m < total; m++) {
    if (restartInterval && m > 0 && m % restartInterval === 0) {
      reader.restart();
      for (const s of scan) s.c.pred = 0;
    }
    const mx = m % mcusX, my = (m / mcusX) | 0;
    if (single) {
      block(scan[0], mx, my);
    } else {
      for (const s of scan) {
        for (let v = 0; v < s.c.v; v++) for (let h = 0; h < s.c.h; h++) block(s, mx * s.c.h + h, my * s.c.v + v);
      }
    }
  }
  // Continue from the next marker (T.81 B.1.1.5: entropy-coded data ends at a marker that is not RSTn).
  let p = reader.pos;
  while (p + 1 < data.length && !(data[p] === 0xff && data[p + 1] !== 0x00 && !(data[p + 1] >= 0xd0 && data[p + 1] <= 0xd7))) p++;
  return p;
}
