// The benchmark suite: real load generators over the paths of bench-environment.ts (PostgreSQL:
// direct, pgbouncer, pgpool, sidegate, sidegate passthrough, a bare Node.js pipe) and of
// mysql-bench-environment.ts (MySQL: direct, HAProxy, sidegate, passthrough), alternated round by
// round so drift on a shared machine cancels out, every figure reported as a ratio to direct
// from the same run. Speed is judged from a full run (`npm run bench`), never by a test;
// `--smoke` only proves the harness works. Only the protocols whose workloads and paths are
// selected are started (`--only oltp` starts no PostgreSQL path).
//
//   node dist/test/bench/run-bench.js [--smoke] [--rounds N] [--seconds S] [--out DIR] [--docs]
//                                     [--only TEXT[,TEXT…]] [--paths direct,sidegate,...] [--from REPORT.json]
// SIDEGATE_BENCH_NODE_OPTIONS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") goes to the sidegate processes.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { startBenchEnvironment, rssMb, cpuTimeUs, type BenchEnvironment, type BenchShared, type PathEndpoint } from './bench-environment.js';
import { createBenchIdentity } from './bench-identity.js';
import {
  MYSQL_POINT_SELECT_1, MYSQL_POINT_SELECT_8, MYSQL_READ_ONLY_8,
  markdown, median, summarise, writeDocs, type Measurement, type Report,
} from './bench-report.js';
import { startMysqlBenchEnvironment, type MysqlBenchEnvironment, type MysqlPathEndpoint, type MysqlPathName } from './mysql-bench-environment.js';
import { startOtlpSpanCounter } from './otlp-span-counter.js';
import { parseSysbenchRun } from './sysbench-output.js';


const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    out: { type: 'string', default: 'test/bench/results' },
    docs: { type: 'boolean', default: false },
    // For iterating on one figure: run only workloads whose name contains one of these (comma-separated) texts, only these paths.
    only: { type: 'string' },
    paths: { type: 'string' },
    // Re-render the table (and with --docs, docs/BENCHMARKS.md) from a saved report, measuring nothing.
    from: { type: 'string' },
  },
});
const smoke = args.smoke!;
const rounds = Number(args.rounds ?? (smoke ? 1 : 3));
// Smoke runs 2 s: within 1 s a loaded machine may not finish 8 clients' TLS and SCRAM logins to a pooler.
const seconds = Number(args.seconds ?? (smoke ? 2 : 10));
const log = (s: string) => process.stderr.write(s + '\n');

function run(cmd: string, argv: string[], env: Record<string, string>, cwd?: string): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { env: { PATH: process.env['PATH'] ?? '', ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}

const pgEnv = (p: PathEndpoint, database: string) => ({
  PGHOST: p.host,
  PGPORT: String(p.port),
  PGUSER: p.user,
  PGPASSWORD: p.password,
  PGDATABASE: database,
  PGSSLMODE: p.sslmode,
});

/** Samples a process's RSS while `work` runs; returns the work's result, the RSS before and the peak. */
async function withPeakRss<T>(pid: number | undefined, work: () => Promise<T>): Promise<[T, number | undefined, number | undefined]> {
  if (!pid) return [await work(), undefined, undefined];
  const before = await rssMb(pid);
  let peak = before;
  const timer = setInterval(() => {
    rssMb(pid).then((mb) => (peak = Math.max(peak, mb)), () => {});
  }, 50);
  try {
    return [await work(), before, peak];
  } finally {
    clearInterval(timer);
  }
}

async function pgbench(p: PathEndpoint, database: string, workload: string, extra: string[], round: number): Promise<Measurement> {
  const logDir = join(tmpdir(), `sidegate-pgbench-${process.pid}-${workload}-${p.name}-${round}`);
  await mkdir(logDir, { recursive: true });
  const cpuBefore = p.pid ? await cpuTimeUs(p.pid).catch(() => undefined) : undefined;
  const [r, before, peak] = await withPeakRss(p.pid, () =>
    run('pgbench', ['-n', '-T', String(seconds), '-l', '--log-prefix', join(logDir, 'tx'), ...extra], pgEnv(p, database)),
  );
  const cpuAfter = p.pid ? await cpuTimeUs(p.pid).catch(() => undefined) : undefined;
  if (r.code !== 0) throw new Error(`pgbench ${workload} over ${p.name} failed: ${r.stderr.slice(0, 500)}`);
  const tps = Number(/tps = ([0-9.]+)/.exec(r.stdout)?.[1]);
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1]);
  // The proxy's CPU per transaction, all its threads: a figure the machine's wake-up latencies
  // blur far less than the latency does (ticks of 10 ms over a run of thousands of transactions).
  const cpuUsPerTx =
    cpuBefore !== undefined && cpuAfter !== undefined && transactions > 0 ? (cpuAfter - cpuBefore) / transactions : undefined;
  const avg = Number(/latency average = ([0-9.]+) ms/.exec(r.stdout)?.[1]);
  // Per-transaction log: client_id tx_no time_us script_no epoch epoch_us
  const latencies: number[] = [];
  for (const f of await readdir(logDir)) {
    for (const line of (await readFile(join(logDir, f), 'utf8')).split('\n')) {
      const us = Number(line.split(' ')[2]);
      if (Number.isFinite(us) && line !== '') latencies.push(us / 1000);
    }
  }
  await rm(logDir, { recursive: true, force: true });
  latencies.sort((a, b) => a - b);
  const at = (q: number) => (latencies.length > 0 ? latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * q))] : undefined);
  return { workload, path: p.name, round, throughput: tps, unit: 'tps', latencyAvgMs: avg, latencyP50Ms: at(0.5), latencyP99Ms: at(0.99), rssBeforeMb: before, peakRssMb: peak, cpuUsPerTx };
}

