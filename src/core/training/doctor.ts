/**
 * Is this interpreter ready to train? Two probes, so that each failure gets its own exact advice:
 * 1. `python -c …` — does the interpreter run at all, which version, is it a venv;
 * 2. `python -m dicom_ml_trainer doctor --json` — the trainer's packages and versions, CUDA devices.
 * Used by `dicom-ml doctor` and, before training, by the extension.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { doctorInvocation, findExecutable, installHint, trainerEnv, type PythonChoice } from './python';

/** A package the trainer needs, and the version found (null when missing). */
export interface PackageStatus {
  name: string;
  version: string | null;
  /** The version the trainer pins, when it says. */
  required?: string;
  ok: boolean;
}

/** A CUDA device. */
export interface CudaDevice {
  index: number;
  name: string;
  /** Total memory in bytes, when known. */
  memory?: number;
}

/** What `dicom-ml doctor --json` prints. */
export interface DoctorReport {
  /** True when training can start. */
  ok: boolean;
  python: {
    /** What was asked for (a path, or a command looked up on PATH). */
    command: string;
    source: PythonChoice['source'];
    /** The interpreter's own sys.executable. */
    executable?: string;
    version?: string;
    inVenv?: boolean;
  };
  /** The trainer's package (module path and version), when it imports. */
  trainer?: { version?: string; path?: string };
  packages: PackageStatus[];
  cuda: { available: boolean; version?: string | null; devices: CudaDevice[]; /** Why CUDA could not be queried (a broken driver). */ error?: string };
  /** One line per problem found, each saying what is wrong. */
  problems: string[];
  /** What to run to fix the problems (one line), when there are any. */
  install?: string;
  /** The trainer's own report, untouched (for fields not summarised here). */
  raw?: unknown;
}

/** Options of {@link runDoctor}. */
export interface DoctorOptions {
  python: PythonChoice;
  /** `<root>/trainer` (bundled trainer; its src/ goes on PYTHONPATH). */
  trainerRoot?: string;
  env?: NodeJS.ProcessEnv;
  /** Per probe, ms (default 120 000: importing torch on a cold cache takes a while). */
  timeoutMs?: number;
}

/** Oldest Python the trainer supports (trainer/pyproject.toml requires-python). */
export const MIN_PYTHON: [number, number] = [3, 10];

const PROBE = 'import sys, json, platform; print(json.dumps({"executable": sys.executable, "version": platform.python_version(), "inVenv": sys.prefix != sys.base_prefix}))';

interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
  error?: NodeJS.ErrnoException;
}

function exec(command: string, args: string[], env: NodeJS.ProcessEnv, timeout: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(command, args, { env, timeout, maxBuffer: 16 << 20, windowsHide: true }, (error, stdout, stderr) => {
      const e = error as (NodeJS.ErrnoException & { code?: number | string }) | null;
      resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr, error: e && typeof e.code === 'string' ? e : undefined });
    });
  });
}

const lastLine = (text: string) => text.trim().split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? '';

/**
 * Reads the trainer's doctor JSON (trainer/src/dicom_ml_trainer/doctor.py: `packages` `{name: version|null}`,
 * `trainer` version string, `cuda: {available, version, devices: [{index, name, memoryGiB}], error?}`)
 * leniently: packages may also be a list of `{name, version, required?, ok?}`, devices a top-level list,
 * memory in bytes (`memory`).
 */
export function normalizeTrainerDoctor(raw: unknown): Pick<DoctorReport, 'packages' | 'cuda'> & { trainer: { version?: string; path?: string }; problems: string[] } {
  const o = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const packages: PackageStatus[] = [];
  if (Array.isArray(o.packages)) {
    for (const p of o.packages as Record<string, unknown>[]) {
      if (!p || typeof p.name !== 'string') continue;
      const version = typeof p.version === 'string' ? p.version : null;
      const required = typeof p.required === 'string' ? p.required : undefined;
      packages.push({ name: p.name, version, ...(required ? { required } : {}), ok: typeof p.ok === 'boolean' ? p.ok : version !== null });
    }
  } else if (o.packages && typeof o.packages === 'object') {
    for (const [name, v] of Object.entries(o.packages as Record<string, unknown>)) {
      const version = typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as { version?: unknown }).version === 'string' ? (v as { version: string }).version : null;
      packages.push({ name, version, ok: version !== null });
    }
  }
  const c = (o.cuda && typeof o.cuda === 'object' ? o.cuda : {}) as Record<string, unknown>;
  const list = Array.isArray(c.devices) ? c.devices : Array.isArray(o.devices) ? o.devices : [];
  const devices: CudaDevice[] = (list as Record<string, unknown>[]).map((d, i) => ({
    index: typeof d?.index === 'number' ? d.index : i,
    name: typeof d?.name === 'string' ? d.name : `cuda:${i}`,
    ...(typeof d?.memory === 'number' ? { memory: d.memory } : typeof d?.memoryGiB === 'number' ? { memory: Math.round(d.memoryGiB * 2 ** 30) } : {}),
  }));
  const t = (typeof o.trainer === 'string' ? { version: o.trainer } : o.trainer && typeof o.trainer === 'object' ? o.trainer : {}) as Record<string, unknown>;
  const trainer = { ...(typeof t.version === 'string' ? { version: t.version } : {}), ...(typeof t.path === 'string' ? { path: t.path } : {}) };
  const problems = Array.isArray(o.problems) ? o.problems.filter((p): p is string => typeof p === 'string') : [];
  const missing = packages.filter((p) => p.version === null).map((p) => p.name);
  if (missing.length) problems.push(`Python package${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing`);
  for (const p of packages) {
    if (!p.ok && p.version !== null) problems.push(`Python package ${p.name} ${p.version} found, ${p.required ?? 'another version'} required`);
  }
  return {
    packages,
    cuda: {
      available: typeof c.available === 'boolean' ? c.available : devices.length > 0, version: typeof c.version === 'string' ? c.version : null, devices,
      ...(typeof c.error === 'string' ? { error: c.error } : {}),
    },
    trainer,
    problems,
  };
}

