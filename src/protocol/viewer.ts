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

/**
 * The pixels of a colour slice (RGB; YBR_FULL / YBR_FULL_422 / YBR_RCT / YBR_ICT, which decode to RGB; PALETTE
 * COLOR): shown as stored, with no window — their samples are not values of one physical quantity (PS3.3
 * C.7.6.3.1.2), so there is nothing to window; OHIF and Cornerstone draw them so too.
 */
export interface ViewerColour {
  /** Photometric Interpretation as the file states it. */
  photometricInterpretation: string;
  /**
   * 8-bit RGB for display (src/core/dicom/colour.ts frameRgb8: PALETTE COLOR through its palette, samples of more
   * than 8 bits cut to their top 8), rows×columns×3 interleaved (R, G, B per pixel, row by row), deflated
   * ('deflate-raw'). An exact ArrayBuffer (no offset).
   */
  rgb: ArrayBuffer;
  /** Bits Stored of the samples (above 8, `rgb` holds their top 8 bits). */
  bitsStored: number;
}

/** `viewer/getSlice` result: one slice of modality values (or, for a colour image, its RGB pixels). */
export interface ViewerSlice {
  index: number;
  rows: number;
  columns: number;
  /**
   * Modality values (HU for CT), rows×columns, row-major, packed (src/core/dicom/pack.ts): `valueType` values
   * (Int16 when every value is a whole number in its range — exactly the same numbers — else Float32), split
   * into byte planes (bytePlanes.ts) and deflated ('deflate-raw'). An exact ArrayBuffer (no offset).
   * A colour slice (`colour` set) has no modality values: here PALETTE COLOR sends its palette indices
   * (rows×columns, for the pixel readout), other colour images nothing (zero values).
   */
  values: ArrayBuffer;
  valueType: 'int16' | 'float32';
  /** Modality values in [min, max] are padding (outside the field of view, drawn black); absent when none. */
  paddingRange?: [number, number];
  invert: boolean;
  voiFunction: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
  fileWindow?: ViewerWindow;
  /**
   * The file's VOI LUT Sequence (0028,3010), its own display mapping: the "File" preset applies it in place of the
   * window (voi.ts voiLutToGray8). `data`: Uint16 entries, exact ArrayBuffer.
   */
  fileLut?: { firstMapped: number; bits: number; data: ArrayBuffer };
  /** Why the file's VOI LUT Sequence cannot be applied (then the "File" preset is off and says so). */
  fileVoiProblem?: string;
  units: string;
  /** Row spacing, column spacing in mm. */
  pixelSpacing?: [number, number];
  /** Image Position (Patient) and Image Orientation (Patient): the patient position (mm) under the cursor. */
  imagePositionPatient?: [number, number, number];
  imageOrientationPatient?: [number, number, number, number, number, number];
  file: string;
  frame: number;
  instanceNumber?: number;
  transferSyntax: string;
  /** Set for a colour image: its pixels, drawn as they are (no window, no padding, no units). */
  colour?: ViewerColour;
}

/** One detected vertebra on a slice. */
export interface ViewerBox {
  /** Class name (C1…C7) and id. */
  name: string;
  cls: number;
  /** Detector confidence 0…1. */
  conf: number;
  /** xyxy in slice pixels (pixel edges). */
  box: [number, number, number, number];
  /** Classifier probability of fracture for this vertebra. */
  fracture?: number;
}

/** `viewer/getOverlay` result: what the models found on one slice. */
export interface ViewerOverlay {
  index: number;
  rows: number;
  columns: number;
  boxes: ViewerBox[];
  /** Slice fracture probability; null without a classifier or without vertebrae (crop classifier). */
  fracture: number | null;
  /** Grad-CAM of the fracture class on the slice grid, cut to the rectangle where it is non-zero. */
  heatmap?: ViewerHeatmap;
}

/** A heat map rectangle on the slice grid: Uint8 width×height at slice pixel (x, y), 255 = `max`. */
export interface ViewerHeatmap {
  x: number;
  y: number;
  width: number;
  height: number;
  /** The raw Grad-CAM maximum the 255 stands for. */
  max: number;
  data: ArrayBuffer;
}

/** The models the viewer runs, and whether it can. */
export interface ViewerModels {
  state: 'off' | 'untrusted' | 'loading' | 'ready' | 'error';
  /** One readable line: why off/untrusted/error, or a note (CUDA fallback). */
  message?: string;
  detector?: string;
  classifier?: string;
  /** Detector class names (C1…C7 for the default). */
  names: string[];
  /** Whether the classifier gives Grad-CAM maps. */
  gradcam: boolean;
}

/** Per-slice strip entry: fracture probability and the vertebrae present. */
export interface ViewerStripEntry {
  fracture: number | null;
  vertebrae: number[];
}

/** The study summary: progress of the background pass, strip, fusion. */
export interface ViewerStudy {
  done: number;
  total: number;
  /** One entry per slice, null until that slice is inferred. */
  strip: (ViewerStripEntry | null)[];
  /** Per-vertebra fracture probability C1…C7 and patient probability, when every slice is done. */
  vertebrae?: { name: string; probability: number; detected: boolean; peakIndex: number | null }[];
  patient?: number;
  /** How the fusion was made, in words. */
  rule?: string;
}

