// E2E: the DICOM viewer as an ML viewer (issue 8) in the real VS Code workbench (code-server + Chromium), on a
// sample study from `dicom-ml sample` with the default models: vertebra boxes drawn where the models put them
// (the same engine as `dicom-ml render --overlay … --json`, compared number for number), the Grad-CAM layer,
// the study strip and summary (a vertebra click lands on its most suspicious slice), zoom at the cursor, pan,
// fit, cine, the shortcuts list. Screenshots in test-output/e2e/3x-*.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { OUT_DIR, cli, closeAllEditors, pickQuickItem, quickOpen, runCommand, screenshot, startWorkbench, viewerFrame, waitForDataset, waitForState } from './harness.mjs';
import { ensureCodeServer } from '../../scripts/code-server.mjs';
import sharp from 'sharp';

const TEST = { timeout: 120_000 };
const WS = path.join(OUT_DIR, 'overlays-workspace');
let wb;
let frame;
let study; // { uid, dir, files (sorted by slice number) }
let opened; // the file opened first (a mid-neck slice)

before(async () => {
  await ensureCodeServer({ log: (m) => console.error(`[code-server] ${m}`) });
  fs.rmSync(WS, { recursive: true, force: true });
  const rsna = path.join(WS, 'rsna');
  await cli('sample', '--out', rsna, '--studies', '1', '--slices', '48-48', '--seed', '5', '--fracture-rate', '1', '--segmentation-rate', '1');
  const images = path.join(rsna, 'train_images');
  const uid = fs.readdirSync(images)[0];
  const dir = path.join(images, uid);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  study = { uid, dir, files };
  wb = await startWorkbench({ workspace: WS });
}, { timeout: 300_000 });

after(async () => {
  await wb?.close();
});

/** Boxes as the webview drew them (SVG rects in slice pixels). */
async function drawnBoxes() {
  return frame.evaluate(() => [...document.querySelectorAll('#boxes g.box')].map((g) => {
    const r = g.querySelector('rect');
    const x = Number(r.getAttribute('x'));
    const y = Number(r.getAttribute('y'));
    return { name: g.dataset.name, conf: Number(g.dataset.conf), box: [x, y, x + Number(r.getAttribute('width')), y + Number(r.getAttribute('height'))] };
  }));
}

/** The class colours C1, C2, … (src/core/classColours.ts), which the viewer and the CLI both draw boxes in. */
const CLASS_COLOURS = ['#e6194b', '#3cb44b', '#ffe119', '#5b9bff', '#f58231', '#911eb4', '#46f0f0', '#f032e6', '#bcf60c', '#fabebe'];

