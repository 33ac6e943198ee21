#!/usr/bin/env node
// Desktop-VS-Code E2E wiring through @vscode/test-electron, for machines that can download VS Code
// (update.code.visualstudio.com). NOT run in CI here: our machines reach only package registries, so the
// download fails; the browser suite (scripts/e2e.mjs: code-server + Chromium) is the E2E that runs. Keep this
// working so a developer with internet can check the extension in Electron too:
//
//   npm run build && node test/e2e/electron/runTest.mjs [--version 1.100.3]
//
// It downloads VS Code into .cache/vscode-test/ (git-ignored), makes a workspace with the demo series and a
// broken.dcm under test-output/e2e-electron/, and runs suite.cjs inside the extension host. The suite checks
// what the extension API can see (custom editor tabs, commands); webview pixels are checked by the browser suite.

import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runTests } from '@vscode/test-electron';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const { values } = parseArgs({ options: { version: { type: 'string', default: '1.100.3' } } });
const out = path.join(ROOT, 'test-output', 'e2e-electron');
const workspace = path.join(out, 'workspace');

try {
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(path.join(workspace, 'series'), { recursive: true });
  execFileSync(process.execPath, [path.join(ROOT, 'dist', 'cli.js'), 'demo', '--out', path.join(workspace, 'series'), '--slices', '12'], { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.writeFileSync(path.join(workspace, 'broken.dcm'), Buffer.from('this is not a DICOM file, just text '.repeat(64)));
  const code = await runTests({
    version: values.version,
    cachePath: path.join(ROOT, '.cache', 'vscode-test'),
    extensionDevelopmentPath: ROOT,
    extensionTestsPath: path.join(path.dirname(fileURLToPath(import.meta.url)), 'suite.cjs'),
    extensionTestsEnv: { DICOM_ML_E2E_WORKSPACE: workspace },
    launchArgs: [workspace, '--disable-extensions', '--disable-workspace-trust', `--user-data-dir=${path.join(out, 'user-data')}`],
  });
  process.exit(code);
} catch (err) {
  const message = err instanceof Error ? (err.stderr?.toString().trim() || err.message) : String(err);
  const offline = /ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN/.test(message);
  console.error(`electron e2e: ${message.split('\n')[0]}${offline ? ' — desktop VS Code cannot be downloaded here; use `npm run test:e2e` (code-server)' : ''}`);
  process.exit(1);
}