async function timedPsql(p: PathEndpoint, database: string, workload: string, sql: string, units: number, unit: string, round: number, pre?: string): Promise<Measurement> {
  if (pre) {
    const prep = await run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', pre], pgEnv(p, database));
    if (prep.code !== 0) throw new Error(`${workload} preparation over ${p.name} failed: ${prep.stderr}`);
  }
  const [r, before, peak] = await withPeakRss(p.pid, () => run('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-o', '/dev/null', '-c', sql], pgEnv(p, database)));
  if (r.code !== 0) throw new Error(`${workload} over ${p.name} failed: ${r.stderr.slice(0, 500)}`);
  return { workload, path: p.name, round, throughput: units / (r.ms / 1000), unit, latencyAvgMs: r.ms, rssBeforeMb: before, peakRssMb: peak };
}

async function sysbench(env: MysqlBenchEnvironment, p: MysqlPathEndpoint, workload: string, script: string, threads: number, round: number): Promise<Measurement> {
  const tlsBefore = await env.tlsAccepts();
  const cpuBefore = p.pid ? await cpuTimeUs(p.pid).catch(() => undefined) : undefined;
  const [r, before, peak] = await withPeakRss(p.pid, () =>
    run(
      'sysbench',
      [
        script, '--db-driver=mysql', `--mysql-host=${p.host}`, `--mysql-port=${p.port}`, `--mysql-user=${p.user}`, `--mysql-password=${p.password}`,
        `--mysql-db=${env.database}`, `--mysql-ssl=${p.tls ? 'on' : 'off'}`, ...env.sysbenchTableArgs,
        `--threads=${threads}`, `--time=${seconds}`, '--histogram=on', 'run',
      ],
      {},
      env.sysbenchDir,
    ),
  );
  const cpuAfter = p.pid ? await cpuTimeUs(p.pid).catch(() => undefined) : undefined;
  // sysbench prints its FATAL lines on stdout.
  if (r.code !== 0) throw new Error(`sysbench ${workload} over ${p.name} failed: ${(r.stderr + r.stdout).trim().slice(-800)}`);
  const f = parseSysbenchRun(r.stdout);
  if (f.ignoredErrors > 0) throw new Error(`sysbench ${workload} over ${p.name}: ${f.ignoredErrors} statements failed`);
  // Each path has exactly one TLS leg to MariaDB: every client connection's, whoever opened it.
  const tls = (await env.tlsAccepts()) - tlsBefore;
  if (tls < threads) throw new Error(`sysbench ${workload} over ${p.name}: MariaDB accepted ${tls} TLS connections for ${threads} clients`);
  const cpu = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
  return {
    workload, path: p.name, round, protocol: 'mysql',
    throughput: f.transactionsPerSecond, unit: 'tps', queriesPerSecond: f.queriesPerSecond,
    latencyAvgMs: f.latencyAvgMs, latencyP50Ms: f.latencyP50Ms, latencyP95Ms: f.latencyP95Ms, latencyP99Ms: f.latencyP99Ms,
    rssBeforeMb: before, peakRssMb: peak,
    cpuUsPerTx: cpu !== undefined && f.transactions > 0 ? cpu / f.transactions : undefined,
    cpuUsPerQuery: cpu !== undefined && f.queries > 0 ? cpu / f.queries : undefined,
  };
}

