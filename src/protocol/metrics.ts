/**
 * Messages between the metrics panel webview and the extension host (types only; both sides import it).
 * The host reads evaluation folders (src/core/evaluation) and sends what the panel draws; the panel asks for
 * tables at a threshold, opens errors, compares runs and exports.
 */
import type { RpcCancel, RpcNotification, RpcRequest, RpcResponse } from './rpc';

/** A table column of the run comparison. */
export interface MetricsComparison {
  task: 'detect' | 'classify';
  columns: { key: string; title: string }[];
  rows: { label: string; dir: string; values: (number | null)[] }[];
  best: number[][];
}

/** One error of the list (src/core/evaluation/errors.ts ModelError). */
export interface MetricsError {
  id: number;
  kind: 'fp' | 'fn' | 'wrong-class';
  cls: number;
  className: string;
  truthName?: string;
  conf?: number;
  iou?: number;
  study?: string;
  slice?: number;
  vertebra?: string;
  image: string;
  /** Whether a source DICOM is known (the manifest linked the image). */
  hasSource: boolean;
  message: string;
}

/** The evaluation the panel shows: metrics.json as written (curves included), and its errors. */
export interface MetricsEvaluation {
  dir: string;
  label: string;
  task: 'detect' | 'classify';
  /** metrics.json. */
  metrics: Record<string, unknown>;
  names: string[];
  errors: MetricsError[];
  /**
   * Per study (classifications of vertebra crops): fused C1–C7 and patient probability, the truth the crop
   * labels give, and the RSNA 2022 metric over the studies (src/core/evaluation/studies.ts).
   */
  studies?: { study: string; vertebrae: (number | null)[]; patient: number; truth: (0 | 1 | null)[]; truthPatient: 0 | 1 }[];
  rsna?: number;
}

/** Tables at a threshold. */
export type MetricsAtThreshold =
  | { task: 'classify'; threshold: number; accuracy: number; precision: number; recall: number; f1: number; specificity: number; kappa: number; auc: number | null; confusion: number[][] }
  | { task: 'detect'; threshold: number; precision: number; recall: number; f1: number; rows: { id: number; name: string; precision: number; recall: number; f1: number }[] };

/** A training run's epochs for the live curves (events.jsonl). */
export interface MetricsTraining {
  dir: string;
  name: string;
  task: 'detect' | 'classify';
  status: string;
  epochs: number;
  /** Per epoch: epoch number and every numeric loss / metric the trainer reported. */
  points: { epoch: number; values: Record<string, number> }[];
}

export interface MetricsMethods {
  'metrics/atThreshold': { params: { threshold: number }; result: MetricsAtThreshold };
  /** Open error `id`; `order`: the list's ids as the panel shows them (next / previous follow it). */
  'metrics/openError': { params: { id: number; order?: number[] }; result: { opened: boolean } };
  'metrics/compare': { params: { dirs?: string[] }; result: MetricsComparison[] | null };
  /**
   * Save the comparison (Markdown, CSV) or this evaluation's report (Markdown; HTML with `charts`, the panel's
   * curves as PNG data URLs). Null when the user cancels the save dialog.
   */
  'metrics/export': { params: { what: 'comparison-md' | 'comparison-csv' | 'report-md' | 'report-html'; charts?: { title: string; dataUrl: string }[] }; result: { file: string } | null };
}

export interface MetricsToHostNotifications {
  /** The page (re)loaded; its saved state names the evaluation folder and the run it showed. */
  'metrics/ready': { dir?: string; run?: string };
}

export interface HostToMetricsNotifications {
  'metrics/evaluation': MetricsEvaluation;
  'metrics/training': MetricsTraining;
  'metrics/fatal': { message: string };
  /** The error now open (from next / previous error). */
  'metrics/selected': { id: number };
}

export type MetricsRequest = { [M in keyof MetricsMethods]: RpcRequest<M, MetricsMethods[M]['params']> }[keyof MetricsMethods];
export type MetricsToHost = MetricsRequest | RpcCancel
  | { [M in keyof MetricsToHostNotifications]: RpcNotification<M, MetricsToHostNotifications[M]> }[keyof MetricsToHostNotifications];
export type HostToMetrics = RpcResponse
  | { [M in keyof HostToMetricsNotifications]: RpcNotification<M, HostToMetricsNotifications[M]> }[keyof HostToMetricsNotifications];
