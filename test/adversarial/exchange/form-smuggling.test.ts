// Attack: smuggle a second meaning into the exchange's form. Duplicate parameters (a second
// subject_token or scope the parser might take instead of the first), audience and resource naming
// different targets, a resource under another prefix, odd content types and charsets (a body the
// server would read otherwise than a proxy in front of it), bodies over the bound, a token with a
// NUL or an ignored-by-name parameter (`Audience`). Every one must be refused
// before anything is created; only the plain request is served.
//
// Each attack checks: the OAuth refusal seen, the database unchanged (no role created), and no
// canary secret (the subject token, the admin password) in any answer, log line or audit span.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { flattenOtlpJson } from '../../../core/audit/index.js';
import { createLogger } from '../../../core/logging/logger.js';
import { parseExchangeConfig } from '../../../exchange/config/exchange-config.js';
import { startExchangeService, type ExchangeService } from '../../../exchange/cli/exchange-command.js';
import { GRANT_TYPE, JWT } from '../../support/exchange-test-clients.js';
import { httpsRequest, type HttpsReply } from '../../support/https-json-client.js';
import { asSuperuser } from '../../support/scratch-postgres-database.js';
import { makeSelfSignedCertificate, type TestCertificate } from '../../support/self-signed-certificate.js';
import { pgInfo, type PgInfo } from '../../support/sidegate-harness.js';
import { startTestIssuer, type TestIssuer } from '../../support/token-issuer.js';

const AUDIENCE = 'sidegate-exchange';
const run = randomBytes(4).toString('hex');
const prefix = `sgxf_${run}_`;
const admin = `sgxf_admin_${run}`;
const reader = `sgxf_reader_${run}`;
const writer = `sgxf_writer_${run}`;

let dir: string;
let cert: TestCertificate;
let info: PgInfo;
let ci: TestIssuer;
let service: ExchangeService;
let granted: string;
let ungranted: string;
const logs: string[] = [];
const canaries: string[] = [];
const replies: string[] = [];

