// The paths a benchmark compares, started for real on this machine:
//   direct      psql/pgbench → PostgreSQL 15 (TLS, the one encrypted leg)
//   pgbouncer   → pgbouncer 1.18 session mode → PostgreSQL (TLS verify-full upstream)
//   pgpool      → pgpool-II 4.3 raw mode, connection cache on → PostgreSQL (TLS verify-ca
//                 upstream): a C proxy that, like sidegate, parses every statement
//   sidegate    → sidegate (token verified, every statement parsed, masking rules and detectors,
//                 spans exported over OTLP/HTTP to a local receiver) → PostgreSQL (TLS verify-full)
//   passthrough → sidegate with inspection and masking off (the bare pipeline) → PostgreSQL
//   node-pipe   → a bare Node.js TLS pipe (node-pipe-proxy.ts) → PostgreSQL: the floor of any
//                 proxy written for Node.js (its client logs in as the md5 user: a pipe cannot
//                 pass SCRAM channel binding through)
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdtemp, writeFile, chmod, rm, readFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pgClient from 'pg';
import { pgInfo, type PgInfo } from '../support/sidegate-harness.js';
import type { BenchIdentity } from './bench-identity.js';
import { SIDEGATE_CLI, startSidegateProcess } from './sidegate-process.js';

export type PathName = 'direct' | 'pgbouncer' | 'pgpool' | 'sidegate' | 'passthrough' | 'node-pipe' | 'baseline';

export interface PathEndpoint {
  name: PathName;
  host: string;
  port: number;
  user: string;
  password: string;
  sslmode: 'require' | 'disable';
  /** The proxy process, for RSS sampling and (with its descendants: pgpool forks one per client) CPU time. */
  pid?: number;
}

export interface BenchEnvironment {
  pg: PgInfo;
  paths: PathEndpoint[];
  readyMs: Record<string, number>;
  close(): Promise<void>;
}

/** What every environment of a run shares: the CI identity, and where sidegate exports its spans. */
export interface BenchShared {
  identity: BenchIdentity;
  otlpEndpoint: string;
  log: (s: string) => void;
}

const NODE_PIPE = fileURLToPath(new URL('./node-pipe-proxy.js', import.meta.url));

/** The benchmark's own database (test/scripts/postgres.sh creates it), apart from the tests' tables. */
export const BENCH_DATABASE = 'sidegate_bench';

