// Creates .venv, the project's Python environment: the reference implementations of test/requirements.txt
// (parity tests, benchmarks) and the trainer (trainer/, editable, with its test extra: pytest, grad-cam,
// scikit-learn, ruff). torch from PyPI is the CUDA build (~5 GB, ~10 min on a fresh machine).
// Idempotent: a stamp with the hash of both requirement files skips work when nothing changed.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const venv = join(root, '.venv');
const python = join(venv, 'bin', 'python');
const requirements = join(root, 'test', 'requirements.txt');
const trainerProject = join(root, 'trainer', 'pyproject.toml');
const stamp = join(venv, '.requirements.sha256');

export function venvPython() {
  return python;
}

export function setupPython({ quiet = false } = {}) {
  const hash = createHash('sha256').update(readFileSync(requirements)).update(readFileSync(trainerProject)).digest('hex');
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return python;
  const log = (m) => quiet || console.log(`[setup-python] ${m}`);
  const base = process.env.PYTHON ?? 'python3';
  if (!existsSync(python)) {
    log(`creating ${venv} with ${base}`);
    execFileSync(base, ['-m', 'venv', venv], { stdio: 'inherit' });
  }
  log('installing test/requirements.txt (reference implementations: pydicom, pylibjpeg, gdcm, nibabel, opencv)');
  execFileSync(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', requirements], { stdio: 'inherit' });
  log('installing trainer/ (torch, torchvision, ultralytics, onnx, onnxruntime; pytest, grad-cam)');
  execFileSync(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-e', `${join(root, 'trainer')}[test]`], { stdio: 'inherit' });
  writeFileSync(`${stamp}.tmp`, hash);
  renameSync(`${stamp}.tmp`, stamp);
  return python;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  setupPython();
  console.log(python);
}
