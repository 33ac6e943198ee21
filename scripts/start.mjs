#!/usr/bin/env node
// `npm start`: the main job in one command. Builds the extension, makes a sample study (RSNA layout) if missing,
// installs code-server on first use (scripts/code-server.mjs), serves VS Code on 127.0.0.1 with the extension
// loaded and the study's folder as workspace, and opens a mid-neck slice in the DICOM viewer (default models'
// overlays on) as soon as a browser connects. Stays in the foreground until Ctrl-C, then stops the server.
//
//   npm start                      serve on $PORT or 8080 (a free port if taken)
//   npm start -- --port 9000       another port
//   npm start -- --demo DIR        another folder of .dcm files as workspace (made with `dicom-ml demo` if empty);
//                                  by default a sample study in the RSNA layout (dicom-ml sample) with the
//                                  default models' overlays and its ground truth
//   npm start -- --check           (or DICOM_ML_START_CHECK=1) do all of it, load the page in headless Chromium,
//                                  verify the viewer rendered the slice, screenshot, exit 0 — CI's proof

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  CODE_SERVER_VERSION,
  REPO_ROOT,
  VSCODE_VERSION,
  SetupError,
  checkPrerequisites,
  chromiumPath,
  ensureCodeServer,
  freePort,
  launchCodeServer,
  workbenchUrl,
} from './code-server.mjs';

const CHECK_TIMEOUT_MS = 180_000;

function fail(message) {
  console.error(`npm start: ${message}`);
  process.exit(1);
}

function step(message) {
  console.error(`▸ ${message}`);
}

/** `1.dcm, 2.dcm, …, 10.dcm` in numeric order (RSNA names slices by number). */
function dcmFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  const collator = new Intl.Collator('en', { numeric: true });
  return fs
    .readdirSync(dir)
    .filter((n) => /\.dcm$/i.test(n))
    .sort(collator.compare);
}

function build() {
  step('building (npm run build)');
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(r.stdout + r.stderr);
    fail(`build failed (exit ${r.status ?? r.signal})`);
  }
}

/**
 * The default workspace: one realistic sample study in the RSNA layout (`dicom-ml sample`: 96 slices of a
 * neck CT phantom with a fracture, its segmentation, train.csv and fracture boxes), made once. Returns the
 * slice to open first: the middle of the neck, where the default models find vertebrae.
 */
function ensureSampleStudy(dir) {
  const images = path.join(dir, 'train_images');
  const find = () => (fs.existsSync(images) ? fs.readdirSync(images).map((u) => path.join(images, u)).find((d) => dcmFiles(d).length) : undefined);
  if (!find()) {
    step(`making a sample study in ${path.relative(process.cwd(), dir) || dir} (dicom-ml sample: RSNA layout, 96 slices, with a fracture)`);
    fs.mkdirSync(dir, { recursive: true });
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), 'sample', '--out', dir, '--studies', '1', '--seed', '7', '--slices', '96-96',
      '--fracture-rate', '1', '--segmentation-rate', '1'], { encoding: 'utf8' });
    if (r.status !== 0) fail(`could not make the sample study: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  }
  const study = find();
  if (!study) fail(`dicom-ml sample wrote no study into ${images}`);
  const files = dcmFiles(study);
  return path.join(study, files[Math.floor(files.length / 2)]);
}

function ensureDemo(dir) {
  if (dcmFiles(dir).length) return;
  step(`making the demo CT series in ${path.relative(process.cwd(), dir) || dir} (dicom-ml demo)`);
  fs.mkdirSync(dir, { recursive: true });
  const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), 'demo', '--out', dir], { encoding: 'utf8' });
  if (r.status !== 0) fail(`could not make the demo series: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  if (!dcmFiles(dir).length) fail(`dicom-ml demo wrote no .dcm files into ${dir}`);
}

/** Loads the workbench in headless Chromium, waits for the viewer to render, screenshots; throws on failure. */
async function verifyInBrowser(server, url, first, outDir, withModels) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({
    executablePath: chromiumPath(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const res = await page.goto(url, { timeout: 30_000 });
    if (!res?.ok()) throw new Error(`${url} answered ${res?.status()}`);
    await page.locator('.monaco-workbench').waitFor({ timeout: 45_000 });
    step('page serves the workbench; waiting for the viewer');
    if (!(await server.openFile(first, { timeoutMs: 45_000 }))) throw new Error(`could not hand ${first} to the browser window`);
    await page.locator('.tabs-container .tab.active', { hasText: path.basename(first) }).waitFor({ timeout: 20_000 });
    const deadline = Date.now() + 30_000;
    let state;
    let frame;
    while (Date.now() < deadline) {
      try {
        const outer = await (await page.locator('iframe.webview.ready').filter({ visible: true }).first().elementHandle({ timeout: 2_000 })).contentFrame();
        frame = await (await outer.locator('#active-frame').elementHandle({ timeout: 2_000 })).contentFrame();
        state = await frame.evaluate(() => ({ ...document.body.dataset, error: document.getElementById('error')?.textContent ?? '' }));
        if (state.state === 'ready' || state.state === 'error') break;
      } catch {
        /* the webview is still being created */
      }
      await page.waitForTimeout(250);
    }
    fs.mkdirSync(outDir, { recursive: true });
    const shot = path.join(outDir, 'start-check.png');
    await page.screenshot({ path: shot });
    if (state?.state !== 'ready') throw new Error(`the DICOM viewer did not become ready: ${JSON.stringify(state ?? 'no webview')} (screenshot ${shot})`);
    // The default models run on the sample study: wait for the overlay of the slice on screen (not for a folder of
    // other files given with --demo, where models may find nothing).
    let models = state.models;
    if (withModels) {
      const until = Date.now() + 60_000;
      while (Date.now() < until) {
        models = await frame.evaluate(() => ({ ...document.body.dataset }));
        if (models.models === 'error' || (models.models === 'ready' && models.overlay === models.slice)) break;
        await page.waitForTimeout(250);
      }
      await page.screenshot({ path: shot });
      if (models.models !== 'ready' || models.overlay !== models.slice) throw new Error(`the model overlays did not show: ${JSON.stringify(models)} (screenshot ${shot})`);
      state = models;
    }
    const canvas = await frame.evaluate(() => {
      const c = document.querySelector('canvas#image');
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let lit = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] > 0) lit++;
      return { width: c.width, height: c.height, lit };
    });
    if (!canvas.width || !canvas.lit) throw new Error(`the viewer's canvas is empty (${JSON.stringify(canvas)}; screenshot ${shot})`);
    return { state, canvas, shot };
  } finally {
    await browser.close().catch(() => {});
  }
}

