// E2E: evaluation from the palette (issue 9) in the real VS Code workbench (code-server + Chromium): "Evaluate
// Vertebra Detector" and "Evaluate Fracture Classifier" on a sample dataset with the default models write
// metrics.json / predictions.jsonl and open the metrics panel, whose numbers equal `dicom-ml eval --json` for the
// same inputs; the threshold moves the tables; the curves draw; clicking an error opens its source DICOM slice
// in the viewer (the right file, its pixels); errors are in the Problems view; two evaluations compare in a
// paper-style table that exports as Markdown. Screenshots test-output/e2e/5x-*.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { OUT_DIR, PRESETS, cli, compareGrey, huValues, pickQuickItem, readCanvas, runCommand, screenshot, startWorkbench, viewerFrame, waitForDataset, waitForState, windowGrey } from './harness.mjs';
import { ensureCodeServer } from '../../scripts/code-server.mjs';
import sharp from 'sharp';

const TEST = { timeout: 180_000 };
const WS = path.join(OUT_DIR, 'evaluation-workspace');
const PREPARED = path.join(WS, 'prepared');
let wb;
let panel;

before(async () => {
  await ensureCodeServer({ log: (m) => console.error(`[code-server] ${m}`) });
  fs.rmSync(WS, { recursive: true, force: true });
  await cli('sample', '--out', path.join(WS, 'rsna'), '--studies', '3', '--slices', '40-40', '--seed', '21', '--fracture-rate', '1');
  await cli('prepare', '--rsna', path.join(WS, 'rsna'), '--out', PREPARED, '--val', '0.34', '--seed', '1');
  wb = await startWorkbench({ workspace: WS });
}, { timeout: 400_000 });

after(async () => {
  await wb?.close();
});

/** The metrics panel's frame once it shows a `task` evaluation. */
async function metricsPanel(task) {
  const frame = await viewerFrame(wb.page, { timeout: 120_000, selector: `body[data-task="${task}"][data-state="ready"]` });
  await waitForDataset(frame, (d) => d.tables === 'drawn' && d.threshold !== undefined, 'the tables at the threshold', { timeout: 30_000 });
  return frame;
}

/** A vscode-table of the panel as rows of cell texts (header first). */
async function tableRows(frame, name) {
  return frame.evaluate((n) => {
    const t = document.querySelector(`vscode-table[data-table="${n}"]`);
    if (!t) return [];
    const head = [...t.querySelectorAll('vscode-table-header-cell')].map((c) => c.textContent.trim());
    return [head, ...[...t.querySelectorAll('vscode-table-row')].map((r) => [...r.querySelectorAll('vscode-table-cell')].map((c) => c.textContent.trim()))];
  }, name);
}

const f3 = (v) => (typeof v === 'number' ? v.toFixed(3) : '–');