const superuser = <T>(fn: (c: pg.Client) => Promise<T>) => asSuperuser(info, fn);
const issuedRoles = () => superuser(async (c) => (await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1', [prefix])).rows.map((r) => r.rolname));

before(async () => {
  info = await pgInfo();
  dir = await mkdtemp(join(tmpdir(), 'sidegate-exchange-form-'));
  cert = makeSelfSignedCertificate(dir);
  const tlsKey = await readFile(cert.keyFile, 'utf8');
  const adminPassword = randomBytes(18).toString('base64url');
  canaries.push(adminPassword);
  await writeFile(join(dir, 'admin-password'), `${adminPassword}\n`, { mode: 0o600 });
  await superuser(async (c) => {
    await c.query(`CREATE ROLE ${admin} LOGIN CREATEROLE PASSWORD ${pg.escapeLiteral(adminPassword)}`);
    await c.query(`CREATE ROLE ${reader} NOLOGIN`);
    await c.query(`CREATE ROLE ${writer} NOLOGIN`);
  });
  ci = await startTestIssuer({ tls: { cert: cert.cert, key: tlsKey } });
  const target = (name: string) => ({ name, protocol: 'postgres', host: info.host, port: info.port, database: info.database, tls: { caFile: info.caFile, serverName: 'localhost' }, admin: { username: admin, passwordFile: join(dir, 'admin-password') }, rolePrefix: prefix });
  const config = parseExchangeConfig({
    issuers: [{ issuer: ci.issuer, audience: AUDIENCE, jwksUrl: ci.jwksUrl, caFile: cert.certFile }],
    targets: [target('orders'), target('billing')],
    grants: [
      { name: 'readers', issuer: ci.issuer, claims: { repository: 'acme/app' }, target: 'orders', roles: [reader], ttl: '15m' },
      { name: 'writers', issuer: ci.issuer, claims: { repository: 'acme/admin' }, target: 'billing', roles: [writer], ttl: '15m' },
    ],
    sweepInterval: '1h',
  });
  const log = createLogger({ level: 'debug', sink: (line) => logs.push(line) });
  service = await startExchangeService({ ...config, audit: { stateDir: join(dir, 'audit') } }, { host: '127.0.0.1', port: 0, tls: { cert: cert.cert, key: tlsKey }, env: {} }, log);
  granted = await ci.sign({ sub: 'repo:acme/app:ref:refs/heads/main', repository: 'acme/app', run_id: '1' }, { audience: AUDIENCE });
  ungranted = await ci.sign({ sub: 'repo:acme/admin:ref:refs/heads/main', repository: 'acme/admin', run_id: '2' }, { audience: AUDIENCE });
  canaries.push(granted, ungranted);
});

after(async () => {
  await service?.close();
  await ci?.close();
  await superuser(async (c) => {
    for (const role of await issuedRoles()) await c.query(`DROP OWNED BY ${role}; DROP ROLE ${role}`).catch(() => undefined);
    for (const role of [reader, writer, admin]) await c.query(`DROP ROLE IF EXISTS ${role}`).catch(() => undefined);
  }).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function postRaw(body: string | Buffer, contentType = 'application/x-www-form-urlencoded'): Promise<HttpsReply> {
  const reply = await httpsRequest(`${service.url}/v1/token`, { ca: cert.cert, method: 'POST', headers: { 'content-type': contentType }, body });
  replies.push(reply.text.replace(/"access_token":"[^"]*"/, ''));
  return reply;
}

const pairs = (list: [string, string][]) => list.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
const base = (token: string): [string, string][] => [['grant_type', GRANT_TYPE], ['subject_token', token], ['subject_token_type', JWT]];

async function noCanaryAnywhere(): Promise<void> {
  await new Promise((r) => setTimeout(r, 300));
  const spans = JSON.stringify(flattenOtlpJson(await readFile(join(dir, 'audit', 'audit.otlp.jsonl'), 'utf8')));
  const seen = [...logs, ...replies, spans].join('\n');
  for (const secret of canaries) assert.ok(!seen.includes(secret), 'a secret reached an answer, a log line or a span');
}

const attacks: [string, () => Promise<HttpsReply>, string, number][] = [
  ['a second subject_token (the granted one second)', () => postRaw(pairs([...base(ungranted), ['subject_token', granted], ['audience', 'orders']])), 'invalid_request', 400],
  ['a second scope', () => postRaw(pairs([...base(granted), ['audience', 'orders'], ['scope', reader], ['scope', writer]])), 'invalid_request', 400],
  ['two roles in one scope, joined by +', () => postRaw(`${pairs([...base(granted), ['audience', 'orders']])}&scope=${reader}+${writer}`), 'invalid_scope', 400],
  ['audience and resource naming different targets', () => postRaw(pairs([...base(granted), ['audience', 'orders'], ['resource', 'urn:sidegate:target:billing']])), 'invalid_target', 400],
  ['two audiences', () => postRaw(pairs([...base(granted), ['audience', 'orders'], ['audience', 'billing']])), 'invalid_target', 400],
  ['a resource under another prefix', () => postRaw(pairs([...base(granted), ['resource', 'URN:sidegate:target:orders']])), 'invalid_target', 400],
  ['a target named with a trailing NUL', () => postRaw(pairs([...base(granted), ['audience', 'orders\u0000']])), 'invalid_target', 400],
  ['the target only under a differently cased name', () => postRaw(pairs([...base(granted), ['Audience', 'orders']])), 'invalid_request', 400],
  ['a JSON body', () => postRaw(JSON.stringify({ grant_type: GRANT_TYPE, subject_token: granted, subject_token_type: JWT, audience: 'orders' }), 'application/json'), 'invalid_request', 400],
  ['a form body labelled text/plain', () => postRaw(pairs([...base(granted), ['audience', 'orders']]), 'text/plain'), 'invalid_request', 400],
  ['a UTF-16 body under a charset parameter', () => postRaw(Buffer.from(pairs([...base(granted), ['audience', 'orders']]), 'utf16le'), 'application/x-www-form-urlencoded; charset=utf-16le'), 'invalid_request', 400],
  ['bytes that are not UTF-8', () => postRaw(Buffer.concat([Buffer.from(pairs([...base(granted), ['audience', 'orders']])), Buffer.from('&x=\xff\xfe', 'latin1')])), 'invalid_request', 400],
  ['a body over the bound', () => postRaw(`${pairs([...base(granted), ['audience', 'orders']])}&pad=${'a'.repeat(200_000)}`), 'invalid_request', 413],
];

for (const [what, send, error, status] of attacks) {
  test(`refused, nothing created: ${what}`, async () => {
    const before = await issuedRoles();
    const reply = await send();
    assert.equal(reply.status, status, reply.text);
    assert.equal(reply.json.error, error, reply.text);
    assert.deepEqual(await issuedRoles(), before, 'no role created');
    await noCanaryAnywhere();
  });
}

test('the plain request is served (the attacks above differ from it in their smuggled part only)', async () => {
  const before = await issuedRoles();
  const reply = await postRaw(pairs([...base(granted), ['audience', 'orders']]));
  assert.equal(reply.status, 200, reply.text);
  assert.equal((await issuedRoles()).length, before.length + 1);
  await noCanaryAnywhere();
});
