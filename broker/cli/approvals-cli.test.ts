import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApprovalBroker, type ApprovalBroker } from '../server/broker-server.js';
import { runApprovalsCommand, type ApprovalsCliIo } from './approvals-cli.js';
import type { ApprovalRequest } from '../api/broker-api-schema.js';

const ADMIN = 'admin-token-0123456789';
const REQUESTER = 'requester-token-0123456789';

const input = (over: Partial<ApprovalRequest> = {}): ApprovalRequest => ({
  requester: { subject: 'project_path:acme/api:ref:main', issuer: 'https://gitlab.example', identities: ['ci'] },
  target: 'orders-db',
  protocol: 'postgres',
  command: 'UPDATE orders SET total = ? WHERE id = ?',
  rule: 'writes-need-approval',
  approvers: ['dba'],
  sessionId: 's1',
  timeoutMs: 60_000,
  hash: `sha256:${'a'.repeat(64)}`,
  ...over,
});

interface Fixture {
  broker: ApprovalBroker;
  dir: string;
  tokenFile: string;
  run(argv: string[], env?: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }>;
}

async function withCli(fn: (f: Fixture) => Promise<void>): Promise<void> {
  const broker = await startApprovalBroker({ adminToken: ADMIN, requesterToken: REQUESTER });
  const dir = await mkdtemp(join(tmpdir(), 'sidegate-approvals-cli-'));
  const tokenFile = join(dir, 'admin.token');
  await writeFile(tokenFile, `${ADMIN}\n`, { mode: 0o600 });
  const run: Fixture['run'] = async (argv, env = {}) => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d));
    stderr.on('data', (d: Buffer) => (err += d));
    const io: ApprovalsCliIo = { stdout, stderr, env, cwd: dir };
    const code = await runApprovalsCommand(argv, io);
    return { code, stdout: out, stderr: err };
  };
  try {
    await fn({ broker, dir, tokenFile, run });
  } finally {
    await broker.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('list prints a table of pending requests; approve decides and prints who', () =>
  withCli(async ({ broker, tokenFile, run }) => {
    const flags = ['--broker', broker.url, '--token-file', tokenFile];
    assert.deepEqual(await run(['list', ...flags]), { code: 0, stdout: 'no pending approvals\n', stderr: '' });
    const r = await broker.store.create(input());
    const list = await run(['list', ...flags]);
    assert.equal(list.code, 0, list.stderr);
    const [header, row, ...rest] = list.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID\s+STATUS\s+AGE\s+EXPIRES\s+REQUESTER\s+TARGET\s+RULE\s+PARAMS\s+COMMAND$/);
    assert.match(row!, new RegExp(`^${r.id}\\s+pending\\s+\\d+s\\s+(59|60)s\\s+project_path:acme/api:ref:main\\s+orders-db\\s+writes-need-approval\\s+-\\s+UPDATE orders SET total = \\? WHERE id = \\?$`));
    assert.deepEqual(rest, []);

    const approve = await run(['approve', r.id, '--as', 'dba', '--reason', 'ticket OPS-9', ...flags]);
    assert.deepEqual(approve, { code: 0, stdout: `${r.id} approved by dba: ticket OPS-9\n`, stderr: '' });
    assert.equal((await broker.store.get(r.id)).decidedBy, 'dba');
    assert.equal((await run(['list', ...flags])).stdout, 'no pending approvals\n');
    const all = await run(['list', '--all', ...flags]);
    assert.match(all.stdout, new RegExp(`${r.id}\\s+approved\\s+\\d+s\\s+-\\s`));
  }));

