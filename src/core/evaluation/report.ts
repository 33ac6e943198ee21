/**
 * An evaluation as one report: Markdown (tables and the error list) or one self-contained HTML file (the same
 * tables, the panel's curves and a few error slices as embedded PNGs, the page's own style; no script, no
 * link to anything). Error pictures: the evaluated image (the prepared PNG or crop) with the true box dashed
 * and the predicted one in its class colour, drawn by sharp.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { classColour } from '../classColours';
import type { ModelError } from './errors';
import type { Evaluation } from './evalFolder';

/** A picture for the HTML report: a title and PNG bytes. */
export interface ReportImage {
  title: string;
  png: Uint8Array;
}

type Num = number | null | undefined;
const f3 = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(3) : '–');
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
const escapeMd = (s: string) => s.replace(/\|/g, '\\|');

interface Table {
  title: string;
  head: string[];
  rows: string[][];
  note?: string;
}

/** The evaluation's tables (the panel's, at the reported operating point). */
export function reportTables(e: Evaluation): Table[] {
  const m = e.metrics as Record<string, unknown>;
  if (e.metrics.task === 'detect') {
    const protocols = m.protocols as Record<string, Record<string, unknown>> | undefined;
    const ul = protocols?.ultralytics ?? m;
    const coco = protocols?.coco;
    const per = (ul.perClass as { id: number; name: string; images: number; instances: number; precision: Num; recall: Num; mAP50: Num; mAP50_95: Num }[]) ?? [];
    const cocoBy = new Map(((coco?.perClass as { id: number; mAP50: Num; mAP50_95: Num }[] | undefined) ?? []).map((c) => [c.id, c]));
    const head = ['Class', 'Images', 'Instances', 'P', 'R', 'mAP50', 'mAP50-95', ...(coco ? ['COCO mAP50', 'COCO mAP50-95'] : [])];
    const rows = [
      ['all', String(ul.images), String(ul.instances), f3(ul.precision), f3(ul.recall), f3(ul.mAP50), f3(ul.mAP50_95), ...(coco ? [f3(coco.mAP50), f3(coco.mAP50_95)] : [])],
      ...per.map((c) => [c.name, String(c.images), String(c.instances), f3(c.precision), f3(c.recall), f3(c.mAP50), f3(c.mAP50_95), ...(coco ? [f3(cocoBy.get(c.id)?.mAP50), f3(cocoBy.get(c.id)?.mAP50_95)] : [])]),
    ];
    return [{ title: 'Vertebra detection', head, rows, note: 'P and R at the confidence of the best mean F1 (ultralytics); mAP under the ultralytics protocol and, when evaluated with --protocol both, pycocotools COCOeval.' }];
  }
  const names = e.metrics.names ?? ['normal', 'fracture'];
  const keys: [string, string][] = [['accuracy', 'Accuracy'], ['precision', 'Precision'], ['recall', 'Recall'], ['f1', 'F1'], ['specificity', 'Specificity'], ['kappa', "Cohen's kappa"], ['auc', 'ROC AUC']];
  const tables: Table[] = [{ title: 'Fracture classification', head: ['Metric', 'Value'], rows: keys.map(([k, t]) => [t, f3(m[k])]) }];
  const conf = m.confusion as number[][] | undefined;
  if (conf) tables.push({ title: 'Confusion matrix (rows = truth)', head: ['', ...names.map((n) => `pred ${n}`)], rows: conf.map((r, i) => [`true ${names[i] ?? i}`, ...r.map(String)]) });
  return tables;
}

function source(e: Evaluation): string {
  const s = e.metrics.source;
  return [s?.model && `model ${s.model}`, s?.data && `data ${s.data}`, s?.split && `split ${s.split}`, e.metrics.created && `evaluated ${String(e.metrics.created)}`].filter(Boolean).join(' · ');
}

