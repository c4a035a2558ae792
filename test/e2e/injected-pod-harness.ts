// What every injected-pod test does the same way: send a runner pod to the running webhook as an
// AdmissionReview, run the patched pod (the init container's redirect rules, then the sidecar
// until it says it is ready) and start the target (PostgreSQL or MariaDB) in the db namespace.
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { mustRun, run, spawnInNamespace, type CommandResult } from '../netns/network-namespaces.js';
import { applyJsonPatch } from '../support/apply-json-patch.js';
import { httpsRequest } from '../support/https-json-client.js';
import { prepareContainer, runContainer, startContainer, type FieldValues, type PodSpec, type VolumeContents } from './pod-simulator.js';

export const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
export const PGBIN = '/usr/lib/postgresql/15/bin';
/** The runner's uid: not root, not the sidecar's. */
export const RUNNER_UID = 65534;

/** The patched pod's sidecar process, where it keeps state, what it logged. */
export interface InjectedSidecar {
  sidecar: ChildProcess;
  stateDir: string;
  log: () => string;
}

/**
 * Sends the pod to the webhook as an AdmissionReview and returns the patched pod, after the patched
 * pod passed the webhook's validating check as the API server would send it (validating webhooks
 * run after every mutation).
 */
export async function admitPod(webhook: { url: string; ca: string }, spec: PodSpec): Promise<PodSpec> {
  const response = await review(webhook, '/mutate', spec);
  assert.equal(response.allowed, true);
  const patched = applyJsonPatch(spec, JSON.parse(Buffer.from(response.patch!, 'base64').toString('utf8'))) as PodSpec;
  const validated = await review(webhook, '/validate', patched);
  assert.equal(validated.allowed, true, `the injected pod must pass /validate: ${JSON.stringify(validated.status)}`);
  return patched;
}

