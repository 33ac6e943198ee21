/**
 * PALETTE COLOR (PS3.3 C.7.6.3.1.5 and C.7.9): the Red/Green/Blue Palette Color Lookup Table Descriptors
 * (0028,1101-1103) and their Data (0028,1201-1203) or Segmented Data (0028,1221-1223, C.7.9.2), read once and
 * validated at the boundary; and the lookup itself, as pydicom 3's `apply_color_lut`.
 */
import type { DataSet } from 'dicom-parser';
import { DicomError } from './errors';

/**
 * A palette: stored value v maps to entry `v − first`, clamped to the first and last entries (C.7.6.3.1.5: values
 * below the first mapped value take the first entry, above the last the last). `red`/`green`/`blue`: one entry per
 * mapped value, equal lengths. `bits`: the width of the entries as stored, 8 or 16 (pydicom's "actual depth", which
 * can be 16 where the descriptor says 8: 8-bit entries written in 16-bit words); `descriptorBits` is the third
 * descriptor value as written.
 */
export interface Palette {
  first: number;
  bits: 8 | 16;
  descriptorBits: number;
  segmented: boolean;
  red: Uint16Array;
  green: Uint16Array;
  blue: Uint16Array;
}

const CHANNELS = [
  { name: 'Red', descriptor: 'x00281101', data: 'x00281201', segmented: 'x00281221' },
  { name: 'Green', descriptor: 'x00281102', data: 'x00281202', segmented: 'x00281222' },
  { name: 'Blue', descriptor: 'x00281103', data: 'x00281203', segmented: 'x00281223' },
] as const;

/** How the data set's binary values are laid out (8-bit OW data in big endian is word-swapped on disk). */
interface Encoding {
  littleEndian: boolean;
}

/** Three raw 16-bit descriptor values, whatever the VR says (US, SS, or none in implicit VR). */
function descriptor(ds: DataSet, tag: string, enc: Encoding): [number, number, number] | undefined {
  const el = ds.elements[tag];
  if (!el || el.length < 6) return undefined;
  const b = ds.byteArray.subarray(el.dataOffset, el.dataOffset + 6);
  const w = (i: number) => (enc.littleEndian ? b[2 * i] | (b[2 * i + 1] << 8) : (b[2 * i] << 8) | b[2 * i + 1]);
  return [w(0), w(1), w(2)];
}

/** The element's value bytes, 8-bit OW data un-swapped in big endian (PS3.5 A.3: OW is a stream of words). */
function valueBytes(ds: DataSet, tag: string, enc: Encoding, entryBytes: number): Uint8Array {
  const el = ds.elements[tag];
  const bytes = ds.byteArray.subarray(el.dataOffset, el.dataOffset + el.length);
  if (enc.littleEndian || entryBytes !== 1 || el.vr === 'OB') return bytes;
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i + 1 < bytes.length; i += 2) {
    out[i] = bytes[i + 1];
    out[i + 1] = bytes[i];
  }
  return out;
}

/** Entries of `entryBytes` each (1 or 2) as numbers, in the data set's byte order. */
function words(bytes: Uint8Array, entryBytes: number, enc: Encoding): Uint16Array {
  if (entryBytes === 1) return Uint16Array.from(bytes);
  const n = bytes.length >> 1;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) out[i] = enc.littleEndian ? bytes[2 * i] | (bytes[2 * i + 1] << 8) : (bytes[2 * i] << 8) | bytes[2 * i + 1];
  return out;
}

/** numpy's `around` (round half to even), which pydicom applies to linear segments. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Expand segmented LUT data (PS3.3 C.7.9.2) into entries. Opcode 0 discrete (length, then that many entries), 1
 * linear (length, end value: the line from the previous entry, excluded, to the end value, included; interpolated
 * and rounded as pydicom: numpy linspace, round half to even), 2 indirect (number of segments, then a 32-bit byte
 * offset from the start of the data as low and high 16-bit halves — 4 entries in an 8-bit table, 2 in a 16-bit one;
 * C.7.9.2.3: an indirect segment copies segments and shall not copy another indirect one). Anything else is
 * refused, naming the opcode and where it was found.
 */
