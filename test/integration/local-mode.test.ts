// The main job as a newcomer runs it: `sidegate local` with the example policy and the embedded
// demo target, psql as the client, the approvals CLI from "a second terminal", and the trace;
// a start that fails, the newcomer's own policy, and stopping it (SIGTERM, also through npm start).
// One file, run in order: local mode's demo ports (6432, 55433) are fixed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../support/sidegate-harness.js';
import { readOtlpJsonFile } from '../support/otlp-receiver.js';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const REPOSITORY = fileURLToPath(new URL('../../../', import.meta.url));
let dir: string;
let child: ChildProcess;
let output = '';
/** The approval the second-terminal test gave, for the trace test to find. */
let approvedId: string | undefined;

/** True when nothing listens there any more. */
function isFree(port: number): Promise<boolean> {
  const s = net.createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

async function eventually(condition: () => Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await condition()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return condition();
}

function exited(p: ChildProcess, ms: number): Promise<number | null | 'timeout'> {
  if (p.exitCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), ms);
    p.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Runs the CLI until `ready` appears in its output (or it exits). */
async function startCli(args: string[], opts: { cwd: string; ready: string; command?: string[] }): Promise<{ p: ChildProcess; out: () => string }> {
  const [cmd, ...pre] = opts.command ?? [process.execPath, CLI];
  const p = spawn(cmd!, [...pre, ...args], { cwd: opts.cwd, env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' } });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 120_000;
  while (!out.includes(opts.ready) && p.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return { p, out: () => out };
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidegate-local-'));
  await failedStartReleasesEverything();
  child = spawn(process.execPath, [CLI, 'local', '--admin-port', '0'], { cwd: dir, env: { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '' } });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 60_000;
  while (!output.includes('Then try:')) {
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`local mode did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});

after(async () => {
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await exited(child, 15_000);
  }
  await rm(dir, { recursive: true, force: true });
});

/**
 * The admin port is taken: local mode has already started the embedded demo database, the
 * broker and the listener when the admin server fails. It must say so in one line, close them
 * all and exit 1; a process that kept any of them open would not exit (and would serve SQL).
 */
async function failedStartReleasesEverything(): Promise<void> {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const { p, out } = await startCli(['local', '--admin-port', String(port), '--state-dir', join(dir, 'failed-state')], { cwd: dir, ready: 'is running' });
    const code = await exited(p, 30_000);
    if (code === 'timeout') p.kill('SIGKILL');
    assert.equal(code, 1, `a failed start exits 1 and leaves nothing running:\n${out()}`);
    assert.match(out(), new RegExp(`^sidegate: the admin server cannot listen on 127\\.0\\.0\\.1:${port}: address already in use`, 'm'));
    assert.doesNotMatch(out(), /is running/);
  } finally {
    await new Promise((r) => blocker.close(r));
  }
}

async function demoPsql(sql: string) {
  const token = (await readFile(join(dir, '.sidegate', 'token'), 'utf8')).trim();
  return run('psql', ['-X', '-tA', '-v', 'VERBOSITY=verbose', '-h', '127.0.0.1', '-p', '6432', '-U', 'ci', '-d', 'postgres'], { PGPASSWORD: token, PGSSLMODE: 'disable' }, sql);
}

/** The CLI as a person in a second terminal runs it: same working directory, no shared state. */
function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { cwd: dir });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => resolve({ code, out }));
  });
}

test('local mode prints how to connect', () => {
  assert.match(output, /psql "host=127\.0\.0\.1 port=6432/);
  assert.match(output, /embedded PostgreSQL/);
});

test('allowed, masked and denied statements as the example policy says', async () => {
  const allowed = await demoPsql('SELECT count(*) FROM orders;\n');
  assert.equal(allowed.stdout.trim(), '12', allowed.stderr);
  const masked = await demoPsql('SELECT email, card FROM customers WHERE id = 1;\n');
  assert.equal(masked.code, 0, masked.stderr);
  assert.doesNotMatch(masked.stdout, /ada@example\.com|4111111111111111/);
  const denied = await demoPsql('DROP TABLE orders;\n');
  assert.match(denied.stderr, /42501/);
});

test('the demo target\'s login comes from the embedded token exchange, as a pod\'s does', async () => {
  assert.match(output, /embedded PostgreSQL, its login by token exchange/);
  // Local mode logs in the human format: the line, then its fields as one JSON object.
  const login = /\] INFO: credential obtained by token exchange \{"event":"exchange\.issued","target":"demo","login":"(sidegate_x_[0-9a-f]+)"/.exec(output)?.[1];
  assert.ok(login, output);
  const roles = await demoPsql("SELECT rolname FROM pg_roles WHERE rolname LIKE 'sidegate\\_x\\_%';\n");
  assert.equal(roles.stdout.trim(), login, 'the demo database has the role the exchange created');
  assert.ok(!existsSync(join(dir, '.sidegate', 'credentials.yaml')), 'no static login file for the example');
});

test('a held statement is approved from a second terminal with the approvals CLI', async () => {
  const pending = demoPsql('UPDATE orders SET total = total + 1 WHERE id = 1;\n');
  let id: string | undefined;
  const deadline = Date.now() + 15_000;
  while (!id && Date.now() < deadline) {
    id = /(apr-[a-z0-9]+)/.exec((await cli(['approvals', 'list'])).out)?.[1];
    if (!id) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(id, 'the held statement is listed');
  const approved = await cli(['approvals', 'approve', id!, '--as', 'local-approver']);
  assert.equal(approved.code, 0, approved.out);
  const done = await pending;
  assert.equal(done.code, 0, done.stderr);
  assert.match(done.stdout + done.stderr, /UPDATE 1/);
  approvedId = id;
});

test('the trace is in the local audit file, readable and hash-chained', async () => {
  await new Promise((r) => setTimeout(r, 1500));
  const show = await cli(['audit', 'show']);
  assert.equal(show.code, 0, show.out);
  assert.match(show.out, /DROP TABLE orders/);
  assert.match(show.out, /approval=apr-/);
  const verify = await cli(['audit', 'verify']);
  assert.equal(verify.code, 0, verify.out);
  assert.match(verify.out, /hash chain intact/);
  // The embedded broker's decision is evidence in the same trail, linked to the statement it held.
  const spans = readOtlpJsonFile(join(dir, '.sidegate', 'audit.otlp.jsonl')).filter((s) => s.attributes['sidegate.approval.id'] === approvedId);
  const statement = spans.find((s) => s.attributes['db.query.text'] !== undefined);
  assert.ok(statement, 'the held statement has its span');
  const decision = spans.filter((s) => s.name.startsWith('approval '));
  assert.deepEqual(decision.map((s) => s.name), ['approval vote', 'approval approved']);
  for (const d of decision) assert.deepEqual(d.links, [{ traceId: statement.traceId, spanId: statement.spanId }]);
  assert.equal(decision[0]!.attributes['sidegate.approver.name'], 'local-approver');
});

test('your own policy: local mode trusts its issuer as local-developer, and --upstream is where the target is', async () => {
  const own = join(dir, 'own');
  await mkdir(own);
  // No identities: local mode provides local-developer. The target's address is a placeholder;
  // --upstream points it at the running demo database (which accepts any password).
  await writeFile(
    join(own, 'mine.yaml'),
    `version: 1
targets:
  - { name: mine, protocol: postgres, address: "127.0.0.1:5999", tls: { mode: disable }, credentials: { file: demo }, listen: "127.0.0.1:0" }
rules:
  - { name: reads, identities: [local-developer], when: { statements: [read] }, action: allow }
`,
  );
  const { p, out } = await startCli(['local', '--policy', 'mine.yaml', '--state-dir', 'state', '--admin-port', '0', '--upstream', '127.0.0.1:55433'], {
    cwd: own,
    ready: 'Stop with Ctrl-C',
  });
  try {
    assert.equal(p.exitCode, null, out());
    assert.match(out(), /target "mine" → 127\.0\.0\.1:55433, listening/);
    assert.doesNotMatch(out(), /embedded PostgreSQL/, 'an --upstream target gets no embedded database');
    const port = /listening on 127\.0\.0\.1:(\d+)/.exec(out())![1]!;
    const token = (await readFile(join(own, 'state', 'token'), 'utf8')).trim();
    const r = await run('psql', ['-X', '-tA', '-h', '127.0.0.1', '-p', port, '-U', 'ci', '-d', 'postgres'], { PGPASSWORD: token, PGSSLMODE: 'disable' }, 'SELECT count(*) FROM orders;\n');
    assert.equal(r.stdout.trim(), '12', r.stderr);
  } finally {
    p.kill('SIGTERM');
    assert.equal(await exited(p, 15_000), 0);
  }
});

test('the example moved to another database: its exchange login cannot follow, local mode says what to do', async () => {
  const { p, out } = await startCli(['local', '--upstream', '127.0.0.1:5999', '--state-dir', join(dir, 'moved-state'), '--admin-port', '0'], { cwd: dir, ready: 'is running' });
  assert.equal(await exited(p, 15_000), 2, out());
  assert.match(out(), /target demo takes its login from the token exchange, which local mode runs only for the embedded demo database; give it credentials: \{ file: KEY \}/);
});

test('SIGTERM stops local mode gracefully: exit 0, its ports free', async () => {
  child.kill('SIGTERM');
  assert.equal(await exited(child, 15_000), 0, output);
  assert.match(output, /SIGTERM: stopping/);
  assert.match(output, /\] INFO: credential revoked \{"event":"exchange\.revoked","target":"demo"/, 'the exchanged login is revoked as the gateway stops');
  assert.ok(await eventually(async () => (await isFree(6432)) && (await isFree(55433)), 5000), 'ports 6432 and 55433 are free');
});

test('npm start under SIGTERM: npm forwards it, the gateway stops and frees its ports', async () => {
  const state = join(dir, 'npm-state');
  const { p, out } = await startCli(['start', '--', '--state-dir', state, '--admin-port', '0'], { cwd: REPOSITORY, ready: 'Then try:', command: ['npm'] });
  assert.equal(p.exitCode, null, out());
  p.kill('SIGTERM');
  assert.notEqual(await exited(p, 20_000), 'timeout', 'npm exits');
  assert.ok(await eventually(async () => (await isFree(6432)) && (await isFree(55433)), 10_000), `the gateway under npm stopped too:\n${out()}`);
});
