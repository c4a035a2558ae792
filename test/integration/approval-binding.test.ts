// An approval runs only the command it is bound to, once — even when the broker's answers are
// not to be trusted. A real sidecar and a real broker, with a man in the middle on the sidecar's
// broker connection that can rewrite what the broker says (another statement's hash, another
// request's approval). The database must not change.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startSidecar, type RunningSidecar } from '../../sidecar/runtime/sidecar-runtime.js';
import { startApprovalBroker, type ApprovalBroker } from '../../broker/server/broker-server.js';
import { staticAdminApprover } from '../../broker/server/static-admin-approver.js';
import { createLogger } from '../../core/logging/logger.js';
import { startTestIssuer } from '../support/token-issuer.js';
import { basePolicy, pgInfo, type PgInfo } from '../support/sidegate-harness.js';

const ADMIN = 'admin-token-binding-0123456789';
const REQUESTER = 'requester-token-binding-0123456789';

let pgi: PgInfo;
let issuer: Awaited<ReturnType<typeof startTestIssuer>>;
let broker: ApprovalBroker;
let mitm: http.Server;
let sidecar: RunningSidecar;
let dir: string;
let port: number;
/** Rewrites a decided record on its way to the sidecar; null passes it through. */
let rewrite: ((record: Record<string, unknown>) => Record<string, unknown>) | null = null;
const consumed: string[] = [];

const admin = () => new pg.Client({ host: pgi.socketDir, port: pgi.port, user: 'postgres', database: pgi.database });

before(async () => {
  pgi = await pgInfo();
  const su = admin();
  await su.connect();
  await su.query(`DROP TABLE IF EXISTS binding_t; CREATE TABLE binding_t (id int PRIMARY KEY); INSERT INTO binding_t SELECT generate_series(1, 5); GRANT ALL ON binding_t TO ${pgi.users.scram.user}`);
  await su.end();
  issuer = await startTestIssuer({ issuer: 'https://ci.test.sidegate' });
  broker = await startApprovalBroker({ adminToken: ADMIN, requesterToken: REQUESTER });
  mitm = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url?.includes('/consume')) consumed.push(req.url);
      const body = Buffer.concat(chunks);
      fetch(broker.url + req.url, { method: req.method, headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' }, body: req.method === 'POST' ? body : undefined })
        .then(async (up) => {
          let json = (await up.json()) as Record<string, unknown>;
          if (rewrite && req.url?.includes('/wait') && json['status'] === 'approved') json = rewrite(json);
          res.writeHead(up.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(json));
        })
        .catch(() => res.destroy());
    });
  });
  await new Promise<void>((r) => mitm.listen(0, '127.0.0.1', r));
  dir = await mkdtemp(join(tmpdir(), 'sidegate-binding-'));
  const policyFile = join(dir, 'policy.yaml');
  await writeFile(
    policyFile,
    basePolicy(
      { pg: pgi, issuer },
      {
        rules: `  - name: ci-reads
    identities: [ci]
    when: { statements: [read] }
    action: allow
  - name: deletes-need-approval
    identities: [ci]
    when: { statements: [delete], tables: [binding_t] }
    action: approve
    approval: { approvers: [dba], timeout: 20s }`,
      },
    ),
  );
  const credentialsFile = join(dir, 'credentials.yaml');
  await writeFile(credentialsFile, `targets:\n  pg: { username: ${pgi.users.scram.user}, password: "${pgi.users.scram.password}" }\n`, { mode: 0o600 });
  const tokenFile = join(dir, 'requester.token');
  await writeFile(tokenFile, REQUESTER, { mode: 0o600 });
  sidecar = await startSidecar({
    policyFile,
    credentialsFile,
    stateDir: join(dir, 'state'),
    broker: { url: `http://127.0.0.1:${(mitm.address() as AddressInfo).port}`, tokenFile },
    env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' },
    listenOverrides: { pg: { host: '127.0.0.1', port: 0 } },
    log: createLogger({ level: 'error', sink: () => {} }),
  });
  port = sidecar.listeners.find((l) => l.target === 'pg')!.port;
});

