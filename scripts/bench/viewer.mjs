// Viewer performance in the real host (code-server + Chromium, the E2E harness), reported by `npm run bench`,
// never asserted in tests (issue 8 item 5):
//   1. first pixels: ms from the viewer webview's document start to the first slice on its canvas
//      (data-first-draw-ms; data-ready-ms says when the webview's script was ready), and from the Quick Open
//      Enter to it, on a 300-slice 512² sample study;
//   2. scrolling with overlays on: ArrowDown through 100 slices after the background pass is done, each step
//      waiting until that slice's pixels and its model overlays are drawn (data-drawn, data-overlay) — slices/s,
//      driven inside the webview;
//   3. memory: the extension host's RSS before opening and after the sagittal reformat has built the volume of a
//      1000-slice 256² series, against that volume's raw size (Int16), and the webview's JS heap.
// Writes test-output/bench/viewer.json.   node scripts/bench/viewer.mjs [--slices 300] [--big 1000]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { cli, closeAllEditors, quickOpen, startWorkbench, viewerFrame, waitForDataset } from '../../test/e2e/harness.mjs';
import { REPO_ROOT, ensureCodeServer } from '../code-server.mjs';

const { values } = parseArgs({ options: { slices: { type: 'string' }, big: { type: 'string' }, steps: { type: 'string' } } });
const N = Number(values.slices ?? 300);
const BIG = Number(values.big ?? 1000);
const STEPS = Number(values.steps ?? 100);
const WS = path.join(REPO_ROOT, 'test-output', 'bench', 'viewer-workspace');

async function study(dir, args) {
  const images = path.join(WS, dir, 'train_images');
  if (!fs.existsSync(images)) await cli('sample', '--out', path.join(WS, dir), '--studies', '1', '--seed', '3', ...args);
  const uid = fs.readdirSync(images)[0];
  const files = fs.readdirSync(path.join(images, uid)).filter((f) => f.endsWith('.dcm')).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  return { rel: `${dir}/train_images/${uid}`, files };
}

/** RSS (MB) of the code-server extension host serving `WS`. */
function extensionHostRss() {
  const out = execFileSync('ps', ['-eo', 'rss=,args='], { encoding: 'utf8' });
  const line = out.split('\n').find((l) => l.includes('--type=extensionHost') && l.includes('code-server'));
  return line ? Number(line.trim().split(/\s+/)[0]) / 1024 : NaN;
}

