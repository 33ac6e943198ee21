/**
 * The DICOM custom editor: a read-only document per .dcm and a webview that asks for slices of the
 * file's series. Logic lives in core (SeriesSource, series.ts); this file only wires VS Code to it.
 */
import * as vscode from 'vscode';
import { DecodePool } from '../../core/dicom/decodePool';
import { ViewerModelsService } from './models';
import { ViewerSession } from './session';
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
    <vscode-button secondary data-preset="bone" title="Bone 500/2000 (paper) — 1">Bone</vscode-button>
    <vscode-button secondary data-preset="soft" title="Soft tissue 40/400 — 2">Soft</vscode-button>
    <vscode-button secondary data-preset="lung" title="Lung −600/1500 — 3">Lung</vscode-button>
    <vscode-button secondary data-preset="brain" title="Brain 40/80 — 4">Brain</vscode-button>
    <vscode-button secondary data-preset="file" title="The file's own window — 5">File</vscode-button>
  </span>
  <span class="group" aria-label="Model overlays">
    <vscode-button secondary id="toggle-boxes" aria-pressed="true" title="Vertebra boxes — B">Boxes</vscode-button>
    <vscode-button secondary id="toggle-truth" aria-pressed="true" title="Ground truth: fracture boxes and vertebra outlines, dashed — T" disabled>Truth</vscode-button>
    <vscode-button secondary id="toggle-seg" aria-pressed="true" title="DICOM SEG masks — M" disabled>SEG</vscode-button>
    <label class="inline" title="Minimum detector confidence">Conf <input type="range" id="conf" min="0.25" max="1" step="0.05" aria-label="Minimum box confidence"><span id="conf-label" class="label"></span></label>
    <vscode-button secondary id="toggle-heatmap" aria-pressed="true" title="Grad-CAM heat map — H">Heat map</vscode-button>
    <label class="inline" title="Heat map opacity">Opacity <input type="range" id="opacity" min="0" max="1" step="0.05" aria-label="Heat map opacity"></label>
    <vscode-single-select id="colormap" aria-label="Heat map colours" title="Heat map colours"><vscode-option value="jet">Jet</vscode-option><vscode-option value="inferno">Inferno</vscode-option><vscode-option value="hot">Hot</vscode-option></vscode-single-select>
  </span>
  <span class="group" aria-label="Plane">
    <vscode-button secondary id="view-axial" data-plane="axial" aria-pressed="true" title="Axial slices — A">Axial</vscode-button>
    <vscode-button secondary id="view-sagittal" data-plane="sagittal" aria-pressed="false" title="Sagittal reformat with C1–C7 labels — S">Sagittal</vscode-button>
    <vscode-button secondary id="view-coronal" data-plane="coronal" aria-pressed="false" title="Coronal reformat — C">Coronal</vscode-button>
  </span>
  <span class="group" aria-label="View">
    <vscode-button secondary id="zoom-out" title="Zoom out — −">−</vscode-button>
    <vscode-button secondary id="fit" title="Fit and reset the view — 0">Fit</vscode-button>
    <vscode-button secondary id="zoom-in" title="Zoom in — +">+</vscode-button>
    <vscode-button secondary id="toggle-smooth" aria-pressed="true" title="Smooth (bilinear) magnification; off = nearest neighbour — I">Smooth</vscode-button>
    <vscode-button secondary id="play" aria-pressed="false" title="Cine — Space">▶</vscode-button>
    <label class="inline" title="Cine frames per second">fps <vscode-textfield type="number" id="fps" min="1" max="60" step="1" aria-label="Cine frames per second"></vscode-textfield></label>
    <vscode-button secondary id="help" title="Keyboard shortcuts — ?">?</vscode-button>
  </span>
  <span id="window-label" class="label"></span>
  <span id="slice-label" class="label"></span>