after(async () => {
  await sidecar?.stop(2000);
  await new Promise((r) => mitm?.close(r));
  await broker?.close();
  await issuer?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  const su = admin();
  await su.connect();
  await su.query('DROP TABLE IF EXISTS binding_t');
  await su.end();
});

async function client(): Promise<pg.Client> {
  const token = await issuer.sign({ sub: 'project_path:acme/api', project_path: 'acme/api' }, { audience: 'sidegate' });
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'ci', database: pgi.database, password: token });
  await c.connect();
  return c;
}

async function approveNextPending(): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const [pending] = await broker.store.list({ status: 'pending' });
    if (pending) {
      await broker.store.decide(pending.id, 'approved', staticAdminApprover('dba'));
      return pending.id;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('nothing was held');
}

async function rowCount(): Promise<number> {
  const su = admin();
  await su.connect();
  try {
    return (await su.query<{ n: number }>('SELECT count(*)::int AS n FROM binding_t')).rows[0]!.n;
  } finally {
    await su.end();
  }
}

test('an approval the broker reports for another statement (another hash) runs nothing', async () => {
  const other = await broker.store.create({
    requester: { subject: 's', issuer: 'i', identities: [] }, target: 'pg', protocol: 'postgres', command: 'DELETE FROM binding_t WHERE id = 1',
    hash: `sha256:${'e'.repeat(64)}`, rule: 'deletes-need-approval', approvers: ['dba'], sessionId: 'x', timeoutMs: 10_000,
  });
  await broker.store.cancel(other.id);
  rewrite = (r) => ({ ...r, hash: other.hash });
  const c = await client();
  try {
    const pending = c.query('DELETE FROM binding_t').then(() => null, (e: Error & { code?: string }) => e);
    const id = await approveNextPending();
    const err = await pending;
    assert.ok(err, 'the DELETE must not succeed');
    assert.equal(err.code, '42501');
    assert.match(err.message, new RegExp(`approval ${id} .*is not for this statement`));
    assert.equal(await rowCount(), 5);
    assert.equal(consumed.length, 0, 'a mismatched approval is never used');
    assert.equal((await broker.store.get(id)).status, 'cancelled', 'and it is revoked');
    assert.equal((await c.query('SELECT 1 AS x')).rows[0].x, 1, 'the session goes on');
  } finally {
    rewrite = null;
    await c.end();
  }
});

test('a replayed approval (an earlier request, same statement and session) runs nothing the second time', async () => {
  const c = await client();
  try {
    let first: Record<string, unknown> | null = null;
    rewrite = (r) => (first ??= r);
    const once = c.query('DELETE FROM binding_t WHERE id = 5');
    const firstId = await approveNextPending();
    assert.equal((await once).rowCount, 1);
    const twice = c.query('DELETE FROM binding_t WHERE id = 5').then(() => null, (e: Error & { code?: string }) => e);
    // The man in the middle answers the second hold with the first approval.
    const secondId = await approveNextPending();
    assert.notEqual(secondId, firstId);
    const err = await twice;
    assert.ok(err);
    assert.equal(err.code, '42501');
    assert.equal((await broker.store.get(firstId)).consumedAt !== undefined, true);
    assert.equal((await broker.store.get(secondId)).consumedAt, undefined, 'the second approval was never used');
    assert.equal(await rowCount(), 4);
  } finally {
    rewrite = null;
    await c.end();
  }
});

test('with an honest broker the approved DELETE runs once and the approval is used', async () => {
  const c = await client();
  try {
    const done = c.query('DELETE FROM binding_t WHERE id = 4');
    const id = await approveNextPending();
    assert.equal((await done).rowCount, 1);
    assert.ok((await broker.store.get(id)).consumedAt);
    assert.equal(await rowCount(), 3);
  } finally {
    await c.end();
  }
});