await ensureCodeServer({ log: () => {} });
fs.mkdirSync(WS, { recursive: true });
console.log(`viewer benchmark: making/reusing the sample studies (${N} slices 512², ${BIG} slices 256²) in ${path.relative(REPO_ROOT, WS)}`);
const s300 = await study(`s${N}`, ['--slices', `${N}-${N}`, '--size', '512']);
const sBig = BIG > 0 ? await study(`s${BIG}`, ['--slices', `${BIG}-${BIG}`, '--size', '256', '--segmentation-rate', '0']) : undefined;
const wb = await startWorkbench({ workspace: WS });
const result = { slices: N, node: process.version };
try {
  // 1. First pixels: three opens of different slices (closed in between), the median reported.
  const opens = [];
  for (const at of [0.3, 0.7, 0.5]) {
    const t = Date.now();
    await quickOpen(wb.page, `${s300.rel}/${s300.files[Math.floor(N * at)]}`);
    const f = await viewerFrame(wb.page, { timeout: 60_000 });
    const d = await waitForDataset(f, (x) => x.drawn !== undefined, 'first pixels', { timeout: 60_000 });
    opens.push({ firstDrawMs: Number(d.firstDrawMs), readyMs: Number(d.readyMs), openToPixelsMs: Date.now() - t });
    if (opens.length < 3) {
      await closeAllEditors(wb.page);
      await wb.page.waitForTimeout(1000);
    }
  }
  const median = (k) => opens.map((o) => o[k]).sort((a, b) => a - b)[1];
  result.opens = opens;
  result.firstPixelsMs = median('firstDrawMs');
  result.webviewReadyMs = median('readyMs');
  result.openToPixelsMs = median('openToPixelsMs');
  const t0 = Date.now();
  let frame = await viewerFrame(wb.page, { timeout: 60_000 });
  let ds;
  // 2. Scrolling with overlays (after the background pass so every overlay is cached, as when a user scrolls back).
  await waitForDataset(frame, (d) => d.analysed === `${N}/${N}`, 'the background pass', { timeout: 600_000 });
  result.analysedAfterMs = Date.now() - t0;
  await frame.locator('#stage').focus();
  await wb.page.keyboard.press('Home');
  await waitForDataset(frame, (d) => d.drawn === '0' && d.overlay === '0', 'slice 0 with overlays');
  // Driven inside the webview (key events dispatched there, a MutationObserver on body's data attributes), so
  // playwright's round trips and polling do not count.
  result.scrollSlicesPerSecond = await frame.evaluate(async (steps) => {
    const reached = (i) => new Promise((resolve) => {
      const ok = () => document.body.dataset.drawn === String(i) && document.body.dataset.overlay === String(i);
      if (ok()) return resolve();
      const mo = new MutationObserver(() => { if (ok()) { mo.disconnect(); resolve(); } });
      mo.observe(document.body, { attributes: true });
    });
    const t = performance.now();
    for (let i = 1; i <= steps; i++) {
      window.dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
      await reached(i);
    }
    return steps / ((performance.now() - t) / 1000);
  }, STEPS);
  await closeAllEditors(wb.page);
  // 3. Memory with a 1000-slice series and its volume (sagittal reformat); --big 0 skips it.
  if (!sBig) throw Object.assign(new Error('skip'), { skip: true });
  await wb.page.waitForTimeout(2000);
  const before = extensionHostRss();
  await quickOpen(wb.page, `${sBig.rel}/${sBig.files[Math.floor(BIG / 2)]}`);
  frame = await viewerFrame(wb.page, { timeout: 60_000 });
  await waitForDataset(frame, (d) => d.drawn !== undefined, 'first pixels of the big series', { timeout: 60_000 });
  await frame.locator('#stage').focus();
  await wb.page.keyboard.press('s');
  ds = await waitForDataset(frame, (d) => /^sagittal:/.test(d.reformat ?? '') || d.reformat === 'error', 'the sagittal reformat', { timeout: 600_000 });
  const after = extensionHostRss();
  const rawMb = (BIG * 256 * 256 * 2) / 2 ** 20;
  result.memory = { series: `${BIG} × 256²`, rawVolumeMb: rawMb, extensionHostRssBeforeMb: before, extensionHostRssAfterMb: after, deltaMb: after - before, ratioToRaw: (after - before) / rawMb,
    webviewHeapMb: await frame.evaluate(() => (performance.memory ? performance.memory.usedJSHeapSize / 2 ** 20 : null)), reformat: ds.reformat };
} catch (err) {
  if (!err.skip) throw err;
} finally {
  await wb.close();
}
const line = (k, v, target) => console.log(`  ${k.padEnd(40)} ${v}${target ? `   (target ${target})` : ''}`);
console.log('viewer in code-server + Chromium (2 shared cores):');
line('first pixels after the webview starts', `${result.firstPixelsMs?.toFixed(0)} ms (median of 3)`, '≤ 150 ms');
line('  of which the page loading (code-server)', `${result.webviewReadyMs?.toFixed(0)} ms`);
line('  after the page is up', `${(result.firstPixelsMs - result.webviewReadyMs).toFixed(0)} ms`);
line('Quick Open Enter → first pixels', `${result.openToPixelsMs} ms`);
line('background pass over the series', `${(result.analysedAfterMs / 1000).toFixed(1)} s for ${N} slices (from the third open)`);
line('scrolling with overlays', `${result.scrollSlicesPerSecond?.toFixed(1)} slices/s`, '≥ 60');
if (result.memory) line('extension host memory for the volume', `+${result.memory.deltaMb.toFixed(0)} MB for a ${result.memory.rawVolumeMb.toFixed(0)} MB raw volume (${result.memory.ratioToRaw.toFixed(2)}×)`, '≤ 2×');
fs.mkdirSync(path.join(REPO_ROOT, 'test-output', 'bench'), { recursive: true });
fs.writeFileSync(path.join(REPO_ROOT, 'test-output', 'bench', 'viewer.json'), JSON.stringify(result, null, 2));
console.log('written test-output/bench/viewer.json');
