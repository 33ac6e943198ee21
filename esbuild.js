// Bundles the three targets (ARCHITECTURE "Rooms"): the extension host (node, cjs), the CLI (node, cjs)
// and the webviews (browser, iife). Native addons and `vscode` stay external; WASM codecs are bundled
// as JS (they embed or locate their .wasm next to the package, see copyWasm below).
const esbuild = require('esbuild');
const fs = require('node:fs');
const path = require('node:path');

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/** Node-side packages that must be loaded from node_modules at run time (native addons, .wasm files). */
const nodeExternal = ['vscode', 'sharp', 'onnxruntime-node', '@cornerstonejs/codec-charls', '@cornerstonejs/codec-openjpeg', '@cornerstonejs/codec-libjpeg-turbo-8bit', '@cornerstonejs/codec-openjph'];

const common = { bundle: true, sourcemap: true, minify: production, logLevel: 'info', target: 'es2022' };

const builds = [
  { ...common, entryPoints: ['src/host/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', external: nodeExternal },
  { ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/cli.js', platform: 'node', format: 'cjs', external: nodeExternal },
  // The decode pool's worker (src/core/dicom/decodePool.ts loads dist/decodeWorker.js beside the bundle).
  { ...common, entryPoints: ['src/core/dicom/decodeWorker.ts'], outfile: 'dist/decodeWorker.js', platform: 'node', format: 'cjs', external: nodeExternal },
  { ...common, entryPoints: ['webview/viewer/main.ts'], outfile: 'dist/webview/viewer.js', platform: 'browser', format: 'iife' },
  // The metrics panel; uPlot's stylesheet comes out as dist/webview/metrics.css (webviewHtml.ts writes it into the page).
  { ...common, entryPoints: ['webview/metrics/main.ts'], outfile: 'dist/webview/metrics.js', platform: 'browser', format: 'iife' },
];

async function main() {
  fs.mkdirSync(path.join(__dirname, 'dist', 'webview'), { recursive: true });
  if (watch) {
    const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
    await Promise.all(contexts.map((c) => c.watch()));
    return;
  }
  await Promise.all(builds.map((b) => esbuild.build(b)));
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
