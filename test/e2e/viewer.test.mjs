// E2E: the DICOM viewer custom editor in the real VS Code workbench (code-server + Chromium).
// Checks the viewer's DOM contract (body[data-state|data-slice|data-drawn|data-slices|data-window], canvas#image,
// #slice-label, #hu-readout, [data-preset] (vscode-button), #error) against values computed independently from the CLI.
// Run through `npm run test:e2e` (builds, then bounds the whole run), `npm test` (scripts/test.mjs), or
// `node --test test/e2e/viewer.test.mjs` after `npm run build`. code-server is installed on first use.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  PRESETS,
  closeAllEditors,
  compareGrey,
  huValues,
  info,
  notifications,
  prepareWorkspace,
  quickOpen,
  readCanvas,
  runCommand,
  samplePoints,
  screenshot,
  startWorkbench,
  viewerFrame,
  waitForDataset,
  waitForState,
  windowGrey,
} from './harness.mjs';
import { ensureCodeServer } from '../../scripts/code-server.mjs';

const TEST = { timeout: 60_000 };

let wb; // { page, server, close }
let ws; // { workspace, series, files }
/** Series files in order of position along the slice normal (ascending), with their info and HU values. */
let byPosition;
/** The file the suite opens first: a middle slice, so both neighbours exist. */
let opened;
/** Viewer slice index → file, fixed once the opened file's data-slice tells the viewer's direction. */
let fileAt;
let frame;
let toastsAfterFirstOpen = [];

/** Position along the slice normal (IOP row × column cosines) of ImagePositionPatient. */
function positionOf(meta) {
  const [rx, ry, rz, cx, cy, cz] = meta.imageOrientationPatient ?? [1, 0, 0, 0, 1, 0];
  const n = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
  const p = meta.imagePositionPatient ?? [0, 0, meta.instanceNumber ?? 0];
  return n[0] * p[0] + n[1] * p[1] + n[2] * p[2];
}

async function expectCanvasShows(entry, [center, width], what) {
  const canvas = await readCanvas(frame);
  assert.equal(canvas.width, entry.meta.columns, `${what}: canvas.width = Columns`);
  assert.equal(canvas.height, entry.meta.rows, `${what}: canvas.height = Rows`);
  assert.equal(canvas.notGrey, 0, `${what}: every canvas pixel is opaque grey (R=G=B, A=255)`);
  const expected = windowGrey(entry.hu, center, width);
  // Sampled points first, for a readable message; then the whole image.
  for (const [x, y] of samplePoints(entry.hu, entry.meta.columns, entry.meta.rows)) {
    const i = y * entry.meta.columns + x;
    assert.ok(Math.abs(canvas.grey[i] - expected[i]) <= 1, `${what}: pixel (${x}, ${y}) of ${entry.name} is ${canvas.grey[i]}, expected ${expected[i]} (HU ${entry.hu[i]}, window ${center}/${width})`);
  }
  const cmp = compareGrey(canvas.grey, expected, entry.meta.columns, 1);
  assert.equal(cmp.wrong, 0, `${what}: ${cmp.wrong} pixels off by more than 1 grey level (max ${cmp.maxDiff}); ${cmp.examples.join('; ')}`);
  return canvas;
}

before(async () => {
  // First use on a machine installs code-server (1–3 min, scripts/code-server.mjs); later runs find it cached.
  await ensureCodeServer({ log: (line) => console.error(line) });
  ws = await prepareWorkspace();
  const entries = [];
  for (const name of ws.files) {
    const file = path.join(ws.series, name);
    const meta = await info(file);
    entries.push({ name, file, meta, position: positionOf(meta), hu: await huValues(file) });
  }
  byPosition = entries.sort((a, b) => a.position - b.position);
  opened = byPosition[Math.floor(byPosition.length / 2)];
  wb = await startWorkbench();
}, { timeout: 420_000 });

after(async () => {
  await wb?.close();
});

test('opening a .dcm shows the DICOM viewer with the slice windowed to bone 500/2000', TEST, async () => {
  await quickOpen(wb.page, `series/${opened.name}`);
  frame = await viewerFrame(wb.page);
  const ds = await waitForState(frame, ['ready', 'error']);
  assert.equal(ds.state, 'ready', `viewer state for ${opened.name}: ${ds.state} (${await frame.locator('#error').textContent()})`);
  assert.equal(Number(ds.slices), byPosition.length, 'data-slices = number of files in the series');
  assert.equal(ds.window, '500,2000', 'default window is the bone preset');
  const k = byPosition.indexOf(opened);
  const index = Number(ds.slice);
  assert.ok(index === k || index === byPosition.length - 1 - k, `data-slice ${index} of the opened file is its place along the slice normal (${k} or ${byPosition.length - 1 - k})`);
  fileAt = index === k ? (i) => byPosition[i] : (i) => byPosition[byPosition.length - 1 - i];
  assert.match(await frame.locator('#slice-label').innerText(), new RegExp(`Slice ${index + 1} / ${byPosition.length}\\b`));
  await expectCanvasShows(opened, PRESETS.bone, 'opened slice');
  toastsAfterFirstOpen = await notifications(wb.page);
  await screenshot(wb.page, '01-opened');
});

