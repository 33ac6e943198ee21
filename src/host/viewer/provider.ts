/**
 * The DICOM custom editor: a read-only document per .dcm and a webview that asks for slices of the
 * file's series. Logic lives in core (SeriesSource, series.ts); this file only wires VS Code to it.
 */
import * as vscode from 'vscode';
import { formatUserError } from '../../core/dicom/errors';
import { DecodePool } from '../../core/dicom/decodePool';
import { loadImage } from '../../core/dicom/load';
import { openSeriesFor } from '../../core/viewer/openSeries';
import { SeriesSource } from '../../core/viewer/seriesSource';
import type { HostToViewer, ViewerToHost } from '../../protocol/viewer';
import { escapeHtml, webviewHtml, webviewOptions } from '../webviewHtml';

export const VIEW_TYPE = 'dicomMl.viewer';

/** A DICOM file opened in the viewer (read-only: nothing is ever written back). */
class DicomDocument implements vscode.CustomDocument {
  constructor(readonly uri: vscode.Uri) {}
  dispose(): void {}
}

const BODY = `
<header class="toolbar" role="toolbar" aria-label="Viewer tools">
  <span class="group" aria-label="Window presets">
    <button type="button" data-preset="bone" title="Bone 500/2000 (paper)">Bone</button>
    <button type="button" data-preset="soft" title="Soft tissue 40/400">Soft</button>
    <button type="button" data-preset="lung" title="Lung −600/1500">Lung</button>
    <button type="button" data-preset="brain" title="Brain 40/80">Brain</button>
    <button type="button" data-preset="file" title="The file's own window">File</button>
  </span>
  <span id="window-label" class="label"></span>
  <span id="slice-label" class="label"></span>
  <span id="hu-readout" class="label" aria-live="polite"></span>
</header>
<main id="stage" tabindex="0">
  <canvas id="image" aria-label="DICOM slice"></canvas>
  <div id="error" role="alert" hidden></div>
</main>
<footer id="status" class="status"></footer>`;

/** Provides the `dicomMl.viewer` custom editor. */
export class DicomViewerProvider implements vscode.CustomReadonlyEditorProvider<DicomDocument> {
  constructor(private readonly extensionUri: vscode.Uri, private readonly pool: DecodePool) {}

  /**
   * Register the provider with one decode pool for all viewers (slices decode off the extension host's
   * thread); both disposables go into context.subscriptions.
   */
  static register(context: vscode.ExtensionContext): vscode.Disposable[] {
    const pool = new DecodePool({ size: 2 });
    return [
      vscode.window.registerCustomEditorProvider(VIEW_TYPE, new DicomViewerProvider(context.extensionUri, pool), {
        supportsMultipleEditorsPerDocument: true,
        webviewOptions: { retainContextWhenHidden: false },
      }),
      { dispose: () => void pool.close() },
    ];
  }

  openCustomDocument(uri: vscode.Uri): DicomDocument {
    return new DicomDocument(uri);
  }

  resolveCustomEditor(document: DicomDocument, panel: vscode.WebviewPanel): void {
    const webview = panel.webview;
    webview.options = webviewOptions(this.extensionUri);
    const name = document.uri.path.split('/').pop() ?? 'DICOM';
    webview.html = webviewHtml(webview, this.extensionUri, 'viewer', escapeHtml(name), BODY);
    const disposables: vscode.Disposable[] = [];
    const post = (message: HostToViewer) => void webview.postMessage(message);
    let source: SeriesSource | undefined;
    const cancelled = new Set<number>();

    const init = async () => {
      if (document.uri.scheme !== 'file') {
        post({ kind: 'rpc/notify', method: 'viewer/fatal', params: { message: `${document.uri.toString()}: only files on disk can be opened (scheme "${document.uri.scheme}")` } });
        return;
      }
      const path = document.uri.fsPath;
      try {
        await loadImage(path); // the opened file itself must be readable; its neighbours may be skipped
      } catch (err) {
        post({ kind: 'rpc/notify', method: 'viewer/fatal', params: { message: formatUserError(err, path) } });
        return;
      }
      const opened = await openSeriesFor(path);
      source = new SeriesSource(opened.entries, { pool: this.pool });
      post({ kind: 'rpc/notify', method: 'viewer/init', params: opened.init });
    };

    disposables.push(webview.onDidReceiveMessage(async (message: ViewerToHost) => {
      if (message.kind === 'rpc/notify' && message.method === 'viewer/ready') {
        await init().catch((err: unknown) => post({ kind: 'rpc/notify', method: 'viewer/fatal', params: { message: formatUserError(err, document.uri.fsPath) } }));
      } else if (message.kind === 'rpc/cancel') {
        cancelled.add(message.id);
      } else if (message.kind === 'rpc/request' && message.method === 'viewer/getSlice') {
        const { id } = message;
        try {
          if (!source) throw new Error('the viewer is not initialised yet');
          const result = await source.getSlice(message.params.index);
          if (!cancelled.delete(id)) post({ kind: 'rpc/response', id, result });
        } catch (err) {
          if (!cancelled.delete(id)) post({ kind: 'rpc/response', id, error: formatUserError(err) });
        }
      }
    }));
    panel.onDidDispose(() => disposables.forEach((d) => d.dispose()), undefined, disposables);
  }
}
