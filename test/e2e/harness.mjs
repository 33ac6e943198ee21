// E2E harness: the real VS Code workbench (code-server, scripts/code-server.mjs) driven through Debian's
// Chromium by playwright-core. Helpers to build the test workspace, open files the way a user does (Quick Open,
// the command palette), reach the viewer webview (`iframe.webview.ready` → `#active-frame`) and compute what
// its canvas must hold from the CLI (`dicom-ml pixels`), so pixel checks compare two independent paths:
// the extension's webview rendering vs the CLI's modality values windowed here.
//
// Every wait has a timeout; nothing here waits forever.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { REPO_ROOT, chromiumPath, launchCodeServer, workbenchUrl } from '../../scripts/code-server.mjs';

const run = promisify(execFile);

/** Where the suite writes its workspace, server state, logs and screenshots (git-ignored). */
export const OUT_DIR = path.resolve(process.env.DICOM_ML_E2E_OUT ?? path.join(REPO_ROOT, 'test-output', 'e2e'));
/** The folder code-server opens: `series/` (demo CT series) and `broken.dcm` (random bytes). */
export const WORKSPACE = path.join(OUT_DIR, 'workspace');
const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
/** Slices in the demo series the suite makes. */
export const DEMO_SLICES = 12;

/** Chromium flags from ARCHITECTURE "Environment facts" (offline, headless, no GPU, no background traffic). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Window presets as the contract states them (center, width); the test's own copy, not the product's. */
export const PRESETS = { bone: [500, 2000], soft: [40, 400], lung: [-600, 1500], brain: [40, 80] };

/** Runs the built CLI; resolves stdout. Rejects with the CLI's one-line stderr. */
export async function cli(...args) {
  try {
    const { stdout } = await run(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20, timeout: 60_000 });
    return stdout;
  } catch (err) {
    throw new Error(`dicom-ml ${args.join(' ')} failed: ${(err.stderr || err.message).trim()}`);
  }
}

/**
 * Makes the test workspace: `series/` from `dicom-ml demo --slices 12` (or a copy of $DICOM_ML_E2E_SERIES, a
 * folder of .dcm files, for trying the suite on other data) and `broken.dcm` (4 KiB of seeded random bytes).
 * Recreated every run so no state from an earlier run leaks in.
 */
export async function prepareWorkspace() {
  fs.rmSync(WORKSPACE, { recursive: true, force: true });
  const series = path.join(WORKSPACE, 'series');
  fs.mkdirSync(series, { recursive: true });
  if (process.env.DICOM_ML_E2E_SERIES) {
    const src = path.resolve(process.env.DICOM_ML_E2E_SERIES);
    for (const f of fs.readdirSync(src).filter((n) => /\.dcm$/i.test(n))) fs.copyFileSync(path.join(src, f), path.join(series, f));
  } else {
    await cli('demo', '--out', series, '--slices', String(DEMO_SLICES));
  }
  // Deterministic garbage (xorshift32) that does not start with a DICOM preamble/"DICM" by construction.
  const bytes = Buffer.alloc(4096);
  let s = 0x2545f491;
  for (let i = 0; i < bytes.length; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    bytes[i] = s & 0xff;
  }
  bytes.write('JUNK', 128, 'latin1');
  fs.writeFileSync(path.join(WORKSPACE, 'broken.dcm'), bytes);
  const files = fs.readdirSync(series).filter((n) => /\.dcm$/i.test(n));
  if (files.length < 3) throw new Error(`test series in ${series} has ${files.length} .dcm files; need at least 3`);
  return { workspace: WORKSPACE, series, files };
}

/** `dicom-ml info --json` of one file. */
export async function info(file) {
  return JSON.parse(await cli('info', file, '--json'));
}

/** Modality values (HU for CT) of one file's first frame, from `dicom-ml pixels` (Float32 LE, row-major). */
export async function huValues(file) {
  const out = path.join(OUT_DIR, 'pixels', `${path.basename(path.dirname(file))}-${path.basename(file)}.f32`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  await cli('pixels', file, '--out', out, '--frame', '0');
  const buf = fs.readFileSync(out);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/**
 * PS3.3 C.11.2.1.2.1 linear VOI to 8 bits, as the contract states it:
 * y = ((x − (c − 0.5)) / (w − 1) + 0.5) · 255, clamped to 0…255, rounded.
 * @param {Float32Array} values modality values, rows×columns
 * @returns {Uint8Array}
 */
export function windowGrey(values, center, width) {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const y = ((values[i] - (center - 0.5)) / (width - 1) + 0.5) * 255;
    out[i] = Math.round(Math.min(255, Math.max(0, y)));
  }
  return out;
}

/**
 * Compares canvas grey with expected grey; a pixel counts as wrong when off by more than `tol`.
 * @returns {{ wrong: number, maxDiff: number, examples: string[] }}
 */
export function compareGrey(actual, expected, columns, tol = 1) {
  if (actual.length !== expected.length) return { wrong: Math.max(actual.length, expected.length), maxDiff: 255, examples: [`length ${actual.length} vs ${expected.length}`] };
  let wrong = 0;
  let maxDiff = 0;
  const examples = [];
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (d > maxDiff) maxDiff = d;
    if (d > tol) {
      wrong++;
      if (examples.length < 5) examples.push(`(${i % columns}, ${Math.floor(i / columns)}): canvas ${actual[i]}, expected ${expected[i]}`);
    }
  }
  return { wrong, maxDiff, examples };
}

