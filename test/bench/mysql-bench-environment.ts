// The MySQL paths a benchmark compares, started for real on this machine, each with exactly one
// TLS leg to the database:
//   direct      sysbench → MariaDB 10.11 (TLS)
//   haproxy     sysbench → HAProxy 2.6 in TCP mode → MariaDB: the L4 floor. MySQL turns TLS on
//               inside its handshake, so a TCP proxy cannot originate it: the client's own TLS
//               runs through HAProxy end to end
//   sidegate    sysbench → sidegate (the pod's identity verified, every statement parsed, masking
//               rules and detectors, spans exported over OTLP/HTTP) → MariaDB (TLS verify-full)
//   passthrough → sidegate with inspection and masking off → MariaDB
//   baseline    another build's sidegate under the realistic policy (SIDEGATE_BENCH_BASELINE_CLI)
// sidegate's client leg is plain TCP on loopback and the client presents an empty password, so
// the pod's identity (`--token-file`) applies: a token as password would need mysql_clear_password
// over a TLS client leg, a second TLS leg the other paths do not pay.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { waitForPort, type BenchShared } from './bench-environment.js';
import { SIDEGATE_CLI, startSidegateProcess } from './sidegate-process.js';

export type MysqlPathName = 'direct' | 'haproxy' | 'sidegate' | 'passthrough' | 'baseline';

export interface MysqlPathEndpoint {
  name: MysqlPathName;
  host: string;
  port: number;
  user: string;
  password: string;
  /** Whether sysbench itself speaks TLS (to MariaDB, through HAProxy or not). */
  tls: boolean;
  /** The proxy process, for RSS sampling and CPU time. */
  pid?: number;
}

interface MariadbInfo {
  host: string;
  port: number;
  socket: string;
  caFile: string;
  users: { native: { user: string; password: string } };
}

export interface MysqlBenchEnvironment {
  database: string;
  paths: MysqlPathEndpoint[];
  readyMs: Record<string, number>;
  /** sysbench's working directory: sysbench 1.0.20 with `--mysql-ssl=on` reads cacert.pem, client-cert.pem and client-key.pem from it. */
  sysbenchDir: string;
  /** The sbtest tables' size, prepared once (`prepare` only when the table does not hold it). */
  sysbenchTableArgs: string[];
  /** MariaDB's count of TLS handshakes it accepted so far (to prove each path's database leg is TLS). */
  tlsAccepts(): Promise<number>;
  close(): Promise<void>;
}

/** The benchmark's own MariaDB database, apart from the tests' `sidegate_test`. */
export const MYSQL_BENCH_DATABASE = 'sidegate_bench';

const run = promisify(execFile);

export interface MysqlBenchOptions extends BenchShared {
  /** Rows of the one sbtest table. */
  tableRows: number;
  /** The paths to start (`--paths`): a sidegate path that cannot start fails the run. */
  wanted: (path: MysqlPathName) => boolean;
}