test('opening a .dcm asks no "multiple default editors" question', TEST, async () => {
  // VS Code matches custom-editor filenamePatterns case-insensitively (globMatchesResource lowercases both), so
  // selectors `*.dcm` and `*.DCM` register the same editor twice and the workbench prompts on every first open.
  const conflict = toastsAfterFirstOpen.filter((t) => /multiple default editors/i.test(t));
  assert.deepEqual(conflict, [], 'notification toasts after opening the first .dcm');
});

test('ArrowDown and the mouse wheel move to the next slices, ArrowUp back', TEST, async () => {
  assert.ok(frame && fileAt, 'needs the opened viewer from the first test');
  await runCommand(wb.page, 'Notifications: Clear All Notifications').catch(() => {});
  const start = Number((await waitForState(frame, ['ready'])).slice);
  const step = start + 1 < byPosition.length ? 1 : -1;
  const before = await readCanvas(frame);

  await frame.locator('#stage').focus();
  await frame.locator('#stage').press(step > 0 ? 'ArrowDown' : 'ArrowUp');
  let ds = await waitForDataset(frame, (d) => Number(d.slice) === start + step && d.drawn === d.slice && d.state === 'ready', `data-slice ${start + step} drawn after the arrow key`);
  assert.match(await frame.locator('#slice-label').innerText(), new RegExp(`Slice ${start + step + 1} / ${byPosition.length}\\b`));
  const next = await expectCanvasShows(fileAt(start + step), PRESETS.bone, `slice ${start + step} after the arrow key`);
  assert.ok(compareGrey(next.grey, before.grey, next.width, 0).wrong > 0, 'the canvas changed with the slice');
  await screenshot(wb.page, '02-next-slice');

  // The wheel over the image scrolls one slice per notch, in the same direction as ArrowDown for deltaY > 0.
  const target = start + step + (start + 2 * step < byPosition.length && start + 2 * step >= 0 ? step : -step);
  const box = await frame.locator('canvas#image').boundingBox();
  assert.ok(box, 'canvas is visible');
  await wb.page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await wb.page.mouse.wheel(0, target > start + step ? 100 : -100);
  ds = await waitForDataset(frame, (d) => Number(d.slice) === target && d.drawn === d.slice && d.state === 'ready', `data-slice ${target} drawn after the wheel`);
  await expectCanvasShows(fileAt(target), PRESETS.bone, `slice ${target} after the wheel`);

  await frame.locator('#stage').focus();
  await frame.locator('#stage').press(target > start + step ? 'ArrowUp' : 'ArrowDown');
  ds = await waitForDataset(frame, (d) => Number(d.slice) === start + step && d.drawn === d.slice, `data-slice ${start + step} drawn after the opposite arrow`);
  assert.equal(Number(ds.slices), byPosition.length);
});

test('hovering the image shows the HU value of the pixel under the mouse', TEST, async () => {
  assert.ok(frame && fileAt, 'needs the opened viewer from the first test');
  const ds = await waitForState(frame, ['ready']);
  const entry = fileAt(Number(ds.slice));
  const { columns, rows } = entry.meta;
  const canvas = frame.locator('canvas#image');
  const box = await canvas.boundingBox();
  const points = samplePoints(entry.hu, columns, rows, 2).slice(-3); // one grid point, the brightest, the darkest
  for (const [x, y] of points) {
    // Centre of the pixel in CSS pixels of the canvas box (it is scaled to fit the editor).
    await canvas.hover({ position: { x: ((x + 0.5) * box.width) / columns, y: ((y + 0.5) * box.height) / rows }, timeout: 5_000 });
    const text = await frame.locator('#hu-readout').innerText();
    const m = /\((\d+),\s*(\d+)\)\s*=\s*(-?\d+(?:\.\d+)?)\s*HU/.exec(text);
    assert.ok(m, `#hu-readout reads "${text}", expected "(x, y) = v HU"`);
    assert.deepEqual([Number(m[1]), Number(m[2])], [x, y], `readout names the hovered pixel ("${text}")`);
    const hu = entry.hu[y * columns + x];
    assert.ok(Math.abs(Number(m[3]) - hu) <= 0.005 + Math.abs(hu) * 1e-6, `readout ${m[3]} HU at (${x}, ${y}) of ${entry.name}; CLI says ${hu}`);
    // Patient position (PS3.3 C.7.6.2.1.1), LPS mm with direction letters.
    const { imagePositionPatient: ipp, imageOrientationPatient: iop, pixelSpacing: ps } = entry.meta;
    if (ipp && iop && ps) {
      const pos = [0, 1, 2].map((a) => ipp[a] + x * ps[1] * iop[a] + y * ps[0] * iop[3 + a]);
      const p = /([\d.]+) ([RL]), ([\d.]+) ([AP]), ([\d.]+) ([IS]) mm/.exec(text);
      assert.ok(p, `#hu-readout has the patient position: "${text}"`);
      const got = [Number(p[1]) * (p[2] === 'R' ? -1 : 1), Number(p[3]) * (p[4] === 'A' ? -1 : 1), Number(p[5]) * (p[6] === 'I' ? -1 : 1)];
      got.forEach((v, a) => assert.ok(Math.abs(v - pos[a]) <= 0.051, `patient axis ${a}: ${v} vs ${pos[a].toFixed(2)} ("${text}")`));
    }
  }
  await screenshot(wb.page, '03-hover');
});

