// `dicom-ml train` and `dicom-ml doctor` run as a user runs them (the CLI's source through tsx), against a fake
// interpreter (training-fake.ts) that behaves like the trainer's command line: arguments, exit codes,
// --json, progress, signals and the process tree.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { listProcesses } from '../../src/core/training/processTree';
import { parseCliTaskDefinition, trainTaskDefinition, type TrainRequest } from '../../src/core/training/request';
import { makeFakePython } from './training-fake';

const root = join(__dirname, '..', '..');
const main = join(root, 'src', 'cli', 'main.ts');
// The CLI's source through tsx's loader, by path: the tests run the CLI from temporary folders.
const tsx = pathToFileURL(join(root, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const python = makeFakePython();

/** A prepared-dataset folder as `dicom-ml prepare` lays it out (only what the CLI checks). */
function dataset(dir: string): string {
  mkdirSync(join(dir, 'classify', 'train', 'normal'), { recursive: true });
  mkdirSync(join(dir, 'detect'), { recursive: true });
  writeFileSync(join(dir, 'detect', 'data.yaml'), 'names: [C1]\n');
  return dir;
}

function cli(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }) {
  return spawnSync(process.execPath, ['--import', tsx, main, ...args], {
    cwd: opts.cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, FAKE_EPOCH_MS: '5', ...opts.env },
  });
}

test('train classify: progress, --json end event, exit 0, trainer argv and env as the contract says', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'dicom-ml-train-'));
  const data = dataset(join(cwd, 'prepared'));
  const r = cli(['train', 'classify', '--data', 'prepared', '--epochs', '3', '--device', 'cpu', '--out', 'runs/classify/r1', '--python', python, '--json', '--', '--budget', '5'], { cwd });
  assert.equal(r.status, 0, r.stderr);
  const end = JSON.parse(r.stdout);
  assert.equal(end.event, 'end');
  assert.equal(end.best.epoch, 3);
  assert.equal(end.run, join(cwd, 'runs', 'classify', 'r1'));
  assert.match(r.stderr, /train classify \[#+\] epoch 3\/3/);
  assert.match(r.stderr, /F1 0\.530/);
  const rec = JSON.parse(readFileSync(join(cwd, 'runs', 'classify', 'r1', 'argv.json'), 'utf8'));
  assert.deepEqual(rec.argv, ['-m', 'dicom_ml_trainer', 'classify', '--data', data, '--out', join(cwd, 'runs', 'classify', 'r1'), '--epochs', '3', '--device', 'cpu', '--budget', '5']);
  assert.equal(rec.env.PYTHONPATH.split(':')[0], join(root, 'trainer', 'src'));
  assert.equal(rec.env.PYTHONUNBUFFERED, '1');
  assert.match(rec.env.DICOM_ML_PARENT_PID, /^\d+$/);
  assert.match(readFileSync(join(cwd, 'runs', 'classify', 'r1', 'train.log'), 'utf8'), /fake trainer output: ok/);
  assert.ok(!existsSync(join(cwd, 'runs', 'classify', 'r1', '.dicom-ml-train.json')), 'launcher lock removed');
});

test('hostile names ($(touch x), quotes, spaces) travel as single argv entries and never reach a shell', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'dicom-ml-hostile-'));
  const hostile = `$(touch x) 'q' "dq" \`touch y\`; touch z`;
  const data = dataset(join(cwd, hostile));
  const out = join(cwd, 'runs', 'detect', `run ${hostile}`);
  // Through a task definition, as the extension and tasks.json hand it over (JSON and back).
  const req: TrainRequest = { task: 'detect', data, out, device: '0,1', python, extra: ['--name', hostile] };
  const def = parseCliTaskDefinition(JSON.parse(JSON.stringify(trainTaskDefinition(req))));
  assert.ok(def);
  const r = cli([def.command, '--json', ...def.args!], { cwd });
  assert.equal(r.status, 0, r.stderr);
  const rec = JSON.parse(readFileSync(join(out, 'argv.json'), 'utf8'));
  assert.deepEqual(rec.argv, ['-m', 'dicom_ml_trainer', 'detect', '--data', join(data, 'detect', 'data.yaml'), '--out', out, '--device', '0,1', '--name', hostile]);
  for (const f of ['x', 'y', 'z']) assert.ok(!existsSync(join(cwd, f)), `a shell ran: ${f} exists`);
  assert.deepEqual(readdirSync(cwd).sort(), [hostile, 'runs'].sort());
});

test('bad input: one line naming the file, exit 2', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'dicom-ml-bad-'));
  let r = cli(['train', 'detect', '--data', 'nope/data.yaml', '--python', python], { cwd });
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim(), `dicom-ml train: ${join(cwd, 'nope', 'data.yaml')}: no such file`);
  r = cli(['train', 'classify', '--data', '.', '--python', python], { cwd });
  assert.equal(r.status, 2);
  assert.match(r.stderr.trim().split('\n')[0], /: no classify\/, classify-vertebrae\/ or train\/ folder/);
  r = cli(['train', 'classify', '--python', python], { cwd });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--data is required/);
  r = cli(['train', 'classify', '--data', dataset(join(cwd, 'd')), '--model', 'vgg', '--python', python], { cwd });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--model must be one of cnn, resnet50, densenet121, got "vgg"/);
  r = cli(['train', 'classify', '--data', join(cwd, 'd'), '--python', join(cwd, 'no-python')], { cwd });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--python .*no-python: no such interpreter/);
  r = cli(['train', 'detect', '--resume', '--python', python], { cwd });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--resume needs --out RUNDIR/);
});

