/**
 * An ONNX model's `metadata_props` (ModelProto field 14), read straight from the protobuf: onnxruntime-node
 * 1.30 exposes input/output metadata but not the custom metadata map, and ultralytics keeps `names`, `imgsz`,
 * `stride` and `task` there. Only the top level of the message is walked (the graph, field 7, is skipped by
 * its length), so a 100 MB model costs one pass over its field headers.
 *
 * Wire format: https://protobuf.dev/programming-guides/encoding/ (varint tags, wire types 0/1/2/5).
 */

/** Thrown for a file that is not an ONNX ModelProto. */
export class OnnxFormatError extends Error {}

function varint(buf: Uint8Array, pos: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) throw new OnnxFormatError('truncated varint');
    const b = buf[pos++];
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return { value, next: pos };
    scale *= 128;
  }
  throw new OnnxFormatError('varint longer than 10 bytes');
}

/** Length-delimited fields with number `field` at the top level of `buf` (other fields skipped). */
function fields(buf: Uint8Array, want: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const tag = varint(buf, pos);
    pos = tag.next;
    const field = Math.floor(tag.value / 8);
    const wire = tag.value % 8;
    if (wire === 0) pos = varint(buf, pos).next;
    else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = varint(buf, pos);
      const end = len.next + len.value;
      if (end > buf.length) throw new OnnxFormatError(`field ${field} runs past the end of the file`);
      if (field === want) out.push(buf.subarray(len.next, end));
      pos = end;
    } else throw new OnnxFormatError(`unsupported wire type ${wire}`);
  }
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** `metadata_props` of an ONNX model (ModelProto.metadata_props = 14; StringStringEntryProto key = 1, value = 2). */
export function onnxMetadata(model: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fields(model, 14)) {
    const key = fields(entry, 1)[0];
    const value = fields(entry, 2)[0];
    if (key) out[utf8.decode(key)] = value ? utf8.decode(value) : '';
  }
  return out;
}

/**
 * ultralytics' `names` metadata, a Python dict repr (`{0: 'C1', 1: 'C2'}`; ARCHITECTURE "Environment facts"),
 * as a list indexed by class id. Also accepts JSON (`{"0": "C1"}`) and lists. Throws on anything else.
 */
export function parseNames(repr: string): string[] {
  const text = repr.trim();
  if (text.startsWith('[')) {
    const items = [...text.matchAll(/'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"/g)].map((m) => unescapePy(m[1] ?? m[2]));
    return items;
  }
  const pairs = [...text.matchAll(/["']?(\d+)["']?\s*:\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")/g)];
  if (!text.startsWith('{') || pairs.length === 0) throw new Error(`names metadata is not a dict of class names: ${repr.slice(0, 80)}`);
  const names: string[] = [];
  for (const m of pairs) names[Number(m[1])] = unescapePy(m[2] ?? m[3]);
  for (let i = 0; i < names.length; i++) if (names[i] === undefined) throw new Error(`names metadata has no class ${i}: ${repr.slice(0, 80)}`);
  return names;
}

function unescapePy(s: string): string {
  return s.replace(/\\(.)/g, '$1');
}

/** A list of integers from a Python/JSON repr (`[512, 512]`, `(640, 480)`, `32`). */
export function parseInts(repr: string): number[] {
  return [...repr.matchAll(/-?\d+/g)].map((m) => Number(m[0]));
}
