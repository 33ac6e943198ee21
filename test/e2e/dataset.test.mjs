// E2E: the dataset palette commands in the real VS Code workbench (code-server + Chromium), as a user runs
// them: "DICOM ML: Create Sample Dataset" (answering its two prompts), then the notification's
// "Prepare Dataset" button (accepting the proposed output folder). Both run as `dicom-ml` tasks; the test
// checks their outputs on disk (RSNA layout; ultralytics + ImageFolder sets and manifest) and on screen.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { OUT_DIR, runCommand, screenshot, startWorkbench } from './harness.mjs';

const WS = path.join(OUT_DIR, 'dataset-workspace');
const SAMPLE = path.join(WS, 'sample-rsna');
const PREPARED = path.join(WS, 'datasets', 'sample-rsna-prepared');
let wb;

before(async () => {
  fs.rmSync(WS, { recursive: true, force: true });
  fs.mkdirSync(WS, { recursive: true });
  fs.writeFileSync(path.join(WS, 'README.md'), 'E2E workspace for the dataset commands.\n');
  wb = await startWorkbench({ workspace: WS });
});

after(async () => {
  await wb?.close();
});

/** Waits for a notification toast containing `text`; returns the toast locator. */
async function toast(page, text, timeout) {
  const item = page.locator('.notification-toast', { hasText: text }).first();
  await item.waitFor({ timeout });
  return item;
}

/** Accepts the quick input's current (prefilled) value, after checking it, or types `value`. */
async function answer(page, { expect, value }) {
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 10_000 });
  if (expect !== undefined) {
    // The next question reuses the widget: give it a moment to replace the previous answer before judging.
    let seen = await input.inputValue();
    for (let t = Date.now(); seen !== expect && Date.now() - t < 5_000; seen = await input.inputValue()) await page.waitForTimeout(100);
    assert.equal(seen, expect, 'prefilled answer');
  }
  if (value !== undefined) await input.fill(value);
  await input.press('Enter');
}

test('Create Sample Dataset then Prepare Dataset from the palette write the RSNA layout and the training sets', { timeout: 600_000 }, async () => {
  const { page } = wb;
  await runCommand(page, 'DICOM ML: Create Sample Dataset');
  await answer(page, { expect: SAMPLE });
  await answer(page, { expect: '8', value: '2' });
  const sampled = await toast(page, 'sample dataset written to', 300_000);
  await screenshot(page, '10-sample-created');
  const csv = fs.readFileSync(path.join(SAMPLE, 'train.csv'), 'utf8').trim().split('\n');
  assert.equal(csv[0].replace(/\r$/, ''), 'StudyInstanceUID,patient_overall,C1,C2,C3,C4,C5,C6,C7');
  assert.equal(csv.length - 1, 2, 'two studies in train.csv');
  const studies = fs.readdirSync(path.join(SAMPLE, 'train_images'));
  assert.equal(studies.length, 2);
  for (const s of studies) assert.ok(fs.readdirSync(path.join(SAMPLE, 'train_images', s)).some((f) => f.endsWith('.dcm')));

  await sampled.locator('a.monaco-button, .monaco-button', { hasText: 'Prepare Dataset' }).first().click();
  await answer(page, { expect: PREPARED });
  await toast(page, 'datasets prepared in', 300_000);
  await screenshot(page, '11-dataset-prepared');
  const yaml = fs.readFileSync(path.join(PREPARED, 'detect', 'data.yaml'), 'utf8');
  assert.match(yaml, /C1/);
  assert.match(yaml, /C7/);
  const manifest = fs.readFileSync(path.join(PREPARED, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(manifest.length > 0, 'manifest has lines');
  for (const m of manifest) {
    for (const k of ['image', 'split', 'study', 'slice', 'dicom']) assert.ok(k in m, `manifest key ${k}`);
    assert.ok(fs.existsSync(path.join(PREPARED, m.image)), `${m.image} exists`);
    assert.ok(fs.existsSync(m.dicom), `${m.dicom} exists`);
  }
  // The outputs appear in the explorer too (the workspace view refreshes on file changes).
  await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'datasets' }).first().waitFor({ timeout: 20_000 });
});
