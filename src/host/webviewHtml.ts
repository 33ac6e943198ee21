/**
 * Webview HTML with a strict CSP (STYLE.md): default-src 'none', the bundle's script and style only by
 * nonce, images and fonts only from the extension's own folders. No network, no inline handlers, no eval.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import * as vscode from 'vscode';

/** Options for a webview limited to the bundle and media folders of the extension. */
export function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(extensionUri, 'media')],
  };
}

/**
 * The page for a webview bundle `dist/webview/<name>.js` with `media/<name>.css`, around `body`. Both are
 * written into the page under the nonce rather than linked: in a remote host (code-server, Codespaces) each
 * linked file is one more round trip through the webview's service worker before the first pixels (~80 ms
 * measured in code-server); the CSP is as strict either way.
 */
export function webviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, name: string, title: string, body: string): string {
  const nonce = randomBytes(16).toString('base64');
  const file = (...parts: string[]) => readFileSync(vscode.Uri.joinPath(extensionUri, ...parts).fsPath, 'utf8');
  // A closing tag inside the bundle would end the element early; esbuild escapes it in strings, this is the backstop.
  const script = file('dist', 'webview', `${name}.js`).replace(/<\/script/gi, '<\\/script');
  // media/<name>.css, then what the bundle's own CSS imports became (dist/webview/<name>.css: uPlot's), if any.
  const bundled = vscode.Uri.joinPath(extensionUri, 'dist', 'webview', `${name}.css`).fsPath;
  const style = [file('media', `${name}.css`), existsSync(bundled) ? readFileSync(bundled, 'utf8') : ''].join('\n').replace(/<\/style/gi, '<\\/style');
  const csp = [
    "default-src 'none'",
    `img-src ${webview.cspSource} data: blob:`,
    `style-src 'nonce-${nonce}'`,
    `font-src ${webview.cspSource}`,
    `script-src 'nonce-${nonce}'`,
  ].join('; ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style nonce="${nonce}">${style}</style>
<title>${escapeHtml(title)}</title>
</head>
<body data-state="loading">
${body}
<script nonce="${nonce}">${script}</script>
</body>
</html>`;
}

/** Escape text for HTML content and attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}
