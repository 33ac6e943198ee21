// E2E: training from the palette in the real VS Code workbench (code-server + Chromium), with the real Python
// trainer (trainer/, run by the interpreter in the repository's .venv, given to the extension through the
// dicomMl.pythonPath setting as a user would). "DICOM ML: Train Fracture Classifier" on a small prepared sample
// set, answering its four questions (dataset, model, epochs, device): the progress notification shows the
// epoch, the run ends with an ONNX model and card, and it appears in the Training Runs view. A second run is
// cancelled from its notification: the task ends and no process of the trainer's tree is left; resumed from the
// view, it continues in the same folder.
//
// Needs the trainer's Python environment: $DICOM_ML_E2E_PYTHON or .venv/bin/python with torch (skipped, with
// the reason, when `dicom-ml doctor` says it is not ready).

import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../../scripts/code-server.mjs';
import { OUT_DIR, cli, notifications, pickQuickItem, runCommand, screenshot, startWorkbench, viewerFrame } from './harness.mjs';

const WS = path.join(OUT_DIR, 'training-workspace');
const PREPARED = path.join(WS, 'datasets', 'sample-prepared');
const RUNS = path.join(WS, 'runs', 'classify');
const TASK_LABEL = 'train classifier (tasks.json)';
const PYTHON = process.env.DICOM_ML_E2E_PYTHON ?? path.join(REPO_ROOT, '.venv', 'bin', 'python');

/** Why the suite cannot run here (no trainer environment), or undefined. */
async function whyNot() {
  if (!fs.existsSync(PYTHON)) return `no Python environment at ${PYTHON} (set DICOM_ML_E2E_PYTHON)`;
  try {
    await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), 'doctor', '--python', PYTHON], { timeout: 120_000 });
    return undefined;
  } catch (err) {
    return `${PYTHON} is not ready to train: ${(err.stderr || err.message).trim().split('\n').pop()}`;
  }
}

const skip = await whyNot();
let wb;

before(async () => {
  if (skip) return;
  fs.rmSync(WS, { recursive: true, force: true });
  fs.mkdirSync(WS, { recursive: true });
  // Small and quick: 2 studies of 40–60 slices at 256 px, all with fractures and masks (~3 s each step).
  const rsna = path.join(WS, 'sample-rsna');
  await cli('sample', '--out', rsna, '--studies', '2', '--size', '256', '--slices', '40-60', '--fracture-rate', '1', '--segmentation-rate', '1');
  await cli('prepare', '--rsna', rsna, '--out', PREPARED);
  // A train task as a user writes it in tasks.json (there before the workbench opens, as in real use).
  fs.mkdirSync(path.join(WS, '.vscode'), { recursive: true });
  fs.writeFileSync(path.join(WS, '.vscode', 'tasks.json'), JSON.stringify({
    version: '2.0.0',
    tasks: [{ type: 'dicom-ml', command: 'train', args: ['classify', '--data', 'datasets/sample-prepared', '--epochs', '1', '--device', 'cpu', '--out', 'runs/classify/from-tasks-json'], label: TASK_LABEL, problemMatcher: [] }],
  }, null, 2));
  wb = await startWorkbench({ workspace: WS, settings: { 'dicomMl.pythonPath': PYTHON } });
}, { timeout: 300_000 });

after(async () => {
  await wb?.close();
});

