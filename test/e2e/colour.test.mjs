// E2E: colour images in the viewer (issue 11 items 3 and 7). Two files written by test/fixtures/make_colour_e2e.py
// with pydicom: an ultrasound-like PALETTE COLOR image (us/palette-us.dcm) and an 8-frame native YBR_FULL_422 cine
// (cine/ybr-cine.dcm). Each is opened in code-server; the canvas must hold exactly what pydicom gives —
// apply_color_lut(pixel_array) for the palette, pixel_array (YBR converted to RGB) for the cine — with no window:
// presets disabled, keys 1–5 and drag-to-window change nothing, a note says so; the readout shows R G B (and the
// palette index); no reformat; models not run, with why. The cine pages and plays frame by frame.
// Screenshots test-output/e2e/55-colour-*.png. And the grey File preset with the file's VOI LUT Sequence
// (test/fixtures/make_voi_lut.py): the canvas equals pydicom's apply_voi_lut scaled to 8 bits; a broken LUT turns
// the preset off and says why.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { OUT_DIR, closeAllEditors, quickOpen, readCanvas, screenshot, startWorkbench, viewerFrame, waitForDataset, waitForState } from './harness.mjs';
import { REPO_ROOT, ensureCodeServer } from '../../scripts/code-server.mjs';

const TEST = { timeout: 120_000 };
const WS = path.join(OUT_DIR, 'colour-workspace');
const PYTHON = path.join(REPO_ROOT, '.venv', 'bin', 'python');
let wb;
/** The fixtures by photometric interpretation: { path, rgb (Uint8Array, frames×rows×columns×3), frames, rows, columns }. */
const made = {};
/** make_voi_lut.py's files: { path, gray? (pydicom's display, 8-bit), broken? }. */
let voi;

before(async () => {
  await ensureCodeServer({ log: (m) => console.error(`[code-server] ${m}`) });
  fs.rmSync(WS, { recursive: true, force: true });
  const manifest = JSON.parse(execFileSync(PYTHON, [path.join(REPO_ROOT, 'test', 'fixtures', 'make_colour_e2e.py'), WS], { encoding: 'utf8' }));
  for (const m of manifest) {
    made[m.photometric] = { ...m, rgb: new Uint8Array(fs.readFileSync(m.rgb)) };
    fs.renameSync(m.rgb, path.join(OUT_DIR, `colour-${path.basename(m.rgb)}`)); // keep the workspace to DICOM files only
  }
  fs.mkdirSync(path.join(WS, 'voi'), { recursive: true });
  voi = JSON.parse(execFileSync(PYTHON, ['make_voi_lut.py', path.join(WS, 'voi')], { cwd: path.join(REPO_ROOT, 'test', 'fixtures'), encoding: 'utf8' }));
  wb = await startWorkbench({ workspace: WS });
}, { timeout: 300_000 });

after(async () => {
  await wb?.close();
});

/** canvas#image as RGBA bytes, and its size. */
async function canvasRgba(frame) {
  const r = await frame.evaluate(() => {
    const c = document.querySelector('canvas#image');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let bin = '';
    for (let i = 0; i < d.length; i += 0x8000) bin += String.fromCharCode(...d.subarray(i, i + 0x8000));
    return { width: c.width, height: c.height, rgba: btoa(bin) };
  });
  return { ...r, rgba: new Uint8Array(Buffer.from(r.rgba, 'base64')) };
}

/**
 * The canvas equals frame `k` of the expected RGB on every pixel (opaque), and at a few named points (reported
 * first when they differ, as what a reader checks by eye).
 */
async function assertCanvasIs(frame, m, k) {
  const c = await canvasRgba(frame);
  assert.equal(c.width, m.columns);
  assert.equal(c.height, m.rows);
  const plane = m.rows * m.columns * 3;
  const want = m.rgb.subarray(k * plane, (k + 1) * plane);
  const at = (x, y) => ({ canvas: [...c.rgba.subarray(4 * (y * m.columns + x), 4 * (y * m.columns + x) + 4)], expected: [...want.subarray(3 * (y * m.columns + x), 3 * (y * m.columns + x) + 3), 255] });
  for (const [x, y] of [[m.columns >> 1, m.rows >> 1], [10, 10], [m.columns - 11, m.rows - 11], [m.columns >> 2, (3 * m.rows) >> 2], [(3 * m.columns) >> 2, m.rows >> 2]]) {
    const p = at(x, y);
    assert.deepEqual(p.canvas, p.expected, `frame ${k} pixel (${x}, ${y})`);
  }
  let wrong = 0;
  let first = '';
  for (let i = 0, j = 0; j < want.length; i += 4, j += 3) {
    if (c.rgba[i] !== want[j] || c.rgba[i + 1] !== want[j + 1] || c.rgba[i + 2] !== want[j + 2] || c.rgba[i + 3] !== 255) {
      if (!wrong) first = `(${(i / 4) % m.columns}, ${Math.floor(i / 4 / m.columns)})`;
      wrong++;
    }
  }
  assert.equal(wrong, 0, `frame ${k}: ${wrong} pixels differ from pydicom's RGB, first at ${first}`);
  return c;
}

