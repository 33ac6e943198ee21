/**
 * Process trees: start the trainer in its own session/process group, and stop it with everything it started.
 *
 * Why more than `kill(-pgid)`: torchrun (torch.distributed.elastic's SubprocessHandler) starts each worker
 * with `start_new_session=True`, and ultralytics' DDP runs torchrun as a subprocess — so DDP workers live in
 * process groups of their own. A group signal misses them; a walk of the process table (/proc, or `ps`
 * elsewhere) finds them as descendants.
 *
 * How it stops ("mixed" mode, as systemd's KillMode=mixed): the polite signal goes to the leader only — the
 * trainer turns SIGTERM/SIGINT into a clean interrupt (last checkpoint kept, `interrupted` event) and torchrun
 * forwards it to its workers itself; sending SIGTERM to DataLoader workers directly would make PyTorch report
 * "worker killed by signal" instead of an interrupt. When the leader has exited, or after the grace period,
 * SIGKILL goes to every process still left in the tree and in the leader's group.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import * as fs from 'node:fs';

/** One row of the process table. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  /** Process group id. */
  pgid: number;
  /** State letter (`R`, `S`, `Z` zombie, …). */
  state: string;
}

/** The process table now (Linux: /proc; elsewhere `ps`). Zombies are included, marked `Z`. */
export function listProcesses(): ProcessInfo[] {
  if (process.platform === 'linux' && fs.existsSync('/proc/self/stat')) {
    const out: ProcessInfo[] = [];
    for (const name of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      let stat: string;
      try {
        stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      } catch {
        continue; // exited while we looked
      }
      // proc(5): "pid (comm) state ppid pgrp …"; comm may hold spaces and parentheses, so cut at the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.push({ pid: Number(name), state: fields[0], ppid: Number(fields[1]), pgid: Number(fields[2]) });
    }
    return out;
  }
  const text = execFileSync('ps', ['-A', '-o', 'pid=', '-o', 'ppid=', '-o', 'pgid=', '-o', 'stat='], { encoding: 'utf8' });
  return text.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 4)
    .map(([pid, ppid, pgid, stat]) => ({ pid: Number(pid), ppid: Number(ppid), pgid: Number(pgid), state: stat[0] }));
}

/** `root` and all its descendants in `table` (by parent links), live ones only (no zombies). */
export function processTree(root: number, table: ProcessInfo[] = listProcesses()): number[] {
  const children = new Map<number, number[]>();
  for (const p of table) {
    if (!children.has(p.ppid)) children.set(p.ppid, []);
    children.get(p.ppid)!.push(p.pid);
  }
  const live = new Set(table.filter((p) => p.state !== 'Z').map((p) => p.pid));
  const out: number[] = [];
  const seen = new Set<number>();
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    if (live.has(pid)) out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Live (non-zombie) members of process group `pgid`. */
export function groupMembers(pgid: number, table: ProcessInfo[] = listProcesses()): number[] {
  return table.filter((p) => p.pgid === pgid && p.state !== 'Z').map((p) => p.pid);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone already, or not ours */
  }
}

/**
 * Spawns `command args` detached: on POSIX a new session, so the process leads its own process group (pgid =
 * pid) and a terminal's hang-up or Ctrl-C reaches only us — we decide what the trainer gets.
 */
export function spawnGroup(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return spawn(command, args, { ...options, detached: process.platform !== 'win32', shell: false, windowsHide: true });
}

/** Options of {@link killProcessTree}. */
export interface KillOptions {
  /** Polite signal for the leader (default SIGTERM). */
  signal?: NodeJS.Signals;
  /** How long the leader may take to stop before everything gets SIGKILL (ms, default 10 000). */
  graceMs?: number;
  /** How long to wait for the SIGKILLed processes to disappear (ms, default 5 000). */
  killWaitMs?: number;
  /** Process table reader (tests). */
  list?: () => ProcessInfo[];
}

/** What {@link killProcessTree} did. */
export interface KillResult {
  /** Every process of the tree/group seen while stopping. */
  seen: number[];
  /** True when the grace period ran out and the leader itself got SIGKILL. */
  forced: boolean;
  /** Processes still alive at the end (should be empty). */
  remaining: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops the tree under `pid` (a leader started with {@link spawnGroup}): `signal` to the leader, wait up to
 * `graceMs` for it to exit, then SIGKILL every process seen in its tree or its process group; resolves when
 * they are gone (or `killWaitMs` passed). Safe to call when everything already exited.
 */
export async function killProcessTree(pid: number, options: KillOptions = {}): Promise<KillResult> {
  const list = options.list ?? listProcesses;
  const graceMs = options.graceMs ?? 10_000;
  const seen = new Set<number>();
  const look = () => {
    const table = list();
    for (const p of [...processTree(pid, table), ...groupMembers(pid, table)]) seen.add(p);
    return table;
  };
  if (process.platform === 'win32') {
    try {
      execFileSync('taskkill', ['/pid', String(pid), '/T', '/F'], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
    return { seen: [pid], forced: true, remaining: [] };
  }
  look();
  signal(pid, options.signal ?? 'SIGTERM');
  const leaderAlive = () => list().some((p) => p.pid === pid && p.state !== 'Z');
  const deadline = Date.now() + graceMs;
  while (leaderAlive() && Date.now() < deadline) {
    look(); // children started or reparented while the leader shuts down
    await sleep(100);
  }
  const forced = leaderAlive();
  const alive = (table: ProcessInfo[]) => {
    const live = new Set(table.filter((p) => p.state !== 'Z').map((p) => p.pid));
    return [...seen].filter((p) => live.has(p));
  };
  let table = look();
  signal(-pid, 'SIGKILL');
  for (const p of alive(table)) signal(p, 'SIGKILL');
  const killDeadline = Date.now() + (options.killWaitMs ?? 5_000);
  for (;;) {
    table = look();
    const left = alive(table);
    if (!left.length || Date.now() >= killDeadline) return { seen: [...seen], forced, remaining: left };
    for (const p of left) signal(p, 'SIGKILL');
    await sleep(50);
  }
}

/** SIGKILL whatever is left in the leader's process group after the leader exited on its own (stray workers). */
export function sweepGroup(pgid: number): number[] {
  if (process.platform === 'win32') return [];
  const left = groupMembers(pgid);
  if (left.length) signal(-pgid, 'SIGKILL');
  return left;
}

/** Whether process `pid` is alive (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (process.platform !== 'linux') return true;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
