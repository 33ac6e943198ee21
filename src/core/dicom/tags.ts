/**
 * The data behind the tags panel: every data element of a DICOM file as display rows (tag, keyword, name,
 * VR, value text), sequences flattened into rows with a depth, and a search over them. Built in the host
 * from {@link parseDicom}'s data set and sent to the webview as plain JSON; pixel data is never copied or
 * read (its row says how many bytes it has).
 *
 * Names come from dictionary.json (PS3.6, generated from pydicom by scripts/make-dicom-dictionary.py).
 */
import type * as dicomParser from 'dicom-parser';
import { TextDecoder } from 'node:util';
import dictionaryJson from './dictionary.json';
import { DicomError } from './errors';
import { parseDicom } from './parse';
import { TS } from './uids';

/** One row of the tags panel: a data element, or an item of a sequence. */
export interface TagEntry {
  /** Position of this row in the array {@link listTags} returned (rows are in file order). */
  readonly index: number;
  /** `index` of the enclosing row (the item for an element inside a sequence, the sequence for an item); -1 at the top. */
  readonly parent: number;
  /** A data element, or a sequence item (FFFE,E000) grouping the elements below it. */
  readonly kind: 'element' | 'item';
  /** "(gggg,eeee)" in upper-case hex, as PS3.6 writes tags. */
  readonly tag: string;
  /** PS3.6 keyword ("PatientName"); "Item" for items; empty for private and unknown elements. */
  readonly keyword: string;
  /** PS3.6 name ("Patient's Name"); "Private Creator", "Private tag data", "Unknown" or "Item N" otherwise. */
  readonly name: string;
  /** Value representation: from the file (explicit VR) or the dictionary (implicit VR); empty for items. */
  readonly vr: string;
  /**
   * The value as display text: strings trimmed, multiple values joined with `\`; binary numbers
   * (US/SS/UL/SL/FL/FD/SV/UV) and AT tags joined with `\`; "<N bytes>" for OB/OW/OD/OF/OL/OV/UN and pixel
   * data; "N items" for sequences. Cut at `maxValueLength` characters, ending in "…" when cut.
   */
  readonly value: string;
  /** Value length in bytes as it lies in the file (for undefined-length sequences/items: the bytes they span). */
  readonly length: number;
  /** The element or item was written with undefined length (PS3.5 7.5.2, 0xFFFFFFFF). */
  readonly undefinedLength: boolean;
  /** Odd group (PS3.5 7.8). */
  readonly private: boolean;
  /** For a private data element (gggg,xxee): the value of its Private Creator (gggg,00xx), when the file has one. */
  readonly privateCreator?: string;
  /** Tree depth: 0 at the top; an item is one below its sequence and the item's elements one below the item. */
  readonly depth: number;
}

/** Options for {@link listTags}. */
export interface ListTagsOptions {
  /** Longest value text, in characters, before it is cut with "…" (default 256). Integer ≥ 1. */
  maxValueLength?: number;
}

/** One row of a {@link searchTags} result. */
export interface TagSearchRow {
  /** The row. */
  readonly entry: TagEntry;
  /** True when the row itself matched; false for a sequence or item shown only because a row inside it matched. */
  readonly matched: boolean;
}

/** What {@link searchTags} found. */
export interface TagSearchResult {
  /** The query as given. */
  readonly query: string;
  /** Matching rows and their enclosing sequences and items, in file order. */
  readonly rows: TagSearchRow[];
  /** How many rows matched themselves. */
  readonly matchCount: number;
}

const DEFAULT_MAX_VALUE_LENGTH = 256;

// ---------------------------------------------------------------------------------------------------------
// Dictionary

/** [VR, name, keyword]; VR may be ambiguous ("US or SS", "OB or OW"). */
type DictEntry = [string, string, string];
interface DictionaryFile {
  elements: Record<string, DictEntry>;
  repeaters: Record<string, DictEntry>;
}
const dictionary = dictionaryJson as unknown as DictionaryFile;