/**
 * How fast the machine is right now: a fixed single-threaded workload (hashing and JSON, like the
 * proxy's own per-command work), timed. Shared machines change speed by tens of percent within
 * an hour; ratios from one run cancel that out, absolute figures do not.
 */
function cpuReferenceMs(): number {
  const block = Buffer.alloc(1024, 7);
  const doc = { a: 'x'.repeat(200), b: Array.from({ length: 40 }, (_, i) => ({ k: `key${i}`, v: i })) };
  const t0 = performance.now();
  for (let i = 0; i < 100_000; i++) createHash('sha256').update(block).digest();
  for (let i = 0; i < 20_000; i++) JSON.parse(JSON.stringify(doc));
  return performance.now() - t0;
}

interface Workload<P> {
  name: string;
  run: (p: P, round: number) => Promise<Measurement>;
}

const only = args.only?.split(',').map((s) => s.trim()).filter(Boolean);
const selectedWorkload = (name: string) => !only || only.some((o) => name.includes(o));
const selectedPath = (name: string) => !args.paths || args.paths.split(',').includes(name);

/** One workload over the selected paths, ready to run a round. */
interface Scheduled {
  workload: string;
  paths: { name: string; run: (round: number) => Promise<Measurement> }[];
}

function schedule<P extends { name: string }>(workloads: Workload<P>[], paths: P[]): Scheduled[] {
  const chosen = paths.filter((p) => selectedPath(p.name));
  return workloads.filter((w) => selectedWorkload(w.name)).map((w) => ({ workload: w.name, paths: chosen.map((p) => ({ name: p.name, run: (round: number) => w.run(p, round) })) }));
}

/**
 * Round by round, every workload over each path: a round measures PostgreSQL and MySQL minutes
 * apart at most, so a shared machine's slow spell hits both protocols' figures in the same round
 * instead of one protocol's all rounds. Paths alternate their order each round, so no path always
 * runs first or last.
 */
async function measure(scheduled: Scheduled[], results: Measurement[]): Promise<void> {
  for (let round = 1; round <= rounds; round++) {
    for (const w of scheduled) {
      const order = round % 2 === 1 ? w.paths : [...w.paths].reverse();
      for (const p of order) {
        const m = await p.run(round);
        results.push(m);
        log(`${w.workload} | ${p.name} | round ${round}: ${m.throughput.toFixed(1)} ${m.unit}`);
      }
    }
  }
}

const largeRows = smoke ? 20_000 : 1_000_000;
// What selects the PostgreSQL workloads (the COPY ones are named with their size once it is known).
const POSTGRES_WORKLOADS = [
  'select-only simple (8 clients)', 'select-only extended (8 clients)', 'select-only prepared (8 clients)', 'tpcb-like prepared (8 clients)',
  'select-only prepared (1 client)', `large result, 2 masked columns (${largeRows} rows)`, 'COPY TO STDOUT', 'COPY FROM STDIN',
];
const POSTGRES_PATHS = ['direct', 'pgbouncer', 'pgpool', 'sidegate', 'passthrough', 'node-pipe', 'baseline'];
const MYSQL_WORKLOADS = [MYSQL_POINT_SELECT_8, MYSQL_READ_ONLY_8, MYSQL_POINT_SELECT_1];
const MYSQL_PATHS: MysqlPathName[] = ['direct', 'haproxy', 'sidegate', 'passthrough', 'baseline'];
/** One sbtest table: small enough to prepare in seconds and stay in the buffer pool. */
const MYSQL_TABLE_ROWS = 10_000;