/** The quick input now open: waits for its title to contain `title`, then picks the row labelled `label`. */
async function pick(page, title, label) {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ timeout: 60_000 });
  const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`) }) }).first();
  await row.waitFor({ timeout: 20_000 });
  await row.click();
}

/** Types `value` into the open input box titled `title`. */
async function type(page, title, value) {
  await page.locator('.quick-input-widget .quick-input-title', { hasText: title }).waitFor({ timeout: 20_000 });
  const input = page.locator('.quick-input-widget input');
  await input.fill(value);
  await input.press('Enter');
}

/** The notification toast containing `text` (regexp or string). */
function toast(page, text) {
  return page.locator('.notification-toast', { hasText: text }).first();
}

/** Runs the palette command and answers its four questions. */
async function trainFromPalette(page, epochs) {
  await runCommand(page, 'DICOM ML: Train Fracture Classifier');
  await pick(page, 'dataset', 'datasets/sample-prepared');
  await pick(page, 'model', 'cnn');
  await type(page, 'epochs', String(epochs));
  await pick(page, 'device', 'cpu');
}

/** Opens the Training Runs view and widens the side bar so that descriptions show in full (screenshots). */
async function showRunsView(page) {
  await runCommand(page, 'DICOM ML: Focus on Training Runs View');
  const bar = await page.locator('.part.sidebar').boundingBox();
  if (bar && bar.width < 500) {
    await page.mouse.move(bar.x + bar.width + 1, bar.y + bar.height / 2);
    await page.mouse.down();
    await page.mouse.move(bar.x + 560, bar.y + bar.height / 2, { steps: 8 });
    await page.mouse.up();
  }
}

/** Run folders now in runs/classify. */
function runFolders() {
  return fs.existsSync(RUNS) ? fs.readdirSync(RUNS).sort() : [];
}

/** Processes whose command line mentions `text` (the run folder is in every trainer process's argv). */
function processesWith(text) {
  const out = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(text) && !/^\s*\d+\s+Z/.test(l) && !l.includes(' ps -eo'));
}

/** The test body, with a screenshot of the workbench when it fails (test-output/e2e/fail-<name>.png). */
function shotOnFailure(name, body) {
  return async (t) => {
    try {
      await body(t);
    } catch (err) {
      await screenshot(wb.page, `fail-${name}`).catch(() => {});
      throw err;
    }
  };
}

async function until(what, fn, timeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('Train Fracture Classifier from the palette: progress notification, ONNX + card, run in Training Runs', { skip, timeout: 600_000 }, shotOnFailure('palette', async () => {
  const { page } = wb;
  const before = runFolders();
  await trainFromPalette(page, 2);
  await toast(page, 'DICOM ML: Train Fracture Classifier').waitFor({ timeout: 30_000 });
  // The notification's message moves from "starting" to "epoch k/2 … F1 …" as events.jsonl grows, then the
  // notification closes and "trained" shows: read the toasts as they come (an epoch of this set takes ~2 s).
  const seen = [];
  const deadline = Date.now() + 300_000;
  for (;;) {
    const texts = await notifications(page);
    const progress = texts.find((t) => /epoch \d\/2/.test(t));
    if (progress && !seen.length) await screenshot(page, '20-training-progress');
    if (progress) seen.push(progress);
    if (texts.some((t) => t.includes('Fracture classifier trained'))) break;
    assert.ok(Date.now() < deadline, `no "trained" notification; toasts now: ${texts.join(' | ')}`);
    await page.waitForTimeout(100);
  }
  assert.ok(seen.length, 'the progress notification showed an epoch');
  assert.match(seen[0], /Train Fracture Classifier \(cnn-\d{8}-\d{6}\): epoch [12]\/2 · loss \d\.\d{3} · F1 \d\.\d{3}/);
  const done = toast(page, 'Fracture classifier trained');
  const runs = runFolders().filter((r) => !before.includes(r));
  assert.equal(runs.length, 1, `one new run folder in ${RUNS}: ${runs}`);
  const dir = path.join(RUNS, runs[0]);
  assert.match(runs[0], /^cnn-\d{8}-\d{6}$/);
  const events = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(events.map((e) => e.event), ['start', 'epoch', 'epoch', 'end']);
  assert.ok(fs.statSync(path.join(dir, 'model.onnx')).size > 10_000, 'model.onnx written');
  assert.ok(fs.existsSync(path.join(dir, 'model.card.json')), 'model card written');
  assert.match(await done.innerText(), /best epoch \d: F1 \d\.\d{3}/);
  await screenshot(page, '21-training-done');

  // The Training Runs view lists it under the classifiers: completed, epoch 2/2, best F1.
  await showRunsView(page);
  await page.locator('.monaco-list-row', { hasText: 'Fracture classifiers' }).first().waitFor({ timeout: 20_000 });
  const row = page.locator('.monaco-list-row', { hasText: runs[0] }).first();
  await row.waitFor({ timeout: 20_000 });
  const text = await row.innerText();
  assert.match(text, /epoch 2\/2 · best F1 \d\.\d{3}/);
  assert.equal(await row.locator('.codicon-pass').count(), 1, 'completed icon');
  // Its tooltip: status and the best epoch's metrics.
  // The view refreshes as runs change and may re-render the row under the pointer: hover again (bounded).
  const hover = page.locator('.monaco-hover, .workbench-hover', { hasText: 'best epoch' }).first();
  await until('the run\'s tooltip', async () => {
    await page.mouse.move(900, 600);
    await row.hover({ position: { x: 60, y: 8 } });
    return hover.waitFor({ timeout: 4_000 }).then(() => true, () => false);
  }, 40_000);
  assert.match(await hover.innerText(), /completed[\s\S]*F1[\s\S]*acc/);
  await screenshot(page, '22-training-runs');
  await page.mouse.move(900, 600);
}));

test('Cancel in the progress notification stops the task and leaves no trainer process', { skip, timeout: 600_000 }, shotOnFailure('cancel', async () => {
  const { page } = wb;
  const before = runFolders();
  await trainFromPalette(page, 50);
  const dirName = await until('the new run folder', () => runFolders().find((r) => !before.includes(r)), 60_000);
  const dir = path.join(RUNS, dirName);
  await toast(page, /epoch 1\/50/).waitFor({ timeout: 240_000 });
  const running = processesWith(dir);
  assert.ok(running.some((l) => l.includes('dicom_ml_trainer')), `trainer running:\n${running.join('\n')}`);
  await screenshot(page, '23-training-before-cancel');
  await toast(page, /epoch \d+\/50/).locator('.monaco-button', { hasText: 'Cancel' }).click();
  await until('no process of the run', () => processesWith(dir).length === 0, 60_000).catch((err) => {
    throw new Error(`${err.message}; left:\n${processesWith(dir).join('\n')}`);
  });
  await toast(page, 'stopped after epoch').waitFor({ timeout: 30_000 });
  const stopped = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const last = stopped.at(-1);
  // Epochs of this tiny set take under a second: the cancel may land after epoch 1 or a later one.
  const stoppedAt = stopped.filter((e) => e.event === 'epoch').at(-1)?.epoch ?? 0;
  assert.equal(last.event, 'error');
  assert.equal(last.kind, 'interrupted');
  assert.ok(fs.existsSync(path.join(dir, 'weights', 'last.pt')), 'the last checkpoint is kept');
  await showRunsView(page);
  const row = page.locator('.monaco-list-row', { hasText: dirName }).first();
  await row.waitFor({ timeout: 20_000 });
  await until('the run shown as interrupted', async () => (await row.locator('.codicon-debug-pause').count()) === 1, 20_000);
  await screenshot(page, '24-training-cancelled');
  assert.ok(!(await notifications(page)).some((n) => /failed/.test(n)), 'no failure notification');

  // Resume (the row's inline action): the same run folder continues from its checkpoint; cancel it again.
  // Inline actions show on hover, and the row may re-render under the pointer when the view refreshes:
  // click again (bounded) until the resume notification shows.
  await until('the resume notification', async () => {
    await row.hover();
    await row.locator('.action-label[aria-label="Resume Training"]').click({ timeout: 5_000 }).catch(() => {});
    return toast(page, 'Resume Fracture Classifier').waitFor({ timeout: 5_000 }).then(() => true, () => false);
  }, 60_000);
  const readEvents = () => fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  await until('an epoch of the resumed run', () => {
    const ev = readEvents();
    const restart = ev.findLastIndex((e) => e.event === 'start');
    return restart >= stopped.length && ev.slice(restart).some((e) => e.event === 'epoch');
  }, 240_000);
  await toast(page, /epoch \d+\/50/).waitFor({ timeout: 30_000 });
  const resumed = readEvents();
  const restart = resumed.findLastIndex((e) => e.event === 'start');
  assert.ok(restart > 0 && resumed[restart].resumedFrom !== null, 'a second start event, marked as resumed');
  assert.equal(resumed.slice(restart).find((e) => e.event === 'epoch')?.epoch, stoppedAt + 1, `it continues with epoch ${stoppedAt + 1}, not from scratch`);
  await screenshot(page, '25-training-resumed');
  // Its curves in the metrics panel, growing while it trains (issue 9): the points follow events.jsonl.
  await runCommand(page, 'DICOM ML: Show Training Curves');
  await pickQuickItem(page, dirName);
  const panel = await viewerFrame(page, { timeout: 30_000, selector: 'body[data-training-points]' });
  const pointsNow = async () => Number(await panel.evaluate(() => document.body.dataset.trainingPoints));
  const first = await pointsNow();
  await until('the curves to grow with the next epochs', async () => (await pointsNow()) >= first + 2, 120_000);
  assert.ok((await panel.locator('#training-charts .uplot').count()) >= 2, 'loss and metric charts');
  assert.equal(await panel.evaluate(() => document.body.dataset.trainingStatus), 'running');
  await screenshot(page, '25b-training-curves');
  // The panel took the focus and the progress toast went to the status bar: its entry opens the notification
  // center, where the same notification has its Cancel.
  // Clicked again (bounded) until the task ends: the notification re-renders at every epoch.
  await until('Cancel of the resumed run clicked', async () => {
    const cancel = page.locator('.notification-toast, .notifications-center .monaco-list-row', { hasText: /epoch \d+\/50/ }).first().locator('.monaco-button', { hasText: 'Cancel' });
    if (!(await cancel.isVisible())) await page.locator('.statusbar-item', { hasText: 'Resume Fracture Classifier' }).first().click({ timeout: 5_000 }).catch(() => {});
    return cancel.click({ timeout: 5_000 }).then(() => true, () => false);
  }, 60_000);
  await until('no process of the resumed run', () => processesWith(dir).length === 0, 60_000);
}));

test('a run started outside VS Code (dicom-ml train in a terminal) appears in Training Runs by itself', { skip, timeout: 300_000 }, shotOnFailure('external', async () => {
  const { page } = wb;
  await showRunsView(page);
  const out = path.join(RUNS, 'from-terminal');
  await promisify(execFile)(process.execPath, [path.join(REPO_ROOT, 'dist', 'cli.js'), 'train', 'classify', '--data', PREPARED, '--epochs', '1', '--device', 'cpu', '--out', out, '--python', PYTHON], { cwd: WS, timeout: 240_000 });
  // No refresh command: the view follows the file system.
  const row = page.locator('.monaco-list-row', { hasText: 'from-terminal' }).first();
  await row.waitFor({ timeout: 30_000 });
  await until('the terminal run shown as completed', async () => (await row.locator('.codicon-pass').count()) === 1, 30_000);
  assert.match(await row.innerText(), /epoch 1\/1 · best F1/);
  await screenshot(page, '26-training-runs-external');
}));

test('a train task written in .vscode/tasks.json runs with the configured interpreter (relative paths from the folder)', { skip, timeout: 300_000 }, shotOnFailure('tasks-json', async () => {
  const { page } = wb;
  const dir = path.join(RUNS, 'from-tasks-json');
  // "Tasks: Run Task" lists the configured tasks once the task service has read tasks.json (and activated us).
  await until('the task in Tasks: Run Task', async () => {
    // Click the exact command: Enter would take the palette's top row, which may be a recently used
    // "Tasks: Restart Running Task".
    await page.keyboard.press('Escape');
    await page.keyboard.press('F1');
    await page.locator('.quick-input-widget input').fill('>Tasks: Run Task');
    await page.locator('.quick-input-list .monaco-list-row[aria-label^="Tasks: Run Task"]').first().click({ timeout: 10_000 });
    const row = page.locator('.quick-input-list .monaco-list-row', { hasText: TASK_LABEL }).first();
    const found = await row.waitFor({ timeout: 10_000 }).then(() => true, () => false);
    if (found) await row.click();
    return found;
  }, 60_000);
  await until('the run to finish', () => {
    const f = path.join(dir, 'events.jsonl');
    return fs.existsSync(f) && fs.readFileSync(f, 'utf8').includes('"event":"end"');
  }, 240_000);
  await until('the task to end', async () => !processesWith(dir).length, 30_000);
  // The task's terminal shows the CLI's output (xterm draws on a canvas: looked at in the screenshot).
  await runCommand(page, 'Terminal: Focus Terminal');
  await page.locator('.terminal-wrapper.active').first().waitFor({ timeout: 20_000 });
  await screenshot(page, '27-training-tasks-json');
  const rec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
  assert.equal(rec.data, PREPARED, 'the relative --data was resolved against the workspace folder');
}));