/** PS3.6 repeating groups (50xx, 60xx, …): `tag & mask === value`. */
const repeaters = Object.entries(dictionary.repeaters).map(([key, entry]) => ({
  mask: parseInt(key.replace(/[0-9a-f]/g, 'f').replace(/x/g, '0'), 16) >>> 0,
  value: parseInt(key.replace(/x/g, '0'), 16) >>> 0,
  entry,
}));

function lookup(key: string): DictEntry | undefined {
  const found = dictionary.elements[key];
  if (found) return found;
  const tag = parseInt(key, 16) >>> 0;
  return repeaters.find((r) => ((tag & r.mask) >>> 0) === r.value)?.entry;
}

// ---------------------------------------------------------------------------------------------------------
// Character sets (PS3.5 6.1, PS3.3 C.12.1.1.2)

/** Defined terms of Specific Character Set (0008,0005) → TextDecoder labels; 'latin1' is decoded by hand. */
const CHARSETS: Record<string, string> = {
  '': 'latin1', 'ISO_IR 6': 'latin1', 'ISO 2022 IR 6': 'latin1',
  'ISO_IR 100': 'latin1', 'ISO 2022 IR 100': 'latin1',
  'ISO_IR 101': 'iso-8859-2', 'ISO 2022 IR 101': 'iso-8859-2',
  'ISO_IR 109': 'iso-8859-3', 'ISO 2022 IR 109': 'iso-8859-3',
  'ISO_IR 110': 'iso-8859-4', 'ISO 2022 IR 110': 'iso-8859-4',
  'ISO_IR 144': 'iso-8859-5', 'ISO 2022 IR 144': 'iso-8859-5',
  'ISO_IR 127': 'iso-8859-6', 'ISO 2022 IR 127': 'iso-8859-6',
  'ISO_IR 126': 'iso-8859-7', 'ISO 2022 IR 126': 'iso-8859-7',
  'ISO_IR 138': 'iso-8859-8', 'ISO 2022 IR 138': 'iso-8859-8',
  'ISO_IR 148': 'iso-8859-9', 'ISO 2022 IR 148': 'iso-8859-9',
  'ISO_IR 203': 'iso-8859-15', 'ISO 2022 IR 203': 'iso-8859-15',
  'ISO_IR 166': 'windows-874', 'ISO 2022 IR 166': 'windows-874',
  'ISO_IR 13': 'shift_jis', 'ISO 2022 IR 13': 'shift_jis',
  'ISO 2022 IR 87': 'jisx0208', 'ISO 2022 IR 159': 'jisx0212',
  'ISO 2022 IR 149': 'euc-kr', 'ISO 2022 IR 58': 'gb18030',
  'ISO_IR 192': 'utf-8', GB18030: 'gb18030', GBK: 'gbk',
};

/** PS3.3 Table C.12-3/-4: ISO 2022 escape sequences (bytes after ESC) → the code element they switch to. */
const ESCAPES: Array<[string, string]> = [
  ['(B', 'latin1'], ['(J', 'latin1'], [')I', 'shift_jis'], ['-A', 'latin1'], ['-B', 'iso-8859-2'], ['-C', 'iso-8859-3'],
  ['-D', 'iso-8859-4'], ['-L', 'iso-8859-5'], ['-G', 'iso-8859-6'], ['-F', 'iso-8859-7'], ['-H', 'iso-8859-8'],
  ['-M', 'iso-8859-9'], ['-T', 'windows-874'], ['-b', 'iso-8859-15'], ['$B', 'jisx0208'], ['$(D', 'jisx0212'],
  ['$)C', 'euc-kr'], ['$)A', 'gb18030'],
];

const decoders = new Map<string, TextDecoder | undefined>();