async function review(webhook: { url: string; ca: string }, path: string, pod: PodSpec): Promise<{ allowed: boolean; patch?: string; status?: unknown }> {
  const body = {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: randomUUID(), kind: { group: '', version: 'v1', kind: 'Pod' }, resource: { group: '', version: 'v1', resource: 'pods' }, namespace: 'ci', operation: 'CREATE', object: pod, dryRun: false },
  };
  const reply = await httpsRequest(`${webhook.url}${path}`, { ca: webhook.ca, method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  assert.equal(reply.status, 200, reply.text);
  return (reply.json as { response: { allowed: boolean; patch?: string; status?: unknown } }).response;
}

/**
 * Runs the patched pod in network namespace `podNamespace`: the init container (redirect rules),
 * then the sidecar until ready. `volumes` is what the cluster would put in the pod's volumes.
 */
export async function runPatchedPod(podNamespace: string, patched: PodSpec, volumes: VolumeContents, root: string, fieldValues: FieldValues = {}): Promise<InjectedSidecar> {
  const init = patched.spec.initContainers!.find((c) => c.name === 'sidegate-init')!;
  const side = patched.spec.initContainers!.find((c) => c.name === 'sidegate')!;
  assert.equal(side.restartPolicy, 'Always', 'native sidecar');
  const entrypoint = [process.execPath, CLI];
  const r = await runContainer(podNamespace, await prepareContainer(init, root, volumes, entrypoint));
  assert.equal(r.code, 0, r.stderr);
  const sideProc = await prepareContainer(side, root, volumes, entrypoint, fieldValues);
  const stateDir = sideProc.argv[sideProc.argv.indexOf('--state-dir') + 1]!;
  const sidecar = startContainer(podNamespace, sideProc);
  let log = '';
  sidecar.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  sidecar.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!/"sidecar ready"/.test(log)) {
    if (Date.now() > deadline || sidecar.exitCode !== null) throw new Error(`sidecar did not start:\n${log}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  return { sidecar, stateDir, log: () => log };
}

/** A PostgreSQL 15 cluster in `namespace`: role `app` owning database `shop` with table items (1 a, 2 b, 3 c). */
export interface PodPostgres {
  pgData: string;
  /** SQL as the superuser over the cluster's Unix socket. */
  psql(sql: string, db?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startPodPostgres(dir: string, namespace: string, addresses: string[], appPassword: string): Promise<PodPostgres> {
  const pgData = join(dir, 'pg');
  await mustRun(['mkdir', '-p', pgData]);
  await mustRun(['chown', 'postgres:postgres', pgData]);
  await mustRun(['runuser', '-u', 'postgres', '--', `${PGBIN}/initdb`, '-D', pgData, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256']);
  await writeFile(
    join(pgData, 'postgresql.conf'),
    `listen_addresses = '${addresses.join(',')}'\nport = 5432\nunix_socket_directories = '${pgData}'\nfsync = off\n`,
    { flag: 'a' },
  );
  await writeFile(join(pgData, 'pg_hba.conf'), 'local all all trust\nhost all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n');
  await mustRun(['chown', '-R', 'postgres:postgres', pgData]);
  const asPostgres = (argv: string[]) => ['ip', 'netns', 'exec', namespace, 'runuser', '-u', 'postgres', '--', ...argv];
  await mustRun(asPostgres([`${PGBIN}/pg_ctl`, '-D', pgData, '-l', join(pgData, 'log'), '-w', 'start']), { timeoutMs: 60_000 });
  const psql = (sql: string, db = 'postgres') => mustRun(asPostgres(['psql', '-X', '-q', '-tA', '-h', pgData, '-d', db, '-c', sql]));
  await psql(`CREATE ROLE app LOGIN PASSWORD '${appPassword}'`);
  await psql('CREATE DATABASE shop OWNER app');
  await psql("SET ROLE app; CREATE TABLE items (id int, name text); INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c');", 'shop');
  return {
    pgData,
    psql,
    stop: async () => void (await run(asPostgres([`${PGBIN}/pg_ctl`, '-D', pgData, '-m', 'immediate', 'stop']))),
  };
}

/** A throwaway MariaDB in the db namespace with database `shop` and table items (1 a, 2 b, 3 c). */
export interface PodMariaDb {
  /** SQL as root over the server's Unix socket: the database's own view, not through sidegate. */
  asRoot(sql: string): Promise<CommandResult>;
  stop(): Promise<void>;
}

/**
 * Starts MariaDB in `namespace` listening on `addresses` port 3306 (root only over the socket);
 * with `tls`, it serves that certificate (a client that verifies it needs its CA).
 */
export async function startPodMariaDb(dir: string, namespace: string, addresses: string[], tls?: { certFile: string; keyFile: string }): Promise<PodMariaDb> {
  const data = join(dir, 'maria');
  const socket = join(dir, 'maria.sock');
  await mustRun(['mkdir', '-p', data]);
  await mustRun(['chown', 'mysql:mysql', data, dir]);
  await mustRun(['mariadb-install-db', '--no-defaults', `--datadir=${data}`, '--user=mysql', '--auth-root-authentication-method=socket', '--skip-test-db'], { timeoutMs: 120_000 });
  const tlsArgs: string[] = [];
  if (tls) {
    // The server runs as mysql: its own copies of the certificate and key.
    for (const [from, to] of [[tls.certFile, 'server.crt'], [tls.keyFile, 'server.key']] as const) {
      await copyFile(from, join(dir, `maria-${to}`));
      await mustRun(['chown', 'mysql:mysql', join(dir, `maria-${to}`)]);
    }
    tlsArgs.push(`--ssl-cert=${join(dir, 'maria-server.crt')}`, `--ssl-key=${join(dir, 'maria-server.key')}`);
  }
  const maria = spawnInNamespace(namespace, [
    '/usr/sbin/mariadbd', '--no-defaults', `--datadir=${data}`, `--socket=${socket}`, `--pid-file=${join(dir, 'maria.pid')}`, '--user=mysql',
    `--bind-address=${addresses.join(',')}`, '--port=3306', '--innodb-buffer-pool-size=16M', '--skip-log-bin', `--log-error=${join(dir, 'maria.err')}`, ...tlsArgs,
  ]);
  let log = '';
  maria.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  maria.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const asRoot = (sql: string) => run(['mariadb', '--no-defaults', `--socket=${socket}`, '-uroot', '-N', '-B', '-e', sql]);
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await asRoot('SELECT 1');
    if (r.code === 0) break;
    if (Date.now() > deadline || maria.exitCode !== null) {
      const err = await readFile(join(dir, 'maria.err'), 'utf8').catch(() => '');
      throw new Error(`MariaDB did not start:\n${log}\n${err}`);
    }
    await new Promise((res) => setTimeout(res, 200));
  }
  const setup = await asRoot("CREATE DATABASE shop; CREATE TABLE shop.items (id int primary key, name text); INSERT INTO shop.items VALUES (1, 'a'), (2, 'b'), (3, 'c');");
  assert.equal(setup.code, 0, setup.stderr);
  return {
    asRoot,
    stop: async () => {
      if (maria.exitCode !== null) return;
      const exited = new Promise((res) => maria.once('exit', res));
      maria.kill('SIGTERM');
      await Promise.race([exited, new Promise((res) => setTimeout(res, 10_000))]);
      if (maria.exitCode === null) maria.kill('SIGKILL');
    },
  };
}

/**
 * The policy's `identities` section every injected-pod test uses: the pod's projected
 * ServiceAccount token, verified with the test issuer's JWKS file (`version: 1` first).
 */
export function podRunnerIdentities(jwksFile: string): string {
  return `version: 1
identities:
  - name: ci-runners
    issuer: https://kubernetes.default.svc.cluster.local
    audiences: [sidegate]
    jwksFile: ${jwksFile}
    claims: { sub: "system:serviceaccount:ci:*" }
`;
}