async function main() {
  const { values } = parseArgs({
    options: { check: { type: 'boolean' }, port: { type: 'string' }, demo: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log('usage: npm start [-- --port N] [--demo DIR] [--check]');
    return;
  }
  const check = values.check || process.env.DICOM_ML_START_CHECK === '1';
  const given = values.demo ?? process.env.DICOM_ML_DEMO_DIR;
  const demoDir = path.resolve(given ?? path.join(REPO_ROOT, 'sample-data', 'sample-study'));
  const preferred = Number(values.port ?? process.env.PORT ?? 8080);
  if (!Number.isInteger(preferred) || preferred < 1 || preferred > 65535) fail(`port must be an integer 1…65535, got "${values.port ?? process.env.PORT}"`);

  checkPrerequisites({ chromium: check });
  const started = Date.now();
  let watchdog;
  if (check) {
    watchdog = setTimeout(() => fail(`--check did not finish within ${CHECK_TIMEOUT_MS / 1000} s (after the install)`), CHECK_TIMEOUT_MS);
    watchdog.unref();
  }
  build();
  let first;
  if (given) {
    ensureDemo(demoDir);
    first = path.join(demoDir, dcmFiles(demoDir)[0]);
  } else {
    first = ensureSampleStudy(demoDir);
  }
  if (watchdog) watchdog.refresh(); // the one-time code-server install is not part of the check's time budget
  await ensureCodeServer({ log: step });
  if (watchdog) watchdog.refresh();

  const port = await freePort(preferred);
  if (port !== preferred) step(`port ${preferred} is taken; using ${port}`);
  // The server's profile (settings, layout) persists between `npm start` runs; the check uses a fresh one.
  const stateDir = check ? path.join(REPO_ROOT, 'test-output', 'start-check') : path.join(REPO_ROOT, '.cache', 'start');
  if (check) fs.rmSync(stateDir, { recursive: true, force: true });
  step(`starting code-server ${CODE_SERVER_VERSION} with the extension on 127.0.0.1:${port}`);
  const server = await launchCodeServer({ testDir: stateDir, workspace: demoDir, port, log: () => {} });
  const url = workbenchUrl({ port, workspace: demoDir });

  let stopping = false;
  const stop = async (code) => {
    if (stopping) return;
    stopping = true;
    await server.stop();
    process.exit(code);
  };
  const abort = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      abort.abort();
      if (sig === 'SIGINT' && !check) console.error('\nstopping…');
      void stop(check ? 1 : 0);
    });
  }

  if (check) {
    try {
      const r = await verifyInBrowser(server, url, first, stateDir, !given);
      console.log(`npm start --check: ok — ${url} serves VS Code ${VSCODE_VERSION} (code-server ${CODE_SERVER_VERSION}); ` +
        `${path.basename(first)} rendered in the DICOM viewer (${r.canvas.width}×${r.canvas.height}, slice ${Number(r.state.slice) + 1}/${r.state.slices}, ` +
        `window ${r.state.window})${r.state.models === 'ready' ? `, model overlays on (${r.state.boxes} vertebra box(es), slice fracture probability ${r.state.fracture || 'n/a'})` : ''} in ${Math.round((Date.now() - started) / 1000)} s; screenshot ${path.relative(process.cwd(), r.shot)}`);
      await stop(0);
    } catch (err) {
      console.error(`npm start --check: ${err.message.split('\n')[0]} (server log: ${server.logFile})`);
      await stop(1);
    }
    return;
  }

  void server.done.then(({ code, signal }) => {
    if (!stopping) fail(`code-server stopped by itself (${code ?? signal}); log: ${server.logFile}`);
  });
  const host = os.hostname();
  console.log(`
  DICOM ML Workbench is running (VS Code in the browser, code-server ${CODE_SERVER_VERSION}):

      ${url}

  Open that URL in a browser: ${path.basename(first)} opens in the DICOM viewer once the page connects.
  Workspace: ${demoDir}
  On a remote or headless GPU box, forward the port from your own machine first:
      ssh -N -L ${port}:127.0.0.1:${port} <you>@${host}
  then open the URL above locally. Server log: ${server.logFile}
  Ctrl-C stops it.
`);
  const opened = await server.openFile(first, { timeoutMs: Number.POSITIVE_INFINITY, signal: abort.signal });
  if (opened) step(`opened ${path.basename(first)} in the DICOM viewer`);
}

main().catch((err) => {
  fail(err instanceof SetupError ? err.message : err.stack || String(err));
});