/** Loads the PostgreSQL data, measures memory, and returns its workloads and what removes their files. */
async function preparePostgres(env: BenchEnvironment, memory: Record<string, number>, cleanups: (() => Promise<void>)[]): Promise<Scheduled[]> {
  const direct = env.paths.find((p) => p.name === 'direct')!;
  const sidegate = env.paths.find((p) => p.name === 'sidegate')!;
  const db = env.pg.database;
  const scale = smoke ? 1 : 10;
  const copyRows = smoke ? 20_000 : 1_500_000;
  log(`setup: pgbench scale ${scale}, ${largeRows} masked rows, ${copyRows} COPY rows`);
  const init = await run('pgbench', ['-i', '-q', '-s', String(scale)], pgEnv(direct, db));
  if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
  const setup = await run(
    'psql',
    [
      '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c',
      `DROP TABLE IF EXISTS bench_large, bench_copy, bench_copy_in;
       CREATE TABLE bench_large AS SELECT g AS id, md5(g::text) || md5((g+1)::text) AS a, repeat('x', 40) AS b,
         'user' || g || '@example.com' AS email, '4111111111111111' AS card FROM generate_series(1, ${largeRows}) g;
       CREATE TABLE bench_copy AS SELECT g AS id, md5(g::text) || md5((g+1)::text) || md5((g+2)::text) AS a, repeat('y', 60) AS b FROM generate_series(1, ${copyRows}) g;
       CREATE TABLE bench_copy_in (LIKE bench_copy);
       GRANT ALL ON ALL TABLES IN SCHEMA public TO ${env.paths.find((p) => p.name === 'node-pipe')!.user};`,
      '-c',
      'VACUUM ANALYZE bench_large, bench_copy',
    ],
    pgEnv(direct, db),
  );
  if (setup.code !== 0) throw new Error(`setup failed: ${setup.stderr}`);
  const copyFile = join(tmpdir(), `sidegate-bench-copy-${process.pid}.tsv`);
  const dump = await run('psql', ['-X', '-q', '-c', `\\copy bench_copy TO '${copyFile}'`], pgEnv(direct, db));
  if (dump.code !== 0) throw new Error(`copy dump failed: ${dump.stderr}`);
  cleanups.push(() => rm(copyFile, { force: true }));
  const copyMb = (await readFile(copyFile)).length / (1024 * 1024);

  // Memory: idle, then with 100 idle client connections; each the median of samples over a
  // few quiet seconds (a single sample catches the collector at a random point).
  const settledRss = async (ms: number) => {
    const samples: number[] = [];
    for (let t = 0; t < ms; t += 200) {
      samples.push(await rssMb(sidegate.pid!));
      await new Promise((r) => setTimeout(r, 200));
    }
    return median(samples);
  };
  memory['idle'] = await settledRss(smoke ? 400 : 3000);
  const idle: pg.Client[] = [];
  for (let i = 0; i < 100; i++) {
    const c = new pg.Client({ host: sidegate.host, port: sidegate.port, user: sidegate.user, password: sidegate.password, database: db });
    await c.connect();
    idle.push(c);
  }
  memory['100 connections'] = await settledRss(smoke ? 400 : 2000);
  await Promise.all(idle.map((c) => c.end()));
  // The first statements compile the grammar's hot code: what a sidecar holds once it has
  // served any SQL at all (the connections above only logged in).
  const first = new pg.Client({ host: sidegate.host, port: sidegate.port, user: sidegate.user, password: sidegate.password, database: db });
  await first.connect();
  for (let i = 0; i < 20; i++) await first.query(`SELECT abalance FROM pgbench_accounts WHERE aid = ${i + 1}`);
  await first.end();
  memory['after the first queries'] = await settledRss(smoke ? 400 : 2000);

  const workloads: Workload<PathEndpoint>[] = [
    { name: 'select-only simple (8 clients)', run: (p, r) => pgbench(p, db, 'select-only simple (8 clients)', ['-S', '-M', 'simple', '-c', '8', '-j', '2'], r) },
    { name: 'select-only extended (8 clients)', run: (p, r) => pgbench(p, db, 'select-only extended (8 clients)', ['-S', '-M', 'extended', '-c', '8', '-j', '2'], r) },
    { name: 'select-only prepared (8 clients)', run: (p, r) => pgbench(p, db, 'select-only prepared (8 clients)', ['-S', '-M', 'prepared', '-c', '8', '-j', '2'], r) },
    { name: 'tpcb-like prepared (8 clients)', run: (p, r) => pgbench(p, db, 'tpcb-like prepared (8 clients)', ['-M', 'prepared', '-c', '8', '-j', '2'], r) },
    { name: 'select-only prepared (1 client)', run: (p, r) => pgbench(p, db, 'select-only prepared (1 client)', ['-S', '-M', 'prepared', '-c', '1'], r) },
    { name: `large result, 2 masked columns (${largeRows} rows)`, run: (p, r) => timedPsql(p, db, `large result, 2 masked columns (${largeRows} rows)`, 'SELECT * FROM bench_large', largeRows, 'rows/s', r) },
    { name: `COPY TO STDOUT (${copyMb.toFixed(0)} MB)`, run: (p, r) => timedPsql(p, db, `COPY TO STDOUT (${copyMb.toFixed(0)} MB)`, `\\copy bench_copy TO '/dev/null'`, copyMb, 'MB/s', r) },
    {
      name: `COPY FROM STDIN (${copyMb.toFixed(0)} MB)`,
      run: (p, r) => timedPsql(p, db, `COPY FROM STDIN (${copyMb.toFixed(0)} MB)`, `\\copy bench_copy_in FROM '${copyFile}'`, copyMb, 'MB/s', r, 'TRUNCATE bench_copy_in'),
    },
  ];
  return schedule(workloads, env.paths);
}