function decodeWith(bytes: Uint8Array, encoding: string): string {
  if (encoding === 'jisx0208' || encoding === 'jisx0212') {
    // JIS X 0208/0212 are 7-bit two-byte sets in G0 (PS3.5 6.1.2.5.3); EUC-JP holds the same code points with
    // the high bit set (0212 behind SS3 0x8F), which TextDecoder reads.
    const out: number[] = [];
    for (let i = 0; i + 1 < bytes.length; i += 2) {
      if (encoding === 'jisx0212') out.push(0x8f);
      out.push(bytes[i] | 0x80, bytes[i + 1] | 0x80);
    }
    encoding = 'euc-jp';
    bytes = Uint8Array.from(out);
  }
  if (encoding !== 'latin1') {
    if (!decoders.has(encoding)) {
      let decoder: TextDecoder | undefined;
      try {
        decoder = new TextDecoder(encoding);
      } catch {
        decoder = undefined; // a node built without full ICU: fall back to Latin-1 rather than fail the panel
      }
      decoders.set(encoding, decoder);
    }
    const decoder = decoders.get(encoding);
    if (decoder) return decoder.decode(bytes);
  }
  // ISO 8859-1 byte for byte (TextDecoder's "latin1" is windows-1252, which differs at 0x80–0x9F).
  let s = '';
  for (let i = 0; i < bytes.length; i += 8192) s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return s;
}

/** The character set a data set's text is in: its Specific Character Set's terms (PS3.3 C.12.1.1.2). */
type Charset = readonly string[];

/**
 * Decode a text value. With ISO 2022 code extensions the value starts in the first term's code element and
 * switches at each escape sequence; it returns to the first after each delimiter (PS3.5 6.1.2.5.3), here
 * `\`, CR, LF, TAB, FF and, for PN, `^` and `=`, except inside a 7-bit two-byte set where those bytes are
 * halves of characters.
 */
function decodeText(bytes: Uint8Array, charset: Charset, vr: string): string {
  const terms = charset.length ? charset : [''];
  const initial = CHARSETS[terms[0]] ?? 'latin1';
  if (terms.length === 1 && !terms[0].startsWith('ISO 2022')) return decodeWith(bytes, initial);
  const delimiters = vr === 'PN' ? [0x5c, 0x0d, 0x0a, 0x09, 0x0c, 0x5e, 0x3d] : [0x5c, 0x0d, 0x0a, 0x09, 0x0c];
  let out = '';
  let encoding = initial;
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0x1b) {
      const escape = ESCAPES.find(([seq]) => [...seq].every((c, k) => bytes[i + 1 + k] === c.charCodeAt(0)));
      if (!escape) continue;
      out += decodeWith(bytes.subarray(start, i), encoding);
      encoding = escape[1];
      start = i + 1 + escape[0].length;
      i = start - 1;
    } else if (delimiters.includes(bytes[i]) && encoding !== 'jisx0208' && encoding !== 'jisx0212' && encoding !== initial) {
      out += decodeWith(bytes.subarray(start, i), encoding);
      encoding = initial;
      start = i;
    }
  }
  return out + decodeWith(bytes.subarray(start), encoding);
}

// ---------------------------------------------------------------------------------------------------------
// Values

/** PS3.5 6.1.2.3: text VRs whose values use the Specific Character Set (the rest are the default repertoire). */
const CHARSET_VRS = new Set(['SH', 'LO', 'UC', 'ST', 'LT', 'UT', 'PN']);
/** Single-valued texts where `\` is a character, not a value delimiter, and leading spaces count (PS3.5 6.2). */
const TEXT_VRS = new Set(['ST', 'LT', 'UT', 'UR']);
const STRING_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
const NUMBER_SIZES: Record<string, number> = { US: 2, SS: 2, UL: 4, SL: 4, FL: 4, FD: 8, SV: 8, UV: 8, AT: 4 };

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

