#!/usr/bin/env node
// code-server on demand: the real VS Code workbench (1.100.3) served to a browser, for `npm start` and the
// E2E suite (ARCHITECTURE "Environment facts"). Desktop VS Code cannot be downloaded on our machines; code-server
// can, from npm — but its install compiles nine native modules (~300 MB), so it never enters the project's own
// dependencies (a plain `npm ci` stays fast). It goes into `.cache/code-server/<version>/` (git-ignored) the first
// time something needs it.
//
// Why the install needs help (remove each workaround when its cause goes):
// - @vscode/ripgrep's postinstall downloads rg from GitHub releases, which our machines cannot reach. It first
//   looks for `$TMPDIR/vscode-ripgrep-cache-<its version>/ripgrep-<rg tag>-<target>.tar.gz` and untars it into
//   its bin/ (lib/download.js, `getAssetFromGithubApi` + `untar`), so we seed that file with Debian's rg.
// - kerberos (a VS Code dependency) compiles against MIT Kerberos headers: Debian `libkrb5-dev`.
// - node-gyp would download Node headers from nodejs.org; `npm_config_nodedir=/usr` points it at the installed ones.
// - code-server's postinstall.sh refuses to run as root under npm without `unsafe_perm`, and runs a nested
//   `npm install` in lib/vscode; `--ignore-scripts` would leave that undone (broken server).
//
// Usage as a script:  node scripts/code-server.mjs install    (idempotent; prints where it is)
//                     node scripts/code-server.mjs serve DIR  (serves DIR with the extension until Ctrl-C)
// As a module: ensureCodeServer(), launchCodeServer({ testDir, workspace, ... }), checkPrerequisites().
// Environment: DICOM_ML_CODE_SERVER_CACHE (install folder instead of .cache/code-server), DICOM_ML_NODEDIR (prefix
// with include/node headers, default: this Node's prefix), DICOM_ML_CHROMIUM (browser, default /usr/bin/chromium).

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** code-server 4.100.3 = VS Code 1.100.3, the newest release whose engines accept Node 20. */
export const CODE_SERVER_VERSION = '4.100.3';
/** The VS Code release that code-server version serves. */
export const VSCODE_VERSION = '1.100.3';
/** Pinned by code-server 4.100.3 (lib/vscode/npm-shrinkwrap.json) and @vscode/ripgrep 1.15.11 (lib/postinstall.js):
 *  update them together with CODE_SERVER_VERSION, or the rg seed misses and the install tries GitHub. */
const RIPGREP_PACKAGE_VERSION = '1.15.11';
const RIPGREP_TAG = 'v13.0.0-10';

/** Repository root (this file lives in scripts/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CACHE_ROOT = process.env.DICOM_ML_CODE_SERVER_CACHE
  ? path.resolve(process.env.DICOM_ML_CODE_SERVER_CACHE)
  : path.join(REPO_ROOT, '.cache', 'code-server');
const INSTALL_DIR = path.join(CACHE_ROOT, CODE_SERVER_VERSION);
const STAMP = path.join(INSTALL_DIR, '.installed.json');
const ENTRY = path.join(INSTALL_DIR, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

/** An error whose message is the one line to show the user (no stack needed). */
export class SetupError extends Error {
  constructor(message) {
    super(message);
    this.name = 'SetupError';
  }
}