/** Runs both probes and says what is there and what is missing. Never throws. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const timeout = options.timeoutMs ?? 120_000;
  const { python } = options;
  const report: DoctorReport = { ok: false, python: { command: python.command, source: python.source }, packages: [], cuda: { available: false, devices: [] }, problems: [] };
  const fail = (problem: string, inVenv?: boolean) => {
    report.problems.push(problem);
    report.install = installHint(options.trainerRoot, { command: report.python.executable ?? python.command, inVenv });
    return report;
  };
  const exe = findExecutable(python.command, env);
  if (!exe) {
    const where = python.command.includes('/') || python.command.includes('\\') ? 'does not exist' : 'is not on PATH';
    report.problems.push(`Python interpreter "${python.command}" ${where} (from ${describeSource(python.source)})`);
    report.install = `install Python ${MIN_PYTHON.join('.')}+ (Debian: apt-get install python3 python3-venv), then: ${installHint(options.trainerRoot, { command: 'python3' })}`;
    return report;
  }
  const probe = await exec(exe, ['-c', PROBE], env, timeout);
  let info: { executable?: string; version?: string; inVenv?: boolean } | undefined;
  try {
    info = JSON.parse(lastLine(probe.stdout));
  } catch {
    info = undefined;
  }
  if (probe.code !== 0 || !info) {
    return fail(`"${exe}" does not run as Python: ${lastLine(probe.stderr) || probe.error?.message || `exit ${probe.code}`}`);
  }
  Object.assign(report.python, info);
  const [maj, min] = (info.version ?? '0.0').split('.').map(Number);
  if (maj < MIN_PYTHON[0] || (maj === MIN_PYTHON[0] && min < MIN_PYTHON[1])) {
    report.problems.push(`Python ${info.version} at ${info.executable}: the trainer needs ${MIN_PYTHON.join('.')} or newer`);
    report.install = `install Python ${MIN_PYTHON.join('.')}+, then: ${installHint(options.trainerRoot, { command: 'python3' })}`;
    return report;
  }
  const inv = doctorInvocation(exe);
  const trainerSrc = options.trainerRoot ? path.join(options.trainerRoot, 'src') : undefined;
  const run = await exec(inv.command, inv.args, trainerEnv(env, { trainerSrc }), timeout);
  let raw: unknown;
  try {
    raw = JSON.parse(run.stdout.trim());
  } catch {
    raw = undefined;
  }
  if (raw === undefined) {
    const why = lastLine(run.stderr) || lastLine(run.stdout) || run.error?.message || `exit ${run.code}`;
    const missing = /No module named '?([\w.]+)'?/.exec(why)?.[1];
    return fail(missing ? `Python package ${missing.split('.')[0]} is missing in ${info.executable} (${why})` : `the trainer's doctor failed: ${why}`, info.inVenv);
  }
  report.raw = raw;
  const n = normalizeTrainerDoctor(raw);
  report.packages = n.packages;
  report.cuda = n.cuda;
  if (n.trainer.version || n.trainer.path) report.trainer = n.trainer;
  report.problems.push(...n.problems);
  if (run.code !== 0 && !report.problems.length) report.problems.push(`the trainer's doctor exited with status ${run.code}: ${lastLine(run.stderr)}`);
  if (report.problems.length) {
    report.install = installHint(options.trainerRoot, { command: info.executable ?? exe, inVenv: info.inVenv });
    return report;
  }
  report.ok = true;
  return report;
}

/** `--python`, `$DICOM_ML_PYTHON`, … — where an interpreter choice came from, in words. */
export function describeSource(source: PythonChoice['source']): string {
  return { flag: '--python', env: '$DICOM_ML_PYTHON', 'python-extension': 'the Python extension', setting: 'the dicomMl.pythonPath setting', default: 'the default' }[source];
}

/** The report as lines for people. */
export function formatDoctor(r: DoctorReport): string[] {
  const lines: string[] = [];
  const py = r.python;
  lines.push(`python     ${py.executable ?? py.command}${py.version ? `  (Python ${py.version}${py.inVenv ? ', venv' : ''})` : ''}  [${describeSource(py.source)}]`);
  if (r.trainer) lines.push(`trainer    dicom_ml_trainer ${r.trainer.version ?? ''}${r.trainer.path ? `  ${r.trainer.path}` : ''}`);
  const width = Math.max(10, ...r.packages.map((p) => p.name.length + 1));
  for (const p of r.packages) lines.push(`${p.name.padEnd(width)} ${p.version ?? 'MISSING'}${!p.ok && p.required ? `  (needs ${p.required})` : ''}`);
  if (r.python.version && (r.packages.length || r.trainer)) {
    lines.push(r.cuda.devices.length
      ? `cuda       ${r.cuda.version ?? ''}  ${r.cuda.devices.map((d) => `${d.index}: ${d.name}${d.memory ? ` (${(d.memory / 2 ** 30).toFixed(0)} GiB)` : ''}`).join(', ')}`
      : `cuda       no CUDA device (training runs on the CPU)${r.cuda.error ? `: ${r.cuda.error}` : ''}`);
  }
  for (const p of r.problems) lines.push(`problem: ${p}`);
  if (r.install) lines.push(`fix: ${r.install}`);
  lines.push(r.ok ? 'ready to train' : 'NOT ready to train');
  return lines;
}
