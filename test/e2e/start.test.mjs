// E2E: `npm start` — the README's main job — works end to end. Runs `node scripts/start.mjs --check`, which
// builds, makes the demo series if missing, installs code-server if needed, serves VS Code with the extension,
// loads the page in headless Chromium, waits for the first slice to render in the DICOM viewer, and exits 0.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { REPO_ROOT } from '../../scripts/code-server.mjs';

test('npm start -- --check serves VS Code and shows a sample study slice with the default models\' overlays', { timeout: 420_000 }, async (t) => {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'scripts', 'start.mjs'), '--check'], {
    cwd: REPO_ROOT,
    signal: t.signal, // on the test's timeout: SIGTERM, and start.mjs stops its server
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => {
    out += c;
    process.stderr.write(c); // install progress stays visible on a cold machine
  });
  const code = await new Promise((resolve) => child.on('close', (c, s) => resolve(c ?? s)));
  assert.equal(code, 0, `start --check exited ${code}:\n${out.trim().split('\n').slice(-8).join('\n')}`);
  const line = out.split('\n').find((l) => l.startsWith('npm start --check: ok'));
  assert.ok(line, `start --check printed its ok line:\n${out}`);
  assert.match(line, /rendered in the DICOM viewer \(\d+×\d+, slice \d+\/\d+, window 500,2000\), model overlays on \([1-9]\d* vertebra box/);
  const shot = path.join(REPO_ROOT, 'test-output', 'start-check', 'start-check.png');
  assert.ok(fs.statSync(shot).size > 10_000, `screenshot ${shot} written`);
});
