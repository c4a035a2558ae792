import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MYSQL_POINT_SELECT_1, MYSQL_POINT_SELECT_8, MYSQL_READ_ONLY_8, judgeTargets, markdown, summarise, withLatestRun, type Measurement } from './bench-report.js';

function m(workload: string, path: string, round: number, throughput: number, extra: Partial<Measurement> = {}): Measurement {
  return { workload, path, round, throughput, unit: 'tps', ...extra };
}

test('ratios are medians against direct from the same run, and each target is judged from them', () => {
  const results: Measurement[] = [];
  for (const round of [1, 2, 3]) {
    results.push(m('select-only prepared (8 clients)', 'direct', round, 100 + round));
    results.push(m('select-only prepared (8 clients)', 'pgbouncer', round, 50));
    results.push(m('select-only prepared (8 clients)', 'sidegate', round, 85));
    results.push(m('select-only simple (8 clients)', 'direct', round, 100));
    results.push(m('select-only simple (8 clients)', 'pgbouncer', round, 60));
    results.push(m('select-only simple (8 clients)', 'sidegate', round, 50));
    results.push(m('select-only prepared (1 client)', 'direct', round, 10, { latencyP50Ms: 0.07 }));
    results.push(m('select-only prepared (1 client)', 'sidegate', round, 8, { latencyP50Ms: 0.1 + round / 1000, cpuUsPerTx: [90, 70, 80][round - 1] }));
    results.push(m('large result, 2 masked columns (1000 rows)', 'direct', round, 10));
    results.push(m('large result, 2 masked columns (1000 rows)', 'sidegate', round, 6, { rssBeforeMb: 100, peakRssMb: 100 + 20 * round }));
  }
  const report = summarise(results, { idle: 58, '100 connections': 130 }, { sidegate: 300 }, 42, { rounds: 3, seconds: 10 });
  const prepared = report.workloads.find((w) => w.workload.startsWith('select-only prepared (8'))!;
  assert.equal(prepared.paths['sidegate']!.ratio, 85 / 102);
  assert.deepEqual([prepared.paths['direct']!.min, prepared.paths['direct']!.max], [101, 103]);
  assert.equal(Math.round(report.addedLatencyUsPerQuery!), 32, 'p50 sidegate minus p50 direct, in µs');
  const judged = Object.fromEntries(judgeTargets(report).map((t) => [t.target, t]));
  assert.equal(judged['select-only prepared (8 clients): sidegate ≥ 0.8 of direct']!.met, true);
  assert.equal(judged["select-only prepared (8 clients): sidegate's ratio ≥ pgbouncer's"]!.met, true);
  assert.equal(judged['select-only simple (8 clients): sidegate ≥ 0.65 of direct']!.met, false);
  assert.equal(judged["select-only simple (8 clients): sidegate's ratio ≥ pgbouncer's"]!.met, false);
  assert.equal(judged['added median latency, 1 client, prepared ≤ 60 µs']!.met, true);
  assert.equal(judged['large masked result: RSS growth < 50 MB']!.measured, '60.0 MB');
  assert.equal(judged['large masked result: RSS growth < 50 MB']!.met, false, 'the worst round counts');
  assert.equal(judged['COPY TO STDOUT ≥ 0.7 of direct']!.measured, 'not measured');
  assert.equal(judged['COPY TO STDOUT ≥ 0.7 of direct']!.met, false, 'what was not measured is not met');
  assert.equal(judged['RSS idle ≤ 60 MB']!.met, true);
  assert.equal(judged['RSS with 100 connections ≤ 120 MB']!.met, false);
  assert.equal(judged['ready ≤ 400 ms after start']!.met, true);
  assert.match(markdown(report), /\| RSS with 100 connections ≤ 120 MB \| 130\.0 MB \| \*\*no\*\* \|/);
  const one = report.workloads.find((w) => w.workload === 'select-only prepared (1 client)')!;
  assert.equal(one.paths['sidegate']!.cpuUsPerTx, 80, 'median of the rounds');
  assert.equal(one.paths['direct']!.cpuUsPerTx, undefined, 'no proxy, no figure');
  assert.match(markdown(report), /\| select-only prepared \(1 client\) \| sidegate \|[^\n]*\| 80 µs \|\n/);
  assert.match(markdown(report), /\| select-only prepared \(1 client\) \| direct \|[^\n]*\|  \|\n/);
});

test('each proxy gets its own row with its ratio to direct from the same run, in the order the paths ran', () => {
  const results: Measurement[] = [];
  for (const round of [1, 2]) {
    const paths = ['direct', 'pgbouncer', 'pgpool', 'sidegate'];
    for (const path of round === 1 ? paths : [...paths].reverse()) {
      const tps = { direct: 200, pgbouncer: 110, pgpool: 60 + round * 10, sidegate: 50 }[path]!;
      results.push(m('select-only extended (8 clients)', path, round, tps, path === 'direct' ? {} : { cpuUsPerTx: { pgbouncer: 25, pgpool: 55, sidegate: 70 }[path]! }));
    }
  }
  const report = summarise(results, {}, {}, 0, { rounds: 2, seconds: 10 });
  const paths = report.workloads[0]!.paths;
  assert.deepEqual(Object.keys(paths), ['direct', 'pgbouncer', 'pgpool', 'sidegate']);
  assert.equal(paths['pgpool']!.ratio, 75 / 200);
  assert.equal(paths['pgbouncer']!.ratio, 110 / 200);
  const md = markdown(report);
  assert.match(md, /\| select-only extended \(8 clients\) \| pgbouncer \| 110 tps \| 0\.55 \|[^\n]*\| 25 µs \|\n\| select-only extended \(8 clients\) \| pgpool \| 75\.00 tps \| 0\.38 \| 70\.00–80\.00 \|[^\n]*\| 55 µs \|\n/);
});