/** Ground truth of one slice (RSNA layout or a prepared dataset's manifest). */
export interface ViewerTruth {
  /** slice_number of the file. */
  sliceNumber: number;
  /** Fracture boxes (train_bounding_boxes.csv), xyxy slice pixels. */
  fractures: [number, number, number, number][];
  /** Vertebrae on the slice: box and, from a segmentation, outline loops `[x0, y0, x1, y1, …]` (pixel edges). */
  vertebrae: { name: string; label: number; box: [number, number, number, number]; outline?: number[][] }[];
}

/** Whether the series has ground truth, and what it is. */
export interface ViewerTruthInfo {
  available: boolean;
  source?: 'rsna' | 'manifest';
  study?: string;
  /** train.csv: fracture flags C1…C7 and patient_overall. */
  labels?: { C: number[]; patient: number };
  /** Where vertebrae come from: a verified segmentation, a manifest, or none. */
  vertebrae?: 'mask' | 'manifest' | 'none';
  notes: string[];
}

/** DICOM SEG objects over the series (segOverlay.ts): their segments, and files found but not shown with why. */
export interface ViewerSegInfo {
  files: { name: string; type: 'BINARY' | 'FRACTIONAL' | 'LABELMAP'; segments: { number: number; label: string; colour: string }[]; slices: number }[];
  notes: string[];
}

/** One segment's mask on a slice: alpha 0…255 over the rectangle (slice pixels), row-major. Exact ArrayBuffer. */
export interface ViewerSegMask {
  /** Index into ViewerSegInfo.files. */
  file: number;
  segment: number;
  x: number;
  y: number;
  width: number;
  height: number;
  alpha: ArrayBuffer;
}

/** One row of the DICOM tags panel. */
export interface ViewerTag {
  tag: string;
  keyword: string;
  name: string;
  vr: string;
  value: string;
  depth: number;
  private: boolean;
  kind: 'element' | 'item';
  /** Matched the search (rows shown only as the parents of matches have false). */
  matched: boolean;
}

/** A sagittal or coronal reformat of the series. */
export interface ViewerReformat {
  kind: 'sagittal' | 'coronal';
  /** The fixed column (sagittal) or row (coronal) of the axial slices. */
  index: number;
  planes: number;
  width: number;
  height: number;
  /** Float32 modality values, height×width (row 0 superior for an axial stack). Exact ArrayBuffer. */
  values: ArrayBuffer;
  /** mm per pixel, horizontal and vertical (the vertical one from the slice spacing). */
  spacing: [number, number];
  /** Patient directions at the edges (null when the series has no orientation). */
  labels: { top: string; bottom: string; left: string; right: string } | null;
  /** Row v of the reformat for each axial slice index k (crosshair and vertebra labels). */
  rowOfSlice: number[];
  invert: boolean;
  voiFunction: 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';
  notes: string[];
}

/** Requests the webview sends, with their params and results. */
export interface ViewerMethods {
  'viewer/getSlice': { params: { index: number }; result: ViewerSlice };
  'viewer/getOverlay': { params: { index: number }; result: ViewerOverlay };
  'viewer/getTruth': { params: { index: number }; result: ViewerTruth | null };
  'viewer/getSegMasks': { params: { index: number }; result: ViewerSegMask[] };
  'viewer/getTags': { params: { index: number; query: string }; result: { file: string; rows: ViewerTag[]; matches: number } };
  'viewer/getReformat': { params: { kind: 'sagittal' | 'coronal'; index: number }; result: ViewerReformat };
}

/** Webview → host notifications. */
export interface ViewerToHostNotifications {
  'viewer/ready': Record<string, never>;
}

/** Host → webview notifications. */
export interface HostToViewerNotifications {
  /**
   * The opened file's own slice (index −1), sent as soon as it is decoded — before the folder's series is
   * scanned — so the first pixels do not wait for the scan. `viewer/init` follows.
   */
  'viewer/preview': ViewerSlice;
  'viewer/init': ViewerInit;
  /** The opened file cannot be shown: one readable line. */
  'viewer/fatal': { message: string };
  /** Model state (sent after init and whenever it changes). */
  'viewer/models': ViewerModels;
  /** Study summary progress (throttled while the background pass runs, and at its end). */
  'viewer/study': ViewerStudy;
  /** Ground truth found for the series (or not, with why). */
  'viewer/truth': ViewerTruthInfo;
  /** DICOM SEG objects found over the series (sent once they are read; files empty when none). */
  'viewer/segmentations': ViewerSegInfo;
}

export type ViewerRequest = { [M in keyof ViewerMethods]: RpcRequest<M, ViewerMethods[M]['params']> }[keyof ViewerMethods];
export type ViewerToHost = ViewerRequest | RpcCancel
  | { [M in keyof ViewerToHostNotifications]: RpcNotification<M, ViewerToHostNotifications[M]> }[keyof ViewerToHostNotifications];
export type HostToViewer = RpcResponse
  | { [M in keyof HostToViewerNotifications]: RpcNotification<M, HostToViewerNotifications[M]> }[keyof HostToViewerNotifications];
