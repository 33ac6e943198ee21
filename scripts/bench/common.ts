/** What the benchmark scripts share: paths, argument lookup, timing, and a Python peer kept running. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const ROOT = resolve(__dirname, '..', '..');
export const OUT = join(ROOT, 'test-output', 'bench');
export const PYTHON = join(ROOT, '.venv', 'bin', 'python');

/** `--name value` from argv, else `fallback`. */
export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1] : fallback;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Milliseconds since `start` (process.hrtime.bigint()). */
export function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * A Python script kept running that answers one JSON line per request line, so that runs of ours and of the
 * Python peers interleave (a busy shared machine then slows both alike). Its first line is `{"versions": …}`.
 */
export class PythonPeer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  versions: Record<string, string | number> = {};

  constructor(private readonly script: string, args: string[]) {
    this.child = spawn(PYTHON, [join(__dirname, script), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let err = '';
    this.child.stderr.on('data', (b: Buffer) => { err = (err + b.toString()).slice(-4000); });
    this.child.on('exit', (code) => { if (code) console.error(`${script} exited with ${code}:\n${err}`); });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  /** The next JSON line. */
  async next<T>(): Promise<T> {
    const r = await this.lines.next();
    if (r.done) throw new Error(`${this.script} stopped (see its error above)`);
    return JSON.parse(r.value) as T;
  }

  async ready(): Promise<void> {
    this.versions = (await this.next<{ versions: Record<string, string> }>()).versions;
  }

  /** Send one request line, read one answer. */
  async ask<T>(line: string): Promise<T> {
    this.child.stdin.write(`${line}\n`);
    return this.next<T>();
  }

  close(): void {
    this.child.stdin.end('quit\n');
  }
}
