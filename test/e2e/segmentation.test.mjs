// E2E: DICOM SEG masks in the viewer (issue 11 item 4). A sample CT study (`dicom-ml sample`) copied into a
// TCIA-style layout (tcia/CT/, tcia/SEG/seg.dcm) with a SEG written by highdicom from the study's NIfTI mask
// (test/fixtures/nifti_to_seg.py), file names ct-N.dcm; opening a CT slice shows the SEG from the sibling folder: C1–C7 filled in their
// class colours, a legend, the M toggle. The same SEG shown over the RSNA-layout copy of the study through the palette
// command "DICOM ML: Show DICOM SEG in the Viewer…" (VS Code's file dialog). Screenshots test-output/e2e/50-seg-*.png.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { OUT_DIR, cli, closeAllEditors, quickOpen, readCanvas, runCommand, screenshot, startWorkbench, viewerFrame, waitForDataset, waitForState } from './harness.mjs';
import { REPO_ROOT, ensureCodeServer } from '../../scripts/code-server.mjs';

const TEST = { timeout: 180_000 };
const WS = path.join(OUT_DIR, 'seg-workspace');
const PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');
let wb;
let uid;

before(async () => {
  await ensureCodeServer({ log: (m) => console.error(`[code-server] ${m}`) });
  fs.rmSync(WS, { recursive: true, force: true });
  await cli('sample', '--out', path.join(WS, 'rsna'), '--studies', '1', '--slices', '40-40', '--seed', '11', '--segmentation-rate', '1', '--fracture-rate', '0');
  uid = fs.readdirSync(path.join(WS, 'rsna', 'train_images'))[0];
  const ct = path.join(WS, 'tcia', 'CT');
  fs.mkdirSync(ct, { recursive: true });
  for (const f of fs.readdirSync(path.join(WS, 'rsna', 'train_images', uid))) fs.copyFileSync(path.join(WS, 'rsna', 'train_images', uid, f), path.join(ct, `ct-${f}`));
  execFileSync(PYTHON, [path.join(REPO_ROOT, 'test', 'fixtures', 'nifti_to_seg.py'), ct, path.join(WS, 'rsna', 'segmentations', `${uid}.nii.gz`), path.join(WS, 'tcia', 'SEG', 'seg.dcm')], { stdio: 'inherit' });
  wb = await startWorkbench({ workspace: WS });
}, { timeout: 300_000 });

after(async () => {
  await wb?.close();
});

/** Page from the first slice to the first one with two SEG segments or more, and return its dataset. */
async function toSliceWithMasks(frame, page) {
  await frame.locator('#stage').focus();
  await page.keyboard.press('Home');
  await waitForDataset(frame, (d) => d.slice === '0', 'the first slice');
  let best;
  for (let step = 0; step < 60; step++) {
    // The masks of the slice on screen (they come after its pixels).
    const ds = await waitForDataset(frame, (d) => d.segSlice === d.slice && d.drawn === d.slice, 'the slice\'s masks', { timeout: 15_000 });
    const n = ds.seg ? ds.seg.split(',').length : 0;
    if (n >= 2) return ds;
    if (!best || n > best.n) best = { n, slice: ds.slice };
    if (Number(ds.slice) + 1 >= Number(ds.slices)) break;
    await page.keyboard.press('ArrowDown');
    await waitForDataset(frame, (d) => d.slice === String(Number(ds.slice) + 1), 'the next slice');
  }
  throw new Error(`no slice with two SEG segments (best ${best?.n} on slice ${best?.slice})`);
}