export async function startMysqlBenchEnvironment(opts: MysqlBenchOptions): Promise<MysqlBenchEnvironment> {
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-bench-mysql-'));
  const children: ChildProcess[] = [];
  try {
    return await startPaths(opts, dir, children);
  } catch (err) {
    for (const c of children) c.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

async function startPaths(opts: MysqlBenchOptions, dir: string, children: ChildProcess[]): Promise<MysqlBenchEnvironment> {
  const info = JSON.parse(await readFile(join(process.env['SIDEGATE_TEST_RUN'] ?? '/var/tmp/sidegate-test', 'mariadb.json'), 'utf8')) as MariadbInfo;
  const db = MYSQL_BENCH_DATABASE;
  const user = info.users.native;
  const rootSql = async (sql: string) => (await run('mariadb', [`--socket=${info.socket}`, '-uroot', '-N', '-B', '-e', sql])).stdout.trim();

  // The sbtest tables, once: created by root through the socket, read by the tests' native user.
  const tableArgs = ['--tables=1', `--table-size=${opts.tableRows}`];
  await rootSql(`CREATE DATABASE IF NOT EXISTS ${db}; GRANT ALL ON ${db}.* TO ${user.user}@'%'`);
  const rows = await rootSql(`SELECT COUNT(*) FROM ${db}.sbtest1`).catch(() => '');
  if (rows !== String(opts.tableRows)) {
    opts.log(`setup: sysbench prepare, 1 table × ${opts.tableRows} rows in MariaDB ${db}`);
    const asRoot = ['--db-driver=mysql', `--mysql-socket=${info.socket}`, '--mysql-user=root', `--mysql-db=${db}`, ...tableArgs];
    await run('sysbench', ['oltp_common', ...asRoot, 'cleanup']);
    await run('sysbench', ['oltp_common', ...asRoot, 'prepare'], { maxBuffer: 1 << 20 });
  }

  // sysbench 1.0.20 takes its TLS files by fixed names from its working directory, and MariaDB
  // (ssl-ca set) verifies the client certificate it is sent: one signed by the test CA.
  const sysbenchDir = join(dir, 'sysbench');
  await run('mkdir', ['-p', sysbenchDir]);
  await copyFile(info.caFile, join(sysbenchDir, 'cacert.pem'));
  const caKey = join(dirname(info.caFile), 'ca.key');
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=sysbench', '-keyout', join(sysbenchDir, 'client-key.pem'), '-out', join(sysbenchDir, 'client.csr')]);
  await writeFile(join(sysbenchDir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  await run('openssl', [
    'x509', '-req', '-in', join(sysbenchDir, 'client.csr'), '-CA', info.caFile, '-CAkey', caKey, '-CAserial', join(sysbenchDir, 'client.srl'), '-CAcreateserial',
    '-days', '1', '-extfile', join(sysbenchDir, 'client.ext'), '-out', join(sysbenchDir, 'client-cert.pem'),
  ]);

  // HAProxy in TCP mode: bytes relayed, nothing understood.
  const haproxyPort = 26441;
  await writeFile(
    join(dir, 'haproxy.cfg'),
    `global
  maxconn 2000
defaults
  mode tcp
  timeout connect 5s
  timeout client 1h
  timeout server 1h
listen mariadb
  bind 127.0.0.1:${haproxyPort}
  server mariadb ${info.host}:${info.port}
`,
  );
  // -db: in the foreground, one process (no master-worker), so its pid is the proxy's.
  const haproxy = spawn('/usr/sbin/haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'ignore', 'pipe'] });
  haproxy.stderr!.on('data', (d: Buffer) => opts.log(`[haproxy] ${d.toString().trim()}`));
  children.push(haproxy);

  const credentials = join(dir, 'credentials.yaml');
  await writeFile(credentials, `targets:\n  mysql: { username: ${user.user}, password: "${user.password}" }\n`, { mode: 0o600 });
  const policy = (port: number, realistic: boolean) => `version: 1
${opts.identity.policyIdentities}targets:
  - name: mysql
    protocol: mysql
    address: ${info.host}:${info.port}
    tls: { mode: verify-full, ca: ${info.caFile}, serverName: localhost }
    credentials: { file: mysql }
    listen: 127.0.0.1:${port}
rules:
${
  realistic
    ? `  - { name: ci-reads, identities: [ci], when: { statements: [read, session, transaction] }, action: allow }
  - { name: ci-bench-writes, identities: [ci], when: { statements: [insert, update, delete], tables: ["sbtest*"] }, action: allow }
  - { name: ci-bench-setup, identities: [ci], when: { statements: [ddl, maintenance], tables: ["sbtest*"] }, action: allow }
  - { name: no-dcl, when: { statements: [dcl] }, action: deny }
  - { name: no-sleep, when: { text: "(?i)\\\\bsleep\\\\s*\\\\(" }, action: deny }
masking:
  - { name: emails, identities: [ci], columns: ["customers.email"], strategy: partial }
  - { name: cards, columns: ["*.card"], strategy: redact }
  - { name: secrets, detectors: [payment-card, jwt, aws-access-key, pem-private-key], strategy: redact }`
    : `  - { name: everything, identities: [ci], action: allow }`
}
`;
  const readyMs: Record<string, number> = {};
  const startSidegate = async (name: 'sidegate' | 'passthrough' | 'baseline', port: number, adminPort: number, cli = SIDEGATE_CLI): Promise<MysqlPathEndpoint> => {
    const policyFile = join(dir, `${name}.yaml`);
    await writeFile(policyFile, policy(port, name !== 'passthrough'));
    const started = await startSidegateProcess({
      name: `${name} (mysql)`, cli, policyFile, credentialsFile: credentials, stateDir: join(dir, `${name}-state`), adminPort,
      inspection: name === 'passthrough' ? 'off' : 'on', tokenFile: opts.identity.tokenFile, otlpEndpoint: opts.otlpEndpoint, log: opts.log,
    });
    children.push(started.child);
    readyMs[`${name} (mysql)`] = started.readyMs;
    // An empty password: the pod's identity (the token file) applies.
    return { name, host: '127.0.0.1', port, user: 'ci', password: '', tls: false, pid: started.pid };
  };
  const wanted = opts.wanted;
  const sidegate = wanted('sidegate') ? await startSidegate('sidegate', 26443, 26543) : undefined;
  const passthrough = wanted('passthrough') ? await startSidegate('passthrough', 26444, 26544) : undefined;
  const baselineCli = process.env['SIDEGATE_BENCH_BASELINE_CLI'];
  const baseline = baselineCli && wanted('baseline') ? await startSidegate('baseline', 26446, 26546, baselineCli) : undefined;
  await waitForPort(haproxyPort);

  return {
    database: db,
    paths: [
      { name: 'direct', host: info.host, port: info.port, user: user.user, password: user.password, tls: true },
      { name: 'haproxy', host: '127.0.0.1', port: haproxyPort, user: user.user, password: user.password, tls: true, pid: haproxy.pid },
      ...(sidegate ? [sidegate] : []),
      ...(passthrough ? [passthrough] : []),
      ...(baseline ? [baseline] : []),
    ],
    readyMs,
    sysbenchDir,
    sysbenchTableArgs: tableArgs,
    tlsAccepts: async () => Number(await rootSql(`SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'SSL_ACCEPTS'`)),
    async close() {
      for (const c of children) c.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
