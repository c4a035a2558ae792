// Starts a real sidegate in front of the test PostgreSQL 15, with a real token issuer (JWKS over
// HTTP), a real OTLP/HTTP receiver, the embedded approval broker, and a log sink the tests can
// search. Integration tests drive it with real clients (psql, pgbench, node-postgres).
import { mkdtemp, writeFile, readFile, chmod, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import type { OriginalDestination } from '../../sidecar/capture/original-destination.js';
import { startSidecar, type RunningSidecar } from '../../sidecar/runtime/sidecar-runtime.js';
import { createLogger, type LogFormat } from '../../core/logging/logger.js';
import { startTestIssuer } from './token-issuer.js';
import { startOtlpReceiver } from './otlp-receiver.js';

export interface PgInfo {
  host: string;
  port: number;
  socketDir: string;
  database: string;
  caFile: string;
  users: Record<'scram' | 'md5' | 'plain', { user: string; password: string }>;
}

export async function pgInfo(): Promise<PgInfo> {
  const run = process.env['SIDEGATE_TEST_RUN'] ?? '/var/tmp/sidegate-test';
  return JSON.parse(await readFile(join(run, 'pg.json'), 'utf8')) as PgInfo;
}

/** The test MariaDB (test/scripts/mariadb.sh). */
export interface MariaInfo {
  host: string;
  port: number;
  socket: string;
  database: string;
  caFile: string;
  users: Record<'native' | 'ed25519', { user: string; password: string }>;
}

export async function mariaInfo(): Promise<MariaInfo> {
  const run = process.env['SIDEGATE_TEST_RUN'] ?? '/var/tmp/sidegate-test';
  return JSON.parse(await readFile(join(run, 'mariadb.json'), 'utf8')) as MariaInfo;
}

/** Target `my` → the test MariaDB over verify-full TLS, for a policy's `targets:`. */
export function mysqlTarget(maria: MariaInfo): string {
  return `  - name: my
    protocol: mysql
    address: 127.0.0.1:${maria.port}
    database: ${maria.database}
    tls: { mode: verify-full, ca: ${maria.caFile}, serverName: localhost }
    credentials: { file: my }
`;
}

export type Issuer = Awaited<ReturnType<typeof startTestIssuer>>;
export type Receiver = Awaited<ReturnType<typeof startOtlpReceiver>>;

export interface Harness {
  pg: PgInfo;
  maria: MariaInfo;
  issuer: Issuer;
  receiver: Receiver;
  sidecar: RunningSidecar;
  dir: string;
  port: number;
  /** The explicit listener of target `my` (MariaDB), when the policy names one. */
  myPort?: number;
  /** The capture listener's port when `capture` was given. */
  capturePort?: number;
  logs: string[];
  /** A valid CI-like token for this issuer. */
  token(claims?: Record<string, unknown>, opts?: Parameters<Issuer['sign']>[1]): Promise<string>;
  /** Admin-side approvals (what an approver's CLI does). */
  approvals: {
    list(): Promise<{ id: string; status: string; command: string; rule: string }[]>;
    decide(id: string, verdict: 'approve' | 'deny', approver: string): Promise<Response>;
  };
  close(): Promise<void>;
}

/**
 * `policy` is a function of the environment so a test can write its own rules; `targetUser`
 * chooses the upstream login (scram by default).
 */
export async function startHarness(opts: {
  policy: (env: { pg: PgInfo; maria: MariaInfo; issuer: Issuer; listenPort: number }) => string;
  targetUser?: 'scram' | 'md5' | 'plain';
  /** Target `my`'s upstream login (native by default). */
  mysqlUser?: 'native' | 'ed25519';
  /** Target `pg`'s upstream login as given (a role the test made), instead of `targetUser`'s. */
  targetLogin?: { user: string; password: string };
  /** The format of the lines in `logs` (default json). */
  logFormat?: LogFormat;
  env?: Record<string, string>;
  /** Serve TLS to clients with the test CA's localhost certificate. */
  clientTls?: boolean;
  /** Sidecar mode: a pod token with these claims (signed by the harness's issuer) identifies clients that present no password. */
  podToken?: Record<string, unknown>;
  /** Pod mode's capture listener on 127.0.0.1, with the original destination of each connection from this function (no NAT here). */
  capture?: { originalDestination(socket: Socket): OriginalDestination | null };
}): Promise<Harness> {
  const pg = await pgInfo();
  const maria = await mariaInfo();
  const issuer = await startTestIssuer({ issuer: 'https://ci.test.sidegate' });
  const receiver = await startOtlpReceiver();
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-it-'));
  const policyFile = join(dir, 'policy.yaml');
  await writeFile(policyFile, opts.policy({ pg, maria, issuer, listenPort: 0 }));
  const login = opts.targetLogin ?? pg.users[opts.targetUser ?? 'scram'];
  const myLogin = maria.users[opts.mysqlUser ?? 'native'];
  const credentialsFile = join(dir, 'credentials.yaml');
  await writeFile(
    credentialsFile,
    `targets:\n  pg: { username: ${login.user}, password: "${login.password}" }\n  my: { username: ${myLogin.user}, password: "${myLogin.password}" }\n`,
    { mode: 0o600 },
  );
  await chmod(credentialsFile, 0o600);
  const logs: string[] = [];
  let tokenFile: string | undefined;
  if (opts.podToken) {
    tokenFile = join(dir, 'pod.token');
    await writeFile(tokenFile, await issuer.sign(opts.podToken, { audience: 'sidegate' }), { mode: 0o600 });
  }
  const sidecar = await startSidecar({
    policyFile,
    credentialsFile,
    tokenFile,
    stateDir: join(dir, 'state'),
    broker: 'embedded',
    env: {
      ...process.env,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      ...opts.env,
    },
    listenOverrides: { pg: { host: '127.0.0.1', port: 0 }, my: { host: '127.0.0.1', port: 0 } },
    ...(opts.capture ? { capturePort: 0, captureHosts: ['127.0.0.1'], captureOriginalDestination: opts.capture.originalDestination } : {}),
    clientTls: opts.clientTls ? { certFile: join(dirname(pg.caFile), 'server.crt'), keyFile: join(dirname(pg.caFile), 'server.key') } : undefined,
    log: createLogger({ level: 'debug', format: opts.logFormat ?? 'json', sink: (line) => logs.push(line) }),
  });
  const port = sidecar.listeners.find((l) => l.target === 'pg')?.port ?? 0;
  const broker = sidecar.broker!;
  const adminToken = (await readFile(broker.adminTokenFile, 'utf8')).trim();
  const adminFetch = (path: string, init: RequestInit = {}) =>
    fetch(broker.url + path, { ...init, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' } });
  return {
    pg,
    maria,
    issuer,
    receiver,
    sidecar,
    dir,
    port,
    myPort: sidecar.listeners.find((l) => l.target === 'my')?.port,
    capturePort: sidecar.listeners.find((l) => l.target === '*capture*')?.port,
    logs,
    token: (claims = {}, signOpts) =>
      issuer.sign({ sub: 'project_path:acme/api:ref_type:branch:ref:main', project_path: 'acme/api', ref: 'main', pipeline_id: '4242', ...claims }, {
        audience: 'sidegate',
        ...signOpts,
      }),
    approvals: {
      async list() {
        const res = await adminFetch('/v1/approvals?status=pending');
        const body = (await res.json()) as unknown;
        return (Array.isArray(body) ? body : ((body as { approvals?: unknown[] }).approvals ?? [])) as {
          id: string;
          status: string;
          command: string;
          rule: string;
        }[];
      },
      decide: (id, verdict, approver) => adminFetch(`/v1/approvals/${id}/${verdict}`, { method: 'POST', body: JSON.stringify({ approver }) }),
    },
    async close() {
      await sidecar.stop(2000);
      await receiver.close();
      await issuer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The standard integration policy: target `pg` → the test PostgreSQL over verify-full TLS. */
export function basePolicy(
  { pg, issuer }: { pg: PgInfo; issuer: Issuer },
  extra: { rules?: string; masking?: string; defaults?: string } = {},
): string {
  return `version: 1
defaults:
  action: deny
${extra.defaults ?? ''}
identities:
  - name: ci
    issuer: ${issuer.issuer}
    audiences: [sidegate]
    jwksUrl: ${issuer.jwksUrl}
    claims:
      project_path: "acme/*"
targets:
  - name: pg
    protocol: postgres
    address: ${pg.host}:${pg.port}
    tls: { mode: verify-full, ca: ${pg.caFile}, serverName: localhost }
    credentials: { file: pg }
rules:
${extra.rules ?? `  - name: ci-reads
    identities: [ci]
    when: { statements: [read, session, transaction] }
    action: allow`}
${extra.masking ? `masking:\n${extra.masking}` : ''}
`;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a real client binary (psql, pgbench) with a bounded run time. */
export function run(cmd: string, args: string[], env: Record<string, string>, input?: string, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/** psql through sidegate with the token as the password. */
export function psql(h: Harness, token: string, sql: string, extraArgs: string[] = []): Promise<RunResult> {
  return run(
    'psql',
    ['-X', '-v', 'ON_ERROR_STOP=0', '-v', 'VERBOSITY=verbose', '-h', '127.0.0.1', '-p', String(h.port), '-U', 'ci', '-d', h.pg.database, ...extraArgs],
    { PGPASSWORD: token, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10' },
    sql,
  );
}

/**
 * The first pending request whose record matches, polling the embedded broker. 30 s by default:
 * the first hold opens the embedded store (PGlite in memory), 4–7 s on a loaded 2-core machine.
 */
export async function waitForPending<A extends { id: string; command: string; rule: string }>(h: { approvals: { list(): Promise<unknown[]> } }, pred: (a: A) => boolean, timeoutMs = 30_000): Promise<A> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = ((await h.approvals.list()) as A[]).find(pred);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no pending approval appeared');
}
