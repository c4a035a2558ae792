// CI runs the benchmark harness in its smoke size only to prove it works end to end: every
// workload measured over every path, spans exported, memory and readiness reported. It asserts
// nothing about speed — speed is judged from a full run (`npm run bench`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';

const HARNESS = fileURLToPath(new URL('./run-bench.js', import.meta.url));

test('the benchmark harness runs every workload over every path (smoke size)', { timeout: 240_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'sidegate-bench-smoke-'));
  try {
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [HARNESS, '--smoke', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('close', (c) => {
        if (c !== 0) process.stderr.write(err);
        resolve(c);
      });
    });
    assert.equal(code, 0);
    const report = JSON.parse(await readFile(join(out, 'smoke.json'), 'utf8'));
    assert.equal(report.workloads.length, 8);
    for (const w of report.workloads) {
      assert.deepEqual(Object.keys(w.paths).sort(), ['direct', 'node-pipe', 'passthrough', 'pgbouncer', 'pgpool', 'sidegate'], w.workload);
      for (const [path, s] of Object.entries(w.paths) as [string, { median: number; ratio: number }][]) {
        assert.ok(s.median > 0 && Number.isFinite(s.ratio), `${w.workload} over ${path}: ${JSON.stringify(s)}`);
      }
    }
    assert.ok(report.memoryMb['idle'] > 0 && report.memoryMb['100 connections'] > 0 && report.memoryMb['after the first queries'] > 0);
    assert.ok(Number.isFinite(report.addedLatencyUsPerQuery), 'added latency from per-transaction medians');
    const prepared = report.workloads.find((w: { workload: string }) => w.workload === 'select-only prepared (1 client)');
    assert.ok(prepared.paths.sidegate.latencyP50Ms > 0 && prepared.paths.sidegate.rssGrowthMb >= 0);
    assert.ok(report.readyMs['sidegate'] > 0);
    assert.ok(report.spansReceived > 0, 'the sidegate path exported audit spans');
    const md = await readFile(join(out, 'smoke.md'), 'utf8');
    assert.match(md, /\| select-only prepared \(8 clients\) \| sidegate \|/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
