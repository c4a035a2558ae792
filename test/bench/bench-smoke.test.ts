// CI runs the benchmark harness in its smoke size only to prove it works end to end: every
// workload measured over every path, spans exported, memory and readiness reported. It asserts
// nothing about speed — speed is judged from a full run (`npm run bench`). PostgreSQL and MySQL
// run as two invocations, each selecting its protocol's workloads with `--only`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';

const HARNESS = fileURLToPath(new URL('./run-bench.js', import.meta.url));

function harness(args: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HARNESS, '--smoke', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (c) => {
      if (c !== 0) process.stderr.write(err);
      resolve(c);
    });
  });
}

test('the benchmark harness runs every PostgreSQL workload over every path (smoke size)', { timeout: 240_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'sidegate-bench-smoke-'));
  try {
    assert.equal(await harness(['--only', 'select-only,tpcb-like,large result,COPY', '--out', out]), 0);
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

const MYSQL_SMOKE_PATHS = ['direct', 'haproxy', 'sidegate', 'passthrough'];

test('the benchmark harness runs the MySQL workloads with sysbench over every path (smoke size)', { timeout: 180_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), 'sidegate-bench-smoke-mysql-'));
  try {
    assert.equal(await harness(['--only', 'oltp', '--paths', MYSQL_SMOKE_PATHS.join(','), '--out', out]), 0);
    const report = JSON.parse(await readFile(join(out, 'smoke.json'), 'utf8'));
    assert.deepEqual(
      report.workloads.map((w: { workload: string }) => w.workload),
      ['sysbench oltp_point_select (8 threads)', 'sysbench oltp_read_only (8 threads)', 'sysbench oltp_point_select (1 thread)'],
    );
    for (const w of report.workloads) {
      assert.equal(w.protocol, 'mysql');
      assert.deepEqual(Object.keys(w.paths).sort(), [...MYSQL_SMOKE_PATHS].sort(), w.workload);
      for (const [path, s] of Object.entries(w.paths) as [string, { median: number; queriesPerSecond: number; latencyP95Ms: number; cpuUsPerQuery?: number; peakRssMb?: number }][]) {
        assert.ok(s.median > 0 && s.queriesPerSecond >= s.median && s.latencyP95Ms > 0, `${w.workload} over ${path}: ${JSON.stringify(s)}`);
        if (path !== 'direct') assert.ok(s.cpuUsPerQuery! > 0 && s.peakRssMb! > 0, `${w.workload} over ${path}: the proxy's CPU and RSS`);
      }
    }
    assert.ok(report.spansReceived > 0, 'the MySQL sidegate path exported audit spans');
    const md = await readFile(join(out, 'smoke.md'), 'utf8');
    assert.match(md, /\| sysbench oltp_read_only \(8 threads\) \| haproxy \|/);
    assert.match(md, /\| sysbench oltp_point_select \(8 threads\) \| sidegate \|/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
