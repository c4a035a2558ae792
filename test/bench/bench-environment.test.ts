import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cpuTimeUs, cpuTimeUsOf, processTreeCpuTimeUsOf } from './bench-environment.js';

test('CPU time is utime + stime (ticks of 10 ms), counted after the command name even when it holds spaces and parentheses', () => {
  const fields = (comm: string) => `4242 (${comm}) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 11 0 999 1000000 5000`;
  assert.equal(cpuTimeUsOf(fields('node')), (1234 + 567) * 10_000);
  assert.equal(cpuTimeUsOf(fields('a b) (c d')), (1234 + 567) * 10_000);
  assert.throws(() => cpuTimeUsOf('4242 (node) S 1'), /unreadable/);
});

test('a busy process is seen using CPU', async () => {
  const before = await cpuTimeUs(process.pid);
  // 120 ms of CPU (not of wall time: a loaded machine may preempt us), by the kernel's own count.
  const start = process.cpuUsage();
  while (process.cpuUsage(start).user < 120_000) JSON.stringify({ x: Math.random() });
  const after = await cpuTimeUs(process.pid);
  assert.ok(after - before >= 100_000, `${after - before} µs seen for 120 ms of CPU`);
  assert.equal(cpuTimeUsOf(await readFile('/proc/self/stat', 'utf8')) >= after, true);
});

test("a process tree's CPU time counts its living descendants and what it reaped, and no other process", () => {
  // pid (comm) state ppid … utime(14) stime(15) cutime(16) cstime(17) …
  const stat = (pid: number, ppid: number, comm: string, utime: number, stime: number, cutime = 0, cstime = 0) =>
    `${pid} (${comm}) S ${ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${utime} ${stime} ${cutime} ${cstime} 20 0 1 0 999 1000000 5000`;
  const stats = [
    stat(1, 0, 'init', 500, 500, 9000, 9000),
    stat(10, 1, 'runuser', 1, 1),
    stat(11, 10, 'pgpool: main', 20, 10, 7, 3),
    stat(12, 11, 'pgpool: wait for connection', 100, 50),
    stat(13, 11, 'pgpool: a b) (c', 200, 60),
    stat(14, 13, 'grandchild', 5, 5),
    stat(20, 1, 'other', 4000, 4000),
  ];
  assert.equal(processTreeCpuTimeUsOf(stats, 11), (20 + 10 + 7 + 3 + 100 + 50 + 200 + 60 + 5 + 5) * 10_000);
  assert.equal(processTreeCpuTimeUsOf(stats, 12), 150 * 10_000, 'a leaf is its own time');
  assert.throws(() => processTreeCpuTimeUsOf(stats, 99), /no process 99/);
});

test("a child's CPU is seen while it runs and still counted once its parent has reaped it", { timeout: 20_000 }, async () => {
  // sh runs a node child that burns 150 ms of CPU, says so, lingers, exits; sh reaps it and waits
  // on its stdin with a builtin (no other child).
  const burn = `const s = process.cpuUsage(); while (process.cpuUsage(s).user < 150000) JSON.stringify({ x: Math.random() }); console.log('burnt'); setTimeout(() => {}, 300);`;
  const sh = spawn('sh', ['-c', `"${process.execPath}" -e "${burn}"; read line`], { stdio: ['pipe', 'pipe', 'ignore'] });
  try {
    await once(sh.stdout!, 'data');
    const own = cpuTimeUsOf(await readFile(`/proc/${sh.pid}/stat`, 'utf8'));
    const alive = await cpuTimeUs(sh.pid!);
    assert.ok(alive - own >= 100_000, `${alive - own} µs seen in the living child`);
    // Wait until sh has reaped the child (no process names sh as its parent any more).
    for (;;) {
      const children = await readFile(`/proc/${sh.pid}/task/${sh.pid}/children`, 'utf8');
      if (children.trim() === '') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const reaped = await cpuTimeUs(sh.pid!);
    assert.ok(reaped >= alive, `${reaped} µs after reaping, ${alive} µs before`);
  } finally {
    sh.kill('SIGKILL');
  }
});
