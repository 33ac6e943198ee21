/**
 * A small RFC 4180 CSV reader for the RSNA label files: header row, quoted fields (with "" escapes and
 * embedded commas), CRLF or LF, an optional UTF-8 BOM. Every error names the file and the 1-based line,
 * so a garbled label file is one readable line, never a wrong label.
 */
import { DicomError } from '../../dicom/errors';
import { readInputFile } from '../../io/read';

/** One data row: values by column name, and the line it started on (1-based, the header is line 1). */
export interface CsvRow {
  line: number;
  values: Record<string, string>;
}

/** A parsed CSV file. */
export interface CsvTable {
  file: string;
  header: string[];
  rows: CsvRow[];
}

/** A CSV problem: DicomError MALFORMED naming `file`, message starting with `line N:`. */
export function csvError(file: string, line: number, why: string): DicomError {
  return new DicomError('MALFORMED', `line ${line}: ${why}`, file);
}

/** Split CSV text into records of fields, each with its starting line. Throws on an unclosed quote. */
function records(text: string, file: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let start = 1;
  let fieldStarted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
      continue;
    }
    if (ch === '"' && !fieldStarted) { quoted = true; fieldStarted = true; continue; }
    if (ch === ',') { fields.push(field); field = ''; fieldStarted = false; continue; }
    if (ch === '\r' && text[i + 1] === '\n') continue;
    if (ch === '\n' || ch === '\r') {
      fields.push(field);
      if (!(fields.length === 1 && fields[0].trim() === '')) out.push({ line: start, fields });
      fields = []; field = ''; fieldStarted = false;
      line++;
      start = line;
      continue;
    }
    if (ch === '"') throw csvError(file, line, 'a quote inside an unquoted field');
    field += ch;
    fieldStarted = true;
  }
  if (quoted) throw csvError(file, start, 'a quoted field is never closed');
  fields.push(field);
  if (!(fields.length === 1 && fields[0].trim() === '')) out.push({ line: start, fields });
  return out;
}

/**
 * Read `file` as CSV with a header row that must contain every name in `required` (any order, extra
 * columns allowed). Rows with a different number of fields than the header are errors.
 */
export async function readCsv(file: string, required: readonly string[]): Promise<CsvTable> {
  const text = (await readInputFile(file)).toString('utf8');
  return parseCsv(text.replace(/^\uFEFF/, ''), file, required);
}

/** {@link readCsv} on text already in memory. */
export function parseCsv(text: string, file: string, required: readonly string[]): CsvTable {
  const recs = records(text, file);
  if (recs.length === 0) throw csvError(file, 1, `empty file: expected a header with ${required.join(', ')}`);
  const header = recs[0].fields.map((h) => h.trim());
  const missing = required.filter((name) => !header.includes(name));
  if (missing.length > 0) {
    throw csvError(file, recs[0].line, `header lacks column${missing.length > 1 ? 's' : ''} ${missing.join(', ')} (found: ${header.join(', ').slice(0, 200)})`);
  }
  const rows: CsvRow[] = [];
  for (const rec of recs.slice(1)) {
    if (rec.fields.length !== header.length) {
      throw csvError(file, rec.line, `${rec.fields.length} field${rec.fields.length === 1 ? '' : 's'}, the header has ${header.length}`);
    }
    const values: Record<string, string> = {};
    header.forEach((name, i) => { values[name] = rec.fields[i].trim(); });
    rows.push({ line: rec.line, values });
  }
  return { file, header, rows };
}

/** A finite number from a field, or a line-numbered error. */
export function numberField(table: CsvTable, row: CsvRow, name: string): number {
  const s = row.values[name];
  const v = s === '' ? Number.NaN : Number(s);
  if (!Number.isFinite(v)) throw csvError(table.file, row.line, `${name} "${s}" is not a number`);
  return v;
}

/** A whole number ≥ `min` from a field (RSNA writes some as "12.0"), or a line-numbered error. */
export function intField(table: CsvTable, row: CsvRow, name: string, min = 0): number {
  const v = numberField(table, row, name);
  if (!Number.isInteger(v) || v < min) throw csvError(table.file, row.line, `${name} "${row.values[name]}" is not a whole number ≥ ${min}`);
  return v;
}
