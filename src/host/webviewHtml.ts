/**
 * Webview HTML with a strict CSP (STYLE.md): default-src 'none', scripts only by nonce, styles and images
 * only from the extension's own folders. No network, no inline handlers.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';

/** Options for a webview limited to the bundle and media folders of the extension. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

/** The page for a webview bundle `dist/webview/<name>.js` with `media/<name>.css`, around `body`. */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, name: string, title: string, body: string): string {
  const nonce = randomBytes(16).toString('base64');
  const script = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${name}.js`));
  const style = webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', `${name}.css`));
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data: blob:`,
    `style-src ${webview.cspSource}`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${style.toString()}">
<title>${escapeHtml(title)}</title>
</head>
<body data-state="loading">
${body}
<script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
}

/** Escape text for HTML content and attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
