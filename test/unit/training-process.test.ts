// Process trees: killProcessTree stops a real tree — children in the leader's group, a child in a session of
// its own (as torchrun starts DDP workers) and one that ignores SIGTERM — and nothing is left (checked in the
// process table, as `ps` shows it).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { killProcessTree, listProcesses, processTree, spawnGroup } from '../../src/core/training/processTree';

const HOLD = 'setInterval(() => {}, 1000)';
// Leader: starts A (with grandchild A1), B in its own session (with grandchild B1), C deaf to SIGTERM; prints
// "ready" once all are up. `leaderTerm`: what the leader does on SIGTERM.
function leaderScript(leaderTerm: 'exit' | 'ignore'): string {
  const withChild = `require("child_process").spawn(process.execPath, ["-e", ${JSON.stringify(HOLD)}], { stdio: "ignore" }); ${HOLD}`;
  return `
    const { spawn } = require('child_process');
    const n = process.execPath;
    spawn(n, ['-e', ${JSON.stringify(withChild)}], { stdio: 'ignore' });
    spawn(n, ['-e', ${JSON.stringify(withChild)}], { stdio: 'ignore', detached: true });
    spawn(n, ['-e', 'process.on("SIGTERM", () => {}); ${HOLD}'], { stdio: 'ignore' });
    process.on('SIGTERM', () => { ${leaderTerm === 'exit' ? 'process.exit(143)' : ''} });
    ${HOLD}`;
}

/** pids alive per `ps` (not zombies). */
function psAlive(pids: number[]): number[] {
  const out = execFileSync('ps', ['-A', '-o', 'pid=', '-o', 'stat='], { encoding: 'utf8' });
  const live = new Set(out.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 2 && !f[1].startsWith('Z')).map((f) => Number(f[0])));
  return pids.filter((p) => live.has(p));
}

async function treeOf(pid: number, size: number): Promise<number[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const tree = processTree(pid);
    if (tree.length >= size) return tree;
    if (Date.now() > deadline) throw new Error(`tree of ${pid} has ${tree.length} processes, expected ${size}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

for (const leaderTerm of ['exit', 'ignore'] as const) {
  test(`killProcessTree leaves no process of the tree (leader ${leaderTerm === 'exit' ? 'exits on SIGTERM' : 'ignores SIGTERM: SIGKILL after the grace period'})`, { skip: process.platform === 'win32', timeout: 60_000 }, async () => {
    const leader = spawnGroup(process.execPath, ['-e', leaderScript(leaderTerm)], { stdio: 'ignore' });
    const exited = new Promise((r) => leader.once('exit', r));
    const tree = await treeOf(leader.pid!, 6); // leader, A, A1, B, B1, C
    const table = listProcesses();
    const b = table.find((p) => tree.includes(p.pid) && p.pid !== leader.pid && p.pgid === p.pid);
    assert.ok(b, 'one child leads a group of its own (a new session), as torchrun workers do');
    assert.equal(psAlive(tree).length, 6);
    const t0 = Date.now();
    const result = await killProcessTree(leader.pid!, { graceMs: 1000 });
    await exited;
    const left = psAlive(tree);
    for (const p of left) process.kill(p, 'SIGKILL'); // never leave strays, even when the test fails
    assert.deepEqual(left, [], `still alive: ${left.join(' ')}`);
    assert.deepEqual(result.remaining, []);
    assert.equal(result.forced, leaderTerm === 'ignore');
    assert.ok(tree.every((p) => result.seen.includes(p)), 'every process of the tree was seen');
    if (leaderTerm === 'exit') assert.ok(Date.now() - t0 < 1000 + 3000, 'does not wait out the grace period when the leader exits');
  });
}

test('killProcessTree on a process that is already gone returns at once', async () => {
  const p = spawnGroup(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => p.once('exit', r));
  const r = await killProcessTree(p.pid!, { graceMs: 5000 });
  assert.equal(r.forced, false);
  assert.deepEqual(r.remaining, []);
});

test('processTree reads parent links; zombies are not alive', () => {
  const table = [
    { pid: 1, ppid: 0, pgid: 1, state: 'S' },
    { pid: 10, ppid: 1, pgid: 10, state: 'S' },
    { pid: 11, ppid: 10, pgid: 10, state: 'R' },
    { pid: 12, ppid: 11, pgid: 12, state: 'S' },
    { pid: 13, ppid: 10, pgid: 10, state: 'Z' },
    { pid: 20, ppid: 1, pgid: 20, state: 'S' },
  ];
  assert.deepEqual(processTree(10, table).sort(), [10, 11, 12]);
  assert.deepEqual(processTree(99, table), []);
});