export function expandSegmented(data: Uint16Array, entryBytes: 1 | 2, what: string): number[] {
  const lut: number[] = [];
  const fail = (why: string): never => {
    throw new DicomError('MALFORMED', `${what}: ${why} (PS3.3 C.7.9.2)`);
  };
  const run = (start: number, maxSegments: number, inIndirect: boolean): void => {
    let o = start;
    let done = 0;
    // `o + 1 < length`: a trailing pad entry (odd 8-bit data in an even-length element) is not a segment.
    while (o + 1 < data.length && done < maxSegments) {
      const opcode = data[o];
      const length = data[o + 1];
      const at = o;
      o += 2;
      if (opcode === 0) {
        if (o + length > data.length) fail(`discrete segment at entry ${at} needs ${length} entries, ${data.length - o} left`);
        for (let i = 0; i < length; i++) lut.push(data[o + i]);
        o += length;
      } else if (opcode === 1) {
        if (lut.length === 0) fail(`linear segment at entry ${at} comes first (it needs a previous value)`);
        if (o >= data.length) fail(`linear segment at entry ${at} has no end value`);
        const y0 = lut[lut.length - 1];
        const y1 = data[o++];
        if (y0 === y1 || length === 1) {
          for (let i = 0; i < length; i++) lut.push(y1);
        } else {
          // numpy.linspace(y0 + step, y1, length) in float64, its last value exactly y1.
          const start0 = y0 + (y1 - y0) / length;
          const step = (y1 - start0) / (length - 1);
          for (let i = 0; i < length - 1; i++) lut.push(roundHalfEven(step === 0 ? start0 : i * step + start0));
          if (length > 0) lut.push(y1);
        }
      } else if (opcode === 2) {
        if (inIndirect) fail(`indirect segment at entry ${at} inside an indirect segment (not allowed: C.7.9.2.3)`);
        if (lut.length === 0) fail(`indirect segment at entry ${at} comes first (nothing to copy yet)`);
        const n = entryBytes === 1 ? 4 : 2;
        if (o + n > data.length) fail(`indirect segment at entry ${at} is cut short`);
        const offsetBytes = entryBytes === 1
          ? ((data[o] | (data[o + 1] << 8)) + (data[o + 2] | (data[o + 3] << 8)) * 0x10000)
          : data[o] + data[o + 1] * 0x10000;
        o += n;
        if (offsetBytes % entryBytes !== 0 || offsetBytes / entryBytes >= data.length) {
          fail(`indirect segment at entry ${at} points to byte ${offsetBytes}, outside the ${data.length * entryBytes} bytes of data`);
        }
        run(offsetBytes / entryBytes, length, true);
      } else {
        fail(`unknown segment opcode ${opcode} at entry ${at} (0 discrete, 1 linear, 2 indirect)`);
      }
      done++;
    }
    if (inIndirect && done < maxSegments) fail(`indirect segment copies ${maxSegments} segments, only ${done} follow its offset`);
  };
  run(0, Infinity, false);
  return lut;
}

/**
 * Read the palette of a PALETTE COLOR image. `littleEndian`: the data set's byte order; `pixelRepresentation`
 * decides whether the first mapped value is signed (as pydicom reads the US-or-SS descriptor). A palette that cannot
 * be applied exactly — a descriptor or data missing, channels that disagree, data whose length fits neither 8- nor
 * 16-bit entries, a segmented table that does not expand to the declared number of entries — is refused as
 * MALFORMED, naming the attribute and the problem.
 */