test('re-rendering the docs replaces only the "Latest run" section; the text above it stays', () => {
  const above = '# Benchmarks\n\nWhat the figures mean.\n\n## Design measurements\n\n- a figure\n';
  const before = `${above}\n## Latest run\n\n| old | table |\n`;
  assert.equal(withLatestRun(before, '| new | table |\n'), `${above}\n## Latest run\n\n| new | table |\n`);
  assert.equal(withLatestRun(above, '| t |\n'), `${above}\n## Latest run\n\n| t |\n`, 'a page without the section gets it at the end');
});

test('MySQL rows get their own table: queries per second, p50/p95 added to direct, CPU per query, RSS; and are judged against PostgreSQL', () => {
  const results: Measurement[] = [];
  const my = (workload: string, path: string, round: number, tps: number, extra: Partial<Measurement>) =>
    results.push(m(workload, path, round, tps, { protocol: 'mysql', ...extra }));
  for (const round of [1, 2, 3]) {
    my(MYSQL_POINT_SELECT_8, 'direct', round, 1000, { queriesPerSecond: 1000, latencyP50Ms: 0.2, latencyP95Ms: 0.5 });
    my(MYSQL_POINT_SELECT_8, 'haproxy', round, 700, { queriesPerSecond: 700, latencyP50Ms: 0.3, latencyP95Ms: 0.7, cpuUsPerQuery: 25, peakRssMb: 14 + round });
    my(MYSQL_POINT_SELECT_8, 'sidegate', round, 200, { queriesPerSecond: 200, latencyP50Ms: 1.2, latencyP95Ms: 2.5, cpuUsPerQuery: [150, 130, 140][round - 1], peakRssMb: 120 });
    my(MYSQL_READ_ONLY_8, 'direct', round, 100, { queriesPerSecond: 1600, latencyP50Ms: 4, latencyP95Ms: 8 });
    my(MYSQL_POINT_SELECT_1, 'direct', round, 500, { latencyP50Ms: 0.05, latencyP95Ms: 0.1 });
    my(MYSQL_POINT_SELECT_1, 'sidegate', round, 300, { latencyP50Ms: 0.15, latencyP95Ms: 0.3 });
    results.push(m('select-only prepared (8 clients)', 'direct', round, 100));
    results.push(m('select-only prepared (8 clients)', 'sidegate', round, 25, { cpuUsPerTx: 150 }));
    results.push(m('select-only prepared (1 client)', 'direct', round, 10, { latencyP50Ms: 0.1 }));
    results.push(m('select-only prepared (1 client)', 'sidegate', round, 5, { latencyP50Ms: 0.15 }));
  }
  const report = summarise(results, {}, {}, 0, { rounds: 3, seconds: 10 });
  const point = report.workloads.find((w) => w.workload === MYSQL_POINT_SELECT_8)!;
  assert.equal(point.protocol, 'mysql');
  assert.equal(point.paths['haproxy']!.ratio, 0.7);
  assert.equal(point.paths['sidegate']!.cpuUsPerQuery, 140, 'median of the rounds');
  assert.equal(point.paths['haproxy']!.peakRssMb, 17, 'the highest peak of the rounds');
  const md = markdown(report);
  const [postgresTable, mysqlTable] = md.split('MySQL: sysbench');
  assert.doesNotMatch(postgresTable!, /oltp/, 'the PostgreSQL table holds no MySQL row');
  assert.doesNotMatch(mysqlTable!, /select-only/);
  assert.match(mysqlTable!, /\| sysbench oltp_point_select \(8 threads\) \| haproxy \| 700 tps \| 700 \| 0\.70 \| 700–700 \| 0\.300 ms \| 0\.700 ms \| 100 µs \/ 200 µs \| 25 µs \| 17\.0 MB \|\n/);
  assert.match(mysqlTable!, /\| sysbench oltp_point_select \(8 threads\) \| direct \| 1000 tps \| 1000 \| 1\.00 \|[^\n]*\|  \|  \|  \|\n/, 'direct has nothing added and no proxy');
  assert.match(mysqlTable!, /\| sysbench oltp_read_only \(8 threads\) \| direct \| 100 tps \| 1600 \|/);
  const judged = Object.fromEntries(judgeTargets(report).map((t) => [t.target, t]));
  const ratio = judged["MySQL point select (8 threads): sidegate's ratio ≥ its PostgreSQL select-only prepared (8 clients) ratio"]!;
  assert.deepEqual([ratio.measured, ratio.met], ['0.20 vs 0.25', false]);
  const cpu = judged["MySQL point select (8 threads): sidegate's CPU per query ≤ its PostgreSQL CPU per tx (select-only prepared, 8 clients)"]!;
  assert.deepEqual([cpu.measured, cpu.met], ['140 vs 150 µs', true]);
  const latency = judged["MySQL point select (1 thread): added median latency ≤ PostgreSQL's (select-only prepared, 1 client)"]!;
  assert.deepEqual([latency.measured, latency.met], ['100 vs 50 µs', false]);
});

test('a run without MySQL rows has no MySQL table, and its MySQL targets are not measured', () => {
  const report = summarise([m('select-only prepared (8 clients)', 'direct', 1, 100)], {}, {}, 0, { rounds: 1, seconds: 10 });
  assert.doesNotMatch(markdown(report), /MySQL: sysbench/);
  for (const t of judgeTargets(report).filter((x) => x.target.startsWith('MySQL'))) assert.deepEqual([t.measured, t.met], ['not measured', false]);
});
