// The benchmark's report: per-workload medians and ratios to direct from one run, the targets
// of issue 4 (and issue 14's MySQL-against-PostgreSQL comparison) judged from those figures, and
// the markdown tables (also docs/BENCHMARKS.md): PostgreSQL's, then MySQL's. Pure apart from
// writeDocs; run-bench.ts measures, this only summarises.
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export interface Measurement {
  workload: string;
  path: string;
  round: number;
  /** Transactions (or rows, or MB) per second. */
  throughput: number;
  unit: string;
  latencyAvgMs?: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  /** The proxy's RSS just before the run, and its peak during it. */
  rssBeforeMb?: number;
  peakRssMb?: number;
  /** The proxy's CPU time (user + system, all threads) per transaction, in µs (pgbench runs). */
  cpuUsPerTx?: number;
  /** Set for the MySQL workloads (sysbench); absent: PostgreSQL. */
  protocol?: 'mysql';
  latencyP95Ms?: number;
  /** Statements per second (sysbench counts BEGIN and COMMIT as queries too). */
  queriesPerSecond?: number;
  /** The proxy's CPU time per statement, in µs. */
  cpuUsPerQuery?: number;
}

type PathSummary = {
  median: number;
  min: number;
  max: number;
  ratio: number;
  latencyAvgMs?: number;
  latencyP50Ms?: number;
  latencyP95Ms?: number;
  latencyP99Ms?: number;
  peakRssMb?: number;
  rssGrowthMb?: number;
  cpuUsPerTx?: number;
  queriesPerSecond?: number;
  cpuUsPerQuery?: number;
};