/** Markdown: title, source, tables, the errors (up to `maxErrors`). */
export function reportMarkdown(e: Evaluation, errors: readonly ModelError[], maxErrors = 200): string {
  const out = [`# ${e.metrics.task === 'detect' ? 'Vertebra detector' : 'Fracture classifier'}: ${e.label}`, '', source(e), ''];
  for (const t of reportTables(e)) {
    out.push(`## ${t.title}`, '', `| ${t.head.map(escapeMd).join(' | ')} |`, `|${t.head.map((_, i) => (i ? '---:' : '---')).join('|')}|`, ...t.rows.map((r) => `| ${r.map(escapeMd).join(' | ')} |`), '');
    if (t.note) out.push(t.note, '');
  }
  out.push(`## Errors (${errors.length})`, '');
  for (const x of errors.slice(0, maxErrors)) out.push(`- ${escapeMd(x.message)}${x.slice !== undefined ? ` — slice ${x.slice}` : ''}${x.dicom ? ` (\`${x.dicom}\`)` : ''}`);
  if (errors.length > maxErrors) out.push(`- … ${errors.length - maxErrors} more in predictions.jsonl`);
  return `${out.join('\n')}\n`;
}

const CSS = `body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}table{border-collapse:collapse;margin:8px 0 16px}
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child,td:first-child{text-align:left}th{background:#f2f2f2}
.src,.note{color:#666;font-size:90%}figure{display:inline-block;margin:8px;vertical-align:top}figcaption{font-size:85%;max-width:420px}img{max-width:460px;border:1px solid #ddd}`;

/** One HTML file: tables, curves, error pictures, the error list; everything inline (data: images). */
export function reportHtml(e: Evaluation, errors: readonly ModelError[], charts: readonly ReportImage[], pictures: readonly ReportImage[], maxErrors = 200): string {
  const img = (i: ReportImage) => `<figure><img alt="${escapeHtml(i.title)}" src="data:image/png;base64,${Buffer.from(i.png).toString('base64')}"><figcaption>${escapeHtml(i.title)}</figcaption></figure>`;
  const tables = reportTables(e).map((t) => `<h2>${escapeHtml(t.title)}</h2><table><tr>${t.head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>${t.rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('')}</table>${t.note ? `<p class="note">${escapeHtml(t.note)}</p>` : ''}`).join('');
  const list = errors.slice(0, maxErrors).map((x) => `<li>${escapeHtml(x.message)}${x.slice !== undefined ? ` — slice ${x.slice}` : ''}${x.dicom ? ` <span class="src">${escapeHtml(x.dicom)}</span>` : ''}</li>`).join('');
  const title = `${e.metrics.task === 'detect' ? 'Vertebra detector' : 'Fracture classifier'}: ${e.label}`;
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"><title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>`
    + `<h1>${escapeHtml(title)}</h1><p class="src">${escapeHtml(source(e))}</p>${tables}`
    + (charts.length ? `<h2>Curves</h2>${charts.map(img).join('')}` : '')
    + (pictures.length ? `<h2>Some errors</h2>${pictures.map(img).join('')}` : '')
    + `<h2>Errors (${errors.length})</h2><ul>${list}</ul>${errors.length > maxErrors ? `<p class="note">… ${errors.length - maxErrors} more in predictions.jsonl</p>` : ''}`
    + `<p class="note">Made by DICOM ML Workbench from ${escapeHtml(e.dir)}.</p></body></html>\n`;
}

/** A picture of an error: its image with the true box (white, dashed) and the predicted box (class colour). */
export async function errorPicture(x: ModelError, width = 420): Promise<ReportImage | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(x.image);
  } catch {
    return undefined;
  }
  const meta = await sharp(bytes).metadata();
  const w = meta.width ?? 0;
  const h = meta.height ?? 0;
  if (!w || !h) return undefined;
  const rect = (b: [number, number, number, number], colour: string, dash: boolean) => `<rect x="${b[0]}" y="${b[1]}" width="${b[2] - b[0]}" height="${b[3] - b[1]}" fill="none" stroke="${colour}" stroke-width="${Math.max(1.5, w / 200)}"${dash ? ' stroke-dasharray="6 4"' : ''}/>`;
  // Detection errors carry boxes in the image's pixels; a crop classifier's box is the crop's place on the
  // slice (the picture is the crop itself), so nothing is drawn for classifier errors.
  const detection = !x.vertebra && x.box !== undefined;
  const boxes = !detection ? '' : [
    x.truthBox ? rect(x.truthBox, '#ffffff', true) : '',
    x.kind === 'fn' && x.box ? rect(x.box, '#ffffff', true) : '',
    x.kind !== 'fn' && x.box ? rect(x.box, classColour(x.cls), false) : '',
  ].join('');
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">${boxes}</svg>`);
  // Two pipelines: sharp resizes before it composites, whatever the call order.
  const drawn = await sharp(bytes).composite([{ input: svg }]).png().toBuffer();
  const png = await sharp(drawn).resize({ width: Math.min(width, Math.max(w, 160)) }).png().toBuffer();
  return { title: `${x.message}${x.slice !== undefined ? ` — slice ${x.slice}` : ''}`, png };
}
