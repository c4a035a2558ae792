// The main job as a newcomer runs it: `sidegate local` with the example policy and the embedded
// demo target, psql as the client, the approvals CLI from "a second terminal", and the trace.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../support/sidegate-harness.js';

const CLI = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
let dir: string;
let child: ChildProcess;
let output = '';

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidegate-local-'));
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
  child?.kill('SIGTERM');
  await new Promise((r) => child?.once('exit', r));
  await rm(dir, { recursive: true, force: true });
});

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
});
