#!/usr/bin/env node
// `npm run test:e2e`: the E2E suite in the real VS Code workbench (code-server + Debian Chromium via
// playwright-core; see test/e2e/harness.mjs). Checks prerequisites, builds, installs code-server on first use
// (outside the time budget), then runs test/e2e/*.test.mjs with node:test under one overall deadline.
//
//   npm run test:e2e
//   npm run test:e2e -- --shots DIR           also copy the screenshots into DIR
//   npm run test:e2e -- --timeout 300         overall deadline for the tests in seconds (default 900)
//   npm run test:e2e -- --test-name-pattern=preset    any other option goes to node --test
//
// Output: test-output/e2e/*.png (screenshots), browser-console.log, code-server/code-server.log, workspace/.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, SetupError, checkPrerequisites, ensureCodeServer } from './code-server.mjs';

const OUT_DIR = path.join(REPO_ROOT, 'test-output', 'e2e');

function fail(message) {
  console.error(`test:e2e: ${message}`);
  process.exit(1);
}

function parse(argv) {
  const opts = { timeoutS: 900, shots: undefined, passthrough: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) fail(`${a} needs a value`);
      return v;
    };
    if (a === '--shots' || a.startsWith('--shots=')) opts.shots = path.resolve(value());
    else if (a === '--timeout' || a.startsWith('--timeout=')) {
      opts.timeoutS = Number(value());
      if (!(opts.timeoutS > 0)) fail(`--timeout must be a positive number of seconds`);
    } else opts.passthrough.push(a);
  }
  return opts;
}

/** Ends a code-server the suite started but could not stop (its runner was killed): by the pid it recorded. */
function reapServers() {
  for (const dir of ['code-server']) {
    const pidFile = path.join(OUT_DIR, dir, 'code-server.pid');
    if (!fs.existsSync(pidFile)) continue;
    const pid = Number(fs.readFileSync(pidFile, 'utf8'));
    try {
      process.kill(-pid, 'SIGKILL');
      console.error(`test:e2e: stopped leftover code-server (pid ${pid})`);
    } catch {
      /* already gone */
    }
    fs.rmSync(pidFile, { force: true });
  }
}

async function main() {
  const opts = parse(process.argv.slice(2));
  const t0 = Date.now();
  try {
    checkPrerequisites({ chromium: true });
  } catch (err) {
    fail(err.message);
  }
  console.error('▸ building (npm run build)');
  const b = spawnSync('npm', ['run', '--silent', 'build'], { cwd: REPO_ROOT, encoding: 'utf8' });
  if (b.status !== 0) {
    process.stderr.write(b.stdout + b.stderr);
    fail('build failed');
  }
  const tInstall = Date.now();
  await ensureCodeServer({ log: (l) => console.error(`▸ ${l}`) });
  const installS = (Date.now() - tInstall) / 1000;

  const files = fs.readdirSync(path.join(REPO_ROOT, 'test', 'e2e')).filter((n) => n.endsWith('.test.mjs')).map((n) => path.join('test', 'e2e', n));
  if (!files.length) fail('no test/e2e/*.test.mjs');
  for (const f of fs.existsSync(OUT_DIR) ? fs.readdirSync(OUT_DIR) : []) if (f.endsWith('.png')) fs.rmSync(path.join(OUT_DIR, f));
  console.error(`▸ running ${files.join(', ')} (deadline ${opts.timeoutS} s)`);
  const tTests = Date.now();
  const env = { ...process.env };
  if (opts.shots) env.DICOM_ML_E2E_SHOTS = opts.shots;
  // One file at a time: each test file drives one workbench; two would compete for 2 cores.
  const child = spawn(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=1', ...opts.passthrough, ...files], {
    cwd: REPO_ROOT,
    env,
    stdio: 'inherit',
    detached: true,
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    console.error(`\ntest:e2e: deadline of ${opts.timeoutS} s passed; stopping the tests`);
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
    setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }, 5_000).unref();
  }, opts.timeoutS * 1000);
  const forward = (sig) => () => {
    try {
      process.kill(-child.pid, sig);
    } catch {
      /* gone */
    }
  };
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  const code = await new Promise((resolve) => child.on('close', (c, s) => resolve(c ?? (s ? 1 : 0))));
  clearTimeout(timer);
  reapServers();
  const shots = fs.existsSync(OUT_DIR) ? fs.readdirSync(OUT_DIR).filter((n) => n.endsWith('.png')).sort() : [];
  console.error(
    `\ntest:e2e: ${code === 0 && !timedOut ? 'passed' : 'FAILED'} — tests ${((Date.now() - tTests) / 1000).toFixed(0)} s, ` +
      `code-server install ${installS < 1 ? 'cached' : `${installS.toFixed(0)} s`}, total ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  if (shots.length) console.error(`screenshots: ${shots.map((s) => path.relative(process.cwd(), path.join(OUT_DIR, s))).join(' ')}${opts.shots ? ` (copied to ${opts.shots})` : ''}`);
  process.exit(timedOut ? 1 : code);
}

main().catch((err) => fail(err instanceof SetupError ? err.message : err.stack || String(err)));
