/** Validation of what the metrics panel sends: a message that does not fit is dropped with a reason; a request gets an error response. */
import type { MetricsToHost } from '../../protocol/metrics';

const isInt = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

export function parseMetricsMessage(m: unknown): { ok: true; message: MetricsToHost } | { ok: false; reason: string; id?: number } {
  if (!m || typeof m !== 'object') return { ok: false, reason: 'not an object' };
  const o = m as Record<string, unknown>;
  const p = (o.params ?? {}) as Record<string, unknown>;
  if (o.kind === 'rpc/notify') {
    if (o.method !== 'metrics/ready') return { ok: false, reason: `unknown notification ${String(o.method)}` };
    for (const k of ['dir', 'run'] as const) if (p[k] !== undefined && (typeof p[k] !== 'string' || (p[k] as string).length > 4096)) return { ok: false, reason: `metrics/ready: params.${k} must be a path` };
    return { ok: true, message: { kind: 'rpc/notify', method: 'metrics/ready', params: { ...(typeof p.dir === 'string' ? { dir: p.dir } : {}), ...(typeof p.run === 'string' ? { run: p.run } : {}) } } };
  }
  if (o.kind === 'rpc/cancel') return isInt(o.id, 1, Number.MAX_SAFE_INTEGER) ? { ok: true, message: { kind: 'rpc/cancel', id: o.id } } : { ok: false, reason: 'cancel without a valid id' };
  if (o.kind !== 'rpc/request') return { ok: false, reason: `unknown kind ${String(o.kind)}` };
  if (!isInt(o.id, 1, Number.MAX_SAFE_INTEGER)) return { ok: false, reason: 'request without a valid id' };
  const id = o.id;
  switch (o.method) {
    case 'metrics/atThreshold':
      if (typeof p.threshold !== 'number' || !(p.threshold >= 0 && p.threshold <= 1)) return { ok: false, id, reason: 'metrics/atThreshold: params.threshold must be a number in 0…1' };
      return { ok: true, message: { kind: 'rpc/request', id, method: 'metrics/atThreshold', params: { threshold: p.threshold } } };
    case 'metrics/openError':
      if (!isInt(p.id, 0, 10_000_000)) return { ok: false, id, reason: 'metrics/openError: params.id must be a whole number ≥ 0' };
      if (p.order !== undefined && (!Array.isArray(p.order) || p.order.length > 1_000_000 || !p.order.every((x) => isInt(x, 0, 10_000_000)))) return { ok: false, id, reason: 'metrics/openError: params.order must be a list of error ids' };
      return { ok: true, message: { kind: 'rpc/request', id, method: 'metrics/openError', params: { id: p.id, ...(p.order ? { order: p.order as number[] } : {}) } } };
    case 'metrics/compare':
      if (p.dirs !== undefined && (!Array.isArray(p.dirs) || p.dirs.length > 50 || p.dirs.some((d) => typeof d !== 'string'))) return { ok: false, id, reason: 'metrics/compare: params.dirs must be a list of folders' };
      return { ok: true, message: { kind: 'rpc/request', id, method: 'metrics/compare', params: p.dirs ? { dirs: p.dirs as string[] } : {} } };
    case 'metrics/export':
      if (p.what !== 'comparison-md' && p.what !== 'comparison-csv' && p.what !== 'report-md' && p.what !== 'report-html') return { ok: false, id, reason: 'metrics/export: params.what must be comparison-md, comparison-csv, report-md or report-html' };
      if (p.charts !== undefined) {
        const ok = Array.isArray(p.charts) && p.charts.length <= 12 && p.charts.every((c: unknown) => {
          const o = c as Record<string, unknown>;
          return o && typeof o.title === 'string' && o.title.length <= 200 && typeof o.dataUrl === 'string' && o.dataUrl.startsWith('data:image/png;base64,') && o.dataUrl.length <= 8_000_000;
        });
        if (!ok) return { ok: false, id, reason: 'metrics/export: params.charts must be at most 12 {title, dataUrl: data:image/png;base64,…}' };
      }
      return { ok: true, message: { kind: 'rpc/request', id, method: 'metrics/export', params: { what: p.what, ...(p.charts ? { charts: p.charts as { title: string; dataUrl: string }[] } : {}) } } };
    default:
      return { ok: false, id, reason: `unknown method ${String(o.method)}` };
  }
}