/** Pixel positions spread over the image (grid plus the brightest and darkest expected pixels). */
export function samplePoints(values, columns, rows, n = 7) {
  const pts = [];
  for (let j = 1; j <= n; j++) for (let i = 1; i <= n; i++) pts.push([Math.floor((i * columns) / (n + 1)), Math.floor((j * rows) / (n + 1))]);
  let lo = 0;
  let hi = 0;
  for (let i = 1; i < values.length; i++) {
    if (values[i] < values[lo]) lo = i;
    if (values[i] > values[hi]) hi = i;
  }
  pts.push([hi % columns, Math.floor(hi / columns)], [lo % columns, Math.floor(lo / columns)]);
  return pts;
}

/**
 * Launches code-server on the workspace and Chromium on it; `close()` ends both. `settings`: user settings for
 * the fresh profile; `workspaceTrust`: Workspace Trust on, the folder in Restricted Mode.
 */
export async function startWorkbench({ workspace = WORKSPACE, settings = {}, workspaceTrust = false, log = () => {} } = {}) {
  const testDir = path.join(OUT_DIR, 'code-server');
  fs.rmSync(testDir, { recursive: true, force: true }); // fresh profile: nothing restored from an earlier run
  const server = await launchCodeServer({ testDir, workspace, settings, workspaceTrust, log });
  let browser;
  try {
    // launch() gives every run a fresh temporary profile (user-data-dir) and deletes it on close.
    browser = await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, timeout: 30_000 });
  } catch (err) {
    await server.stop();
    throw err;
  }
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const consoleLog = fs.createWriteStream(path.join(OUT_DIR, 'browser-console.log'));
  page.on('console', (m) => consoleLog.write(`[${m.type()}] ${m.text()}\n`));
  page.on('pageerror', (e) => consoleLog.write(`[pageerror] ${e.message}\n`));
  await page.goto(workbenchUrl({ port: server.port, workspace }), { timeout: 30_000 });
  await page.locator('.monaco-workbench').waitFor({ timeout: 45_000 });
  // The explorer lists the workspace once the remote file system is up.
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 30_000 });
  return {
    server,
    browser,
    page,
    async close() {
      await browser.close().catch(() => {});
      consoleLog.end();
      await server.stop();
    },
  };
}

/** Screenshot of the whole workbench into OUT_DIR (and $DICOM_ML_E2E_SHOTS when set). Returns the path. */
export async function screenshot(page, name) {
  const file = path.join(OUT_DIR, `${name}.png`);
  await page.screenshot({ path: file, timeout: 15_000 });
  if (process.env.DICOM_ML_E2E_SHOTS) {
    fs.mkdirSync(process.env.DICOM_ML_E2E_SHOTS, { recursive: true });
    fs.copyFileSync(file, path.join(process.env.DICOM_ML_E2E_SHOTS, `${name}.png`));
  }
  return file;
}

/** Runs a command from the palette by its title (F1, type, Enter on the matching row). */
export async function runCommand(page, title, { timeout = 45_000 } = {}) {
  // Right after the page loads, the remote extension host may not have registered our contributions
  // yet, so the palette says "No matching commands": reopen it until the command shows (bounded).
  const deadline = Date.now() + timeout;
  for (;;) {
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    // F1 can be swallowed where the focus sits (seen after the Problems view took it): focus the workbench's
    // status bar and press it again.
    const shown = await input.waitFor({ timeout: 5_000 }).then(() => true, () => false);
    if (!shown) {
      if (Date.now() >= deadline) throw new Error(`the command palette did not open for "${title}"`);
      await page.locator('.part.statusbar').first().click({ position: { x: 400, y: 5 } }).catch(() => {});
      continue;
    }
    // The palette can close again before it is typed into (the focus taken by a view or panel still settling, seen
    // in CI after the Problems view and the metrics panel): open it again rather than wait on a hidden input.
    const filled = await input.fill(`>${title}`, { timeout: 5_000 }).then(() => true, () => false);
    if (!filled) {
      if (Date.now() >= deadline) throw new Error(`the command palette closed before "${title}" could be typed`);
      continue;
    }
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: title }).first();
    try {
      await row.waitFor({ timeout: Math.min(5_000, Math.max(1, deadline - Date.now())) });
      await input.press('Enter');
      return;
    } catch (err) {
      if (Date.now() >= deadline) throw err;
    }
  }
}