test('deny, and the errors an approver meets: already decided, not an approver, unknown id', () =>
  withCli(async ({ broker, tokenFile, run }) => {
    const flags = ['--broker', broker.url, '--token-file', tokenFile];
    const r = await broker.store.create(input());
    const notListed = await run(['approve', r.id, ...flags], { USER: 'alice' });
    assert.equal(notListed.code, 1);
    assert.equal(notListed.stderr, `sidegate approvals: "alice" is not an approver for rule "writes-need-approval" (approvers: dba) — decide as one of them with --as NAME\n`);
    assert.equal((await broker.store.get(r.id)).status, 'pending');
    const deny = await run(['deny', r.id, '--as', 'dba', ...flags]);
    assert.deepEqual(deny, { code: 0, stdout: `${r.id} denied by dba\n`, stderr: '' });
    const again = await run(['approve', r.id, '--as', 'dba', ...flags]);
    assert.deepEqual([again.code, again.stderr], [1, `sidegate approvals: approval ${r.id} is already denied\n`]);
    const unknown = await run(['show', 'apr-zzzzzz', ...flags]);
    assert.deepEqual([unknown.code, unknown.stderr], [1, 'sidegate approvals: no approval apr-zzzzzz\n']);
    const open = await broker.store.create(input({ approvers: [] }));
    const byDefault = await run(['approve', open.id, ...flags], {});
    assert.equal(byDefault.stdout, `${open.id} approved by local-approver\n`, 'the name defaults to local-approver without USER');
  }));

test('show prints every field and the whole multi-line command', () =>
  withCli(async ({ broker, tokenFile, run }) => {
    const r = await broker.store.create(input({ command: 'UPDATE orders\n   SET total = ?\n WHERE id = ?' }));
    const show = await run(['show', r.id, '--broker', broker.url, '--token-file', tokenFile]);
    assert.equal(show.code, 0);
    assert.match(show.stdout, new RegExp(`^id:\\s+${r.id}$`, 'm'));
    assert.match(show.stdout, /^requester:\s+project_path:acme\/api:ref:main$/m);
    assert.match(show.stdout, /^target:\s+orders-db \(postgres\)$/m);
    assert.match(show.stdout, /^approvers:\s+dba$/m);
    assert.match(show.stdout, /^command:\s+UPDATE orders\n\s{12}\s{3}SET total = \?\n\s{12} WHERE id = \?\n$/m);
    const json = await run(['show', r.id, '--json', '--broker', broker.url, '--token-file', tokenFile]);
    assert.equal(JSON.parse(json.stdout).id, r.id);
  }));