/** RGBA pixels of a PNG. */
async function rgba(png) {
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/**
 * Where a box's four edges lie in an image of the slice drawn at `scale` image pixels per slice pixel: for
 * each edge, the image row (column) near the expected one holding the most pixels of the box colour along
 * the box's span — in slice pixels. Labels sit outside the span searched, grey pixels never match a colour.
 */
function edgesIn(img, scale, box, colour) {
  const [R, G, B] = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
  const hit = (x, y) => {
    if (x < 0 || y < 0 || x >= img.width || y >= img.height) return false;
    const k = 4 * (y * img.width + x);
    return Math.abs(img.data[k] - R) + Math.abs(img.data[k + 1] - G) + Math.abs(img.data[k + 2] - B) < 90;
  };
  const [x1, y1, x2, y2] = box.map((v) => v * scale);
  const inset = 4 * scale;
  const best = (from, to, count) => {
    let arg = NaN;
    let max = 0;
    for (let p = Math.floor(from); p <= Math.ceil(to); p++) {
      const n = count(p);
      if (n > max) [arg, max] = [p, n];
    }
    return (arg + 0.5) / scale;
  };
  const column = (x) => { let n = 0; for (let y = Math.round(y1 + inset); y < y2 - inset; y++) n += hit(x, y) ? 1 : 0; return n; };
  const row = (y) => { let n = 0; for (let x = Math.round(x1 + inset); x < x2 - inset; x++) n += hit(x, y) ? 1 : 0; return n; };
  const r = 3 * scale;
  return [best(x1 - r, x1 + r, column), best(y1 - r, y1 + r, row), best(x2 - r, x2 + r, column), best(y2 - r, y2 + r, row)];
}

test('the viewer runs the default models: boxes drawn where `dicom-ml render --overlay` puts them, Grad-CAM on, fracture probability shown', TEST, async () => {
  // A slice in the middle of the neck: vertebrae on it.
  opened = study.files[Math.floor(study.files.length / 2)];
  await quickOpen(wb.page, `rsna/train_images/${study.uid}/${opened}`);
  frame = await viewerFrame(wb.page);
  let ds = await waitForState(frame, ['ready', 'error']);
  assert.equal(ds.state, 'ready');
  ds = await waitForDataset(frame, (d) => d.models === 'ready' || d.models === 'error', 'models ready', { timeout: 60_000 });
  assert.equal(ds.models, 'ready', await frame.locator('#models-status').innerText());
  ds = await waitForDataset(frame, (d) => d.overlay === d.slice, 'the overlay of the slice on screen', { timeout: 60_000 });
  const expected = JSON.parse(await cli('render', path.join(study.dir, opened), '--overlay', 'boxes,gradcam', '--out', path.join(OUT_DIR, 'overlay-reference.png'), '--json'));
  const drawn = await drawnBoxes();
  assert.ok(expected.vertebrae.length >= 1, 'the CLI finds a vertebra on a mid-neck slice');
  assert.equal(drawn.length, expected.vertebrae.length, 'one drawn box per detection (conf ≥ 0.25)');
  drawn.forEach((d, i) => {
    const e = expected.vertebrae[i];
    assert.equal(d.name, e.name);
    assert.ok(Math.abs(d.conf - e.conf) < 1e-3, `${d.name}: conf ${d.conf} vs ${e.conf}`);
    d.box.forEach((v, k) => assert.ok(Math.abs(v - e.box[k]) < 1e-3, `${d.name}: box corner ${k} ${v} vs ${e.box[k]}`));
  });
  assert.ok(Math.abs(Number(ds.fracture) - expected.fracture) < 1e-3, `slice fracture probability ${ds.fracture} vs the CLI's ${expected.fracture}`);
  assert.equal(ds.heatmap, 'true', 'the Grad-CAM layer is on');
  const coloured = await frame.evaluate(() => {
    const c = document.querySelector('canvas#heat');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
  assert.ok(coloured > 100, `the heat map covers ${coloured} pixels`);
  const status = await frame.locator('#status').innerText();
  assert.match(status, /vertebra box/);
  await screenshot(wb.page, '30-overlays');
  // Toggles: B hides the boxes, H the heat map; the image canvas is untouched (still pure grey).
  await frame.locator('#stage').focus();
  await wb.page.keyboard.press('b');
  await waitForDataset(frame, (d) => d.boxes === '0', 'boxes hidden by B');
  await wb.page.keyboard.press('h');
  await waitForDataset(frame, (d) => d.heatmap === 'false', 'heat map hidden by H');
  // Pixels: the boxes on screen (heat map and truth off) lie on the slice pixels where `dicom-ml render
  // --overlay boxes` draws them — each edge found independently in both images, within 1.5 slice pixels.
  await wb.page.keyboard.press('b');
  await wb.page.keyboard.press('t');
  await waitForDataset(frame, (d) => d.boxes === String(expected.vertebrae.length) && d.truth === '0', 'boxes back, truth hidden');
  const cliPng = path.join(OUT_DIR, 'overlay-reference-boxes.png');
  await cli('render', path.join(study.dir, opened), '--overlay', 'boxes', '--out', cliPng);
  const reference = await rgba(fs.readFileSync(cliPng));
  const shot = await rgba(await frame.locator('#layers').screenshot({ path: path.join(OUT_DIR, 'overlay-viewer-boxes.png') }));
  const scale = shot.width / reference.width;
  assert.ok(scale > 0.5, `the slice is shown at ${scale.toFixed(2)}× (enough pixels to find edges)`);
  for (const v of expected.vertebrae) {
    const colour = CLASS_COLOURS[Number(/^C(\d)$/.exec(v.name)[1]) - 1]; // the default detector's classes C1…C7 are ids 0…6
    const inCli = edgesIn(reference, 1, v.box, colour);
    const onScreen = edgesIn(shot, scale, v.box, colour);
    inCli.forEach((e, k) => {
      assert.ok(Number.isFinite(e) && Number.isFinite(onScreen[k]), `${v.name}: edge ${k} found in both images (CLI ${e}, viewer ${onScreen[k]})`);
      assert.ok(Math.abs(e - onScreen[k]) <= 1.5, `${v.name}: edge ${k} at slice pixel ${onScreen[k].toFixed(2)} on screen, ${e.toFixed(2)} in the CLI's PNG`);
    });
  }
  await wb.page.keyboard.press('t');
  await wb.page.keyboard.press('h');
  await waitForDataset(frame, (d) => d.boxes === String(expected.vertebrae.length) && d.heatmap === 'true', 'all back');
});

test('the study strip and summary fill in; clicking a vertebra goes to its most suspicious slice', TEST, async () => {
  const n = study.files.length;
  await waitForDataset(frame, (d) => d.analysed === `${n}/${n}`, `all ${n} slices analysed`, { timeout: 90_000 });
  const buttons = frame.locator('#summary button.vertebra');
  await buttons.first().waitFor({ timeout: 10_000 });
  assert.equal(await buttons.count(), 7, 'C1…C7');
  const rows = await buttons.evaluateAll((bs) => bs.map((b) => ({ name: b.dataset.vertebra, p: Number(b.dataset.probability), peak: b.dataset.peak === undefined ? null : Number(b.dataset.peak) })));
  const best = rows.filter((r) => r.peak !== null).sort((a, b) => b.p - a.p)[0];
  assert.ok(best, 'a detected vertebra');
  await screenshot(wb.page, '31-summary');
  await frame.locator(`#summary button[data-vertebra="${best.name}"]`).click();
  const ds = await waitForDataset(frame, (d) => Number(d.slice) === best.peak && d.overlay === d.slice, `slice ${best.peak} after clicking ${best.name}`, { timeout: 30_000 });
  const boxes = await drawnBoxes();
  assert.ok(boxes.some((b) => b.name === best.name), `${best.name} is boxed on its peak slice ${ds.slice}`);
  await screenshot(wb.page, '32-peak-slice');
});

test('zoom at the cursor, pan, fit; cine plays and stops; the shortcuts list opens', TEST, async () => {
  await frame.locator('#stage').focus();
  const before = await frame.locator('canvas#image').boundingBox();
  await wb.page.keyboard.press('+');
  let ds = await waitForDataset(frame, (d) => Number(d.zoom) > 1.2, 'zoom after +');
  const zoomed = await frame.locator('canvas#image').boundingBox();
  assert.ok(zoomed.width > before.width * 1.2, `the image grew (${before.width} → ${zoomed.width})`);
  // Ctrl + wheel zooms about the cursor: the slice pixel under it stays under it.
  const stage = await frame.locator('#stage').boundingBox();
  const at = { x: stage.x + stage.width * 0.3, y: stage.y + stage.height * 0.4 };
  const pixelUnder = async () => {
    const b = await frame.locator('canvas#image').boundingBox();
    return [(at.x - b.x) / b.width, (at.y - b.y) / b.height];
  };
  const p0 = await pixelUnder();
  await wb.page.mouse.move(at.x, at.y);
  await wb.page.keyboard.down('Control');
  await wb.page.mouse.wheel(0, -200);
  await wb.page.keyboard.up('Control');
  ds = await waitForDataset(frame, (d) => Number(d.zoom) > Number(ds.zoom) + 0.1, 'zoom after Ctrl + wheel');
  const p1 = await pixelUnder();
  assert.ok(Math.abs(p0[0] - p1[0]) < 0.01 && Math.abs(p0[1] - p1[1]) < 0.01, `the point under the cursor stays (${p0} → ${p1})`);
  // Shift + drag pans.
  await wb.page.keyboard.down('Shift');
  await wb.page.mouse.down();
  await wb.page.mouse.move(at.x + 60, at.y + 30, { steps: 4 });
  await wb.page.mouse.up();
  await wb.page.keyboard.up('Shift');
  ds = await waitForDataset(frame, (d) => d.pan !== '0,0', 'pan after Shift + drag');
  await screenshot(wb.page, '33-zoomed');
  await wb.page.keyboard.press('0');
  await waitForDataset(frame, (d) => d.zoom === '1.000' && d.pan === '0,0', 'fit after 0');
  const slice0 = Number((await waitForState(frame, ['ready'])).slice);
  await wb.page.keyboard.press(' ');
  await waitForDataset(frame, (d) => d.playing === 'true' && Number(d.slice) !== slice0, 'cine advances');
  await wb.page.keyboard.press(' ');
  ds = await waitForDataset(frame, (d) => d.playing === 'false', 'cine stops');
  await wb.page.keyboard.press('?');
  await frame.locator('#shortcuts').waitFor({ state: 'visible', timeout: 5_000 });
  await screenshot(wb.page, '34-shortcuts');
  await wb.page.keyboard.press('Escape');
  await frame.locator('#shortcuts').waitFor({ state: 'hidden', timeout: 5_000 });
});

test('ground truth: the RSNA fracture box and the segmentation outline are drawn on a fractured slice', TEST, async () => {
  await waitForDataset(frame, (d) => d.truthSource === 'rsna', 'ground truth found (RSNA layout)', { timeout: 60_000 });
  const boxes = fs.readFileSync(path.join(WS, 'rsna', 'train_bounding_boxes.csv'), 'utf8').trim().split('\n').slice(1)
    .map((l) => l.split(',')).filter((c) => c[0] === study.uid).map((c) => Number(c[5]));
  assert.ok(boxes.length, 'the sample study has fracture boxes');
  const k = study.files.indexOf(`${boxes[Math.floor(boxes.length / 2)]}.dcm`);
  // The viewer may page the stack in reverse: find the viewer index whose file is that slice.
  await frame.locator('#stage').focus();
  await wb.page.keyboard.press('Home');
  let ds = await waitForDataset(frame, (d) => d.slice === '0', 'first slice');
  const first = await frame.locator('#status').innerText();
  const target = first.startsWith('1.dcm') ? k : study.files.length - 1 - k;
  await frame.locator('#slider').fill(String(target));
  ds = await waitForDataset(frame, (d) => Number(d.slice) === target && Number(d.truth) >= 1, `slice ${target} with its truth drawn`, { timeout: 30_000 });
  const truth = await frame.evaluate(() => ({
    fractures: document.querySelectorAll('#boxes g.truth.fracture').length,
    outlines: [...document.querySelectorAll('#boxes g.truth.vertebra')].map((g) => g.dataset.name),
  }));
  assert.ok(truth.fractures >= 1, 'a dashed fracture box');
  assert.ok(truth.outlines.length >= 1, `vertebra outlines ${truth.outlines}`);
  await screenshot(wb.page, '35-ground-truth');
  await wb.page.keyboard.press('t');
  await waitForDataset(frame, (d) => d.truth === '0', 'truth hidden by T');
  await wb.page.keyboard.press('t');
});

test('sagittal reformat with C1–C7 labels and a linked crosshair; clicking it moves the axial slice', TEST, async () => {
  await frame.locator('#stage').focus();
  await wb.page.keyboard.press('s');
  const ds = await waitForDataset(frame, (d) => d.plane === 'sagittal' && /^sagittal:\d+$/.test(d.reformat ?? ''), 'the sagittal reformat', { timeout: 60_000 });
  const r = await frame.evaluate(() => {
    const c = document.querySelector('canvas#reformat');
    const b = c.getBoundingClientRect();
    return { width: c.width, height: c.height, cssW: b.width, cssH: b.height, labels: [...document.querySelectorAll('#reformat-marks .vertebra-label')].map((t) => t.textContent), orient: [...document.querySelectorAll('#reformat-marks .orient')].map((t) => t.textContent), crosshair: document.querySelectorAll('#reformat-marks .crosshair').length };
  });
  assert.equal(r.height, study.files.length, 'one reformat row per slice (uniform spacing)');
  assert.ok(r.labels.length >= 4, `vertebra labels ${r.labels}`);
  assert.deepEqual(r.labels, [...r.labels].sort(), 'labels C1… from the top down');
  assert.equal(r.crosshair, 1);
  assert.ok(r.orient.includes('S') && r.orient.includes('I'), `directions ${r.orient}`);
  await screenshot(wb.page, '36-sagittal');
  // Click near the top of the reformat: the axial view goes to a superior slice.
  const box = await frame.locator('canvas#reformat').boundingBox();
  await frame.locator('canvas#reformat').click({ position: { x: box.width / 2, y: box.height * 0.1 } });
  const after = await waitForDataset(frame, (d) => d.slice !== ds.slice, 'the axial slice follows the click');
  assert.ok(Number(after.slice) >= 0);
  // Coronal: the same linked view across the other axis, patient right on the viewer's left.
  await wb.page.keyboard.press('c');
  await waitForDataset(frame, (d) => d.plane === 'coronal' && /^coronal:\d+$/.test(d.reformat ?? ''), 'the coronal reformat', { timeout: 60_000 });
  const c = await frame.evaluate(() => ({ height: document.querySelector('canvas#reformat').height, orient: [...document.querySelectorAll('#reformat-marks .orient')].map((t) => t.textContent), crosshair: document.querySelectorAll('#reformat-marks .crosshair').length, labels: document.querySelectorAll('#reformat-marks .vertebra-label').length }));
  assert.equal(c.height, study.files.length, 'one coronal row per slice');
  assert.ok(['R', 'L', 'S', 'I'].every((d) => c.orient.includes(d)), `coronal directions ${c.orient}`);
  assert.equal(c.crosshair, 1);
  assert.ok(c.labels >= 4, `vertebra labels on the coronal view: ${c.labels}`);
  await screenshot(wb.page, '36b-coronal');
  await wb.page.keyboard.press('a');
  await waitForDataset(frame, (d) => d.plane === 'axial', 'back to axial');
});

test('the DICOM tags panel lists the slice\'s elements and searches them', TEST, async () => {
  await frame.locator('#tab-tags').click();
  await waitForDataset(frame, (d) => Number(d.tags) > 20, 'the tag list');
  await frame.locator('#tag-search input').fill('PatientPosition');
  await waitForDataset(frame, (d) => Number(d.tags) >= 1 && Number(d.tags) < 5, 'the search narrows the list');
  const rows = await frame.locator('#tag-list .tag-row:not(.dim)').allInnerTexts();
  assert.ok(rows.some((t) => t.includes('(0018,5100)')), `rows ${rows}`);
  await screenshot(wb.page, '37-tags');
  await frame.locator('#tab-study').click();
});

test('a model that fails to load says why in the editor; fixing the setting brings the overlays back', TEST, async () => {
  const settings = path.join(WS, '.vscode', 'settings.json');
  fs.mkdirSync(path.dirname(settings), { recursive: true });
  fs.writeFileSync(settings, JSON.stringify({ 'dicomMl.models.detector': 'models/missing-detector.onnx' }));
  await waitForDataset(frame, (d) => d.models === 'error', 'the models in error after the setting changed', { timeout: 30_000 });
  const status = await frame.locator('#models-status').innerText();
  assert.match(status, /missing-detector\.onnx: cannot read the model \(ENOENT\)/);
  assert.equal((await waitForState(frame, ['ready'])).state, 'ready', 'the image still shows');
  await screenshot(wb.page, '38-model-error');
  fs.writeFileSync(settings, '{}');
  await waitForDataset(frame, (d) => d.models === 'ready', 'the models back', { timeout: 60_000 });
});

test('"Choose Viewer Models" from the palette: no classifier takes the heat map away, Default brings it back', TEST, async () => {
  const settings = path.join(WS, '.vscode', 'settings.json');
  await runCommand(wb.page, 'DICOM ML: Choose Viewer Models');
  await pickQuickItem(wb.page, 'Fracture classifier');
  await pickQuickItem(wb.page, 'None');
  await waitForDataset(frame, (d) => d.models === 'ready' && d.overlay === d.slice && d.heatmap === 'false', 'detector only: boxes, no heat map', { timeout: 60_000 });
  assert.equal(JSON.parse(fs.readFileSync(settings, 'utf8'))['dicomMl.models.classifier'], 'none', 'written to the workspace settings');
  assert.doesNotMatch(await frame.locator('#models-status').innerText(), /fracture-classifier/);
  await runCommand(wb.page, 'DICOM ML: Choose Viewer Models');
  await pickQuickItem(wb.page, 'Fracture classifier');
  await pickQuickItem(wb.page, 'Default');
  await waitForDataset(frame, (d) => d.models === 'ready' && d.overlay === d.slice && d.heatmap === 'true', 'the default classifier back', { timeout: 60_000 });
  assert.equal(JSON.parse(fs.readFileSync(settings, 'utf8'))['dicomMl.models.classifier'], '');
  await closeAllEditors(wb.page);
});

test('a corrupt slice shows its error and the rest of the series still works', TEST, async () => {
  const dir = path.join(WS, 'corrupt');
  await cli('demo', '--out', dir, '--slices', '5');
  const names = fs.readdirSync(dir).filter((f) => f.endsWith('.dcm')).sort((a, b) => parseInt(a, 10) - parseInt(b, 10));
  // Cut the pixel data of one slice: its header still reads (it stays in the series), its pixels do not.
  const bad = path.join(dir, names[2]);
  const bytes = fs.readFileSync(bad);
  fs.writeFileSync(bad, bytes.subarray(0, bytes.length - 4000));
  await quickOpen(wb.page, `corrupt/${names[0]}`);
  frame = await viewerFrame(wb.page);
  await waitForState(frame, ['ready']);
  await frame.locator('#stage').focus();
  await wb.page.keyboard.press('Home');
  let ds = await waitForDataset(frame, (d) => d.slice === '0', 'the first slice');
  for (let i = 0; i < names.length; i++) {
    ds = await frame.evaluate(() => ({ ...document.body.dataset }));
    if (ds.state === 'error') break;
    await wb.page.keyboard.press('ArrowDown');
    await frame.page().waitForTimeout(400);
  }
  ds = await waitForState(frame, ['error']);
  const message = await frame.locator('#error').innerText();
  assert.match(message, new RegExp(names[2].replace('.', '\\.')), `the error names the file: ${message}`);
  await screenshot(wb.page, '39-corrupt-slice');
  await wb.page.keyboard.press('ArrowDown');
  ds = await waitForState(frame, ['ready']);
  assert.equal(ds.state, 'ready', 'the next slice shows');
  await closeAllEditors(wb.page);
});