test('Evaluate Vertebra Detector from the palette: metrics.json written, the panel\'s numbers equal `dicom-ml eval detect --json`', TEST, async () => {
  await runCommand(wb.page, 'DICOM ML: Evaluate Vertebra Detector');
  await pickQuickItem(wb.page, 'Default', { timeout: 30_000 });
  await pickQuickItem(wb.page, 'prepared', { timeout: 30_000 });
  await pickQuickItem(wb.page, 'val', { timeout: 30_000 });
  panel = await metricsPanel('detect');
  const dirs = fs.readdirSync(path.join(WS, 'runs', 'eval', 'detect'));
  assert.equal(dirs.length, 1, 'one evaluation folder under runs/eval/detect');
  const out = path.join(WS, 'runs', 'eval', 'detect', dirs[0]);
  assert.ok(fs.existsSync(path.join(out, 'metrics.json')) && fs.existsSync(path.join(out, 'predictions.jsonl')));
  const cliJson = JSON.parse(await cli('eval', 'detect', '--data', path.join(PREPARED, 'detect', 'data.yaml'), '--split', 'val', '--protocol', 'both', '--json'));
  const ul = cliJson.protocols?.ultralytics ?? cliJson;
  const coco = cliJson.protocols?.coco;
  const rows = await tableRows(panel, 'detection');
  const head = rows[0];
  const all = rows[1];
  const col = (title) => all[head.indexOf(title)];
  assert.equal(all[0], 'all');
  assert.equal(col('Instances'), String(ul.instances));
  for (const [title, v] of [['P', ul.precision], ['R', ul.recall], ['mAP50', ul.mAP50], ['mAP50-95', ul.mAP50_95], ['COCO mAP50', coco.mAP50], ['COCO mAP50-95', coco.mAP50_95]]) assert.equal(col(title), f3(v), `${title}: panel ${col(title)} vs CLI ${f3(v)}`);
  for (const c of ul.perClass) {
    const r = rows.find((x) => x[0] === c.name);
    assert.ok(r, `a row for ${c.name}`);
    assert.equal(r[head.indexOf('mAP50-95')], f3(c.mAP50_95), `${c.name} mAP50-95`);
  }
  await screenshot(wb.page, '50-metrics-detect');
  // The threshold: the @ columns follow it.
  const before = col(head.find((h) => h.startsWith('P @')));
  await panel.evaluate(() => {
    const s = document.getElementById('threshold');
    s.value = '0.9';
    s.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await waitForDataset(panel, (d) => d.threshold === '0.90', 'the tables at threshold 0.90');
  const rows2 = await tableRows(panel, 'detection');
  assert.ok(rows2[0].includes('P @0.90'), `header ${rows2[0]}`);
  assert.notEqual(rows2[1][rows2[0].indexOf('R @0.90')], undefined);
  assert.ok(before !== undefined);
  // Curves: four uPlot charts (PR, F1/P/R–confidence).
  await panel.locator('vscode-button[data-tab="curves"]').click();
  await waitForDataset(panel, (d) => d.charts === '4', 'four charts');
  assert.equal(await panel.locator('.uplot canvas').count(), 4);
  await screenshot(wb.page, '51-metrics-curves');
});

test('clicking an error opens its source DICOM slice in the viewer; errors are in the Problems view', TEST, async () => {
  await panel.locator('vscode-button[data-tab="errors"]').click();
  const ds = await waitForDataset(panel, (d) => Number(d.errors) > 0, 'the error list');
  assert.ok(Number(ds.errors) > 0);
  const first = panel.locator('.error-row').first();
  const where = await first.locator('.where').innerText();
  const slice = /slice (\d+)/.exec(where)?.[1];
  assert.ok(slice, `the row names its slice: ${where}`);
  const study = await first.getAttribute('data-study');
  await screenshot(wb.page, '52-metrics-errors');
  await first.click();
  const viewer = await viewerFrame(wb.page, { timeout: 30_000, selector: '#stage' });
  const v = await waitForState(viewer, ['ready', 'error']);
  assert.equal(v.state, 'ready');
  await waitForDataset(viewer, (d) => d.drawn !== undefined && d.drawn === d.slice, 'the slice drawn');
  const status = await viewer.locator('#status').innerText();
  assert.ok(status.startsWith(`${slice}.dcm`), `the viewer shows ${slice}.dcm: ${status}`);
  // Its pixels are that file's, windowed to bone.
  const file = path.join(WS, 'rsna', 'train_images', study, `${slice}.dcm`);
  const canvas = await readCanvas(viewer);
  const cmp = compareGrey(canvas.grey, windowGrey(await huValues(file), ...PRESETS.bone), canvas.width);
  assert.ok(cmp.wrong <= canvas.grey.length * 0.001, `pixels of ${slice}.dcm: ${cmp.wrong} differ (${cmp.examples.join('; ')})`);
  await screenshot(wb.page, '53-error-opened');
  // Next error (the command, also Alt+F8 in the viewer): the list's second row, said in the status bar.
  const secondId = await panel.locator('.error-row').nth(1).getAttribute('data-id');
  await runCommand(wb.page, 'DICOM ML: Next Model Error');
  await wb.page.locator('.statusbar-item', { hasText: /DICOM ML error 2\/\d+/ }).first().waitFor({ timeout: 20_000 });
  assert.equal(await panel.locator('.error-row.selected').getAttribute('data-id'), secondId, 'the panel follows');
  // The Problems view lists the evaluation's errors.
  await wb.page.keyboard.press('Control+Shift+M');
  const problems = wb.page.locator('.markers-panel .monaco-list-row');
  await problems.first().waitFor({ timeout: 20_000 });
  assert.ok(await wb.page.locator('.markers-panel').getByText(/dicom-ml eval/).first().isVisible(), 'problems from dicom-ml eval');
  await screenshot(wb.page, '54-problems');
});

test('Evaluate Fracture Classifier, then compare the two evaluations in a paper-style table and export it as Markdown', TEST, async () => {
  // Run again (bounded) when its first question does not show: once in CI the command never ran after the Problems
  // view had the focus.
  for (let attempt = 1; ; attempt++) {
    await runCommand(wb.page, 'DICOM ML: Evaluate Fracture Classifier');
    const asked = await pickQuickItem(wb.page, 'Default', { timeout: 15_000 }).then(() => true, () => false);
    if (asked) break;
    await screenshot(wb.page, `55-evaluate-attempt-${attempt}`).catch(() => {});
    if (attempt >= 3) throw new Error('Evaluate Fracture Classifier never asked for its model');
  }
  await pickQuickItem(wb.page, 'prepared', { timeout: 30_000 });
  await pickQuickItem(wb.page, 'val', { timeout: 30_000 });
  panel = await metricsPanel('classify');
  const cliJson = JSON.parse(await cli('eval', 'classify', '--data', PREPARED, '--split', 'val', '--json'));
  const rows = await tableRows(panel, 'classification');
  for (const [title, k] of [['Accuracy', 'accuracy'], ['Precision', 'precision'], ['F1', 'f1'], ["Cohen's kappa", 'kappa'], ['ROC AUC', 'auc']]) {
    const r = rows.find((x) => x[0] === title);
    assert.equal(r?.[1], f3(cliJson[k]), `${title}: panel ${r?.[1]} vs CLI ${f3(cliJson[k])}`);
  }
  const confusion = await tableRows(panel, 'confusion');
  assert.deepEqual(confusion.slice(1).map((r) => r.slice(1).map(Number)), cliJson.confusion, 'confusion matrix at 0.5 = the CLI\'s (argmax)');
  await panel.locator('vscode-button[data-tab="tables"]').click();
  await screenshot(wb.page, '55-metrics-classify');
  // Compare: both evaluations picked in the multi-select quick pick.
  await panel.locator('vscode-button[data-tab="compare"]').click();
  await panel.locator('#compare-pick').click();
  const items = wb.page.locator('.quick-input-list .monaco-list-row');
  await items.first().waitFor({ timeout: 10_000 });
  const n = await items.count();
  for (let i = 0; i < n; i++) {
    const box = items.nth(i).locator('input[type="checkbox"], .monaco-checkbox, .quick-input-list-checkbox').first();
    if ((await box.getAttribute('aria-checked')) !== 'true' && !(await box.isChecked().catch(() => false))) await box.click();
  }
  await wb.page.locator('.quick-input-widget input').press('Enter');
  await waitForDataset(panel, (d) => d.compared === '2', 'two rows compared');
  const det = await tableRows(panel, 'compare-detect');
  assert.deepEqual(det[0].slice(0, 5), ['Model', 'P', 'R', 'mAP50', 'mAP50-95']);
  const cls = await tableRows(panel, 'compare-classify');
  assert.deepEqual(cls[0].slice(0, 6), ['Model', 'Accuracy', 'P', 'R', 'F1', 'Specificity']);
  await screenshot(wb.page, '56-compare');
  // Export Markdown through the save dialog at the default it offers, <workspace>/comparison.md.
  const target = path.join(WS, 'comparison.md');
  await saveAtDefault(panel.locator('#export-md'), target, '56-export');
  const md = fs.readFileSync(target, 'utf8');
  assert.match(md, /### Vertebra detection/);
  assert.match(md, /\| Model \| P \| R \| mAP50 \| mAP50-95 \|/);
  assert.match(md, /### Fracture classification/);
  assert.match(md, /\*\*\d\.\d{3}\*\*/, 'best values bold');
  // The classifier evaluation as one HTML report beside its metrics.json: tables, its three curves and error
  // pictures inline.
  const evalDir = path.join(WS, 'runs', 'eval', 'classify', fs.readdirSync(path.join(WS, 'runs', 'eval', 'classify'))[0]);
  await saveAtDefault(panel.locator('#report-html'), path.join(evalDir, 'report.html'), '57-report');
  const html = fs.readFileSync(path.join(evalDir, 'report.html'), 'utf8');
  assert.match(html, /<h2>Fracture classification<\/h2>/);
  assert.ok((html.match(/<img [^>]*src="data:image\/png;base64,/g) ?? []).length >= 4, 'three curves and at least one error picture');
  assert.match(html, /<img alt="ROC"/, 'the classifier\'s own curves');
  const roc = Buffer.from(/<img alt="ROC" src="data:image\/png;base64,([^"]+)"/.exec(html)[1], 'base64');
  const stats = await sharp(roc).stats();
  assert.ok(stats.channels[0].stdev > 5, `the ROC picture is drawn, not blank (stdev ${stats.channels[0].stdev.toFixed(1)})`);
  assert.doesNotMatch(html, /ultralytics, IoU/, 'not the detector\'s');
  assert.ok(!/<script/i.test(html), 'no script in the report');
  // After a window reload the panel comes back with its evaluation and its tab.
  await runCommand(wb.page, 'Developer: Reload Window');
  await wb.page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  const again = await viewerFrame(wb.page, { timeout: 90_000, selector: 'body[data-task="classify"][data-state="ready"]' });
  const restored = await waitForDataset(again, (d) => d.tables === 'drawn', 'the restored panel');
  assert.equal(restored.tab, 'compare', 'the tab it was on');
  await screenshot(wb.page, '58-restored');
});

/**
 * Click `button`, then accept the save dialog (VS Code web's simple file dialog, a quick input) at the path it
 * offers, which must be `target`; like the open dialog it may take an Enter as "complete the path".
 */
async function saveAtDefault(button, target, shot) {
  await button.click();
  const input = wb.page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  let offered = await input.inputValue();
  for (const t = Date.now(); offered !== target && Date.now() - t < 10_000; offered = await input.inputValue()) await wb.page.waitForTimeout(200);
  assert.equal(offered, target, 'the dialog offers the default path');
  for (let attempt = 1; ; attempt++) {
    if (await input.isVisible()) await input.press('Enter');
    try {
      await waitForDataset(panel, (d) => d.exported === target, `${path.basename(target)} exported`, { timeout: 10_000 });
      return;
    } catch (err) {
      await screenshot(wb.page, `${shot}-attempt-${attempt}`).catch(() => {});
      if (attempt >= 3) throw err;
    }
  }
}