function mysqlWorkloads(env: MysqlBenchEnvironment): Scheduled[] {
  const workloads: Workload<MysqlPathEndpoint>[] = [
    { name: MYSQL_POINT_SELECT_8, run: (p, r) => sysbench(env, p, MYSQL_POINT_SELECT_8, 'oltp_point_select', 8, r) },
    { name: MYSQL_READ_ONLY_8, run: (p, r) => sysbench(env, p, MYSQL_READ_ONLY_8, 'oltp_read_only', 8, r) },
    { name: MYSQL_POINT_SELECT_1, run: (p, r) => sysbench(env, p, MYSQL_POINT_SELECT_1, 'oltp_point_select', 1, r) },
  ];
  return schedule(workloads, env.paths);
}

async function main(): Promise<void> {
  if (args.from) {
    const md = markdown(JSON.parse(await readFile(args.from, 'utf8')) as Report);
    if (args.docs) await writeDocs(md);
    process.stdout.write(md);
    return;
  }
  const wantPostgres = POSTGRES_WORKLOADS.some(selectedWorkload) && POSTGRES_PATHS.some(selectedPath);
  const wantMysql = MYSQL_WORKLOADS.some(selectedWorkload) && MYSQL_PATHS.some(selectedPath);
  const cpuReference = [cpuReferenceMs()];
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-bench-identity-'));
  const sink = await startOtlpSpanCounter();
  let postgres: BenchEnvironment | undefined;
  let mysql: MysqlBenchEnvironment | undefined;
  const results: Measurement[] = [];
  const memory: Record<string, number> = {};
  const cleanups: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const c of cleanups) await c().catch(() => undefined);
    await postgres?.close();
    await mysql?.close();
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  };
  // Stopped by hand (Ctrl-C, kill): the proxies, poolers and sidecars it started go too.
  const stop = (signal: NodeJS.Signals) => {
    log(`bench: ${signal}, stopping what it started`);
    void closeAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const shared: BenchShared = { identity: await createBenchIdentity(dir), otlpEndpoint: sink.endpoint, log };
    // Every selected path is started before anything is measured, so one that cannot start
    // (sidegate without an adapter for the protocol) fails the run at once.
    if (wantMysql) mysql = await startMysqlBenchEnvironment({ ...shared, tableRows: MYSQL_TABLE_ROWS, wanted: selectedPath });
    if (wantPostgres) postgres = await startBenchEnvironment(shared);
    const scheduled = [...(postgres ? await preparePostgres(postgres, memory, cleanups) : []), ...(mysql ? mysqlWorkloads(mysql) : [])];
    await measure(scheduled, results);
    cpuReference.push(cpuReferenceMs());
    log(`CPU reference: ${cpuReference.map((ms) => ms.toFixed(0)).join(' ms, ')} ms (start, end)`);
    const readyMs = { ...postgres?.readyMs, ...mysql?.readyMs };
    const report = summarise(results, memory, readyMs, sink.spans(), { rounds, seconds, cpuReferenceMs: cpuReference });
    await mkdir(args.out!, { recursive: true });
    await writeFile(join(args.out!, smoke ? 'smoke.json' : 'latest.json'), JSON.stringify(report, null, 2) + '\n');
    const md = markdown(report);
    await writeFile(join(args.out!, smoke ? 'smoke.md' : 'latest.md'), md);
    if (args.docs) await writeDocs(md);
    process.stdout.write(md);
  } finally {
    await closeAll();
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