/** Shortest decimal that reads back as the same float32 (what a person wrote into an FL). */
function float32Text(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  for (let p = 1; p < 10; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return String(s);
  }
  return String(v);
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

interface Context {
  readonly max: number;
  readonly bigEndian: boolean;
  /** Top-level Pixel Representation (0028,0103): 1 resolves "US or SS" to SS. */
  readonly signedPixels: boolean;
  readonly byteArray: Uint8Array;
  readonly rows: TagEntry[];
}

/** Binary numbers or AT tags, read in place (no copy) until the text reaches the length limit. */
function numbersText(ctx: Context, el: dicomParser.Element, vr: string, littleEndian: boolean): string {
  const size = NUMBER_SIZES[vr];
  const view = new DataView(ctx.byteArray.buffer, ctx.byteArray.byteOffset + el.dataOffset, el.length);
  const count = Math.floor(el.length / size);
  const parts: string[] = [];
  let chars = 0;
  for (let i = 0; i < count; i++) {
    if (chars > ctx.max) return cut(parts.join('\\'), ctx.max);
    const at = i * size;
    let text: string;
    switch (vr) {
      case 'US': text = String(view.getUint16(at, littleEndian)); break;
      case 'SS': text = String(view.getInt16(at, littleEndian)); break;
      case 'UL': text = String(view.getUint32(at, littleEndian)); break;
      case 'SL': text = String(view.getInt32(at, littleEndian)); break;
      case 'FL': text = float32Text(view.getFloat32(at, littleEndian)); break;
      case 'FD': text = String(view.getFloat64(at, littleEndian)); break;
      case 'SV': text = String(view.getBigInt64(at, littleEndian)); break;
      case 'UV': text = String(view.getBigUint64(at, littleEndian)); break;
      default: text = `(${hex4(view.getUint16(at, littleEndian))},${hex4(view.getUint16(at + 2, littleEndian))})`; // AT
    }
    parts.push(text);
    chars += text.length + 1;
  }
  return cut(parts.join('\\'), ctx.max);
}

function stringText(ctx: Context, el: dicomParser.Element, vr: string, charset: Charset): string {
  // Decode no more than the limit can show (4 bytes per character covers UTF-8), so a megabyte UT stays cheap.
  const limit = ctx.max * 4 + 16;
  const bytes = ctx.byteArray.subarray(el.dataOffset, el.dataOffset + Math.min(el.length, limit));
  const text = decodeText(bytes, CHARSET_VRS.has(vr) ? charset : [], vr);
  // PS3.5 6.2: values are padded with a trailing space (UI: NUL); leading spaces count only in ST/LT/UT.
  const value = TEXT_VRS.has(vr)
    ? text.replace(/[\0 ]+$/, '')
    : text.split('\\').map((v) => v.replace(/^[\0 ]+|[\0 ]+$/g, '')).join('\\');
  return el.length > limit ? `${value.slice(0, ctx.max)}…` : cut(value, ctx.max);
}

/**
 * The VR of an element: the file's (explicit VR), else the dictionary's (PS3.5 A.1 implicit VR), resolving
 * PS3.6's ambiguous ones the way PS3.5 8 and PS3.3 C.7.6.3 do.
 */
function resolveVr(ctx: Context, el: dicomParser.Element, group: number, element: number, entry: DictEntry | undefined): string {
  // dicom-parser found items: an implicit-VR sequence, or UN of undefined length, which PS3.5 6.2.2 says is
  // a sequence in implicit VR (CP-246)
  if (el.items) return 'SQ';
  if (el.vr) return el.vr;
  if (element === 0) return 'UL'; // PS3.5 7.2: group length
  if (group % 2 === 1 && element >= 0x10 && element <= 0xff) return 'LO'; // PS3.5 7.8.1: private creator
  const vr = entry?.[0] ?? 'UN';
  if (!vr.includes(' or ')) return vr;
  if (vr === 'OB or OW' || vr.includes('OW')) return 'OW'; // PS3.5 A.1: implicit VR pixel data, LUT data are OW
  if (entry?.[2].includes('LUTDescriptor')) return 'US'; // PS3.3 C.11.1.1.1: the descriptor's values are US here
  return ctx.signedPixels ? 'SS' : 'US'; // "US or SS": follows Pixel Representation
}

function valueText(ctx: Context, el: dicomParser.Element, vr: string, group: number, charset: Charset): string {
  if (el.items) return `${el.items.length} item${el.items.length === 1 ? '' : 's'}`;
  if (el.encapsulatedPixelData || (el.fragments && el.fragments.length)) {
    const n = el.fragments?.length ?? 0;
    return `<encapsulated: ${n} fragment${n === 1 ? '' : 's'}, ${el.length} bytes>`;
  }
  if (STRING_VRS.has(vr)) return stringText(ctx, el, vr, charset);
  if (NUMBER_SIZES[vr]) return numbersText(ctx, el, vr, group === 2 || !ctx.bigEndian); // PS3.10 7.1: meta is LE
  return `<${el.length} bytes>`;
}

function charsetOf(dataSet: dicomParser.DataSet, inherited: Charset): Charset {
  const el = dataSet.elements.x00080005;
  if (!el || el.length === 0) return inherited; // PS3.5 6.1.2.5.1: an item without one keeps its parent's
  const raw = decodeWith(dataSet.byteArray.subarray(el.dataOffset, el.dataOffset + el.length), 'latin1');
  return raw.split('\\').map((t) => t.trim());
}

// ---------------------------------------------------------------------------------------------------------
// Walking the data set

/**
 * A data set's elements in file order, without what dicom-parser adds that is not in the file: the item
 * delimiters it keeps as elements of undefined-length items (PS3.5 7.5: (FFFE,xxxx) are encoding, not data
 * elements) and the Transfer Syntax UID it makes up, with no offset, for a raw data set. dicom-parser
 * appends the meta header's elements after the data set's, so file order is offset order.
 */
function ownElements(dataSet: dicomParser.DataSet): Array<[string, dicomParser.Element]> {
  return Object.entries(dataSet.elements)
    .filter(([key, el]) => !key.startsWith('xfffe') && typeof el.dataOffset === 'number')
    .sort((a, b) => a[1].dataOffset - b[1].dataOffset);
}

/**
 * Workaround: dicom-parser 1.8.21 parses a deflated data set (PS3.5 A.5) from byte 0 of the inflated copy
 * (readDataSet's inflater branch passes position 0), so the preamble and "DICM" come back as junk elements
 * such as (0000,0000) and (4944,4D43). Nothing outside group 0002 can lie inside the File Meta Information,
 * so drop what does. Remove when dicom-parser starts the inflated stream at the meta header's end.
 */
function dropJunkBeforeMeta(entries: Array<[string, dicomParser.Element]>): Array<[string, dicomParser.Element]> {
  const meta = entries.filter(([key]) => key.startsWith('x0002'));
  if (!meta.length) return entries;
  const metaEnd = Math.max(...meta.map(([, el]) => el.dataOffset + el.length));
  return entries.filter(([key, el]) => key.startsWith('x0002') || el.dataOffset >= metaEnd);
}

function walk(ctx: Context, dataSet: dicomParser.DataSet, depth: number, parent: number, inherited: Charset): void {
  const charset = charsetOf(dataSet, inherited);
  const elements = depth === 0 ? dropJunkBeforeMeta(ownElements(dataSet)) : ownElements(dataSet);
  for (const [key, el] of elements) {
    const group = parseInt(key.slice(1, 5), 16);
    const element = parseInt(key.slice(5), 16);
    const isPrivate = group % 2 === 1;
    const entry = isPrivate ? undefined : lookup(key.slice(1));
    const vr = resolveVr(ctx, el, group, element, entry);
    let name = entry?.[1] ?? (element === 0 ? 'Group Length' : 'Unknown');
    let privateCreator: string | undefined;
    if (isPrivate) {
      const block = element >> 8;
      name = element === 0 ? 'Private Group Length' : element >= 0x10 && element <= 0xff ? 'Private Creator' : 'Private tag data';
      const creator = block >= 0x10 ? dataSet.elements[`x${key.slice(1, 5)}00${key.slice(5, 7)}`] : undefined;
      if (creator) {
        const bytes = dataSet.byteArray.subarray(creator.dataOffset, creator.dataOffset + creator.length);
        privateCreator = decodeText(bytes, charset, 'LO').replace(/^[\0 ]+|[\0 ]+$/g, '');
      }
    }
    const index = ctx.rows.length;
    ctx.rows.push({
      index, parent, kind: 'element', tag: `(${hex4(group)},${hex4(element)})`, keyword: entry?.[2] ?? '', name, vr,
      value: valueText(ctx, el, vr, group, charset), length: el.length, undefinedLength: el.hadUndefinedLength === true,
      private: isPrivate, ...(privateCreator !== undefined ? { privateCreator } : {}), depth,
    });
    el.items?.forEach((item, i) => {
      const itemIndex = ctx.rows.length;
      const count = item.dataSet ? ownElements(item.dataSet).length : 0;
      ctx.rows.push({
        index: itemIndex, parent: index, kind: 'item', tag: '(FFFE,E000)', keyword: 'Item', name: `Item ${i + 1}`, vr: '',
        value: `${count} element${count === 1 ? '' : 's'}`, length: item.length, undefinedLength: item.hadUndefinedLength === true,
        private: false, depth: depth + 1,
      });
      if (item.dataSet) walk(ctx, item.dataSet, depth + 2, itemIndex, charset);
    });
  }
}

/**
 * Every data element of a DICOM file as display rows, in file order: the File Meta Information (when the
 * file has a Part 10 header) then the data set, each sequence followed by its items and each item by its
 * elements (see {@link TagEntry.depth}). Accepts what {@link parseDicom} accepts, raw data sets included.
 *
 * @param bytes the whole file (only views into it are kept while reading; nothing large is copied)
 * @param file the file's path or name, for error messages
 * @throws DicomError NOT_DICOM, TRUNCATED or MALFORMED naming `file`; BAD_ARGUMENT for a bad option
 */
export function listTags(bytes: Uint8Array, file: string, opts: ListTagsOptions = {}): TagEntry[] {
  const max = opts.maxValueLength ?? DEFAULT_MAX_VALUE_LENGTH;
  if (!Number.isInteger(max) || max < 1) {
    throw new DicomError('BAD_ARGUMENT', `maxValueLength must be an integer from 1 and up (got ${String(opts.maxValueLength)})`, file);
  }
  const { dataSet, transferSyntaxUID } = parseDicom(bytes, file);
  const pixelRepresentation = dataSet.elements.x00280103 ? dataSet.uint16('x00280103') : 0;
  const ctx: Context = {
    max, bigEndian: transferSyntaxUID === TS.ExplicitVRBigEndian, signedPixels: pixelRepresentation === 1,
    byteArray: dataSet.byteArray as Uint8Array, rows: [],
  };
  walk(ctx, dataSet, 0, -1, []);
  return ctx.rows;
}

// ---------------------------------------------------------------------------------------------------------
// Search

/**
 * Rows whose tag, keyword, name, value or private creator contain `query` (case-insensitive), with the
 * sequences and items that enclose them so the nesting stays visible. Tags match with or without
 * parentheses and comma: "0010,0010", "(0010,0010)", "00100010" and "0010,00" all find (0010,0010).
 * An empty query returns every row, none marked as matched.
 *
 * @param entries rows from {@link listTags} (or a subset of them that keeps each match's ancestors)
 */
export function searchTags(entries: readonly TagEntry[], query: string): TagSearchResult {
  const q = query.trim().toLowerCase();
  if (!q) return { query, rows: entries.map((entry) => ({ entry, matched: false })), matchCount: 0 };
  const hexQuery = q.replace(/[(),\s]/g, '');
  const asTag = /^[0-9a-f]+$/.test(hexQuery) ? hexQuery : undefined;
  const matches = (e: TagEntry) =>
    (asTag !== undefined && e.tag.replace(/[(),]/g, '').toLowerCase().includes(asTag))
    || e.tag.toLowerCase().includes(q) || e.keyword.toLowerCase().includes(q) || e.name.toLowerCase().includes(q)
    || e.value.toLowerCase().includes(q) || (e.privateCreator?.toLowerCase().includes(q) ?? false);
  const byIndex = new Map(entries.map((e) => [e.index, e]));
  const matched = new Set<number>();
  const shown = new Set<number>();
  for (const e of entries) {
    // Item rows only group elements: "item" would otherwise match every one of them.
    if (e.kind === 'element' && matches(e)) {
      matched.add(e.index);
      for (let p: TagEntry | undefined = e; p && !shown.has(p.index); p = byIndex.get(p.parent)) shown.add(p.index);
    }
  }
  const rows = entries.filter((e) => shown.has(e.index)).map((entry) => ({ entry, matched: matched.has(entry.index) }));
  return { query, rows, matchCount: matched.size };
}
