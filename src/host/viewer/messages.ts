/**
 * Validation of what a viewer webview sends (issue 8: every message is checked at the boundary). A message
 * that does not fit the protocol is dropped with a reason; a request gets an error response, never silence.
 */
import type { ViewerToHost } from '../../protocol/viewer';

const isInt = (v: unknown, lo: number, hi: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi;

/** The message as a protocol message, or why it is not one (with its id when it is a request). */
export function parseViewerMessage(m: unknown): { ok: true; message: ViewerToHost } | { ok: false; reason: string; id?: number } {
  if (!m || typeof m !== 'object') return { ok: false, reason: 'not an object' };
  const o = m as Record<string, unknown>;
  if (o.kind === 'rpc/notify') {
    return o.method === 'viewer/ready' ? { ok: true, message: { kind: 'rpc/notify', method: 'viewer/ready', params: {} } } : { ok: false, reason: `unknown notification ${String(o.method)}` };
  }
  if (o.kind === 'rpc/cancel') return isInt(o.id, 1, Number.MAX_SAFE_INTEGER) ? { ok: true, message: { kind: 'rpc/cancel', id: o.id } } : { ok: false, reason: 'cancel without a valid id' };
  if (o.kind !== 'rpc/request') return { ok: false, reason: `unknown kind ${String(o.kind)}` };
  if (!isInt(o.id, 1, Number.MAX_SAFE_INTEGER)) return { ok: false, reason: 'request without a valid id' };
  const id = o.id;
  const p = (o.params ?? {}) as Record<string, unknown>;
  const index = isInt(p.index, 0, 1_000_000) ? p.index : undefined;
  switch (o.method) {
    case 'viewer/getSlice':
    case 'viewer/getOverlay':
    case 'viewer/getTruth':
    case 'viewer/getSegMasks':
      if (index === undefined) return { ok: false, id, reason: `${o.method}: params.index must be a whole number ≥ 0` };
      return { ok: true, message: { kind: 'rpc/request', id, method: o.method, params: { index } } as ViewerToHost };
    case 'viewer/getTags':
      if (index === undefined) return { ok: false, id, reason: 'viewer/getTags: params.index must be a whole number ≥ 0' };
      if (typeof p.query !== 'string' || p.query.length > 200) return { ok: false, id, reason: 'viewer/getTags: params.query must be a string of at most 200 characters' };
      return { ok: true, message: { kind: 'rpc/request', id, method: 'viewer/getTags', params: { index, query: p.query } } };
    case 'viewer/getReformat':
      if (p.kind !== 'sagittal' && p.kind !== 'coronal') return { ok: false, id, reason: 'viewer/getReformat: params.kind must be sagittal or coronal' };
      if (index === undefined) return { ok: false, id, reason: 'viewer/getReformat: params.index must be a whole number ≥ 0' };
      return { ok: true, message: { kind: 'rpc/request', id, method: 'viewer/getReformat', params: { kind: p.kind, index } } };
    default:
      return { ok: false, id, reason: `unknown method ${String(o.method)}` };
  }
}