/** No window for colour: preset buttons disabled, the note shown, keys 1–5 and a left drag leave the canvas as it is. */
async function assertNoWindow(frame, page, m, k) {
  for (const b of await frame.locator('[data-preset]').all()) assert.equal(await b.getAttribute('aria-disabled'), 'true', `${await b.innerText()} disabled`);
  assert.match(await frame.locator('#window-label').innerText(), /^Colour \(.+\): shown as stored, no window$/);
  assert.equal(await frame.locator('#view-sagittal').getAttribute('aria-disabled'), 'true', 'no sagittal reformat of colour');
  assert.equal(await frame.locator('#view-coronal').getAttribute('aria-disabled'), 'true', 'no coronal reformat of colour');
  await frame.locator('#stage').focus();
  for (const key of ['1', '3', '5', 's']) await page.keyboard.press(key);
  const box = await frame.locator('#image').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2 + 80, { steps: 5 });
  await page.mouse.up();
  const ds = await frame.evaluate(() => ({ ...document.body.dataset }));
  assert.equal(ds.window, 'none');
  assert.equal(ds.plane ?? 'axial', 'axial');
  await assertCanvasIs(frame, m, k);
}

/** Hover pixel (x, y) of canvas#image; returns the readout text. */
async function readoutAt(frame, m, x, y) {
  const canvas = frame.locator('#image');
  const box = await canvas.boundingBox();
  await canvas.hover({ position: { x: ((x + 0.5) * box.width) / m.columns, y: ((y + 0.5) * box.height) / m.rows }, timeout: 5_000 });
  return frame.locator('#hu-readout').innerText();
}

test('a PALETTE COLOR ultrasound image is drawn through its palette exactly as pydicom, with no window; the readout shows R G B and the index; models not run, saying why', TEST, async () => {
  const m = made['PALETTE COLOR'];
  await quickOpen(wb.page, 'us/palette-us.dcm');
  const frame = await viewerFrame(wb.page, { timeout: 30_000 });
  assert.equal((await waitForState(frame, ['ready', 'error'])).state, 'ready');
  await waitForDataset(frame, (d) => d.drawn === '0' && d.colour === 'PALETTE COLOR', 'the colour slice drawn', { timeout: 20_000 });
  await assertCanvasIs(frame, m, 0);
  await assertNoWindow(frame, wb.page, m, 0);
  // The Doppler vessel: red above its axis, blue below; the readout names the colour and the palette index.
  const x = 170;
  const red = await readoutAt(frame, m, x, 130);
  const px = (yy) => [...m.rgb.subarray(3 * (yy * m.columns + x), 3 * (yy * m.columns + x) + 3)];
  const [r, g, b] = px(130);
  assert.ok(r > 150 && b === 0, `towards the probe is red: ${r} ${g} ${b}`);
  assert.match(red, new RegExp(`^\\(${x}, 130\\) = R ${r} G ${g} B ${b} · palette index (1[3-8]\\d)$`), red);
  const blue = await readoutAt(frame, m, x, 150);
  assert.match(blue, /^\(170, 150\) = R 0 G \d+ B \d+ · palette index (19[2-9]|2\d\d)$/, blue);
  const ds = await waitForDataset(frame, (d) => d.models === 'off', 'the models status');
  assert.equal(ds.overlay, undefined, 'no overlay asked for');
  assert.match(await frame.locator('#models-status').innerText(), /Models off — not run on a colour series \(PALETTE COLOR\): the models take grey CT slices/);
  await readoutAt(frame, m, x, 130);
  await screenshot(wb.page, '55-colour-palette');
});

