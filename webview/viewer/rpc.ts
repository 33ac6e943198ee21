/**
 * Webview side of the RPC envelope (src/protocol/rpc.ts): every request resolves with a result, rejects
 * with the host's error, or rejects on timeout/cancel — no caller waits forever (STYLE.md).
 */
import type { RpcResponse } from '../../src/protocol/rpc';

interface Pending {
  resolve(value: unknown): void;
  reject(reason: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

/** A request/response client over `postMessage`. */
export class RpcClient<Methods extends { [K in keyof Methods]: { params: unknown; result: unknown } }> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly post: (message: unknown) => void) {}

  /** Feed every incoming message here; returns true when it was a response this client owned. */
  handle(message: unknown): boolean {
    const m = message as RpcResponse;
    if (!m || m.kind !== 'rpc/response') return false;
    const p = this.pending.get(m.id);
    if (!p) return true;
    this.pending.delete(m.id);
    clearTimeout(p.timer);
    if (m.error !== undefined) p.reject(new Error(m.error));
    else p.resolve(m.result);
    return true;
  }

  /** Call `method`; rejects after `timeoutMs` or when `signal` aborts (and tells the host to drop it). */
  request<M extends keyof Methods & string>(method: M, params: Methods[M]['params'], options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<Methods[M]['result']> {
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? 30_000;
    return new Promise<Methods[M]['result']>((resolve, reject) => {
      const finish = (reason: Error) => {
        if (!this.pending.delete(id)) return;
        clearTimeout(timer);
        this.post({ kind: 'rpc/cancel', id });
        reject(reason);
      };
      const timer = setTimeout(() => finish(new Error(`${method} timed out after ${timeoutMs / 1000} s`)), timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      options.signal?.addEventListener('abort', () => finish(new DOMException('cancelled', 'AbortError')), { once: true });
      this.post({ kind: 'rpc/request', id, method, params });
    });
  }
}
