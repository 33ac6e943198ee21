// Minimal, mocha-free suite that @vscode/test-electron runs inside the desktop extension host (see runTest.mjs).
// `run()` resolves when every check passed and rejects with the failures otherwise; VS Code exits with that.
// CommonJS because the extension host loads extensionTestsPath with require().
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');

const EXTENSION_ID = 'dicom-ml.dicom-ml-workbench';
const VIEW_TYPE = 'dicomMl.viewer';

/** Resolves when `predicate()` is truthy; rejects after `ms`. */
async function until(predicate, what, ms = 10_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = predicate();
    if (value) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
}

function activeCustomTab() {
  const tab = vscode.window.tabGroups.activeTabGroup.activeTab;
  return tab && tab.input instanceof vscode.TabInputCustom ? tab.input : undefined;
}

const tests = {
  async 'the extension is present and its command registered'() {
    assert.ok(vscode.extensions.getExtension(EXTENSION_ID), `${EXTENSION_ID} is loaded`);
    const series = path.join(process.env.DICOM_ML_E2E_WORKSPACE, 'series');
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(path.join(series, fs.readdirSync(series)[0])));
    await until(() => vscode.extensions.getExtension(EXTENSION_ID).isActive, 'activation on opening a .dcm');
    assert.ok((await vscode.commands.getCommands(true)).includes('dicomMl.openViewer'), 'dicomMl.openViewer is registered');
  },
  async 'a .dcm opens in the DICOM viewer by default'() {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const series = path.join(process.env.DICOM_ML_E2E_WORKSPACE, 'series');
    const file = vscode.Uri.file(path.join(series, fs.readdirSync(series).sort()[1]));
    await vscode.commands.executeCommand('vscode.open', file);
    const input = await until(activeCustomTab, 'a custom editor tab');
    assert.equal(input.viewType, VIEW_TYPE);
    assert.equal(input.uri.fsPath, file.fsPath);
  },
  async 'dicomMl.openViewer opens a given file, and a broken file does not break the workbench'() {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const broken = vscode.Uri.file(path.join(process.env.DICOM_ML_E2E_WORKSPACE, 'broken.dcm'));
    await vscode.commands.executeCommand('dicomMl.openViewer', broken);
    const input = await until(activeCustomTab, 'the viewer tab for broken.dcm');
    assert.equal(input.viewType, VIEW_TYPE);
    assert.equal(input.uri.fsPath, broken.fsPath);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const series = path.join(process.env.DICOM_ML_E2E_WORKSPACE, 'series');
    await vscode.commands.executeCommand('vscode.open', vscode.Uri.file(path.join(series, fs.readdirSync(series)[0])));
    assert.equal((await until(activeCustomTab, 'a viewer after broken.dcm')).viewType, VIEW_TYPE);
  },
};

/** Entry point @vscode/test-electron calls. */
exports.run = async function run() {
  const failures = [];
  for (const [name, fn] of Object.entries(tests)) {
    try {
      await fn();
      console.log(`ok   ${name}`);
    } catch (err) {
      console.log(`FAIL ${name}\n     ${err && err.message}`);
      failures.push(name);
    }
  }
  if (failures.length) throw new Error(`${failures.length} of ${Object.keys(tests).length} failed: ${failures.join('; ')}`);
};