/** Picks the row of the open quick pick whose label is exactly `label`. */
export async function pickQuickItem(page, label, { timeout = 10_000 } = {}) {
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) }).first();
  await row.waitFor({ timeout });
  await row.click();
}

/** Closes every editor so the next viewer is the only webview on the page. */
export async function closeAllEditors(page) {
  await runCommand(page, 'View: Close All Editors');
  await page.locator('.tabs-container .tab').first().waitFor({ state: 'detached', timeout: 10_000 });
}

/** Opens a workspace file through Quick Open (Ctrl+P), as a user would. `relPath` like `series/6.dcm`. */
export async function quickOpen(page, relPath) {
  await page.keyboard.press('Escape');
  await page.keyboard.press('Control+P');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  await input.fill(relPath);
  const base = path.basename(relPath);
  // File search runs ripgrep on the server; the row appears when it answers.
  const row = page.locator('.quick-input-list .monaco-list-row', { hasText: base }).first();
  await row.waitFor({ timeout: 15_000 });
  const label = (await row.getAttribute('aria-label')) ?? '';
  if (!label.startsWith(base)) throw new Error(`Quick Open's first match for ${relPath} is "${label}"`);
  await input.press('Enter');
  await page.locator('.tabs-container .tab.active', { hasText: base }).waitFor({ timeout: 10_000 });
}

/**
 * The document of a visible webview (`iframe.webview.ready` → `#active-frame`) that has `selector` — by default
 * `body[data-state]` (any of ours); with the metrics panel beside a viewer, `#stage` picks the viewer.
 * @returns {Promise<import('playwright-core').Frame>}
 */
export async function viewerFrame(page, { timeout = 20_000, selector = 'body[data-state]' } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  while (Date.now() < deadline) {
    try {
      for (const outerHandle of await page.locator('iframe.webview.ready').filter({ visible: true }).elementHandles()) {
        const outer = await outerHandle.contentFrame();
        const innerHandle = await outer?.locator('#active-frame').elementHandle({ timeout: Math.max(1, deadline - Date.now()) });
        const inner = await innerHandle?.contentFrame();
        if (inner && (await inner.locator(selector).count()) > 0) return inner;
      }
    } catch (err) {
      lastError = err;
    }
    await page.waitForTimeout(200);
  }
  throw new Error(`no webview with ${selector} within ${timeout / 1000} s${lastError ? ` (${lastError.message.split('\n')[0]})` : ''}`);
}

/** Waits for `body[data-state]` to be one of `states`; returns the body's dataset. */
export async function waitForState(frame, states, { timeout = 20_000 } = {}) {
  const selector = states.map((s) => `body[data-state="${s}"]`).join(', ');
  try {
    await frame.locator(selector).waitFor({ state: 'attached', timeout });
  } catch {
    const now = await frame.evaluate(() => ({ ...document.body.dataset, error: document.getElementById('error')?.textContent })).catch(() => ({}));
    throw new Error(`viewer did not reach data-state ${states.join('|')} within ${timeout / 1000} s; now ${JSON.stringify(now)}`);
  }
  return frame.evaluate(() => ({ ...document.body.dataset }));
}

/** Waits until `fn(dataset)` holds (polling), e.g. a new data-slice after a key press. */
export async function waitForDataset(frame, fn, what, { timeout = 10_000 } = {}) {
  const deadline = Date.now() + timeout;
  let ds;
  while (Date.now() < deadline) {
    ds = await frame.evaluate(() => ({ ...document.body.dataset }));
    if (fn(ds)) return ds;
    await frame.page().waitForTimeout(100);
  }
  throw new Error(`viewer: ${what} not reached within ${timeout / 1000} s; dataset ${JSON.stringify(ds)}`);
}

/**
 * Reads `canvas#image` in the webview: its size, the red channel, and how many pixels are not opaque grey.
 * @returns {Promise<{ width: number, height: number, grey: Uint8Array, notGrey: number }>}
 */
export async function readCanvas(frame) {
  const r = await frame.evaluate(() => {
    const c = document.querySelector('canvas#image');
    if (!c || !c.width || !c.height) return { width: c?.width ?? 0, height: c?.height ?? 0, grey: '', notGrey: 0 };
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const grey = new Uint8Array(c.width * c.height);
    let notGrey = 0;
    for (let i = 0, j = 0; i < grey.length; i++, j += 4) {
      grey[i] = d[j];
      if (d[j] !== d[j + 1] || d[j] !== d[j + 2] || d[j + 3] !== 255) notGrey++;
    }
    let bin = '';
    for (let i = 0; i < grey.length; i += 0x8000) bin += String.fromCharCode(...grey.subarray(i, i + 0x8000));
    return { width: c.width, height: c.height, grey: btoa(bin), notGrey };
  });
  return { ...r, grey: new Uint8Array(Buffer.from(r.grey, 'base64')) };
}

/** Texts of the notification toasts now on screen. */
export async function notifications(page) {
  return page.locator('.notification-toast .notification-list-item-message').allInnerTexts();
}
