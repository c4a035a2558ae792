// The four paths a benchmark compares, started for real on this machine:
//   direct      psql/pgbench → PostgreSQL 15 (TLS, the one encrypted leg)
//   pgbouncer   → pgbouncer 1.18 session mode → PostgreSQL (TLS upstream)
//   sidegate    → sidegate (token verified, every statement parsed, masking rules and detectors,
//                 spans exported over OTLP/HTTP to a local receiver) → PostgreSQL (TLS verify-full)
//   passthrough → sidegate with inspection and masking off (the bare pipeline) → PostgreSQL
//   node-pipe   → a bare Node.js TLS pipe (node-pipe-proxy.ts) → PostgreSQL: the floor of any
//                 proxy written for Node.js (its client logs in as the md5 user: a pipe cannot
//                 pass SCRAM channel binding through)
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile, chmod, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestIssuer, writeStaticJwks } from '../support/token-issuer.js';
import { pgInfo, type PgInfo } from '../support/sidegate-harness.js';

export type PathName = 'direct' | 'pgbouncer' | 'sidegate' | 'passthrough' | 'node-pipe' | 'baseline';

export interface PathEndpoint {
  name: PathName;
  host: string;
  port: number;
  user: string;
  password: string;
  sslmode: 'require' | 'disable';
  /** The proxy process (sidegate, node-pipe), for RSS sampling. */
  pid?: number;
}

export interface BenchEnvironment {
  pg: PgInfo;
  paths: PathEndpoint[];
  spansReceived(): number;
  readyMs: Record<string, number>;
  close(): Promise<void>;
}

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const NODE_PIPE = fileURLToPath(new URL('./node-pipe-proxy.js', import.meta.url));

/** The benchmark's own database (test/scripts/postgres.sh creates it), apart from the tests' tables. */
export const BENCH_DATABASE = 'sidegate_bench';

export async function startBenchEnvironment(opts: { log: (s: string) => void }): Promise<BenchEnvironment> {
  const pg = { ...(await pgInfo()), database: BENCH_DATABASE };
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-bench-'));
  execFileSync('chmod', ['755', dir]);
  const children: ChildProcess[] = [];
  const user = pg.users.scram;

  // A real OTLP/HTTP receiver that counts and discards, like a collector would accept. It shares
  // the machine with what is measured, so it counts without decoding (a real collector would run
  // elsewhere): occurrences of "spanId" in the raw body.
  let spans = 0;
  const marker = Buffer.from('"spanId"');
  const sink = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      for (let at = body.indexOf(marker); at >= 0; at = body.indexOf(marker, at + marker.length)) spans++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const otlp = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;

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

  // sidegate: a realistic policy, and a passthrough one.
  const issuer = await startTestIssuer({ issuer: 'https://bench.sidegate' });
  const token = await issuer.sign({ sub: 'bench', project_path: 'acme/bench' }, { expiresIn: '2h' });
  const jwksFile = join(dir, 'jwks.json');
  await writeStaticJwks(jwksFile, issuer.jwks);
  await issuer.close();
  const credentials = join(dir, 'credentials.yaml');
  await writeFile(credentials, `targets:\n  pg: { username: ${user.user}, password: "${user.password}" }\n`, { mode: 0o600 });
  await chmod(credentials, 0o600);
  const policy = (port: number, realistic: boolean) => `version: 1
identities:
  - name: ci
    issuer: https://bench.sidegate
    audiences: [sidegate]
    jwksFile: ${jwksFile}
    claims: { project_path: "acme/*" }
targets:
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
  const startSidegate = async (name: 'sidegate' | 'passthrough' | 'baseline', port: number, adminPort: number, cli = CLI): Promise<PathEndpoint> => {
    const file = join(dir, `${name}.yaml`);
    await writeFile(file, policy(port, name !== 'passthrough'));
    const t0 = performance.now();
    const child = spawn(
      process.execPath,
      [...(process.env['SIDEGATE_BENCH_NODE_OPTIONS']?.split(' ').filter(Boolean) ?? []), cli, 'sidecar', '--policy', file, '--credentials', credentials, '--state-dir', join(dir, `${name}-state`), '--admin-port', String(adminPort), ...(name === 'passthrough' ? ['--inspection', 'off'] : [])],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: otlp, SIDEGATE_LOG_LEVEL: 'warn' } },
    );
    child.stderr!.on('data', (d: Buffer) => opts.log(`[${name}] ${d.toString().trim()}`));
    children.push(child);
    for (;;) {
      try {
        const res = await fetch(`http://127.0.0.1:${adminPort}/readyz`);
        if (res.status === 200) break;
      } catch {
        /* not listening yet */
      }
      if (performance.now() - t0 > 30_000) throw new Error(`${name} did not become ready`);
      await new Promise((r) => setTimeout(r, 5));
    }
    readyMs[name] = performance.now() - t0;
    return { name, host: '127.0.0.1', port, user: 'ci', password: token, sslmode: 'disable', pid: child.pid };
  };
  const sidegate = await startSidegate('sidegate', 26433, 26533);
  const passthrough = await startSidegate('passthrough', 26434, 26534);
  // A same-run A/B of a change: another build's sidegate under the same realistic policy.
  const baselineCli = process.env['SIDEGATE_BENCH_BASELINE_CLI'];
  const baseline = baselineCli ? await startSidegate('baseline', 26436, 26536, baselineCli) : undefined;
  await waitForPort(bouncerPort);
  // pgbouncer's own pid (runuser's child), for its CPU time per transaction.
  const bouncerPid = Number((await readFile(join(bouncerDir, 'pgbouncer.pid'), 'utf8').catch(() => '')).trim()) || undefined;

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
      sidegate,
      passthrough,
      { name: 'node-pipe', host: '127.0.0.1', port: pipePort, user: md5.user, password: md5.password, sslmode: 'disable', pid: pipe.pid },
      ...(baseline ? [baseline] : []),
    ],
    spansReceived: () => spans,
    readyMs,
    async close() {
      for (const c of children) c.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      await new Promise<void>((r) => sink.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number): Promise<void> {
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

export async function cpuTimeUs(pid: number): Promise<number> {
  return cpuTimeUsOf(await readFile(`/proc/${pid}/stat`, 'utf8'));
}

/** Resident set size of a process in MB, from /proc. */
export async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}