export async function startBenchEnvironment(opts: BenchShared): Promise<BenchEnvironment> {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-bench-'));
  execFileSync('chmod', ['755', dir]);
  const children: ChildProcess[] = [];
  try {
    return await startPaths(opts, dir, children);
  } catch (err) {
    // Nothing of a half-started environment outlives the failure.
    for (const c of children) c.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function startPaths(opts: BenchShared, dir: string, children: ChildProcess[]): Promise<BenchEnvironment> {
  const pg = { ...(await pgInfo()), database: BENCH_DATABASE };
  const user = pg.users.scram;

  // pgbouncer, session mode, SCRAM to clients, TLS verify-full to the server.
  // Fixed ports below the ephemeral range (32768+): probing a port nobody listens on yet from an
  // ephemeral source port can connect the socket to itself, and the server then cannot listen.
  const bouncerPort = 26432;
  const bouncerDir = join(dir, 'pgbouncer');
  execFileSync('mkdir', ['-p', bouncerDir]);
  await writeFile(join(bouncerDir, 'userlist.txt'), `"${user.user}" "${user.password}"\n`);
  await writeFile(
    join(bouncerDir, 'pgbouncer.ini'),
    `[databases]
${pg.database} = host=${pg.host} port=${pg.port} dbname=${pg.database}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${bouncerPort}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = ${join(bouncerDir, 'userlist.txt')}
pool_mode = session
max_client_conn = 500
default_pool_size = 150
server_tls_sslmode = verify-full
server_tls_ca_file = ${pg.caFile}
logfile = ${join(bouncerDir, 'pgbouncer.log')}
pidfile = ${join(bouncerDir, 'pgbouncer.pid')}
`,
  );
  execFileSync('chown', ['-R', 'postgres:postgres', bouncerDir]);
  const bouncer = spawn('runuser', ['-u', 'postgres', '--', '/usr/sbin/pgbouncer', join(bouncerDir, 'pgbouncer.ini')], { stdio: 'ignore' });
  children.push(bouncer);

  // pgpool-II in raw mode (one backend: no replication, no load balancing, no failover), each
  // of its pre-forked children caching its server connection across client sessions: the
  // counterpart of pgbouncer's session mode. It parses every statement whatever the mode.
  // Clients log in with SCRAM against pool_passwd (pgpool then logs in to the server with SCRAM
  // itself); the server leg is TLS with the chain checked against the CA — pgpool-II 4.3 checks
  // no host name, so verify-ca, not verify-full.
  const pgpoolPort = 26437;
  const pgpoolDir = join(dir, 'pgpool');
  execFileSync('mkdir', ['-p', pgpoolDir]);
  await writeFile(join(pgpoolDir, 'pool_passwd'), `${user.user}:TEXT${user.password}\n`, { mode: 0o600 });
  await writeFile(join(pgpoolDir, 'pool_hba.conf'), 'host all all 127.0.0.1/32 scram-sha-256\n');
  await writeFile(join(pgpoolDir, 'pcp.conf'), '');
  await writeFile(
    join(pgpoolDir, 'pgpool.conf'),
    `backend_clustering_mode = 'raw'
listen_addresses = '127.0.0.1'
port = ${pgpoolPort}
unix_socket_directories = '${pgpoolDir}'
pcp_listen_addresses = ''
pcp_port = 26537
pcp_socket_dir = '${pgpoolDir}'
backend_hostname0 = '${pg.host}'
backend_port0 = ${pg.port}
backend_flag0 = 'DISALLOW_TO_FAILOVER'
enable_pool_hba = on
pool_passwd = '${join(pgpoolDir, 'pool_passwd')}'
ssl = on
ssl_ca_cert = '${pg.caFile}'
num_init_children = 32
max_pool = 1
connection_cache = on
child_life_time = 0
load_balance_mode = off
memory_cache_enabled = off
health_check_period = 0
sr_check_period = 0
failover_on_backend_error = off
log_min_messages = warning
pid_file_name = '${join(pgpoolDir, 'pgpool.pid')}'
logdir = '${pgpoolDir}'
`,
  );
  execFileSync('chown', ['-R', 'postgres:postgres', pgpoolDir]);
  const pgpoolLog = openSync(join(pgpoolDir, 'pgpool.log'), 'a');
  const pgpool = spawn(
    'runuser',
    ['-u', 'postgres', '--', '/usr/sbin/pgpool', '-n', '-f', join(pgpoolDir, 'pgpool.conf'), '-F', join(pgpoolDir, 'pcp.conf'), '-a', join(pgpoolDir, 'pool_hba.conf')],
    { stdio: ['ignore', pgpoolLog, pgpoolLog] },
  );
  closeSync(pgpoolLog);
  children.push(pgpool);

  // sidegate: a realistic policy, and a passthrough one.
  const credentials = join(dir, 'credentials.yaml');
  await writeFile(credentials, `targets:\n  pg: { username: ${user.user}, password: "${user.password}" }\n`, { mode: 0o600 });
  await chmod(credentials, 0o600);
  const policy = (port: number, realistic: boolean) => `version: 1
${opts.identity.policyIdentities}targets:
  - name: pg
    protocol: postgres
    address: ${pg.host}:${pg.port}
    tls: { mode: verify-full, ca: ${pg.caFile}, serverName: localhost }
    credentials: { file: pg }
    listen: 127.0.0.1:${port}
rules:
${
  realistic
    ? `  - { name: ci-reads, identities: [ci], when: { statements: [read, session, transaction] }, action: allow }
  - { name: ci-bench-writes, identities: [ci], when: { statements: [insert, update, delete, copy], tables: ["pgbench_*", "bench_*"] }, action: allow }
  - { name: ci-bench-setup, identities: [ci], when: { statements: [ddl, maintenance], tables: ["pgbench_*", "bench_*"] }, action: allow }
  - { name: no-dcl, when: { statements: [dcl] }, action: deny }
  - { name: no-sleep, when: { text: "(?i)pg_sleep" }, action: deny }
masking:
  - { name: emails, identities: [ci], columns: ["bench_large.email"], strategy: partial }
  - { name: cards, columns: ["*.card"], strategy: redact }
  - { name: secrets, detectors: [payment-card, jwt, aws-access-key, pem-private-key], strategy: redact }`
    : `  - { name: everything, identities: [ci], action: allow }`
}
`;
  const readyMs: Record<string, number> = {};
  const startSidegate = async (name: 'sidegate' | 'passthrough' | 'baseline', port: number, adminPort: number, cli = SIDEGATE_CLI): Promise<PathEndpoint> => {
    const policyFile = join(dir, `${name}.yaml`);
    await writeFile(policyFile, policy(port, name !== 'passthrough'));
    const started = await startSidegateProcess({
      name, cli, policyFile, credentialsFile: credentials, stateDir: join(dir, `${name}-state`), adminPort,
      inspection: name === 'passthrough' ? 'off' : 'on', otlpEndpoint: opts.otlpEndpoint, log: opts.log,
    });
    children.push(started.child);
    readyMs[name] = started.readyMs;
    return { name, host: '127.0.0.1', port, user: 'ci', password: opts.identity.token, sslmode: 'disable', pid: started.pid };
  };
  const sidegate = await startSidegate('sidegate', 26433, 26533);
  const passthrough = await startSidegate('passthrough', 26434, 26534);
  // A same-run A/B of a change: another build's sidegate under the same realistic policy.
  const baselineCli = process.env['SIDEGATE_BENCH_BASELINE_CLI'];
  const baseline = baselineCli ? await startSidegate('baseline', 26436, 26536, baselineCli) : undefined;
  await waitForPort(bouncerPort);
  // pgbouncer's own pid (runuser's child), for its CPU time per transaction.
  const bouncerPid = Number((await readFile(join(bouncerDir, 'pgbouncer.pid'), 'utf8').catch(() => '')).trim()) || undefined;
  await waitForPort(pgpoolPort).catch(async (err: Error) => {
    throw new Error(`${err.message}: ${(await readFile(join(pgpoolDir, 'pgpool.log'), 'utf8').catch(() => '')).slice(-2000)}`);
  });
  // pgpool falls back to plaintext if the server declines TLS: refuse to measure that.
  await assertServerLegIsTls({ host: '127.0.0.1', port: pgpoolPort, user: user.user, password: user.password, database: pg.database });
  // pgpool's main process (runuser's child), the parent of the processes that serve clients. Its
  // pid file ends in a NUL byte, hence parseInt.
  const pgpoolPid = parseInt(await readFile(join(pgpoolDir, 'pgpool.pid'), 'utf8').catch(() => ''), 10) || undefined;

  const pipePort = 26435;
  const pipe = spawn(process.execPath, [NODE_PIPE, String(pipePort), pg.host, String(pg.port), pg.caFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  pipe.stderr!.on('data', (d: Buffer) => opts.log(`[node-pipe] ${d.toString().trim()}`));
  children.push(pipe);
  await waitForPort(pipePort);
  const md5 = pg.users.md5;

  return {
    pg,
    paths: [
      { name: 'direct', host: pg.host, port: pg.port, user: user.user, password: user.password, sslmode: 'require' },
      { name: 'pgbouncer', host: '127.0.0.1', port: bouncerPort, user: user.user, password: user.password, sslmode: 'disable', pid: bouncerPid },
      { name: 'pgpool', host: '127.0.0.1', port: pgpoolPort, user: user.user, password: user.password, sslmode: 'disable', pid: pgpoolPid },
      sidegate,
      passthrough,
      { name: 'node-pipe', host: '127.0.0.1', port: pipePort, user: md5.user, password: md5.password, sslmode: 'disable', pid: pipe.pid },
      ...(baseline ? [baseline] : []),
    ],
    readyMs,
    async close() {
      for (const c of children) c.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function assertServerLegIsTls(conn: pgClient.ClientConfig): Promise<void> {
  const client = new pgClient.Client(conn);
  await client.connect();
  try {
    const r = await client.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    if (r.rows[0]?.ssl !== true) throw new Error(`the proxy on port ${conn.port} reaches PostgreSQL without TLS`);
  } finally {
    await client.end();
  }
}

export async function waitForPort(port: number): Promise<void> {
  const net = await import('node:net');
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

/**
 * CPU time a process has used so far (user + system, all its threads), in µs, from the text of
 * /proc/<pid>/stat, which counts it in ticks of 1/100 s (Linux's USER_HZ). The command name
 * (field 2) may hold spaces and parentheses, so fields are counted after its last ')'.
 */
export function cpuTimeUsOf(procStat: string): number {
  const rest = procStat.slice(procStat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('unreadable /proc/<pid>/stat');
  return (utime + stime) * 10_000;
}

/**
 * CPU time of a process and all its descendants, in µs, from the /proc/<pid>/stat texts of every
 * process: each one's own time plus what it has collected from children it reaped (fields 16
 * and 17), so a child that exits between two readings is not lost. pgpool serves each client
 * from a forked process; for a single-process proxy this is its own CPU time.
 */
export function processTreeCpuTimeUsOf(procStats: string[], root: number): number {
  const parentOf = new Map<number, number>();
  const timeOf = new Map<number, number>();
  for (const stat of procStats) {
    const pid = Number(stat.slice(0, stat.indexOf(' ')));
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // rest[1] is field 4 (ppid); cutime and cstime are fields 16 and 17.
    const reaped = Number(rest[13]) + Number(rest[14]);
    if (!Number.isFinite(pid) || !Number.isFinite(reaped)) throw new Error('unreadable /proc/<pid>/stat');
    parentOf.set(pid, Number(rest[1]));
    timeOf.set(pid, cpuTimeUsOf(stat) + reaped * 10_000);
  }
  if (!timeOf.has(root)) throw new Error(`no process ${root}`);
  const inTree = (pid: number): boolean => {
    for (let p: number | undefined = pid, hops = 0; p !== undefined && p > 0 && hops < 64; p = parentOf.get(p), hops++) {
      if (p === root) return true;
    }
    return false;
  };
  let total = 0;
  for (const [pid, us] of timeOf) if (inTree(pid)) total += us;
  return total;
}

export async function cpuTimeUs(pid: number): Promise<number> {
  const stats: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    // A process may exit between the listing and the read.
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (stat) stats.push(stat);
  }
  return processTreeCpuTimeUsOf(stats, pid);
}

/** Resident set size of a process in MB, from /proc. */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}
