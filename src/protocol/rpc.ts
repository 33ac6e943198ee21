/**
 * The envelope every webview protocol uses: requests that get a response or an error (never silence),
 * notifications, and cancellation (STYLE.md "Messages between host and webview"). Types only.
 */

/** A call that expects exactly one `rpc/response` with the same id. */
export interface RpcRequest<M extends string = string, P = unknown> {
  kind: 'rpc/request';
  id: number;
  method: M;
  params: P;
}

/** The answer to a request: `result` or `error`, never both. */
export interface RpcResponse<R = unknown> {
  kind: 'rpc/response';
  id: number;
  result?: R;
  /** One readable line; set when the handler failed. */
  error?: string;
}

/** Fire-and-forget message. */
export interface RpcNotification<M extends string = string, P = unknown> {
  kind: 'rpc/notify';
  method: M;
  params: P;
}

/** The caller no longer wants the answer to request `id` (e.g. the user scrolled past that slice). */
export interface RpcCancel {
  kind: 'rpc/cancel';
  id: number;
}

export type RpcMessage = RpcRequest | RpcResponse | RpcNotification | RpcCancel;