test('a YBR_FULL_422 cine: every frame as pydicom\'s RGB, paged with the keys and played as cine', TEST, async () => {
  const m = made.YBR_FULL_422;
  await closeAllEditors(wb.page);
  await quickOpen(wb.page, 'cine/ybr-cine.dcm');
  const frame = await viewerFrame(wb.page, { timeout: 30_000 });
  assert.equal((await waitForState(frame, ['ready', 'error'])).state, 'ready');
  let ds = await waitForDataset(frame, (d) => d.drawn === '0' && d.colour === 'YBR_FULL_422' && d.slices === String(m.frames), 'frame 1 of 8 drawn', { timeout: 20_000 });
  await assertCanvasIs(frame, m, 0);
  await assertNoWindow(frame, wb.page, m, 0);
  assert.match(await frame.locator('#window-label').innerText(), /^Colour \(YBR_FULL_422 as RGB\)/);
  const text = await readoutAt(frame, m, 60, 120); // the white disc in frame 1
  const i = 3 * (120 * m.columns + 60);
  assert.match(text, new RegExp(`^\\(60, 120\\) = R ${m.rgb[i]} G ${m.rgb[i + 1]} B ${m.rgb[i + 2]}$`), text);
  await frame.locator('#stage').focus();
  for (const k of [1, 2, 3]) {
    await wb.page.keyboard.press('ArrowDown');
    await waitForDataset(frame, (d) => d.drawn === String(k), `frame ${k + 1} drawn`);
    await assertCanvasIs(frame, m, k);
  }
  await screenshot(wb.page, '55-colour-cine');
  // Cine: Space plays; the frames drawn go round the 8 and each is pydicom's.
  await wb.page.keyboard.press('End');
  await waitForDataset(frame, (d) => d.drawn === String(m.frames - 1), 'the last frame drawn');
  await wb.page.keyboard.press(' ');
  ds = await waitForDataset(frame, (d) => d.playing === 'true' && d.drawn !== String(m.frames - 1), 'cine advancing', { timeout: 10_000 });
  const seen = new Set();
  const deadline = Date.now() + 15_000;
  while (seen.size < m.frames && Date.now() < deadline) {
    seen.add((await frame.evaluate(() => document.body.dataset.drawn)));
    await wb.page.waitForTimeout(20);
  }
  await wb.page.keyboard.press(' ');
  ds = await waitForDataset(frame, (d) => d.playing === 'false', 'cine stopped');
  assert.equal(seen.size, m.frames, `cine drew frames ${[...seen].sort().join(', ')}`);
  await wb.page.waitForTimeout(300);
  ds = await frame.evaluate(() => ({ ...document.body.dataset }));
  await assertCanvasIs(frame, m, Number(ds.drawn));
  await screenshot(wb.page, '55-colour-cine-played');
});

test('the File preset shows a grey image through its VOI LUT Sequence exactly as pydicom; a broken LUT turns the preset off, saying why', TEST, async () => {
  await closeAllEditors(wb.page);
  const good = voi.find((v) => v.path.endsWith('voi_s16_ss_ele.dcm'));
  await quickOpen(wb.page, 'voi/voi_s16_ss_ele.dcm');
  const frame = await viewerFrame(wb.page, { timeout: 30_000 });
  assert.equal((await waitForState(frame, ['ready', 'error'])).state, 'ready');
  await waitForDataset(frame, (d) => d.drawn !== undefined && d.drawn !== '-1', 'the slice drawn');
  await frame.locator('#stage').focus();
  await wb.page.keyboard.press('5');
  await waitForDataset(frame, (d) => d.window === 'lut', 'the File preset applies the VOI LUT');
  assert.match(await frame.locator('#window-label').innerText(), /File VOI LUT \(3072 entries, 12-bit\)/);
  const c = await readCanvas(frame);
  assert.equal(c.notGrey, 0);
  assert.deepEqual([...c.grey], good.gray, 'canvas = pydicom apply_voi_lut(apply_modality_lut) scaled to 8 bits');
  await wb.page.keyboard.press('1');
  await waitForDataset(frame, (d) => d.window === '500,2000', 'back to the bone window');
  await closeAllEditors(wb.page);
  await quickOpen(wb.page, 'voi/voi_broken_short.dcm');
  const broken = await viewerFrame(wb.page, { timeout: 30_000 });
  assert.equal((await waitForState(broken, ['ready', 'error'])).state, 'ready', 'a broken VOI LUT does not stop the image');
  await waitForDataset(broken, (d) => d.drawn !== undefined && d.drawn !== '-1', 'the slice drawn');
  const file = broken.locator('[data-preset="file"]');
  assert.equal(await file.isDisabled(), true);
  assert.match(await file.getAttribute('title'), /VOI LUT Sequence cannot be applied: VOI LUT Sequence: LUT Data \(0028,3006\) holds 3072 bytes/);
});