test('a DICOM SEG in a sibling folder is drawn over the CT: C1–C7 in their colours, a legend, and the M toggle', TEST, async () => {
  await quickOpen(wb.page, 'tcia/CT/ct-10.dcm');
  const frame = await viewerFrame(wb.page, { timeout: 30_000 });
  assert.equal((await waitForState(frame, ['ready', 'error'])).state, 'ready');
  await waitForDataset(frame, (d) => d.segFiles === '1', 'the SEG found in tcia/SEG/', { timeout: 30_000 });
  const legend = await frame.locator('#seg-info').innerText();
  assert.match(legend, /DICOM SEG seg\.dcm \(binary, \d+ slices\): C1\s*C2\s*C3\s*C4\s*C5\s*C6\s*C7/);
  const ds = await toSliceWithMasks(frame, wb.page);
  assert.match(ds.seg, /^C\d(,C\d)+$/);
  // The canvas is drawn: coloured pixels where the masks are.
  const coloured = await frame.evaluate(() => {
    const c = document.getElementById('seg');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return { n, hidden: c.hidden, width: c.width };
  });
  assert.equal(coloured.hidden, false);
  assert.equal(coloured.width, 512);
  assert.ok(coloured.n > 200, `${coloured.n} mask pixels drawn`);
  await wb.page.keyboard.press('h'); // the heat map off, so the masks are seen as they are
  await waitForDataset(frame, (d) => d.heatmap === 'false', 'heat map off');
  await screenshot(wb.page, '50-seg-overlay');
  await wb.page.keyboard.press('h');
  await wb.page.keyboard.press('m');
  await waitForDataset(frame, (d) => d.seg === '', 'masks hidden with M');
  assert.equal(await frame.evaluate(() => document.getElementById('seg').hidden), true);
  await wb.page.keyboard.press('m');
  await waitForDataset(frame, (d) => d.seg !== '', 'masks back');
  await closeAllEditors(wb.page);
});

test('"Show DICOM SEG in the Viewer…" draws a SEG picked anywhere over the open series', TEST, async () => {
  await quickOpen(wb.page, `rsna/train_images/${uid}/12.dcm`); // not 10: Quick Open would offer the recently opened ct-10.dcm
  const frame = await viewerFrame(wb.page, { timeout: 30_000 });
  assert.equal((await waitForState(frame, ['ready', 'error'])).state, 'ready');
  await waitForDataset(frame, (d) => d.segFiles === '0', 'no SEG beside an RSNA study', { timeout: 30_000 });
  await runCommand(wb.page, 'DICOM ML: Show DICOM SEG in the Viewer…');
  // VS Code's own file dialog (a quick input in the browser): type the path, wait until the dialog lists the file
  // (it reads the folder first; Enter before that is not taken under load), accept; again if it stays open.
  const input = wb.page.locator('.quick-input-widget input');
  await input.waitFor({ state: 'visible', timeout: 15_000 });
  await input.fill(path.join(WS, 'tcia', 'SEG', 'seg.dcm'));
  await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: 'seg.dcm' }).first().waitFor({ timeout: 15_000 });
  for (let i = 0; i < 3 && (await input.isVisible()); i++) {
    await input.press('Enter');
    await input.waitFor({ state: 'hidden', timeout: 5_000 }).catch(() => {});
  }
  await waitForDataset(frame, (d) => d.segFiles === '1', 'the picked SEG shown', { timeout: 30_000 });
  const ds = await toSliceWithMasks(frame, wb.page);
  assert.match(ds.seg, /C\d/);
  await screenshot(wb.page, '50-seg-command');
});

test('the SEG file itself opens with its masks visible (a window over 0…1, not the CT bone window)', TEST, async () => {
  await closeAllEditors(wb.page);
  await quickOpen(wb.page, 'tcia/SEG/seg.dcm');
  const frame = await viewerFrame(wb.page, { timeout: 30_000 });
  assert.equal((await waitForState(frame, ['ready', 'error'])).state, 'ready');
  const ds = await waitForDataset(frame, (d) => d.drawn !== undefined && d.drawn !== '-1', 'the first frame drawn');
  assert.equal(ds.window, '1,2', 'a window from 0 (black) to 1 (white)');
  const c = await readCanvas(frame);
  const white = c.grey.filter((g) => g === 255).length;
  const black = c.grey.filter((g) => g === 0).length;
  assert.ok(white > 50 && white + black === c.grey.length, `${white} mask pixels white, the rest black`);
});