export interface Report {
  machine: Record<string, string | number>;
  rounds: number;
  secondsPerRun: number;
  workloads: {
    workload: string;
    unit: string;
    protocol?: 'mysql';
    paths: Record<string, PathSummary>;
  }[];
  memoryMb: Record<string, number>;
  readyMs: Record<string, number>;
  addedLatencyUsPerQuery?: number;
  spansReceived: number;
  raw: Measurement[];
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function summarise(
  results: Measurement[],
  memory: Record<string, number>,
  readyMs: Record<string, number>,
  spans: number,
  run: { rounds: number; seconds: number; cpuReferenceMs?: number[] },
): Report {
  const workloads = [...new Set(results.map((r) => r.workload))].map((workload) => {
    const rows = results.filter((r) => r.workload === workload);
    const directMedian = median(rows.filter((r) => r.path === 'direct').map((r) => r.throughput));
    const paths: Report['workloads'][number]['paths'] = {};
    for (const path of [...new Set(rows.map((r) => r.path))]) {
      const mine = rows.filter((r) => r.path === path);
      const t = mine.map((r) => r.throughput);
      // The median over the rounds of a figure, when the rounds measured it.
      const med = (of: (r: Measurement) => number | undefined) => {
        const xs = mine.map(of).filter((x): x is number => x !== undefined);
        return xs.length ? median(xs) : undefined;
      };
      const rss = mine.map((r) => r.peakRssMb).filter((x): x is number => x !== undefined);
      const growth = mine.filter((r) => r.peakRssMb !== undefined && r.rssBeforeMb !== undefined).map((r) => r.peakRssMb! - r.rssBeforeMb!);
      paths[path] = {
        median: median(t),
        min: Math.min(...t),
        max: Math.max(...t),
        ratio: median(t) / directMedian,
        latencyAvgMs: med((r) => r.latencyAvgMs),
        latencyP50Ms: med((r) => r.latencyP50Ms),
        latencyP95Ms: med((r) => r.latencyP95Ms),
        latencyP99Ms: med((r) => r.latencyP99Ms),
        peakRssMb: rss.length ? Math.max(...rss) : undefined,
        rssGrowthMb: growth.length ? Math.max(...growth) : undefined,
        cpuUsPerTx: med((r) => r.cpuUsPerTx),
        queriesPerSecond: med((r) => r.queriesPerSecond),
        cpuUsPerQuery: med((r) => r.cpuUsPerQuery),
      };
    }
    return { workload, unit: rows[0]!.unit, ...(rows[0]!.protocol ? { protocol: rows[0]!.protocol } : {}), paths };
  });
  const one = workloads.find((w) => w.workload === 'select-only prepared (1 client)');
  return {
    machine: {
      cpu: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      date: new Date().toISOString(),
      ...(run.cpuReferenceMs?.length ? { cpuReferenceMs: Math.round(median(run.cpuReferenceMs)) } : {}),
    },
    rounds: run.rounds,
    secondsPerRun: run.seconds,
    workloads,
    memoryMb: {
      ...memory,
      // Only workloads the sidegate path ran (a run of `--paths direct,haproxy` has none).
      ...Object.fromEntries(workloads.filter((w) => w.paths['sidegate']?.peakRssMb !== undefined).map((w) => [`peak: ${w.workload}`, w.paths['sidegate']!.peakRssMb!])),
      ...Object.fromEntries(workloads.filter((w) => w.paths['sidegate']?.rssGrowthMb !== undefined).map((w) => [`growth during: ${w.workload}`, w.paths['sidegate']!.rssGrowthMb!])),
    },
    readyMs,
    // Medians of the per-transaction latencies pgbench logged, sidegate's minus direct's.
    addedLatencyUsPerQuery: one ? ((one.paths['sidegate']?.latencyP50Ms ?? 0) - (one.paths['direct']?.latencyP50Ms ?? 0)) * 1000 : undefined,
    spansReceived: spans,
    raw: results,
  };
}

export function markdown(r: Report): string {
  const lines: string[] = [];
  lines.push('| target | measured | met |');
  lines.push('| --- | ---: | :---: |');
  for (const t of judgeTargets(r)) lines.push(`| ${t.target} | ${t.measured} | ${t.met ? 'yes' : '**no**'} |`);
  lines.push('');
  lines.push(`Machine: ${r.machine['cpu']}, ${r.machine['cores']} cores, ${r.machine['memoryGb']} GiB, node ${r.machine['node']}, ${r.machine['date']}`);
  if (r.machine['cpuReferenceMs'] !== undefined) {
    // Absolute figures (latency in µs, ready in ms) move with the machine; this tells how fast it was.
    lines.push(`CPU reference: ${r.machine['cpuReferenceMs']} ms for a fixed single-threaded workload (lower is faster; compare runs by it before comparing their absolute figures).`);
  }
  lines.push(`Rounds: ${r.rounds} (paths alternated each round), ${r.secondsPerRun} s per pgbench or sysbench run. Ratios are medians against direct from the same run; spread is min–max over rounds.`);
  const ms = (x: number | undefined) => (x !== undefined ? x.toFixed(3) + ' ms' : '');
  const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(2));
  const postgres = r.workloads.filter((x) => x.protocol !== 'mysql');
  if (postgres.length) {
    lines.push('');
    lines.push('| workload | path | throughput | ratio to direct | spread | latency avg | latency p50 | latency p99 | proxy CPU per tx |');
    lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  }
  for (const w of postgres) {
    for (const [path, s] of Object.entries(w.paths)) {
      lines.push(
        `| ${w.workload} | ${path} | ${fmt(s.median)} ${w.unit} | ${s.ratio.toFixed(2)} | ${fmt(s.min)}–${fmt(s.max)} | ${ms(s.latencyAvgMs)} | ${ms(s.latencyP50Ms)} | ${ms(s.latencyP99Ms)} | ${s.cpuUsPerTx !== undefined ? s.cpuUsPerTx.toFixed(0) + ' µs' : ''} |`,
      );
    }
  }
  const mysql = r.workloads.filter((x) => x.protocol === 'mysql');
  if (mysql.length) {
    lines.push('');
    lines.push('MySQL: sysbench against MariaDB (server-side prepared statements); latency is per transaction, "added" is the path\'s percentile minus direct\'s from the same run; the proxy\'s CPU is per statement (BEGIN and COMMIT count), its RSS the peak over the rounds.');
    lines.push('');
    lines.push('| workload | path | throughput | queries/s | ratio to direct | spread | latency p50 | latency p95 | added p50 / p95 | proxy CPU per query | proxy RSS peak |');
    lines.push('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
    const us = (x: number) => `${(x * 1000).toFixed(0)} µs`;
    for (const w of mysql) {
      const direct = w.paths['direct'];
      for (const [path, s] of Object.entries(w.paths)) {
        const added =
          path !== 'direct' && direct?.latencyP50Ms !== undefined && s.latencyP50Ms !== undefined && direct.latencyP95Ms !== undefined && s.latencyP95Ms !== undefined
            ? `${us(s.latencyP50Ms - direct.latencyP50Ms)} / ${us(s.latencyP95Ms - direct.latencyP95Ms)}`
            : '';
        lines.push(
          `| ${w.workload} | ${path} | ${fmt(s.median)} ${w.unit} | ${s.queriesPerSecond !== undefined ? fmt(s.queriesPerSecond) : ''} | ${s.ratio.toFixed(2)} | ${fmt(s.min)}–${fmt(s.max)} | ${ms(s.latencyP50Ms)} | ${ms(s.latencyP95Ms)} | ${added} | ${s.cpuUsPerQuery !== undefined ? s.cpuUsPerQuery.toFixed(0) + ' µs' : ''} | ${s.peakRssMb !== undefined ? s.peakRssMb.toFixed(1) + ' MB' : ''} |`,
        );
      }
    }
  }
  lines.push('');
  lines.push('| sidegate | value |');
  lines.push('| --- | ---: |');
  for (const [k, v] of Object.entries(r.memoryMb)) lines.push(`| RSS ${k} | ${v.toFixed(1)} MB |`);
  for (const [k, v] of Object.entries(r.readyMs)) lines.push(`| start → /readyz (${k}) | ${v.toFixed(0)} ms |`);
  if (r.addedLatencyUsPerQuery !== undefined) lines.push(`| added median latency per query, 1 client, prepared (p50 sidegate − p50 direct) | ${r.addedLatencyUsPerQuery.toFixed(0)} µs |`);
  lines.push(`| audit spans received by the OTLP receiver | ${r.spansReceived} |`);
  return lines.join('\n') + '\n';
}

const LATEST_RUN_HEADING = '## Latest run\n';

/**
 * docs/BENCHMARKS.md with its "Latest run" section replaced by `table`. Everything above it is
 * written by people (what the figures mean, design measurements) and is kept as it is.
 */
export function withLatestRun(document: string, table: string): string {
  const at = document.indexOf('\n' + LATEST_RUN_HEADING);
  const kept = at >= 0 ? document.slice(0, at + 1) : document.replace(/\n*$/, '\n\n');
  return `${kept}${LATEST_RUN_HEADING}\n${table}`;
}

export async function writeDocs(table: string): Promise<void> {
  const docs = fileURLToPath(new URL('../../../docs/BENCHMARKS.md', import.meta.url));
  await writeFile(docs, withLatestRun(await readFile(docs, 'utf8'), table));
}

/** The MySQL workloads' names, shared with run-bench.ts (the targets look them up). */
export const MYSQL_POINT_SELECT_8 = 'sysbench oltp_point_select (8 threads)';
export const MYSQL_READ_ONLY_8 = 'sysbench oltp_read_only (8 threads)';
export const MYSQL_POINT_SELECT_1 = 'sysbench oltp_point_select (1 thread)';

export interface TargetResult {
  target: string;
  measured: string;
  met: boolean;
}

/** The targets (2-core machine, ratios from one run), judged from a report. */
export function judgeTargets(r: Report): TargetResult[] {
  const w = (name: string) => r.workloads.find((x) => x.workload.startsWith(name));
  const ratio = (name: string, path: string) => w(name)?.paths[path]?.ratio;
  const out: TargetResult[] = [];
  const add = (target: string, value: number | undefined, ok: (v: number) => boolean, show: (v: number) => string) =>
    out.push({ target, measured: value === undefined ? 'not measured' : show(value), met: value !== undefined && ok(value) });
  const two = (v: number) => v.toFixed(2);
  for (const [mode, min] of [['prepared', 0.8], ['simple', 0.65]] as const) {
    const name = `select-only ${mode} (8 clients)`;
    const sg = ratio(name, 'sidegate');
    add(`${name}: sidegate ≥ ${min} of direct`, sg, (v) => v >= min, two);
    const pb = ratio(name, 'pgbouncer');
    add(`${name}: sidegate's ratio ≥ pgbouncer's`, sg !== undefined && pb !== undefined ? sg - pb : undefined, (v) => v >= 0, () => `${two(sg!)} vs ${two(pb!)}`);
  }
  add('added median latency, 1 client, prepared ≤ 60 µs', r.addedLatencyUsPerQuery, (v) => v <= 60, (v) => `${v.toFixed(0)} µs`);
  const large = r.workloads.find((x) => x.workload.startsWith('large result'));
  add('large masked result ≥ 0.5 of direct', large?.paths['sidegate']?.ratio, (v) => v >= 0.5, two);
  add('large masked result: RSS growth < 50 MB', large?.paths['sidegate']?.rssGrowthMb, (v) => v < 50, (v) => `${v.toFixed(1)} MB`);
  add('COPY TO STDOUT ≥ 0.7 of direct', ratio('COPY TO', 'sidegate'), (v) => v >= 0.7, two);
  add('COPY FROM STDIN ≥ 0.7 of direct', ratio('COPY FROM', 'sidegate'), (v) => v >= 0.7, two);
  add('RSS idle ≤ 60 MB', r.memoryMb['idle'], (v) => v <= 60, (v) => `${v.toFixed(1)} MB`);
  add('RSS with 100 connections ≤ 120 MB', r.memoryMb['100 connections'], (v) => v <= 120, (v) => `${v.toFixed(1)} MB`);
  add('ready ≤ 400 ms after start', r.readyMs['sidegate'], (v) => v <= 400, (v) => `${v.toFixed(0)} ms`);
  // Issue 14: sidegate's MySQL overhead no worse than its PostgreSQL overhead, on the closest
  // pair of workloads: one prepared point select per transaction, 8 clients (1 for latency).
  const my8 = r.workloads.find((x) => x.workload === MYSQL_POINT_SELECT_8)?.paths['sidegate'];
  const pg8 = w('select-only prepared (8 clients)')?.paths['sidegate'];
  const both = <T>(a: T | undefined, b: T | undefined) => (a !== undefined && b !== undefined ? ([a, b] as const) : undefined);
  const ratios = both(my8?.ratio, pg8?.ratio);
  add('MySQL point select (8 threads): sidegate\'s ratio ≥ its PostgreSQL select-only prepared (8 clients) ratio', ratios && ratios[0] - ratios[1], (v) => v >= 0, () => `${two(ratios![0])} vs ${two(ratios![1])}`);
  const cpu = both(my8?.cpuUsPerQuery, pg8?.cpuUsPerTx);
  add('MySQL point select (8 threads): sidegate\'s CPU per query ≤ its PostgreSQL CPU per tx (select-only prepared, 8 clients)', cpu && cpu[0] - cpu[1], (v) => v <= 0, () => `${cpu![0].toFixed(0)} vs ${cpu![1].toFixed(0)} µs`);
  const my1 = r.workloads.find((x) => x.workload === MYSQL_POINT_SELECT_1)?.paths;
  const myAdded = my1?.['sidegate']?.latencyP50Ms !== undefined && my1['direct']?.latencyP50Ms !== undefined ? (my1['sidegate'].latencyP50Ms - my1['direct'].latencyP50Ms) * 1000 : undefined;
  const added = both(myAdded, r.addedLatencyUsPerQuery);
  add('MySQL point select (1 thread): added median latency ≤ PostgreSQL\'s (select-only prepared, 1 client)', added && added[0] - added[1], (v) => v <= 0, () => `${added![0].toFixed(0)} vs ${added![1].toFixed(0)} µs`);
  return out;
}