test('window preset buttons switch the window and the rendering', TEST, async () => {
  assert.ok(frame && fileAt, 'needs the opened viewer from the first test');
  const ds = await waitForState(frame, ['ready']);
  const entry = fileAt(Number(ds.slice));
  for (const name of ['soft', 'lung', 'brain', 'bone']) {
    const [c, w] = PRESETS[name];
    await frame.locator(`[data-preset="${name}"]`).click({ timeout: 5_000 });
    await waitForDataset(frame, (d) => d.window === `${c},${w}`, `data-window ${c},${w} after the ${name} button`);
    await expectCanvasShows(entry, [c, w], `${name} preset`);
    if (name === 'soft') await screenshot(wb.page, '04-soft-preset');
  }
});

test('a broken .dcm shows a readable error, and VS Code keeps working', TEST, async () => {
  await closeAllEditors(wb.page);
  await quickOpen(wb.page, 'broken.dcm');
  const broken = await viewerFrame(wb.page);
  const ds = await waitForState(broken, ['error', 'ready']);
  assert.equal(ds.state, 'error', 'broken.dcm ends in data-state=error');
  const message = (await broken.locator('#error').innerText({ timeout: 5_000 })).trim();
  await screenshot(wb.page, '05-broken');
  assert.ok(await broken.locator('#error').isVisible(), '#error is visible');
  assert.ok(message.length > 10 && message.length < 600, `error message is a readable sentence: "${message}"`);
  assert.doesNotMatch(message, /\n\s+at |\[object Object\]|undefined|TypeError|RangeError/, `no stack trace or raw exception in "${message}"`);
  assert.match(message, /broken\.dcm|DICOM|DICM/i, `the message says which file or what is wrong: "${message}"`);

  // The workbench still works: another .dcm opens and renders.
  await closeAllEditors(wb.page);
  const other = fileAt(0);
  await quickOpen(wb.page, `series/${other.name}`);
  frame = await viewerFrame(wb.page);
  const ok = await waitForState(frame, ['ready', 'error']);
  assert.equal(ok.state, 'ready', `after broken.dcm, ${other.name} opens (${await frame.locator('#error').textContent()})`);
  assert.equal(Number(ok.slice), 0, `${other.name} is slice 0`);
  await expectCanvasShows(other, PRESETS.bone, `${other.name} after broken.dcm`);
  await screenshot(wb.page, '06-after-broken');
});

test('the palette command "DICOM ML: Open in DICOM Viewer" opens a chosen file', TEST, async () => {
  await closeAllEditors(wb.page);
  const target = fileAt(1);
  const tab = wb.page.locator('.tabs-container .tab.active', { hasText: target.name });
  const input = wb.page.locator('.quick-input-widget input');
  // No editor is active, so the command asks for a file: VS Code web's simple file dialog (a quick input).
  // That dialog sometimes takes an Enter as "complete the path" (its list was still refreshing), or closes
  // without opening while it re-reads the folder; a user then presses Enter again or runs the command again.
  // Three tries; a missing tab after them is a failure.
  for (let attempt = 1; ; attempt++) {
    if (!(await input.isVisible())) {
      await runCommand(wb.page, 'DICOM ML: Open in DICOM Viewer');
      await input.waitFor({ timeout: 10_000 });
    }
    // Type the whole path every time: an Enter that only completed the path leaves the folder in the box.
    await input.fill(target.file);
    await wb.page.locator('.quick-input-list .monaco-list-row', { hasText: target.name }).first().waitFor({ timeout: 10_000 }).catch(() => {});
    await input.press('Enter');
    try {
      await tab.waitFor({ timeout: 10_000 });
      break;
    } catch (err) {
      await screenshot(wb.page, `07-palette-attempt-${attempt}`).catch(() => {});
      if (attempt >= 3) throw err;
    }
  }
  frame = await viewerFrame(wb.page);
  const ds = await waitForState(frame, ['ready', 'error']);
  assert.equal(ds.state, 'ready');
  assert.equal(Number(ds.slice), 1, `${target.name} is slice 1`);
  await expectCanvasShows(target, PRESETS.bone, `${target.name} via the palette`);
  await screenshot(wb.page, '07-palette-open');
});
