// A stand-in for `python` in the training tests: an executable Node script that answers
// `-c <probe>` (doctor's interpreter probe) and `-m dicom_ml_trainer detect|classify|doctor …` the way
// trainer/README.md says the real trainer does — events.jsonl, exit status — without torch. It records the
// argv and environment it received (RUNDIR/argv.json) so tests can check that every argument arrived as one
// argv entry. FAKE_MODE picks the behaviour:
//   ok     start, FAKE_EPOCHS epoch events (FAKE_EPOCH_MS apart), end → exit 0
//   fail   start, an error event (kind dataset) → exit 1
//   crash  a Python-style traceback on stderr, no events → exit 1
//   tree   start, then a process tree: a child with a grandchild (same group), a child in a session of its own
//          (as torchrun starts DDP workers) with a grandchild, and a child that ignores SIGTERM; pids in
//          RUNDIR/pids.json; on SIGTERM/SIGINT the leader writes an `interrupted` event and exits 130,
//          leaving its children behind (so only a tree kill can clean up).
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = String.raw`
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const argv = process.argv.slice(2);
if (argv[0] === '-c') {
  console.log(JSON.stringify({ executable: process.argv[1], version: process.env.FAKE_PY_VERSION || '3.11.7', inVenv: true }));
  process.exit(0);
}
if (argv[0] !== '-m' || argv[1] !== 'dicom_ml_trainer') { console.error('fake python: unexpected ' + JSON.stringify(argv)); process.exit(2); }
const cmd = argv[2];
if (cmd === 'doctor') {
  if (process.env.FAKE_DOCTOR === 'missing') { console.error("ModuleNotFoundError: No module named 'torch'"); process.exit(1); }
  // The shape of trainer/src/dicom_ml_trainer/doctor.py's report (exit 1 when something is missing).
  const packages = { torch: '2.15.0', ultralytics: process.env.FAKE_DOCTOR === 'partial' ? null : '8.4.190' };
  const missing = Object.keys(packages).filter((k) => packages[k] === null);
  console.log(JSON.stringify({ python: process.argv[1], pythonVersion: '3.11.7', trainer: '0.1.0', packages, missing,
    cuda: { available: true, version: '12.8', devices: [{ index: 0, name: 'Fake GPU', memoryGiB: 80.0 }] }, ok: !missing.length, install: null }, null, 2));
  process.exit(missing.length ? 1 : 0);
}
const opt = (k) => { const i = argv.indexOf('--' + k); return i < 0 ? undefined : argv[i + 1]; };
const out = opt('out');
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, 'argv.json'), JSON.stringify({ argv, env: { PYTHONPATH: process.env.PYTHONPATH, PYTHONUNBUFFERED: process.env.PYTHONUNBUFFERED, DICOM_ML_PARENT_PID: process.env.DICOM_ML_PARENT_PID } }));
const ev = (o) => fs.appendFileSync(path.join(out, 'events.jsonl'), JSON.stringify({ time: new Date().toISOString(), ...o }) + '\n');
const task = cmd;
const mode = process.env.FAKE_MODE || 'ok';
console.log('fake trainer output: ' + mode);
if (mode === 'crash') { console.error('Traceback (most recent call last):\nModuleNotFoundError: No module named \'torch\''); process.exit(1); }
ev({ event: 'start', task, run: out, config: { data: opt('data'), model: opt('model') }, device: { type: 'cpu', names: ['cpu'], worldSize: 1 }, dataset: { train: 10, val: 4, names: ['normal', 'fracture'] }, resumedFrom: argv.includes('--resume') ? 1 : null });
if (mode === 'fail') { ev({ event: 'error', kind: 'dataset', message: 'no images in ' + opt('data') }); process.exit(1); }
if (mode === 'tree') {
  const node = process.execPath;
  const hold = 'setInterval(() => {}, 1000)';
  const withChild = 'require("child_process").spawn(process.execPath, ["-e", ' + JSON.stringify(hold) + '], { stdio: "ignore" }); ' + hold;
  const a = spawn(node, ['-e', withChild], { stdio: 'ignore' });
  const b = spawn(node, ['-e', withChild], { stdio: 'ignore', detached: true });
  const c = spawn(node, ['-e', 'process.on("SIGTERM", () => {}); process.on("SIGINT", () => {}); ' + hold], { stdio: 'ignore' });
  setTimeout(() => {
    fs.writeFileSync(path.join(out, 'pids.json'), JSON.stringify({ leader: process.pid, children: [a.pid, b.pid, c.pid] }));
    ev({ event: 'epoch', epoch: 1, epochs: 5, losses: { train: 0.7, val: 0.69 }, metrics: { f1: 0.5, accuracy: 0.5 }, seconds: 1, eta: 4 });
  }, 300);
  const stop = (sig) => { ev({ event: 'error', kind: 'interrupted', message: 'interrupted by ' + sig + '; the last checkpoint is kept' }); process.exit(130); };
  process.on('SIGTERM', stop); process.on('SIGINT', stop); process.on('SIGHUP', stop);
  setInterval(() => {}, 1000);
  return;
}
const epochs = Number(opt('epochs') || process.env.FAKE_EPOCHS || 2);
let e = 0;
const tick = () => {
  e++;
  const metrics = task === 'detect' ? { precision: 0.5 + e / 100, recall: 0.4, mAP50: 0.3 + e / 100, mAP50_95: 0.2 + e / 100 } : { f1: 0.5 + e / 100, accuracy: 0.6, auc: 0.7, kappa: NaN };
  const line = JSON.stringify({ event: 'epoch', time: new Date().toISOString(), epoch: e, epochs, losses: { train: 1 / e, val: 1.1 / e }, metrics, seconds: 0.01, eta: 0.01 * (epochs - e), best: true }).replace('null', 'NaN');
  // Write the epoch line in two pieces, so a reader meets a partial line.
  const p = path.join(out, 'events.jsonl');
  fs.appendFileSync(p, line.slice(0, 20));
  setTimeout(() => {
    fs.appendFileSync(p, line.slice(20) + '\n');
    if (e < epochs) setTimeout(tick, Number(process.env.FAKE_EPOCH_MS || 20));
    else {
      fs.writeFileSync(path.join(out, 'model.onnx'), 'onnx');
      fs.writeFileSync(path.join(out, 'model.card.json'), '{}');
      ev({ event: 'end', status: 'completed', best: { epoch: epochs, metrics }, onnx: path.join(out, 'model.onnx'), card: path.join(out, 'model.card.json'), seconds: 1 });
      process.exit(0);
    }
  }, 30);
};
setTimeout(tick, 20);
`;

/** Writes the fake interpreter into a fresh temp folder; returns its path. */
export function makeFakePython(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dicom-ml-fake-python-'));
  const file = join(dir, 'python');
  writeFileSync(file, `#!${process.execPath}\n${SCRIPT}`);
  chmodSync(file, 0o755);
  return file;
}