function onPath(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Checks what the install and the browser need; throws a SetupError naming the apt package that is missing.
 * @param {{ chromium?: boolean }} [opts] chromium: also require /usr/bin/chromium (E2E and `npm start -- --check`).
 */
export function checkPrerequisites({ chromium = false } = {}) {
  const missing = [];
  const major = Number(process.versions.node.split('.')[0]);
  if (major !== 20) {
    throw new SetupError(`code-server ${CODE_SERVER_VERSION} needs Node 20 (its postinstall refuses others); this is Node ${process.versions.node}`);
  }
  if (!isInstalled()) {
    if (!fs.existsSync('/usr/include/krb5.h') && !fs.existsSync('/usr/include/gssapi/gssapi.h')) missing.push('libkrb5-dev');
    if (!onPath('rg')) missing.push('ripgrep');
    if (!onPath('make') || !onPath('g++')) missing.push('build-essential');
    if (!onPath('python3')) missing.push('python3');
    if (!fs.existsSync(path.join(nodeDir(), 'include', 'node', 'node.h'))) {
      throw new SetupError(`Node headers not found under ${nodeDir()}/include/node (set DICOM_ML_NODEDIR to the prefix of your Node install)`);
    }
  }
  if (chromium && !fs.existsSync(chromiumPath())) missing.push('chromium');
  if (missing.length) {
    throw new SetupError(`missing prerequisite${missing.length > 1 ? 's' : ''}: run \`apt-get install -y ${missing.join(' ')}\``);
  }
}

/** Path of the Chromium that playwright-core drives (Debian's; no browser download possible offline). */
export function chromiumPath() {
  return process.env.DICOM_ML_CHROMIUM || '/usr/bin/chromium';
}

function nodeDir() {
  return process.env.DICOM_ML_NODEDIR || path.resolve(path.dirname(process.execPath), '..');
}

/** True when a complete install (stamp written after a successful npm install) is present. */
export function isInstalled() {
  try {
    const stamp = JSON.parse(fs.readFileSync(STAMP, 'utf8'));
    return stamp.version === CODE_SERVER_VERSION && fs.existsSync(ENTRY);
  } catch {
    return false;
  }
}

/** Makes the tarball @vscode/ripgrep's postinstall looks for before it tries GitHub: `rg` at the top level. */
function seedRipgrep(tmpDir) {
  const rg = spawnSync('sh', ['-c', 'command -v rg'], { encoding: 'utf8' }).stdout.trim();
  const cacheDir = path.join(tmpDir, `vscode-ripgrep-cache-${RIPGREP_PACKAGE_VERSION}`);
  const target = os.arch() === 'arm64' ? 'aarch64-unknown-linux-musl' : 'x86_64-unknown-linux-musl';
  const tarball = path.join(cacheDir, `ripgrep-${RIPGREP_TAG}-${target}.tar.gz`);
  if (fs.existsSync(tarball)) return;
  const staging = fs.mkdtempSync(path.join(tmpDir, 'rg-'));
  fs.copyFileSync(fs.realpathSync(rg), path.join(staging, 'rg'));
  fs.chmodSync(path.join(staging, 'rg'), 0o755);
  fs.mkdirSync(cacheDir, { recursive: true });
  run('tar', ['-czf', tarball, '-C', staging, 'rg']);
  fs.rmSync(staging, { recursive: true, force: true });
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new SetupError(`${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
}

/**
 * Installs code-server into the cache if it is not there yet, and returns the path of its entry script.
 * Idempotent: a stamp file marks a complete install. Installs into a staging folder that is renamed into
 * place at the end, so an interrupted or concurrent install never leaves a half-installed server behind.
 * @param {{ log?: (line: string) => void, quiet?: boolean }} [opts] quiet (default): show stage lines, not npm's
 *   output (that goes to `.cache/code-server/install.log` either way).
 * @returns {Promise<string>} path of code-server's out/node/entry.js
 */
export async function ensureCodeServer({ log = (l) => console.error(l), quiet = true } = {}) {
  if (isInstalled()) return ENTRY;
  checkPrerequisites();
  fs.mkdirSync(CACHE_ROOT, { recursive: true });
  // Staging folders of installs that were killed half-way (an hour is far beyond a real install).
  for (const name of fs.readdirSync(CACHE_ROOT)) {
    const p = path.join(CACHE_ROOT, name);
    if (name.startsWith(`${CODE_SERVER_VERSION}.partial-`) && Date.now() - fs.statSync(p).mtimeMs > 3_600_000) fs.rmSync(p, { recursive: true, force: true });
  }
  const staging = fs.mkdtempSync(path.join(CACHE_ROOT, `${CODE_SERVER_VERSION}.partial-`));
  const tmpDir = path.join(CACHE_ROOT, 'tmp');
  fs.mkdirSync(tmpDir, { recursive: true });
  seedRipgrep(tmpDir);
  // Its own package.json so npm does not walk up into the project's (and its allowScripts) — this is a separate tree.
  fs.writeFileSync(path.join(staging, 'package.json'), JSON.stringify({ name: 'dicom-ml-code-server-cache', private: true }, null, 2));
  const logFile = path.join(CACHE_ROOT, 'install.log');
  log(`code-server ${CODE_SERVER_VERSION}: installing into ${path.relative(process.cwd(), INSTALL_DIR) || INSTALL_DIR} (first time only; compiles native modules, 1–3 min; log ${logFile})`);
  const started = Date.now();
  const seconds = () => Math.round((Date.now() - started) / 1000);
  const env = {
    ...process.env,
    TMPDIR: tmpDir,
    // npm 11 warns "Unknown env config unsafe-perm" but still exports it to scripts, which is what
    // code-server's postinstall.sh reads.
    npm_config_unsafe_perm: 'true',
    npm_config_yes: 'true',
    npm_config_nodedir: nodeDir(),
    npm_config_foreground_scripts: 'true', // script output (node-gyp) into the log, for progress and for failures
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  // Progress: one line per stage seen in npm's output, instead of thousands of compiler lines.
  const stages = [
    [/^> code-server@[\d.]+ postinstall/, () => 'code-server postinstall: installing VS Code\'s server dependencies'],
    [/^> (\S+)@\S+ (install|postinstall)$/, (m) => `${m[2]} script of ${m[1]}`],
    [/Using cached download: .*ripgrep/, () => 'ripgrep: using the seeded Debian rg (no GitHub download)'],
  ];
  const out = fs.openSync(logFile, 'w');
  const code = await new Promise((resolve) => {
    const child = spawn('npm', ['install', '--no-save', '--no-package-lock', `code-server@${CODE_SERVER_VERSION}`], {
      cwd: staging,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const heartbeat = setInterval(() => log(`  … still installing (${seconds()} s)`), 30_000);
    let pending = '';
    for (const stream of [child.stdout, child.stderr]) {
      stream.on('data', (chunk) => {
        fs.writeSync(out, chunk);
        if (!quiet) process.stderr.write(chunk);
        const lines = (pending + chunk.toString('utf8')).split('\n');
        pending = lines.pop();
        for (const line of lines) {
          for (const [re, say] of stages) {
            const m = re.exec(line);
            if (m) {
              if (quiet) log(`  ${seconds()} s: ${say(m)}`);
              break;
            }
          }
        }
      });
    }
    child.on('error', (err) => {
      fs.writeSync(out, `${err.message}\n`);
      clearInterval(heartbeat);
      resolve(-1);
    });
    child.on('close', (status) => {
      clearInterval(heartbeat);
      resolve(status);
    });
  });
  fs.closeSync(out);
  const entry = path.join(staging, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
  const rgBin = path.join(staging, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules', '@vscode', 'ripgrep', 'bin', 'rg');
  if (code !== 0 || !fs.existsSync(entry) || !fs.existsSync(rgBin)) {
    fs.rmSync(staging, { recursive: true, force: true });
    const tail = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n');
    if (quiet) console.error(tail);
    throw new SetupError(`code-server install failed (npm exit ${code}); full log: ${logFile}`);
  }
  fs.writeFileSync(path.join(staging, '.installed.json'), JSON.stringify({ version: CODE_SERVER_VERSION, installedAt: new Date().toISOString(), seconds: Math.round((Date.now() - started) / 1000) }, null, 2));
  try {
    fs.renameSync(staging, INSTALL_DIR);
  } catch (err) {
    // Another process finished first (rename onto a non-empty folder fails): keep theirs.
    fs.rmSync(staging, { recursive: true, force: true });
    if (!isInstalled()) throw err;
  }
  log(`code-server ${CODE_SERVER_VERSION}: installed in ${Math.round((Date.now() - started) / 1000)} s`);
  return ENTRY;
}

/** Resolves to a free TCP port on 127.0.0.1, preferring `preferred` when it is free. */
export async function freePort(preferred) {
  const tryPort = (port) =>
    new Promise((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(null));
      srv.listen(port, '127.0.0.1', () => {
        const { port: got } = srv.address();
        srv.close(() => resolve(got));
      });
    });
  if (preferred) {
    const got = await tryPort(preferred);
    if (got) return got;
  }
  const got = await tryPort(0);
  if (!got) throw new SetupError('no free TCP port on 127.0.0.1');
  return got;
}

/** `<publisher>.<name>-<version>`: the folder name VS Code expects in an extensions dir. */
export function extensionFolderName(extensionPath = REPO_ROOT) {
  const pkg = JSON.parse(fs.readFileSync(path.join(extensionPath, 'package.json'), 'utf8'));
  return `${pkg.publisher}.${pkg.name}-${pkg.version}`;
}

/**
 * The URL of the workbench with `workspace` open. (Files are opened with launchCodeServer's `openFile`, not with
 * VS Code web's `payload=[["openFile", …]]` parameter: on a fresh browser profile that resolves the editor before
 * remote extensions have registered their custom editors, so a .dcm would open as binary text.)
 */
export function workbenchUrl({ host = '127.0.0.1', port, workspace }) {
  return `http://${host}:${port}/?${new URLSearchParams({ folder: workspace })}`;
}

/**
 * Starts code-server on 127.0.0.1 with the extension at `extensionPath` symlinked into a fresh extensions dir,
 * all of its state (HOME, XDG_*, TMPDIR, user data, config) inside `testDir`. Resolves once it answers /healthz.
 * @param {{ testDir: string, workspace?: string, port?: number, extensionPath?: string,
 *           settings?: object, workspaceTrust?: boolean, timeoutMs?: number, log?: (line: string) => void }} opts
 *   settings: user settings for a new profile (merged over quiet defaults); workspaceTrust: keep VS Code's
 *   Workspace Trust on, the folder opening in Restricted Mode (default off: tests and `npm start` run trusted);
 *   timeoutMs: how long to wait for /healthz.
 * @returns {Promise<{ url: string, port: number, pid: number, logFile: string, stop: () => Promise<void>,
 *   openFile: (file: string, opts?: { timeoutMs?: number, signal?: AbortSignal }) => Promise<boolean>,
 *   done: Promise<{ code: number | null, signal: string | null }> }>} done resolves when the server exits.
 */
export async function launchCodeServer({
  testDir,
  workspace,
  port,
  extensionPath = REPO_ROOT,
  settings = {},
  workspaceTrust = false,
  timeoutMs = 60_000,
  log = () => {},
}) {
  const entry = await ensureCodeServer({ log });
  testDir = path.resolve(testDir);
  const dirs = {
    home: path.join(testDir, 'home'),
    config: path.join(testDir, 'xdg-config'),
    data: path.join(testDir, 'xdg-data'),
    cache: path.join(testDir, 'xdg-cache'),
    tmp: path.join(testDir, 'tmp'),
    userData: path.join(testDir, 'user-data'),
    extensions: path.join(testDir, 'extensions'),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  const link = path.join(dirs.extensions, extensionFolderName(extensionPath));
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(path.resolve(extensionPath), link, 'dir');

  // Quiet first run: no welcome page, no walkthrough, no trust prompt — the editor we open is what shows.
  const userSettings = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'security.workspace.trust.enabled': workspaceTrust,
    'security.workspace.trust.startupPrompt': 'never', // untrusted folders open in Restricted Mode, no modal
    'telemetry.telemetryLevel': 'off',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'update.mode': 'none',
    'chat.disableAIFeatures': true,
    'chat.commandCenter.enabled': false,
    'git.openRepositoryInParentFolders': 'never', // the demo and test folders sit inside this repository
    ...settings,
  };
  // Written only into a new profile: `npm start` keeps the user's own changes between runs (tests start fresh).
  const settingsFile = path.join(dirs.userData, 'User', 'settings.json');
  if (!fs.existsSync(settingsFile)) {
    fs.mkdirSync(path.dirname(settingsFile), { recursive: true });
    fs.writeFileSync(settingsFile, JSON.stringify(userSettings, null, 2));
  }

  port = await freePort(port);
  const configFile = path.join(testDir, 'config.yaml');
  fs.writeFileSync(configFile, `bind-addr: 127.0.0.1:${port}\nauth: none\ncert: false\n`);
  const args = [
    entry,
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    ...(workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--user-data-dir', dirs.userData,
    '--extensions-dir', dirs.extensions,
    '--config', configFile,
  ];
  if (workspace) args.push(path.resolve(workspace));
  const env = {
    ...process.env,
    HOME: dirs.home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_CACHE_HOME: dirs.cache,
    TMPDIR: dirs.tmp,
  };
  delete env.VSCODE_IPC_HOOK_CLI; // launched from a VS Code terminal, code-server would hand the folder to that one
  const logFile = path.join(testDir, 'code-server.log');
  const out = fs.openSync(logFile, 'w');
  // Own process group, so stop() also ends the children code-server forks (extension host, pty host, file watcher).
  const child = spawn(process.execPath, args, {
    env,
    cwd: testDir,
    detached: true,
    stdio: ['ignore', out, out],
  });
  fs.closeSync(out);
  // The pid lets a supervisor (scripts/e2e.mjs) end this server's group if our process is killed outright.
  const pidFile = path.join(testDir, 'code-server.pid');
  fs.writeFileSync(pidFile, String(child.pid));
  let exited = null;
  let resolveDone;
  const done = new Promise((resolve) => (resolveDone = resolve));
  // If this process ends without stop() (an uncaught error, process.exit), take the server down with it.
  const killOnExit = () => {
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  };
  process.on('exit', killOnExit);
  child.on('exit', (code, signal) => {
    exited = { code, signal };
    process.off('exit', killOnExit);
    fs.rmSync(pidFile, { force: true });
    resolveDone(exited);
  });

  const stop = async () => {
    if (exited) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, 5_000);
    await gone;
    clearTimeout(timer);
  };

  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      const tail = fs.readFileSync(logFile, 'utf8').trim().split('\n').slice(-10).join('\n');
      throw new SetupError(`code-server exited (${exited.code ?? exited.signal}) before serving; log ${logFile}:\n${tail}`);
    }
    try {
      const res = await fetch(`${url}healthz`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new SetupError(`code-server did not answer ${url}healthz within ${timeoutMs / 1000} s; log: ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  log(`code-server ${CODE_SERVER_VERSION} serving ${url} (pid ${child.pid}, log ${logFile})`);

  /**
   * Opens `file` in the browser window connected to this server, once one is (code-server's "open in existing
   * instance": `code-server --reuse-window FILE`). Unlike the URL's `payload` openFile, which resolves the editor
   * before a remote extension has registered its custom editors (and so shows .dcm as binary text on a fresh
   * profile), this runs in a live window, so the file gets its default editor: ours.
   * Resolves true once handed over, false on timeout or when `signal` aborts.
   */
  const openFile = async (file, { timeoutMs: openTimeout = 60_000, signal } = {}) => {
    const sessionSocket = path.join(dirs.userData, 'code-server-ipc.sock');
    const until = Date.now() + openTimeout;
    while (Date.now() < until && !signal?.aborted && !exited) {
      if (await hasSession(sessionSocket, path.resolve(file))) {
        const r = await new Promise((resolve) => {
          const cli = spawn(process.execPath, [entry, '--reuse-window', '--user-data-dir', dirs.userData, '--config', configFile, path.resolve(file)], {
            env,
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          let err = '';
          cli.stderr.on('data', (c) => (err += c));
          cli.on('close', (code) => resolve({ code, err }));
        });
        if (r.code === 0) return true;
        log(`code-server --reuse-window: ${r.err.trim().split('\n').pop()}`);
      }
      await new Promise((res) => setTimeout(res, 500));
    }
    return false;
  };

  return { url, port, pid: child.pid, logFile, stop, openFile, done };
}

/** True when code-server's session registry (a unix socket) knows a connected window for `file`. */
function hasSession(socketPath, file) {
  return new Promise((resolve) => {
    const req = http.request({ socketPath, path: `/session?filePath=${encodeURIComponent(file)}`, method: 'GET', timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 && Boolean(JSON.parse(body).socketPath));
        } catch {
          resolve(false);
        }
      });
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function main(argv) {
  const [cmd, dir] = argv;
  if (cmd === 'install') {
    const entry = await ensureCodeServer();
    console.log(`code-server ${CODE_SERVER_VERSION} ready: ${entry}`);
    return;
  }
  if (cmd === 'serve' && dir) {
    const testDir = path.join(REPO_ROOT, 'test-output', 'code-server');
    const server = await launchCodeServer({ testDir, workspace: dir, port: Number(process.env.PORT) || 8080, log: console.error });
    console.log(workbenchUrl({ port: server.port, workspace: path.resolve(dir) }));
    const bye = () => server.stop().then(() => process.exit(0));
    process.on('SIGINT', bye);
    process.on('SIGTERM', bye);
    return;
  }
  console.error('usage: node scripts/code-server.mjs install | serve DIR');
  process.exit(2);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err instanceof SetupError ? `error: ${err.message}` : err);
    process.exit(1);
  });
}
