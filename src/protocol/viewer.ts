/**
 * Messages between the DICOM viewer webview and the extension host (types only; both sides import it).
 * Names are `scope/verb`. Pixels travel as exact ArrayBuffers, one slice per request.
 */
import type { RpcCancel, RpcNotification, RpcRequest, RpcResponse } from './rpc';

/** A display window in modality units. */
export interface ViewerWindow {
  center: number;
  width: number;
}

/** Named window presets the toolbar offers (`file` = the file's own window, when it has one). */
export type ViewerPreset = 'bone' | 'soft' | 'lung' | 'brain' | 'file';

/** One entry of the series the opened file belongs to. */
export interface ViewerSliceRef {
  /** File name (no folder), for the label. */
  name: string;
  /** Frame inside the file (multi-frame files contribute several slices). */
  frame: number;
  /** Position along the slice normal in mm, when the geometry is known. */
  position?: number;
}

/** Sent once after `viewer/ready`: what was opened and how to show it. */
export interface ViewerInit {
  /** The opened file's name. */
  title: string;
  slices: ViewerSliceRef[];
  /** Index of the opened file (its first frame) in `slices`. */
  initialIndex: number;
  /** Median slice spacing in mm, when known. */
  spacing?: number;
  /** Non-fatal notes: skipped files, gaps, duplicates. */
  warnings: string[];
}

/** `viewer/getSlice` result: one slice of modality values. */
export interface ViewerSlice {
  index: number;
  rows: number;
  columns: number;
  /** Float32 modality values (HU for CT), rows×columns, row-major. An exact ArrayBuffer (no offset). */
  values: ArrayBuffer;
  /** 1 where the pixel is padding (outside the field of view); absent when none. Uint8 rows×columns. */
  padding?: ArrayBuffer;
  invert: boolean;
  voiFunction: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
  fileWindow?: ViewerWindow;
  units: string;
  /** Row spacing, column spacing in mm. */
  pixelSpacing?: [number, number];
  file: string;
  frame: number;
  instanceNumber?: number;
  transferSyntax: string;
}

/** Requests the webview sends, with their params and results. */
export interface ViewerMethods {
  'viewer/getSlice': { params: { index: number }; result: ViewerSlice };
}

/** Webview → host notifications. */
export interface ViewerToHostNotifications {
  'viewer/ready': Record<string, never>;
}

/** Host → webview notifications. */
export interface HostToViewerNotifications {
  'viewer/init': ViewerInit;
  /** The opened file cannot be shown: one readable line. */
  'viewer/fatal': { message: string };
}

export type ViewerRequest = { [M in keyof ViewerMethods]: RpcRequest<M, ViewerMethods[M]['params']> }[keyof ViewerMethods];
export type ViewerToHost = ViewerRequest | RpcCancel
  | { [M in keyof ViewerToHostNotifications]: RpcNotification<M, ViewerToHostNotifications[M]> }[keyof ViewerToHostNotifications];
export type HostToViewer = RpcResponse
  | { [M in keyof HostToViewerNotifications]: RpcNotification<M, HostToViewerNotifications[M]> }[keyof HostToViewerNotifications];