</header>
<div id="workspace">
  <main id="stage" tabindex="0">
    <div id="layers">
      <canvas id="image" aria-label="DICOM slice"></canvas>
      <canvas id="seg" aria-hidden="true" hidden></canvas>
      <canvas id="heat" aria-hidden="true" hidden></canvas>
      <svg id="boxes" aria-label="Vertebra boxes" preserveAspectRatio="none"></svg>
    </div>
    <div id="reformat-layers" hidden>
      <canvas id="reformat" aria-label="Reformat"></canvas>
      <svg id="reformat-marks" aria-label="Crosshair and vertebra labels"></svg>
    </div>
    <div id="hu-readout" class="label readout" aria-live="polite"></div>
    <div id="error" role="alert" hidden></div>
    <div id="shortcuts" role="dialog" aria-label="Keyboard shortcuts" hidden>
      <h2>Keyboard</h2>
      <dl>
        <dt>↑ ↓ ← → / wheel</dt><dd>previous / next slice</dd><dt>PgUp PgDn, Home End</dt><dd>10 slices, first / last</dd>
        <dt>Ctrl/⌘ + wheel, + −</dt><dd>zoom at the cursor</dd><dt>0</dt><dd>fit and reset</dd>
        <dt>Shift + drag, middle drag</dt><dd>pan</dd><dt>drag</dt><dd>window (width ↔, centre ↕)</dd>
        <dt>1 – 5</dt><dd>bone, soft, lung, brain, file window</dd><dt>B, H, T, M</dt><dd>boxes, heat map, ground truth, DICOM SEG masks</dd>
        <dt>A, S, C</dt><dd>axial, sagittal, coronal</dd><dt>G</dt><dd>DICOM tags panel</dd>
        <dt>I</dt><dd>smooth / nearest magnification</dd><dt>Space</dt><dd>cine play / pause</dd><dt>?  Esc</dt><dd>this list</dd>
      </dl>
    </div>
  </main>
  <aside id="side" aria-label="Study">
    <div class="tabs" aria-label="Side panel">
      <vscode-button secondary id="tab-study" aria-selected="true" aria-pressed="true">Study</vscode-button>
      <vscode-button secondary id="tab-tags" aria-selected="false" aria-pressed="false" title="DICOM tags — G">Tags</vscode-button>
    </div>
    <div id="study-panel" role="tabpanel">
      <div id="models-status" class="models-status"></div>
      <section id="summary" aria-label="Study summary"></section>
      <section id="truth-info" class="truth-info" aria-label="Ground truth"></section>
      <section id="seg-info" class="truth-info" aria-label="DICOM SEG"></section>
    </div>
    <div id="tags-panel" role="tabpanel" hidden>
      <vscode-textfield type="search" id="tag-search" placeholder="Search tags, names, values" aria-label="Search DICOM tags"></vscode-textfield>
      <div id="tag-count" class="tag-count"></div>
      <div id="tag-list" class="tag-list" role="table" aria-label="DICOM tags"></div>
    </div>
  </aside>
</div>
<nav id="navigator" aria-label="Series">
  <input type="range" id="slider" min="0" max="0" step="1" value="0" aria-label="Slice">
  <canvas id="strip" aria-label="Fracture probability and vertebrae per slice"></canvas>
</nav>
<footer id="status" class="status"></footer>`;

/** Provides the `dicomMl.viewer` custom editor. */
export class DicomViewerProvider implements vscode.CustomReadonlyEditorProvider<DicomDocument> {
  /** Open viewers, the one focused last at the end (for "Show DICOM SEG in the Viewer…"). */
  private static readonly open: { session: ViewerSession; name: string }[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly pool: DecodePool, private readonly models: ViewerModelsService) {}

  /**
   * "DICOM ML: Show DICOM SEG in the Viewer…": pick a DICOM SEG file (any folder) and draw its masks over the series of
   * the viewer last focused. Reading a SEG runs no code from the workspace, so untrusted folders may use it.
   */
  static async showSegmentation(): Promise<void> {
    const active = DicomViewerProvider.open.at(-1);
    if (!active) {
      void vscode.window.showErrorMessage('DICOM ML: open a DICOM series in the viewer first, then show a DICOM SEG over it.');
      return;
    }
    const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Show over the series', title: `DICOM SEG over ${active.name}`, filters: { DICOM: ['dcm', 'DCM', 'dicom'], 'All files': ['*'] } });
    if (picked?.[0]) active.session.addSegmentation(picked[0].fsPath);
  }

  /**
   * Register the provider with one decode pool for all viewers (slices decode off the extension host's
   * thread); both disposables go into context.subscriptions.
   */
  static register(context: vscode.ExtensionContext): vscode.Disposable[] {
    const pool = new DecodePool({ size: 2 });
    const models = new ViewerModelsService();
    return [
      models,
      vscode.window.registerCustomEditorProvider(VIEW_TYPE, new DicomViewerProvider(context.extensionUri, pool, models), {
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
    const session = new ViewerSession(document.uri, this.extensionUri, this.pool, this.models, (m) => void webview.postMessage(m));
    session.open();
    const mine = { session, name };
    const open = DicomViewerProvider.open;
    const remove = () => { const i = open.indexOf(mine); if (i >= 0) open.splice(i, 1); };
    const toFront = () => { remove(); open.push(mine); };
    open.push(mine);
    const disposables: vscode.Disposable[] = [
      panel.onDidChangeViewState(() => { if (panel.active) toFront(); }),
      webview.onDidReceiveMessage((m: unknown) => session.receive(m)),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (['dicomMl.viewer.overlays', 'dicomMl.models', 'dicomMl.inference'].some((k) => e.affectsConfiguration(k, document.uri))) session.restartModels();
      }),
      vscode.workspace.onDidGrantWorkspaceTrust(() => session.restartModels()),
    ];
    panel.onDidDispose(() => {
      remove();
      session.dispose();
      disposables.forEach((d) => d.dispose());
    });
  }
}