test('trainer failures: the error event\'s message, or the log\'s last line with what to install; exit 1', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'dicom-ml-fail-'));
  dataset(join(cwd, 'd'));
  let r = cli(['train', 'classify', '--data', 'd', '--out', 'r1', '--python', python, '--json'], { cwd, env: { FAKE_MODE: 'fail' } });
  assert.equal(r.status, 1);
  assert.equal(JSON.parse(r.stdout).kind, 'dataset');
  assert.match(r.stderr, /dicom-ml train: no images in /);
  r = cli(['train', 'classify', '--data', 'd', '--out', 'r2', '--python', python], { cwd, env: { FAKE_MODE: 'crash' } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /exited with status 1: ModuleNotFoundError: No module named 'torch'.*install the trainer: .* -m pip install .*trainer/);
  // The same RUNDIR again without --resume is refused; with --resume it continues (and gets --resume).
  r = cli(['train', 'classify', '--data', 'd', '--out', 'r1', '--python', python], { cwd });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /r1: already holds a run .*pass --resume/);
  r = cli(['train', 'classify', '--out', 'r1', '--resume', '--python', python], { cwd });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(JSON.parse(readFileSync(join(cwd, 'r1', 'argv.json'), 'utf8')).argv.includes('--resume'));
});

/** Live (non-zombie) pids among `pids`, from the process table. */
function alive(pids: number[]): number[] {
  const live = new Set(listProcesses().filter((p) => p.state !== 'Z').map((p) => p.pid));
  return pids.filter((p) => live.has(p));
}

async function waitFor<T>(what: string, fn: () => T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

for (const sig of ['SIGTERM', 'SIGHUP', 'SIGINT'] as const) {
  test(`${sig} to the CLI stops the whole trainer tree (own-session and SIGTERM-deaf children too); exit 130`, { timeout: 60_000 }, async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'dicom-ml-kill-'));
    dataset(join(cwd, 'd'));
    const child = spawn(process.execPath, ['--import', tsx, main, 'train', 'classify', '--data', 'd', '--out', 'r', '--python', python, '--json'], {
      cwd, env: { ...process.env, FAKE_MODE: 'tree', DICOM_ML_KILL_GRACE_MS: '1500' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const pidsFile = join(cwd, 'r', 'pids.json');
    const pids = await waitFor('the fake trainer tree', () => (existsSync(pidsFile) ? JSON.parse(readFileSync(pidsFile, 'utf8')) as { leader: number; children: number[] } : undefined));
    // Grandchildren: children of the three children.
    const tree = await waitFor('grandchildren', () => {
      const t = listProcesses();
      const grand = t.filter((p) => pids.children.includes(p.ppid)).map((p) => p.pid);
      return grand.length >= 2 ? [pids.leader, ...pids.children, ...grand] : undefined;
    });
    assert.equal(alive(tree).length, tree.length, 'whole tree alive before the signal');
    await waitFor('the progress line', () => (/epoch 1\/5/.test(stderr) ? true : undefined));
    child.kill(sig);
    const code = await exited;
    const left = alive(tree);
    for (const p of left) process.kill(p, 'SIGKILL'); // a failed test leaves nothing behind either
    assert.equal(code, 130, stderr);
    assert.deepEqual(left, [], `processes left: ${left.join(' ')}`);
    assert.equal(JSON.parse(stdout).kind, 'interrupted');
    assert.match(stderr, /continue with: dicom-ml train classify --out .* --resume/);
  });
}

test('doctor: interpreter, packages, CUDA devices; missing pieces say what to install', () => {
  const cwd = mkdtempSync(join(tmpdir(), 'dicom-ml-doctor-'));
  let r = cli(['doctor', '--python', python, '--json'], { cwd });
  assert.equal(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.ok, true);
  assert.equal(j.python.version, '3.11.7');
  assert.deepEqual(j.packages.map((p: { name: string; version: string }) => [p.name, p.version]), [['torch', '2.15.0'], ['ultralytics', '8.4.190']]);
  assert.deepEqual(j.cuda.devices, [{ index: 0, name: 'Fake GPU', memory: 85899345920 }]);
  r = cli(['doctor', '--python', python], { cwd });
  assert.match(r.stdout, /torch\s+2\.15\.0/);
  assert.match(r.stdout, /cuda .*0: Fake GPU \(80 GiB\)/);
  r = cli(['doctor', '--python', python], { cwd, env: { FAKE_DOCTOR: 'partial' } });
  assert.equal(r.status, 1);
  assert.match(r.stdout, /ultralytics\s+MISSING/);
  assert.match(r.stderr, /not ready to train: Python package ultralytics is missing; fix: .* -m pip install .*trainer/);
  r = cli(['doctor', '--python', python], { cwd, env: { FAKE_DOCTOR: 'missing' } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Python package torch is missing/);
  r = cli(['doctor', '--python', python], { cwd, env: { FAKE_PY_VERSION: '3.8.10' } });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Python 3\.8\.10 .*needs 3\.10 or newer/);
  r = cli(['doctor', '--json'], { cwd, env: { DICOM_ML_PYTHON: join(cwd, 'nowhere', 'python3') } });
  assert.equal(r.status, 1);
  assert.match(JSON.parse(r.stdout).problems[0], /nowhere\/python3" does not exist \(from \$DICOM_ML_PYTHON\)/);
  assert.match(r.stderr, /python3 -m venv \.venv && \.venv\/bin\/python -m pip install/);
});