export function readPalette(ds: DataSet, littleEndian: boolean, pixelRepresentation: number, fileName?: string): Palette {
  const enc: Encoding = { littleEndian };
  const bad = (why: string): never => {
    throw new DicomError('MALFORMED', `PALETTE COLOR: ${why}`, fileName);
  };
  const descs = CHANNELS.map((c) => descriptor(ds, c.descriptor, enc) ?? bad(`${c.name} Palette Color Lookup Table Descriptor (0028,${c.descriptor.slice(5)}) is missing or has fewer than 3 values`));
  const [entries0, first0, bits] = descs[0];
  for (let k = 1; k < 3; k++) {
    if (descs[k].some((v, i) => v !== descs[0][i])) bad(`the ${CHANNELS[k].name} descriptor [${descs[k].join(', ')}] differs from the Red one [${descs[0].join(', ')}]`);
  }
  if (bits !== 8 && bits !== 16) bad(`descriptor says ${bits} bits per entry (8 or 16 are defined: C.7.6.3.1.5)`);
  const entries = entries0 === 0 ? 65536 : entries0; // C.7.6.3.1.5: 0 means 2^16
  const first = pixelRepresentation === 1 && first0 > 0x7fff ? first0 - 0x10000 : first0;
  const hasData = CHANNELS.map((c) => Boolean(ds.elements[c.data]));
  const hasSegments = CHANNELS.map((c) => Boolean(ds.elements[c.segmented]));
  let luts: Uint16Array[];
  let width: 8 | 16;
  let segmented = false;
  if (hasData.some(Boolean)) {
    const missing = CHANNELS.filter((_, k) => !hasData[k]).map((c) => `${c.name} (0028,${c.data.slice(5)})`);
    if (missing.length) bad(`Palette Color Lookup Table Data missing for ${missing.join(', ')}`);
    const lengths = CHANNELS.map((c) => ds.elements[c.data].length);
    // pydicom: entry width = data bytes / entries. 8-bit entries in 16-bit words (old writers) read as 16-bit.
    // An odd 8-bit table may carry one pad byte (PS3.5 7.1: values have even length).
    const widthOf = (len: number): 8 | 16 | undefined => (len === 2 * entries ? 16 : len === entries || (entries % 2 === 1 && len === entries + 1) ? 8 : undefined);
    const w = widthOf(lengths[0]);
    if (!w) return bad(`Red Palette Color Lookup Table Data (0028,1201) holds ${lengths[0]} bytes, which is neither ${entries} entries of 8 bits nor of 16 bits (descriptor: ${entries} entries, ${bits} bits)`);
    CHANNELS.forEach((c, k) => {
      if (widthOf(lengths[k]) !== w) bad(`${c.name} Palette Color Lookup Table Data holds ${lengths[k]} bytes, the Red one ${lengths[0]}`);
    });
    width = w;
    luts = CHANNELS.map((c) => words(valueBytes(ds, c.data, enc, w / 8), w / 8, enc).subarray(0, entries));
  } else if (hasSegments.some(Boolean)) {
    const missing = CHANNELS.filter((_, k) => !hasSegments[k]).map((c) => `${c.name} (0028,${c.segmented.slice(5)})`);
    if (missing.length) bad(`Segmented Palette Color Lookup Table Data missing for ${missing.join(', ')}`);
    // Segments are made of entries of the descriptor's width (pydicom reads them so too).
    width = bits as 8 | 16;
    const entryBytes = width / 8 as 1 | 2;
    segmented = true;
    luts = CHANNELS.map((c) => {
      const expanded = expandSegmented(words(valueBytes(ds, c.segmented, enc, entryBytes), entryBytes, enc), entryBytes, `PALETTE COLOR: Segmented ${c.name} Palette Color Lookup Table Data (0028,${c.segmented.slice(5)})`);
      if (expanded.length !== entries) bad(`Segmented ${c.name} Palette Color Lookup Table Data expands to ${expanded.length} entries, the descriptor says ${entries} (C.7.9.2)`);
      if (width === 8 && expanded.some((v) => v > 255)) bad(`Segmented ${c.name} Palette Color Lookup Table Data has values above 255 in an 8-bit table`);
      return Uint16Array.from(expanded);
    });
  } else {
    return bad('no Palette Color Lookup Table Data (0028,1201-1203) nor Segmented Palette Color Lookup Table Data (0028,1221-1223)');
  }
  return { first, bits: width, descriptorBits: bits, segmented, red: luts[0], green: luts[1], blue: luts[2] };
}

/** The palette entry index of stored value `v`: v − first, clamped to the table (C.7.6.3.1.5). */
function entryIndex(v: number, first: number, last: number): number {
  const k = v - first;
  return k < 0 ? 0 : k > last ? last : k;
}

/**
 * Apply the palette to one frame of indices (rows×columns): rows×columns×3 RGB interleaved, in the entries' own
 * width (Uint8Array for 8-bit entries, Uint16Array for 16-bit), as pydicom's `apply_color_lut` (without an alpha
 * channel).
 */
export function applyPalette(indices: ArrayLike<number>, palette: Palette): Uint8Array | Uint16Array {
  const n = indices.length;
  const out = palette.bits === 8 ? new Uint8Array(3 * n) : new Uint16Array(3 * n);
  const last = palette.red.length - 1;
  const { red, green, blue, first } = palette;
  for (let i = 0; i < n; i++) {
    const k = entryIndex(indices[i], first, last);
    out[3 * i] = red[k];
    out[3 * i + 1] = green[k];
    out[3 * i + 2] = blue[k];
  }
  return out;
}

/**
 * The palette as 8-bit display values (three tables of entries): 8-bit entries as they are; 16-bit entries scaled
 * down (>> 8, C.7.6.3.1.5: the full 16-bit range is the display range), except when the descriptor says 8 bits and
 * every entry fits in 8 bits (8-bit values written in 16-bit words) — those are taken as they are.
 */
export function paletteRgb8(palette: Palette): { red: Uint8Array; green: Uint8Array; blue: Uint8Array } {
  const fits = palette.descriptorBits === 8 && [palette.red, palette.green, palette.blue].every((t) => t.every((v) => v <= 255));
  const shift = palette.bits === 16 && !fits ? 8 : 0;
  const to8 = (t: Uint16Array) => Uint8Array.from(t, (v) => v >> shift);
  return { red: to8(palette.red), green: to8(palette.green), blue: to8(palette.blue) };
}