test('pipeline-controlled text cannot drive the approver’s terminal', () =>
  withCli(async ({ broker, tokenFile, run }) => {
    const evil = 'DROP TABLE orders \u001b[2K\u001b[1G\u009b2KSELECT 1 -- \u202eharmless';
    const r = await broker.store.create(input({ command: evil, requester: { subject: 'ci\u001b]0;pwned\u0007', issuer: 'x', identities: [] } }));
    for (const argv of [['list'], ['show', r.id]]) {
      const out = await run([...argv, '--broker', broker.url, '--token-file', tokenFile]);
      assert.equal(out.code, 0);
      assert.doesNotMatch(out.stdout, /[\u001b\u0007\u009b\u202e]/);
      assert.match(out.stdout, /DROP TABLE orders/);
      // Shown, not hidden: the approver can see something is there.
      assert.match(out.stdout, /\\x1b\[2K/);
      assert.match(out.stdout, /\\u202eharmless/);
    }
  }));

test('show prints the exact statement, every parameter (control characters escaped), the hash and whether it was used', () =>
  withCli(async ({ broker, tokenFile, run }) => {
    const r = await broker.store.create(
      input({
        command: "DELETE FROM orders WHERE status <> $1 /* \u0001 */ AND id = $2",
        parameters: [
          { position: 1, format: 'text', typeOid: 0, value: "x'\n\u001b[2J", bytes: 7 },
          { position: 2, format: 'binary', typeOid: 23, value: '00000007', hex: true, bytes: 4 },
          { position: 3, format: 'text', typeOid: 25, value: null, bytes: 0 },
          { position: 4, format: 'text', typeOid: 25, value: 'abc', bytes: 900, truncated: true },
        ],
        parametersOmitted: 2,
        resultFormats: [1],
        context: 'DECLARE c CURSOR FOR\nSELECT 1',
      }),
    );
    const show = await run(['show', r.id, '--broker', broker.url, '--token-file', tokenFile]);
    assert.equal(show.code, 0, show.stderr);
    assert.doesNotMatch(show.stdout, /[\u0001\u001b]/);
    assert.match(show.stdout, /^command:\s+DELETE FROM orders WHERE status <> \$1 \/\* \\x01 \*\/ AND id = \$2$/m);
    assert.match(show.stdout, /^note:\s+the command holds control or bidi characters/m);
    assert.match(show.stdout, /^parameters:\s+\$1 text: 'x''\\x0a\\x1b\[2J'$/m);
    assert.match(show.stdout, /^\s{12}\$2 binary type 23: 0x00000007 \(4 bytes\)$/m);
    assert.match(show.stdout, /^\s{12}\$3 text type 25: NULL$/m);
    assert.match(show.stdout, /^\s{12}\$4 text type 25: 'abc' … \(first 3 of 900 bytes shown\)$/m);
    assert.match(show.stdout, /^\s{12}… 2 more not shown \(the approval covers them too\)$/m);
    assert.match(show.stdout, /^results:\s+binary$/m);
    assert.match(show.stdout, /^also runs:\s+DECLARE c CURSOR FOR\n\s{12}SELECT 1$/m);
    assert.match(show.stdout, /^hash:\s+sha256:a{64}$/m);
    const list = await run(['list', '--broker', broker.url, '--token-file', tokenFile]);
    assert.match(list.stdout, /writes-need-approval\s+6\s+DELETE FROM orders WHERE status <> \$1 \/\* \\x01 \*\//);
    assert.doesNotMatch(list.stdout, /cut here/, 'nothing was cut');
    await broker.store.create(input({ command: `DELETE FROM orders WHERE id IN (${'1, '.repeat(40)}2)` }));
    const cut = await run(['list', '--broker', broker.url, '--token-file', tokenFile]);
    assert.match(cut.stdout, /\.\.\.\n\(commands ending in \.\.\. are cut here: `sidegate approvals show ID` shows all of one, with its parameters\)\n$/);
  }));

test('finds the broker through env variables, or local mode’s .sidegate/broker.json', () =>
  withCli(async ({ broker, dir, tokenFile, run }) => {
    await broker.store.create(input());
    const viaEnv = await run(['list'], { SIDEGATE_BROKER_URL: broker.url, SIDEGATE_BROKER_TOKEN_FILE: tokenFile });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.match(viaEnv.stdout, /writes-need-approval/);

    const missing = await run(['list']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no broker given and no .*\.sidegate\/broker\.json: pass --broker URL --token-file FILE/);

    await mkdir(join(dir, '.sidegate'));
    await writeFile(join(dir, '.sidegate', 'broker.json'), JSON.stringify({ url: broker.url, adminTokenFile: tokenFile }));
    const viaState = await run(['list']);
    assert.equal(viaState.code, 0, viaState.stderr);
    assert.match(viaState.stdout, /writes-need-approval/);
  }));

test('usage and configuration errors exit 2; a wrong token or a dead broker exits 1; tokens are never printed', () =>
  withCli(async ({ broker, dir, tokenFile, run }) => {
    const flags = ['--broker', broker.url, '--token-file', tokenFile];
    assert.equal((await run(['frobnicate', ...flags])).code, 2);
    assert.equal((await run(['approve', ...flags])).code, 2, 'approve needs an id');
    assert.equal((await run(['list', '--bogus', ...flags])).code, 2);
    const badId = await run(['approve', 'DROP-TABLE', ...flags]);
    assert.deepEqual([badId.code, badId.stderr], [2, 'sidegate approvals: "DROP-TABLE" is not an approval id (they look like apr-7k2m9q)\n']);
    const help = await run(['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: sidegate approvals list/);
    const noFile = await run(['list', '--broker', broker.url, '--token-file', join(dir, 'nope')]);
    assert.deepEqual([noFile.code, noFile.stderr], [2, `sidegate approvals: cannot read the broker token file ${join(dir, 'nope')}\n`]);

    const wrongFile = join(dir, 'wrong.token');
    await writeFile(wrongFile, 'wrong-token-but-long-enough');
    const wrong = await run(['list', '--broker', broker.url, '--token-file', wrongFile]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /missing or invalid bearer token/);
    assert.doesNotMatch(wrong.stderr + wrong.stdout, /wrong-token-but-long-enough|admin-token-0123456789/);

    const url = broker.url;
    await broker.close();
    const dead = await run(['list', '--broker', url, '--token-file', tokenFile]);
    assert.deepEqual([dead.code, dead.stderr], [1, `sidegate approvals: cannot reach the approval broker at ${url}\n`]);
  }));
