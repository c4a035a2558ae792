import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { cpuTimeUs, cpuTimeUsOf } from './bench-environment.js';

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
